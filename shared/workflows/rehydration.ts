// Rehydration of an archived recovery point inside an orchestration (design §6): start the rehydrating copy, poll it
// with durable timers (backing off up to a cap, giving up at a deadline), and record the outcome on the Rehydrate
// job. Shared by the restore and the restore-test orchestrations.

import type * as df from 'durable-functions';
import type { JobError } from '../ports';
import {
  rehydrationPolling,
  restoreActivities as A,
  type RehydrationStarted,
  type RehydrationState,
  type RestoreStepInput,
} from './names';

/** Thrown when the copy failed or did not finish in time; the Rehydrate job is already failed. */
export class RehydrationFailed extends Error {
  constructor(readonly jobError: JobError) {
    super(jobError.message);
  }
}

/** Rehydrates the step's point and returns the blob to restore from. */
export function* rehydrate(
  context: df.OrchestrationContext,
  step: RestoreStepInput,
): Generator<df.Task, string, unknown> {
  const rehydration = (yield context.df.callActivity(A.startRehydration, step)) as RehydrationStarted;
  const deadline = context.df.currentUtcDateTime.getTime() + rehydrationPolling.deadlineMs;
  let delayMs: number = rehydrationPolling.firstDelayMs;
  for (;;) {
    const state = (yield context.df.callActivity(A.checkRehydration, { ...step, ...rehydration })) as RehydrationState;
    if (state === 'success') break;
    const now = context.df.currentUtcDateTime.getTime();
    if (state === 'failed' || now >= deadline) {
      const error: JobError = {
        code: 'SystemErrorRestoreFailed',
        message:
          state === 'failed'
            ? 'the rehydrating copy of the archived recovery point failed'
            : `the archived recovery point was not rehydrated within ${rehydrationPolling.deadlineMs / 3600_000} hours`,
        hint: 'retry the restore; if it keeps failing, check the storage account for the copy operation',
      };
      yield context.df.callActivity(A.completeRehydration, { ...step, ...rehydration, error });
      throw new RehydrationFailed(error);
    }
    // A Date from replayed values is deterministic; the lint rule cannot tell it from `new Date()`.
    // eslint-disable-next-line no-restricted-globals
    yield context.df.createTimer(new Date(now + delayMs));
    delayMs = Math.min(delayMs * 2, rehydrationPolling.maxDelayMs);
  }
  yield context.df.callActivity(A.completeRehydration, { ...step, ...rehydration });
  return rehydration.targetBlobName;
}
