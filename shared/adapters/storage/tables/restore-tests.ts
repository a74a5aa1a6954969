// RestoreTestHistoryStore on Table Storage.
//
// Table `${prefix}restoreTests`:
//   PartitionKey = escapeKey(instanceName)          one instance's history together
//   RowKey       = `${invertedMs(time)}-${jobId}`   newest first; one row per test job (a retried write replaces it)
//   result       = the RestoreTestResult JSON (contracts/restore-tests.ts; its lists are capped by the writer)

import { odata } from '@azure/data-tables';
import type { RestoreTestHistoryStore } from '../../../ports';
import type { RestoreTestResult } from '../../../contracts/restore-tests';
import { escapeKey, invertedMs, str, type TableProvider } from './common';

export function createTableRestoreTestHistoryStore(tables: TableProvider): RestoreTestHistoryStore {
  const client = () => tables.table('restoreTests');
  return {
    async put(instanceName, result) {
      await (
        await client()
      ).upsertEntity(
        {
          partitionKey: escapeKey(instanceName),
          rowKey: `${invertedMs(Date.parse(result.time))}-${escapeKey(result.jobId)}`,
          instanceName,
          result: JSON.stringify(result),
        },
        'Replace',
      );
    },

    async *list(instanceName) {
      const c = await client();
      const rows = c.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${escapeKey(instanceName)}` },
      });
      for await (const row of rows) yield JSON.parse(str(row, 'result')) as RestoreTestResult;
    },
  };
}
