// ServerStore on Table Storage (issue 15).
//
// Table `${prefix}servers`, one partition (PartitionKey "server"): a vault holds up to about a thousand servers, and
// one partition keeps list a single ordered query.
//   RowKey = escapeKey(name)
//   record = the ServerRecord as JSON (its fields are only ever read together; a few hundred bytes)
// update is a Replace with the caller's etag; resourceID cannot change.

import { odata } from '@azure/data-tables';
import { PgkeepError } from '../../../errors';
import { ConcurrencyError, type ServerRecord, type ServerStore, type Stored } from '../../../ports';
import { escapeKey, etagOf, statusOf, str, unless404, type Row, type TableProvider } from './common';

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
  const getRow = async (name: string) =>
    unless404(async () => (await client()).getEntity<Record<string, unknown>>(PARTITION, escapeKey(name)));
  return {
    async create(server) {
      try {
        await (await client()).createEntity(entity(server));
      } catch (err) {
        if (statusOf(err) === 409) throw new ConcurrencyError(`server ${server.name} already exists`);
        throw err;
      }
    },
    async get(name) {
      const row = await getRow(name);
      return row && toStored(row);
    },
    async *list() {
      const rows = (await client()).listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
      });
      for await (const row of rows) yield toStored(row);
    },
    async update(server, etag) {
      const current = await getRow(server.name);
      if (!current) throw new ConcurrencyError(`server ${server.name} was deleted since it was read`);
      if (toStored(current).value.resourceID.toLowerCase() !== server.resourceID.toLowerCase()) {
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
    async delete(name) {
      try {
        await (await client()).deleteEntity(PARTITION, escapeKey(name));
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },
  };
}
