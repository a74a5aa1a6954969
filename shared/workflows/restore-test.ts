// The restore-test orchestration (issue 17): start the RestoreTest job (choose the point, check the scratch server,
// clean leftovers) → lease the point (and rehydrate it if archived) → restore it into pgkeep_verify_<job> with the
// normal restore pipeline → compare the restored database with the manifest of contents and run the assertions →
// finish: drop the scratch database, record the evidence, end the job. The finish step runs whatever failed before.
// Also the verify orchestration: one activity that reads a point back without a server.
// Deterministic: time and ids come from context.df only; every side effect is an activity.

import * as df from 'durable-functions';
import type { JobError } from '../ports';
import {
  restoreActivities as R,
  restoreTestActivities as T,
  type RestoreCheck,
  type RestoreTestOrchestratorInput,
  type RestoreTestOrchestratorResult,
  type RunRestoreResult,
  type StartRestoreJobResult,
  type StartRestoreTestResult,
  type VerifyOrchestratorInput,
  type VerifyResult,
} from './names';
import { decodeTaskError } from './task-errors';
import { rehydrate, RehydrationFailed } from './rehydration';

function readInput(context: df.OrchestrationContext): RestoreTestOrchestratorInput {
  const input = context.df.getInput<RestoreTestOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('restoreTestOrchestrator: input must be an object');
  for (const field of ['jobId', 'planName', 'instanceName'] as const) {
    if (typeof input[field] !== 'string' || input[field] === '') {
      throw new Error(`restoreTestOrchestrator: input.${field} must be a non-empty string`);
    }
  }
  if (input.trigger !== 'Scheduled' && input.trigger !== 'OnDemand') {
    throw new Error('restoreTestOrchestrator: input.trigger must be Scheduled or OnDemand');
  }
  if (typeof input.plan !== 'object' || input.plan === null) {
    throw new Error('restoreTestOrchestrator: input.plan must be an object');
  }
  return input;
}

/** The finish step must run: its own transient Table/Blob errors are retried. */
const finishRetry = new df.RetryOptions(2_000, 4);
finishRetry.backoffCoefficient = 2;

export function* restoreTestOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, RestoreTestOrchestratorResult, unknown> {
  const input = readInput(context);
  const { jobId, instanceName } = input;
  const started = (yield context.df.callActivityWithRetry(T.startRestoreTest, finishRetry, {
    ...input,
    orchestrationId: context.df.instanceId,
  })) as StartRestoreTestResult;
  // Not started (no point, scratch server not ready or the source itself): the start step failed the job.
  if (!started.started) return { jobId, status: 'NotStarted', error: started.error };

  const step = { jobId, instanceName, request: started.request };
  let inUseUntil: string | undefined;
  let outcome: { check: RestoreCheck; restore: RunRestoreResult } | { error: JobError };
  try {
    const leased = (yield context.df.callActivity(R.startRestoreJob, {
      ...step,
      trigger: 'OnDemand',
      orchestrationId: context.df.instanceId,
    })) as StartRestoreJobResult;
    inUseUntil = leased.inUseUntil;
    const sourceBlobName = leased.sourceBlobName ?? (yield* rehydrate(context, step));
    const restore = (yield context.df.callActivity(T.restoreScratch, {
      ...step,
      sourceBlobName,
      comment: started.comment,
      deadline: started.deadline,
    })) as RunRestoreResult;
    const check = (yield context.df.callActivity(T.checkRestoredDatabase, {
      ...step,
      assertions: input.plan.assertions[instanceName] ?? [],
      deadline: started.deadline,
    })) as RestoreCheck;
    outcome = { check, restore };
  } catch (err) {
    outcome = { error: err instanceof RehydrationFailed ? err.jobError : decodeTaskError(err) };
  }
  const status = (yield context.df.callActivityWithRetry(T.finishRestoreTest, finishRetry, {
    ...step,
    planName: input.planName,
    scratchDatabase: started.scratchDatabase,
    ...(inUseUntil ? { inUseUntil } : {}),
    outcome,
  })) as 'Passed' | 'Failed';
  return 'error' in outcome ? { jobId, status, error: outcome.error } : { jobId, status };
}

function readVerifyInput(context: df.OrchestrationContext): VerifyOrchestratorInput {
  const input = context.df.getInput<VerifyOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('verifyOrchestrator: input must be an object');
  if (typeof input.jobId !== 'string' || typeof input.instanceName !== 'string') {
    throw new Error('verifyOrchestrator: input.jobId and input.instanceName must be strings');
  }
  if (input.recoveryPointId === undefined && input.point === undefined) {
    throw new Error('verifyOrchestrator: input needs recoveryPointId or point');
  }
  return input;
}

export function* verifyOrchestrator(context: df.OrchestrationContext): Generator<df.Task, VerifyResult, unknown> {
  const input = readVerifyInput(context);
  // The activity ends the job itself, whatever it finds; it throws only when the job store cannot be written.
  return (yield context.df.callActivityWithRetry(T.verifyRecoveryPoint, finishRetry, {
    ...input,
    orchestrationId: context.df.instanceId,
  })) as VerifyResult;
}
