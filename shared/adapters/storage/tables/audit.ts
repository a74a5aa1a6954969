// AuditLogStore on Table Storage: append-only, one row per state-changing call or restore.
//
// Table `${prefix}auditLog`:
//   PartitionKey = dayPartition(time)                       one partition per day, newest day first (as jobs)
//   RowKey       = "<13-digit inverted time ms>-<escapeKey(id)>"
//   properties   = the entry's fields, flat (status as Int32; absent optionals omitted)
// list is one range query over the day partitions of its window (default: the last 7 days), the principal an
// equality term; append is createEntity, so an entry is never overwritten.

import { odata } from '@azure/data-tables';
import { ConcurrencyError, systemClock, type AuditEntry, type AuditLogStore, type Clock } from '../../../ports';
import { isErrorCode } from '../../../errors';
import {
  dayPartition,
  dayRangeFilter,
  defined,
  escapeKey,
  invertedMs,
  optStr,
  statusOf,
  str,
  type Row,
} from './common';
import type { TableProvider } from './common';
import { boundMs, jobWindow } from './rules';

/** Row keys of an entry: the day partition and the inverted time with the id. */
export function auditKeys(entry: Pick<AuditEntry, 'id' | 'time'>): { partitionKey: string; rowKey: string } {
  const ms = boundMs(entry.time, 'time');
  if (ms === undefined) throw new RangeError('audit entry without time');
  return { partitionKey: dayPartition(ms), rowKey: `${invertedMs(ms)}-${escapeKey(entry.id)}` };
}

function toEntry(row: Row): AuditEntry {
  return {
    id: str(row, 'id'),
    time: str(row, 'time'),
    principal: str(row, 'principal'),
    principalKind: str(row, 'principalKind') as AuditEntry['principalKind'],
    action: str(row, 'action'),
    target: str(row, 'target'),
    clientIp: optStr(row, 'clientIp') ?? '',
    outcome: str(row, 'outcome') as AuditEntry['outcome'],
    status: typeof row['status'] === 'number' ? row['status'] : 0,
    ...(isErrorCode(row['errorCode']) ? { errorCode: row['errorCode'] } : {}),
    ...defined({ jobId: optStr(row, 'jobId') }),
  };
}

export function createTableAuditLogStore(tables: TableProvider, clock: Clock = systemClock): AuditLogStore {
  const client = () => tables.table('auditLog');
  return {
    async append(entry) {
      const c = await client();
      try {
        await c.createEntity({
          ...auditKeys(entry),
          ...defined({
            id: entry.id,
            time: entry.time,
            principal: entry.principal,
            principalKind: entry.principalKind,
            action: entry.action,
            target: entry.target,
            clientIp: entry.clientIp,
            outcome: entry.outcome,
            status: entry.status,
            errorCode: entry.errorCode,
            jobId: entry.jobId,
          }),
        });
      } catch (err) {
        if (statusOf(err) === 409) throw new ConcurrencyError(`audit entry ${entry.id} already exists`);
        throw err;
      }
    },

    async *list(filter) {
      const { fromMs, toMs } = jobWindow(filter, clock.now());
      const window = dayRangeFilter(fromMs, toMs);
      if (window === undefined) return;
      const query = window + (filter.principal !== undefined ? odata` and principal eq ${filter.principal}` : '');
      const c = await client();
      for await (const row of c.listEntities<Record<string, unknown>>({ queryOptions: { filter: query } })) {
        yield toEntry(row);
      }
    },
  };
}
