// JobStore on Table Storage.
//
// Table `${prefix}jobs` holds two kinds of rows:
//   job rows    PartitionKey = "t:<999999 − days since epoch of startTime, 6 digits>"  (one partition per day)
//               RowKey       = "<13-digit inverted startTime ms>-<escapeKey(id)>"
//               properties: id, operation, backupInstance, status, trigger, startTime, endTime, recoveryPointId,
//               orchestrationId; progress, error, warnings, extra as JSON strings (one property per port field,
//               so a patch replaces a field whole)
//   index rows  PartitionKey = "id:<escapeKey(id)>", RowKey = ""  →  jobPartition, jobRowKey
// Both keys are inverted, so Table Storage's (PartitionKey, RowKey) order IS newest first: list is ONE range query
// over the day partitions of its window (default: the last 7 days) with the time bounds as RowKey bounds and the
// other filters as equality terms — it never scans older history. get(id) is two point reads (index, then job).
// create writes the index row first: a crash in between leaves an index without a job, which get reports as
// missing and a retried create completes.
// patch is a Merge (last writer wins per field) made conditional on the etag just read, retried on 412, so that the
// terminal-status guard (rules.ts guardJobPatch: once Succeeded/Failed/Cancelled, progress and non-terminal statuses
// are dropped) is decided on the status actually stored.

import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { PgkeepError } from '../../../errors';
import {
  ConcurrencyError,
  systemClock,
  type Clock,
  type JobOperation,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type JobTrigger,
} from '../../../ports';
import {
  dayPartition,
  dayRangeFilter,
  defined,
  escapeKey,
  invertedMs,
  optJson,
  optStr,
  statusOf,
  str,
  unless404,
  type Row,
  type TableProvider,
} from './common';
import { boundMs, fitWarnings, guardJobPatch, jobWindow, smallJson, type JobPatch } from './rules';

const MAX_PATCH_ATTEMPTS = 20;

const indexPartition = (id: string) => `id:${escapeKey(id)}`;

function jobKeys(id: string, startTime: string): { partitionKey: string; rowKey: string } {
  const ms = boundMs(startTime, 'startTime');
  if (ms === undefined) throw new RangeError('job without startTime');
  return { partitionKey: dayPartition(ms), rowKey: `${invertedMs(ms)}-${escapeKey(id)}` };
}

/** The row properties of the given job fields; undefined fields are left out (a Merge leaves them unchanged). */
function jobProps(f: Partial<JobRecord>): Record<string, unknown> {
  return defined({
    id: f.id,
    operation: f.operation,
    backupInstance: f.backupInstance,
    status: f.status,
    trigger: f.trigger,
    startTime: f.startTime,
    endTime: f.endTime,
    recoveryPointId: f.recoveryPointId,
    orchestrationId: f.orchestrationId,
    progress: f.progress && smallJson(f.progress, 'progress'),
    error: f.error && smallJson(f.error, 'error'),
    warnings: f.warnings && JSON.stringify(fitWarnings(f.warnings)),
    extra: f.extra && smallJson(f.extra, 'extra'),
  });
}

function toRecord(row: Row): JobRecord {
  return {
    id: str(row, 'id'),
    operation: str(row, 'operation') as JobOperation,
    backupInstance: str(row, 'backupInstance'),
    status: str(row, 'status') as JobStatus,
    trigger: str(row, 'trigger') as JobTrigger,
    startTime: str(row, 'startTime'),
    progress: optJson<JobRecord['progress']>(row, 'progress') ?? { bytes: 0 },
    ...defined({
      endTime: optStr(row, 'endTime'),
      recoveryPointId: optStr(row, 'recoveryPointId'),
      error: optJson<JobRecord['error']>(row, 'error'),
      warnings: optJson<JobRecord['warnings']>(row, 'warnings'),
      orchestrationId: optStr(row, 'orchestrationId'),
      extra: optJson<JobRecord['extra']>(row, 'extra'),
    }),
  };
}

export function jobNotFound(id: string): PgkeepError {
  return new PgkeepError('UserErrorNotFound', `backup job ${id} does not exist`, { target: id });
}

async function readIndex(c: TableClient, id: string): Promise<{ partitionKey: string; rowKey: string } | undefined> {
  const row = await unless404(() => c.getEntity<Record<string, unknown>>(indexPartition(id), ''));
  return row && { partitionKey: str(row, 'jobPartition'), rowKey: str(row, 'jobRowKey') };
}

const readJob = (c: TableClient, keys: { partitionKey: string; rowKey: string }) =>
  unless404(() => c.getEntity<Record<string, unknown>>(keys.partitionKey, keys.rowKey));

export function createTableJobStore(tables: TableProvider, clock: Clock = systemClock): JobStore {
  const client = () => tables.table('jobs');
  return {
    async create(job) {
      const c = await client();
      const keys = jobKeys(job.id, job.startTime);
      const exists = () => new ConcurrencyError(`backup job ${job.id} already exists`);
      try {
        await c.createEntity({
          partitionKey: indexPartition(job.id),
          rowKey: '',
          jobPartition: keys.partitionKey,
          jobRowKey: keys.rowKey,
        });
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
        // Finish a create that crashed after its index row; anything else is a second job with this id.
        const index = await readIndex(c, job.id);
        if (index?.partitionKey !== keys.partitionKey || index.rowKey !== keys.rowKey) throw exists();
        if (await readJob(c, keys)) throw exists();
      }
      const entity: TableEntity = { ...keys, ...jobProps(job) };
      try {
        await c.createEntity(entity);
      } catch (err) {
        if (statusOf(err) === 409) throw exists();
        throw err;
      }
    },

    async get(id) {
      const c = await client();
      const index = await readIndex(c, id);
      const row = index && (await readJob(c, index));
      return row && toRecord(row);
    },

    async patch(id, fields) {
      const c = await client();
      const index = await readIndex(c, id);
      if (!index) throw jobNotFound(id);
      for (let attempt = 1; ; attempt++) {
        const row = await readJob(c, index);
        if (!row?.etag) throw jobNotFound(id);
        const kept: JobPatch = guardJobPatch(str(row, 'status') as JobStatus, fields);
        const props = jobProps(kept);
        if (Object.keys(props).length === 0) return;
        try {
          await c.updateEntity({ ...index, ...props }, 'Merge', { etag: row.etag });
          return;
        } catch (err) {
          if (statusOf(err) !== 412 || attempt >= MAX_PATCH_ATTEMPTS) throw err;
        }
      }
    },

    async *list(filter) {
      const { fromMs, toMs } = jobWindow(filter, clock.now());
      const window = dayRangeFilter(fromMs, toMs);
      if (window === undefined) return;
      let query = window;
      if (filter.backupInstance !== undefined) query += odata` and backupInstance eq ${filter.backupInstance}`;
      if (filter.operation !== undefined) query += odata` and operation eq ${filter.operation}`;
      if (filter.status !== undefined) query += odata` and status eq ${filter.status}`;
      const c = await client();
      for await (const row of c.listEntities<Record<string, unknown>>({ queryOptions: { filter: query } })) {
        yield toRecord(row);
      }
    },
  };
}
