// SlotStore on Table Storage (issue 15): the durable semaphores that bound how many backups run at once per server
// and on the host.
//
// Table `${prefix}backupSlots`, ONE partition (PartitionKey "slots"), so that a backup takes a slot of its server and
// of the host in one entity-group transaction, each row checked against the etag it was read with:
//   RowKey "s:<sha256(server key)>"  key, limit (Int32, optional), state = {"holders": [...], "queue": [...]} as JSON
//   RowKey "host"                    state, the same shape; entries carry their server key
// A semaphore row stays a few KiB: holders are bounded by the limits, and the queue by the backups due at once on
// one server (about 100 bytes each, well under the 64 KiB property limit for hundreds).

import { createHash } from 'node:crypto';
import type { TableEntity, TransactionAction } from '@azure/data-tables';
import { ConcurrencyError, type SlotRow, type SlotStore, type Stored } from '../../../ports';
import { etagOf, optStr, statusOf, str, unless404, type Row, type TableProvider } from './common';

const PARTITION = 'slots';
const HOST = 'host';

export const serverSlotRowKey = (serverKey: string) =>
  `s:${createHash('sha256').update(serverKey.toLowerCase()).digest('hex')}`;

function toStored(row: Row): Stored<SlotRow> {
  const state = JSON.parse(str(row, 'state')) as Pick<SlotRow, 'holders' | 'queue'>;
  const limit = row.limit;
  return {
    value: { holders: state.holders, queue: state.queue, ...(typeof limit === 'number' ? { limit } : {}) },
    etag: etagOf(row),
  };
}

function toEntity(rowKey: string, row: SlotRow, key?: string): TableEntity {
  return {
    partitionKey: PARTITION,
    rowKey,
    ...(key !== undefined ? { key } : {}),
    ...(row.limit !== undefined ? { limit: row.limit } : {}),
    state: JSON.stringify({ holders: row.holders, queue: row.queue }),
  };
}

function action(entity: TableEntity, etag: string | undefined): TransactionAction {
  return etag === undefined ? ['create', entity] : ['update', entity, 'Replace', { etag }];
}

export function createTableSlotStore(tables: TableProvider): SlotStore {
  const client = () => tables.table('backupSlots');
  const getRow = async (rowKey: string) =>
    unless404(async () => (await client()).getEntity<Record<string, unknown>>(PARTITION, rowKey));
  const store: SlotStore = {
    async read(serverKey) {
      const [server, host] = await Promise.all([getRow(serverSlotRowKey(serverKey)), getRow(HOST)]);
      return { ...(server ? { server: toStored(server) } : {}), ...(host ? { host: toStored(host) } : {}) };
    },
    async write(serverKey, server, host) {
      try {
        await (
          await client()
        ).submitTransaction([
          action(toEntity(serverSlotRowKey(serverKey), server.row, serverKey), server.etag),
          action(toEntity(HOST, host.row), host.etag),
        ]);
      } catch (err) {
        const status = statusOf(err);
        // 409: a row created meanwhile; 412: changed; 404: deleted. Nothing of the transaction was written.
        if (status === 409 || status === 412 || status === 404) {
          throw new ConcurrencyError(`the backup slots of ${serverKey} changed since they were read`);
        }
        throw err;
      }
    },
    async setLimit(serverKey, limit) {
      const rowKey = serverSlotRowKey(serverKey);
      for (let attempt = 0; ; attempt++) {
        const row = await getRow(rowKey);
        const current = row ? toStored(row).value : { holders: [], queue: [] };
        const { limit: _old, ...rest } = current;
        const next: SlotRow = limit === undefined ? rest : { ...rest, limit };
        const entity = toEntity(rowKey, next, optStr(row ?? ({} as Row), 'key') ?? serverKey);
        try {
          const c = await client();
          if (row) await c.updateEntity(entity, 'Replace', { etag: etagOf(row) });
          else await c.createEntity(entity);
          return;
        } catch (err) {
          const status = statusOf(err);
          if ((status !== 409 && status !== 412) || attempt >= 10) throw err;
        }
      }
    },
  };
  return store;
}
