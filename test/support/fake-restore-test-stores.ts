// In-memory fakes of the restore-test store ports (issue 17), kept to the same contract as the Table Storage
// adapters by test/contract/restore-test-stores.test.ts, and restore-test API deps that record what they start.

import {
  ConcurrencyError,
  type RestoreTestHistoryStore,
  type RestoreTestPlanRecord,
  type RestoreTestPlanStore,
  type Stored,
} from '../../shared/ports';
import type { RestoreTestApiDeps } from '../../shared/api/deps';
import type { RestoreTestResult } from '../../shared/contracts/restore-tests';
import type { RestoreTestOrchestratorInput, VerifyOrchestratorInput } from '../../shared/workflows/names';

let etags = 0;
const copy = <T>(v: T): T => structuredClone(v);

export function createFakeRestoreTestPlanStore(): RestoreTestPlanStore {
  const rows = new Map<string, Stored<RestoreTestPlanRecord>>();
  return {
    create: (plan) =>
      Promise.resolve().then(() => {
        if (rows.has(plan.name)) throw new ConcurrencyError(`restore-test plan ${plan.name} already exists`);
        rows.set(plan.name, { value: copy(plan), etag: `fake-${++etags}` });
      }),
    get: (name) => Promise.resolve(rows.has(name) ? copy(rows.get(name)) : undefined),
    async *list() {
      await Promise.resolve();
      for (const key of [...rows.keys()].sort()) yield copy(rows.get(key)!);
    },
    update: (plan, etag) =>
      Promise.resolve().then(() => {
        const row = rows.get(plan.name);
        if (!row || row.etag !== etag)
          throw new ConcurrencyError(`restore-test plan ${plan.name} changed since it was read`);
        const next = { value: copy(plan), etag: `fake-${++etags}` };
        rows.set(plan.name, next);
        return next.etag;
      }),
    delete: (name) => Promise.resolve().then(() => void rows.delete(name)),
  };
}

export function createFakeRestoreTestHistoryStore(): RestoreTestHistoryStore {
  const rows = new Map<string, Map<string, RestoreTestResult>>();
  return {
    put: (instanceName, result) =>
      Promise.resolve().then(() => {
        const forInstance = rows.get(instanceName) ?? new Map<string, RestoreTestResult>();
        forInstance.set(result.jobId, copy(result));
        rows.set(instanceName, forInstance);
      }),
    async *list(instanceName) {
      await Promise.resolve();
      const all = [...(rows.get(instanceName)?.values() ?? [])];
      all.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.jobId < b.jobId ? -1 : 1));
      for (const r of all) yield copy(r);
    },
  };
}

export interface RecordedStarts {
  readonly restoreTests: { orchestrationId: string; input: RestoreTestOrchestratorInput }[];
  readonly verifies: { orchestrationId: string; input: VerifyOrchestratorInput }[];
}

/** Restore-test API deps over the fakes; the scratch target always answers ready unless `checkScratchTarget` is given. */
export function fakeRestoreTestApiDeps(
  overrides: Partial<RestoreTestApiDeps> = {},
): RestoreTestApiDeps & { readonly started: RecordedStarts } {
  const started: RecordedStarts = { restoreTests: [], verifies: [] };
  return {
    plans: createFakeRestoreTestPlanStore(),
    history: createFakeRestoreTestHistoryStore(),
    checkScratchTarget: () => Promise.resolve(),
    startRestoreTest: (orchestrationId, input) => {
      started.restoreTests.push({ orchestrationId, input });
      return Promise.resolve();
    },
    startVerify: (orchestrationId, input) => {
      started.verifies.push({ orchestrationId, input });
      return Promise.resolve();
    },
    ...overrides,
    started,
  };
}
