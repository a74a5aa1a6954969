// RecoveryPointStore on Table Storage.
//
// Table `${prefix}recoveryPoints`:
//   PartitionKey = escapeKey(instanceName)   all points of an instance in one partition (expiry reads them together)
//   RowKey       = the point's id = recoveryPointId(time, suffix) = `<13-digit inverted epoch ms>-<suffix>`
// The id encodes the time inverted, so get is a point read, list comes back newest first without sorting, from/to
// become RowKey range bounds and afterId (a listing's continuation) a RowKey lower bound. create refuses an id that
// does not encode the record's own time. All fields
// are flat properties (Table has no nested objects); optional ones are omitted when absent; bytes is Int64.

import { odata, type TableEntity } from '@azure/data-tables';
import {
  ConcurrencyError,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type RecoveryPointTrigger,
  type Stored,
} from '../../../ports';
import type { DataStore, RecoveryPointStatus, TagName } from '../../../domain/types';
import {
  defined,
  escapeKey,
  etagOf,
  int64,
  invertedRange,
  num,
  optJson,
  optStr,
  rowKeyRangeFilter,
  statusOf,
  str,
  unless404,
  type Row,
  type TableProvider,
} from './common';
import { boundMs, checkRecoveryPointId } from './rules';
import type { RestoreTestResult } from '../../../contracts/restore-tests';

/** The row of a point; exported for bulk writers (the expiry benchmark writes 100,000 in Table transactions). */
export function toEntity(p: RecoveryPointRecord): TableEntity {
  checkRecoveryPointId(p);
  return {
    partitionKey: escapeKey(p.instanceName),
    rowKey: escapeKey(p.id),
    ...defined({
      instanceName: p.instanceName,
      id: p.id,
      time: p.time,
      tag: p.tag,
      trigger: p.trigger,
      dataStore: p.dataStore,
      status: p.status,
      policyName: p.policyName,
      jobId: p.jobId,
      blobName: p.blobName,
      manifestBlobName: p.manifestBlobName,
      bytes: int64(p.bytes),
      sha256: p.sha256,
      vaultUntil: p.vaultUntil,
      movesToArchive: p.movesToArchive,
      deleteAt: p.deleteAt,
      archivedAt: p.archivedAt,
      rehydratedBlobName: p.rehydratedBlobName,
      rehydratedUntil: p.rehydratedUntil,
      inUseUntil: p.inUseUntil,
      serverVersion: p.serverVersion,
      pgDumpVersion: p.pgDumpVersion,
      databaseName: p.databaseName,
      encryptionKeyId: p.encryptionKeyId,
      createdAt: p.createdAt,
      // restore tests (issue 17): the latest test's evidence, a JSON string (lists capped by its writer)
      restoreTest: p.restoreTest === undefined ? undefined : JSON.stringify(p.restoreTest),
    }),
  };
}

function toStored(row: Row): Stored<RecoveryPointRecord> {
  const value: RecoveryPointRecord = {
    instanceName: str(row, 'instanceName'),
    id: str(row, 'id'),
    time: str(row, 'time'),
    tag: str(row, 'tag') as TagName,
    trigger: str(row, 'trigger') as RecoveryPointTrigger,
    dataStore: str(row, 'dataStore') as DataStore,
    status: str(row, 'status') as RecoveryPointStatus,
    policyName: str(row, 'policyName'),
    jobId: str(row, 'jobId'),
    blobName: str(row, 'blobName'),
    manifestBlobName: str(row, 'manifestBlobName'),
    bytes: num(row, 'bytes'),
    sha256: str(row, 'sha256'),
    vaultUntil: str(row, 'vaultUntil'),
    movesToArchive: row['movesToArchive'] === true,
    deleteAt: str(row, 'deleteAt'),
    ...defined({
      archivedAt: optStr(row, 'archivedAt'),
      rehydratedBlobName: optStr(row, 'rehydratedBlobName'),
      rehydratedUntil: optStr(row, 'rehydratedUntil'),
      inUseUntil: optStr(row, 'inUseUntil'),
    }),
    serverVersion: str(row, 'serverVersion'),
    pgDumpVersion: str(row, 'pgDumpVersion'),
    databaseName: str(row, 'databaseName'),
    ...defined({ encryptionKeyId: optStr(row, 'encryptionKeyId') }),
    createdAt: str(row, 'createdAt'),
    ...defined({ restoreTest: optJson<RestoreTestResult>(row, 'restoreTest') }),
  };
  return { value, etag: etagOf(row) };
}

export function createTableRecoveryPointStore(tables: TableProvider): RecoveryPointStore {
  const client = () => tables.table('recoveryPoints');
  return {
    async create(point) {
      const entity = toEntity(point);
      try {
        await (await client()).createEntity(entity);
      } catch (err) {
        if (statusOf(err) === 409) {
          throw new ConcurrencyError(`recovery point ${point.id} of ${point.instanceName} already exists`);
        }
        throw err;
      }
    },

    async get(instanceName, id) {
      const c = await client();
      const row = await unless404(() => c.getEntity<Record<string, unknown>>(escapeKey(instanceName), escapeKey(id)));
      return row && toStored(row);
    },

    async *list(instanceName, options = {}) {
      const range = invertedRange(boundMs(options.from, 'from'), boundMs(options.to, 'to'));
      if (range === 'empty' || options.limit === 0) return;
      const c = await client();
      const filter =
        odata`PartitionKey eq ${escapeKey(instanceName)}` +
        rowKeyRangeFilter(range) +
        (options.afterId === undefined ? '' : odata` and RowKey gt ${escapeKey(options.afterId)}`);
      const rows = c.listEntities<Record<string, unknown>>({ queryOptions: { filter } });
      let left = options.limit ?? Infinity;
      // A limit is also the page size, so a caller that wants the newest point reads one row, not a page of 1,000.
      const pages = options.limit === undefined ? rows.byPage() : rows.byPage({ maxPageSize: options.limit });
      for await (const page of pages) {
        for (const row of page) {
          yield toStored(row);
          if (--left <= 0) return;
        }
      }
    },

    async *listAll() {
      // One query without a filter: the table's pages in key order, instance after instance.
      for await (const row of (await client()).listEntities<Record<string, unknown>>()) yield toStored(row);
    },

    async update(point, etag) {
      const entity = toEntity(point);
      try {
        const res = await (await client()).updateEntity(entity, 'Replace', { etag });
        if (!res.etag) throw new Error('update without etag');
        return res.etag;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404) {
          throw new ConcurrencyError(`recovery point ${point.id} of ${point.instanceName} changed since it was read`);
        }
        throw err;
      }
    },

    async delete(instanceName, id) {
      const c = await client();
      await unless404(() => c.deleteEntity(escapeKey(instanceName), escapeKey(id)));
    },

    async newest(instanceName, options = {}) {
      const c = await client();
      let filter = odata`PartitionKey eq ${escapeKey(instanceName)}`;
      if (options.status !== undefined) filter += odata` and status eq ${options.status}`;
      // Pages of one row: the first match is the newest (RowKeys sort newest first). A filtered page may come back
      // empty with a continuation, so read on until a row or the end.
      const pages = c.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: 1 });
      for await (const page of pages) {
        const row = page[0];
        if (row) return toStored(row).value;
      }
      return undefined;
    },
  };
}
