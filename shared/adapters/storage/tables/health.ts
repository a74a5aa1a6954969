// HealthStore on Table Storage.
//
// Table `${prefix}instanceHealth`:
//   PartitionKey "health", RowKey escapeKey(instance)   the health the watchdog last recorded: status, reasons (JSON),
//                                                        evaluatedAt, since, changes
//   PartitionKey "run",    RowKey <kind>                 when a timer last ran: at
// Its own table, not columns on the instance row: the watchdog's writes never race the backup lock's etag.

import { odata } from '@azure/data-tables';
import type { HealthReason, HealthStatus } from '../../../domain/health';
import { ConcurrencyError, type HealthRecord, type HealthStore, type RunKind, type Stored } from '../../../ports';
import { escapeKey, etagOf, num, optJson, statusOf, str, unless404, type Row, type TableProvider } from './common';

const HEALTH = 'health';
const RUN = 'run';

function toStored(row: Row): Stored<HealthRecord> {
  return {
    value: {
      instanceName: str(row, 'instanceName'),
      health: {
        status: str(row, 'status') as HealthStatus,
        reasons: optJson<HealthReason[]>(row, 'reasons') ?? [],
        evaluatedAt: str(row, 'evaluatedAt'),
      },
      since: str(row, 'since'),
      changes: num(row, 'changes'),
    },
    etag: etagOf(row),
  };
}

export function createTableHealthStore(tables: TableProvider): HealthStore {
  const client = () => tables.table('instanceHealth');
  return {
    async get(name) {
      const c = await client();
      const row = await unless404(() => c.getEntity<Record<string, unknown>>(HEALTH, escapeKey(name)));
      return row && toStored(row);
    },

    async *list() {
      const c = await client();
      const rows = c.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${HEALTH}` },
      });
      for await (const row of rows) yield toStored(row);
    },

    async put(r, etag) {
      const c = await client();
      const entity = {
        partitionKey: HEALTH,
        rowKey: escapeKey(r.instanceName),
        instanceName: r.instanceName,
        status: r.health.status,
        reasons: JSON.stringify(r.health.reasons),
        evaluatedAt: r.health.evaluatedAt,
        since: r.since,
        changes: r.changes,
      };
      try {
        if (etag === undefined) await c.createEntity(entity);
        else await c.updateEntity(entity, 'Replace', { etag });
      } catch (err) {
        const status = statusOf(err);
        if (status === 409 || status === 412 || status === 404) {
          throw new ConcurrencyError(`the recorded health of ${r.instanceName} changed since it was read`);
        }
        throw err;
      }
    },

    async delete(name) {
      const c = await client();
      await unless404(() => c.deleteEntity(HEALTH, escapeKey(name)));
    },

    async recordRun(kind, atIso) {
      await (await client()).upsertEntity({ partitionKey: RUN, rowKey: kind, at: atIso }, 'Replace');
    },

    async lastRuns() {
      const c = await client();
      const out: Partial<Record<RunKind, string>> = {};
      for await (const row of c.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${RUN}` },
      })) {
        out[row.rowKey as RunKind] = str(row, 'at');
      }
      return out;
    },
  };
}
