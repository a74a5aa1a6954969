// ServerStore on Table Storage (issue 15).
//
// Table `${prefix}servers`, one partition (PartitionKey "server"): a vault holds up to about a thousand servers, and
// one partition keeps list a single ordered query.
//   RowKey = escapeKey(name)
//   record = the ServerRecord as JSON (its fields are only ever read together; a few hundred bytes)
// update is a Replace with the caller's etag; resourceID cannot change.

import { PgkeepError } from '../../../errors';
import { ConcurrencyError, type ServerRecord, type ServerStore, type Stored } from '../../../ports';
import { escapeKey, etagOf, namedRows, statusOf, str, type Row, type TableProvider } from './common';

const PARTITION = 'server';

function toStored(row: Row): Stored<ServerRecord> {
  return { value: JSON.parse(str(row, 'record')) as ServerRecord, etag: etagOf(row) };
}

const entity = (s: ServerRecord) => ({ partitionKey: PARTITION, rowKey: escapeKey(s.name), record: JSON.stringify(s) });

export function serverResourceIdChanged(name: string): PgkeepError {
  return new PgkeepError('UserErrorInvalidRequest', `the resourceID of server ${name} cannot change`, {
    target: '$.properties.resourceID',
    hint: 'register the other server under a new name',
  });
}

export function createTableServerStore(tables: TableProvider): ServerStore {
  const client = () => tables.table('servers');
  const rows = namedRows(client, PARTITION, toStored);
  return {
    ...rows,
    async create(server) {
      try {
        await (await client()).createEntity(entity(server));
      } catch (err) {
        if (statusOf(err) === 409) throw new ConcurrencyError(`server ${server.name} already exists`);
        throw err;
      }
    },
    async update(server, etag) {
      const current = await rows.get(server.name);
      if (!current) throw new ConcurrencyError(`server ${server.name} was deleted since it was read`);
      if (current.value.resourceID.toLowerCase() !== server.resourceID.toLowerCase()) {
        throw serverResourceIdChanged(server.name);
      }
      try {
        const res = await (await client()).updateEntity(entity(server), 'Replace', { etag });
        if (!res.etag) throw new Error('update without etag');
        return res.etag;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404)
          throw new ConcurrencyError(`server ${server.name} changed since it was read`);
        throw err;
      }
    },
  };
}
