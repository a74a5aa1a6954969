import type * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { restoreOrchestrator } from '../../../shared/workflows/restore';
import {
  rehydrationPolling,
  restoreActivities as A,
  type RestoreOrchestratorInput,
  type RunRestoreResult,
} from '../../../shared/workflows/names';
import type { RestoreSpec } from '../../../shared/contracts/restores';
import { encodeWireError } from '../../../shared/workflows/task-errors';

interface Call {
  name: string;
  input?: unknown;
  fireAt?: Date;
}

const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A context whose tasks are the recorded calls; the clock advances to each timer's fireAt, as replay would. */
function fakeContext(input: RestoreOrchestratorInput) {
  const clock = { now: T0 };
  const context = {
    df: {
      instanceId: 'restore-req-r1',
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
        return { name: 'timer', fireAt };
      },
    },
  } as unknown as df.OrchestrationContext;
  return context;
}

const request: RestoreSpec = {
  recoveryPointId: 'p1',
  sourceDataStoreType: 'VaultStore',
  target: {
    kind: 'database',
    databaseName: 'copy',
    secret: { secretStoreType: 'AppSetting', uri: 'appsetting://T' },
  },
};
const succeeded: RunRestoreResult = {
  status: 'SucceededWithWarnings',
  warnings: [{ code: 'OwnerNotSet', message: 'ALTER TABLE … OWNER TO app: role "app" does not exist' }],
  bytesRead: 10,
};

/** Drives the generator with `answers` (by activity name, in order) and returns every yielded call. */
function drive(input: RestoreOrchestratorInput, answer: (call: Call) => unknown) {
  const gen = restoreOrchestrator(fakeContext(input));
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

describe('restoreOrchestrator', () => {
  it('starts the job, restores, then finishes the job with the warnings and releases the lease', () => {
    const { calls, result } = drive({ jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand', request }, (c) =>
      c.name === A.startRestoreJob
        ? { sourceBlobName: 'orders/x/dump.pgdump.zst', inUseUntil: 'L' }
        : c.name === A.runRestore
          ? succeeded
          : undefined,
    );
    expect(calls.map((c) => c.name)).toEqual([A.startRestoreJob, A.runRestore, A.finishRestoreJob]);
    expect(calls[1]!.input).toMatchObject({ sourceBlobName: 'orders/x/dump.pgdump.zst' });
    expect(calls[2]!.input).toMatchObject({ inUseUntil: 'L', outcome: { result: succeeded } });
    expect(result).toEqual({ jobId: 'j1', status: 'Succeeded', result: succeeded });
  });

  it('rehydrates an archived point first, polling with growing durable timers until the copy succeeds', () => {
    let checks = 0;
    const { calls } = drive(
      {
        jobId: 'j1',
        instanceName: 'orders',
        trigger: 'OnDemand',
        request: { ...request, rehydration: { priority: 'Standard', retentionDays: 15 } },
      },
      (c) => {
        if (c.name === A.startRestoreJob) return { inUseUntil: 'L' };
        if (c.name === A.startRehydration) return { rehydrateJobId: 'j1-rehydrate', targetBlobName: 'copy' };
        if (c.name === A.checkRehydration) return ++checks < 4 ? 'pending' : 'success';
        if (c.name === A.runRestore) return succeeded;
        return undefined;
      },
    );
    const timers = calls.filter((c) => c.name === 'timer').map((c) => c.fireAt!.getTime());
    const waits = timers.map((t, i) => t - (i === 0 ? T0 : timers[i - 1]!));
    expect(waits).toEqual([
      rehydrationPolling.firstDelayMs,
      2 * rehydrationPolling.firstDelayMs,
      4 * rehydrationPolling.firstDelayMs,
    ]);
    const names = calls.map((c) => c.name).filter((n) => n !== 'timer' && n !== A.checkRehydration);
    expect(names).toEqual([
      A.startRestoreJob,
      A.startRehydration,
      A.completeRehydration,
      A.runRestore,
      A.finishRestoreJob,
    ]);
    expect(calls.find((c) => c.name === A.runRestore)!.input).toMatchObject({ sourceBlobName: 'copy' });
  });

  it('gives up on a rehydration that outlasts the deadline: Rehydrate job and restore job Failed, no restore', () => {
    const { calls, result } = drive(
      {
        jobId: 'j1',
        instanceName: 'orders',
        trigger: 'OnDemand',
        request: { ...request, rehydration: { priority: 'High', retentionDays: 10 } },
      },
      (c) => {
        if (c.name === A.startRestoreJob) return { inUseUntil: 'L' };
        if (c.name === A.startRehydration) return { rehydrateJobId: 'r', targetBlobName: 'copy' };
        if (c.name === A.checkRehydration) return 'pending';
        return undefined;
      },
    );
    const waits = calls.filter((c) => c.name === 'timer').map((c) => c.fireAt!.getTime());
    expect(Math.max(...waits.map((t, i) => t - (i === 0 ? T0 : waits[i - 1]!)))).toBe(rehydrationPolling.maxDelayMs);
    expect(calls.some((c) => c.name === A.runRestore)).toBe(false);
    expect(calls.find((c) => c.name === A.completeRehydration)!.input).toMatchObject({
      error: { code: 'SystemErrorRestoreFailed' },
    });
    expect(result).toMatchObject({ status: 'Failed', error: { code: 'SystemErrorRestoreFailed' } });
  });

  it('fails the job with the activity error code and posts a Failed result with the job id to replyTo', () => {
    const { calls, result } = drive(
      { instanceName: 'orders', trigger: 'Queue', request, reply: { requestId: 'r1', queue: 'answers' } },
      (c) => {
        if (c.name === A.startRestoreJob) return { sourceBlobName: 'b', inUseUntil: 'L' };
        if (c.name === A.runRestore) {
          return new Error(
            `Activity function 'runRestore' failed: ${encodeWireError({ code: 'SystemErrorIntegrityCheckFailed', message: 'sha mismatch', hint: 'h' })}`,
          );
        }
        return undefined;
      },
    );
    const jobId = 'guid(restore-req-r1:job)';
    expect(calls.map((c) => c.name)).toEqual([
      A.startRestoreJob,
      A.runRestore,
      A.finishRestoreJob,
      A.postRestoreResult,
    ]);
    expect(calls[3]!.input).toEqual({
      queue: 'answers',
      message: {
        requestId: 'r1',
        jobId,
        status: 'Failed',
        error: { code: 'SystemErrorIntegrityCheckFailed', message: 'sha mismatch' },
      },
    });
    expect(result).toMatchObject({ jobId, status: 'Failed' });
  });

  it('still finishes the job and answers the queue when the request is refused at the start', () => {
    const { calls } = drive(
      { instanceName: 'orders', trigger: 'Queue', request, reply: { requestId: 'r1', queue: 'restore-results' } },
      (c) =>
        c.name === A.startRestoreJob
          ? new Error(encodeWireError({ code: 'UserErrorRecoveryPointArchived', message: 'archived', hint: 'h' }))
          : undefined,
    );
    expect(calls.map((c) => c.name)).toEqual([A.startRestoreJob, A.finishRestoreJob, A.postRestoreResult]);
    // No lease was taken, so none is released.
    expect(calls[1]!.input).not.toHaveProperty('inUseUntil');
    expect(calls[2]!.input).toMatchObject({
      message: { status: 'Failed', error: { code: 'UserErrorRecoveryPointArchived' } },
    });
  });

  it('rejects an input without a request with a precise message', () => {
    const gen = restoreOrchestrator(
      fakeContext({ instanceName: 'orders', trigger: 'OnDemand' } as unknown as RestoreOrchestratorInput),
    );
    expect(() => gen.next()).toThrow('input.request must be an object');
  });
});
