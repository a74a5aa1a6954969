import type * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { restoreTestOrchestrator, verifyOrchestrator } from '../../../shared/workflows/restore-test';
import {
  restoreActivities as R,
  restoreTestActivities as T,
  type RestoreCheck,
  type RestoreTestOrchestratorInput,
  type StartRestoreTestResult,
} from '../../../shared/workflows/names';
import type { RestoreSpec } from '../../../shared/contracts/restores';
import { restoreTestPlanPropertiesSchema } from '../../../shared/contracts/restore-tests';
import { encodeWireError } from '../../../shared/workflows/task-errors';

interface Call {
  name: string;
  input?: unknown;
}

const T0 = Date.parse('2026-03-01T00:00:00Z');

function fakeContext(input: unknown) {
  const clock = { now: T0 };
  return {
    df: {
      instanceId: 'restoretest-nightly-orders-1',
      getInput: () => input,
      newGuid: (seed: string) => `guid(${seed})`,
      get currentUtcDateTime() {
        return new Date(clock.now);
      },
      callActivity: (name: string, activityInput: unknown): Call => ({ name, input: activityInput }),
      callActivityWithRetry: (name: string, _retry: unknown, activityInput: unknown): Call => ({
        name,
        input: activityInput,
      }),
      createTimer: (fireAt: Date): Call => {
        clock.now = fireAt.getTime();
        return { name: 'timer' };
      },
    },
  } as unknown as df.OrchestrationContext;
}

function drive<R>(
  orchestrator: (c: df.OrchestrationContext) => Generator<df.Task, R, unknown>,
  input: unknown,
  answer: (call: Call) => unknown,
) {
  const gen = orchestrator(fakeContext(input));
  const calls: Call[] = [];
  let r = gen.next();
  while (!r.done) {
    const call = r.value as unknown as Call;
    calls.push(call);
    const a = answer(call);
    r = a instanceof Error ? gen.throw(a) : gen.next(a);
  }
  return { calls, result: r.value };
}

const plan = restoreTestPlanPropertiesSchema.parse({
  backupInstances: ['orders'],
  target: {
    datasourceAuthCredentials: {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://SCRATCH_DB' },
    },
  },
  assertions: { orders: ['SELECT true'] },
});
const input: RestoreTestOrchestratorInput = {
  jobId: 'j1',
  planName: 'nightly',
  instanceName: 'orders',
  trigger: 'OnDemand',
  plan,
};
const request: RestoreSpec = {
  recoveryPointId: 'p1',
  sourceDataStoreType: 'VaultStore',
  target: {
    kind: 'database',
    databaseName: 'pgkeep_verify_j1',
    secret: { secretStoreType: 'AppSetting', uri: 'appsetting://SCRATCH_DB' },
  },
};
const started: StartRestoreTestResult = {
  started: true,
  request,
  scratchDatabase: 'pgkeep_verify_j1',
  comment: 'pgkeep restore test job=j1 instance=orders deadline=2026-03-01T02:00:00.000Z',
  deadline: '2026-03-01T02:00:00.000Z',
};
const check: RestoreCheck = {
  contentsChecked: true,
  tables: 4,
  rowsCompared: 100,
  mismatches: [],
  mismatchCount: 0,
  assertions: [{ sql: 'SELECT true', passed: true }],
  targetServerVersion: '17.2',
};
const restored = { status: 'Succeeded', warnings: [], bytesRead: 10 };

const happy = (c: Call): unknown =>
  c.name === T.startRestoreTest
    ? started
    : c.name === R.startRestoreJob
      ? { sourceBlobName: 'orders/x/dump.pgdump.zst', inUseUntil: 'L' }
      : c.name === T.restoreScratch
        ? restored
        : c.name === T.checkRestoredDatabase
          ? check
          : c.name === T.finishRestoreTest
            ? 'Passed'
            : undefined;

describe('restoreTestOrchestrator', () => {
  it('starts the test, leases the point, restores into the scratch database, checks it, then finishes', () => {
    const { calls, result } = drive(restoreTestOrchestrator, input, happy);
    expect(calls.map((c) => c.name)).toEqual([
      T.startRestoreTest,
      R.startRestoreJob,
      T.restoreScratch,
      T.checkRestoredDatabase,
      T.finishRestoreTest,
    ]);
    expect(calls[2]?.input).toMatchObject({
      sourceBlobName: 'orders/x/dump.pgdump.zst',
      comment: started.started && started.comment,
    });
    expect(calls[3]?.input).toMatchObject({ assertions: ['SELECT true'], deadline: '2026-03-01T02:00:00.000Z' });
    expect(calls[4]?.input).toMatchObject({
      inUseUntil: 'L',
      scratchDatabase: 'pgkeep_verify_j1',
      outcome: { check, restore: restored },
    });
    expect(result).toEqual({ jobId: 'j1', status: 'Passed' });
  });

  it('stops after the start step when the test could not start (the step failed the job)', () => {
    const error = { code: 'UserErrorRestoreTestTargetNotReady' as const, message: 'no CREATEDB', hint: 'h' };
    const { calls, result } = drive(restoreTestOrchestrator, input, () => ({ started: false, error }));
    expect(calls.map((c) => c.name)).toEqual([T.startRestoreTest]);
    expect(result).toEqual({ jobId: 'j1', status: 'NotStarted', error });
  });

  it('still finishes (drop, evidence, lease) when the restore fails, with the failure as the outcome', () => {
    const error = { code: 'SystemErrorIntegrityCheckFailed' as const, message: 'sha mismatch', hint: 'h' };
    const { calls, result } = drive(restoreTestOrchestrator, input, (c) =>
      c.name === T.restoreScratch
        ? new Error(encodeWireError(error))
        : c.name === T.finishRestoreTest
          ? 'Failed'
          : happy(c),
    );
    expect(calls.map((c) => c.name)).toEqual([
      T.startRestoreTest,
      R.startRestoreJob,
      T.restoreScratch,
      T.finishRestoreTest,
    ]);
    expect(calls[3]?.input).toMatchObject({
      inUseUntil: 'L',
      outcome: { error: { code: 'SystemErrorIntegrityCheckFailed' } },
    });
    expect(result).toMatchObject({ status: 'Failed', error: { code: 'SystemErrorIntegrityCheckFailed' } });
  });

  it('rehydrates an archived point first and restores from the rehydrated copy', () => {
    const { calls } = drive(restoreTestOrchestrator, input, (c) =>
      c.name === R.startRestoreJob
        ? { inUseUntil: 'L' }
        : c.name === R.startRehydration
          ? { rehydrateJobId: 'j1-rehydrate', targetBlobName: 'orders/x/rehydrated.pgdump.zst' }
          : c.name === R.checkRehydration
            ? 'success'
            : happy(c),
    );
    expect(calls.map((c) => c.name)).toEqual([
      T.startRestoreTest,
      R.startRestoreJob,
      R.startRehydration,
      R.checkRehydration,
      R.completeRehydration,
      T.restoreScratch,
      T.checkRestoredDatabase,
      T.finishRestoreTest,
    ]);
    expect(calls[5]?.input).toMatchObject({ sourceBlobName: 'orders/x/rehydrated.pgdump.zst' });
  });

  it('refuses an input without a plan', () => {
    expect(() => drive(restoreTestOrchestrator, { ...input, plan: undefined }, happy)).toThrow(/input.plan/);
  });
});

describe('verifyOrchestrator', () => {
  it('runs the one verify activity with its orchestration id and returns its result', () => {
    const { calls, result } = drive(
      verifyOrchestrator,
      { jobId: 'v1', instanceName: 'orders', trigger: 'OnDemand', recoveryPointId: 'p1' },
      () => ({ jobId: 'v1', status: 'Succeeded', recoveryPointId: 'p1' }),
    );
    expect(calls).toEqual([
      {
        name: T.verifyRecoveryPoint,
        input: {
          jobId: 'v1',
          instanceName: 'orders',
          trigger: 'OnDemand',
          recoveryPointId: 'p1',
          orchestrationId: 'restoretest-nightly-orders-1',
        },
      },
    ]);
    expect(result).toEqual({ jobId: 'v1', status: 'Succeeded', recoveryPointId: 'p1' });
  });
});
