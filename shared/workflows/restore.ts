// The restore orchestration (design §6): job and validation → (archived: rehydrating copy, polled with durable
// timers) → restore as database or as files → job Succeeded (with warnings) or Failed → the queue result, if asked.
// Deterministic: time and ids come from context.df only; every side effect is an activity.

import * as df from 'durable-functions';
import type { JobError } from '../ports';
import {
  restoreActivities as A,
  type RestoreOrchestratorInput,
  type RestoreOrchestratorResult,
  type RestoreResultMessage,
  type RunRestoreResult,
  type StartRestoreJobResult,
} from './names';
import { decodeTaskError } from './task-errors';
import { rehydrate, RehydrationFailed } from './rehydration';

function readInput(context: df.OrchestrationContext): RestoreOrchestratorInput {
  const input = context.df.getInput<RestoreOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('restoreOrchestrator: input must be an object');
  if (typeof input.instanceName !== 'string' || input.instanceName === '') {
    throw new Error('restoreOrchestrator: input.instanceName must be a non-empty string');
  }
  if (input.trigger !== 'OnDemand' && input.trigger !== 'Queue') {
    throw new Error('restoreOrchestrator: input.trigger must be OnDemand or Queue');
  }
  if (typeof input.request !== 'object' || input.request === null) {
    throw new Error('restoreOrchestrator: input.request must be an object');
  }
  return input;
}

/** The result message of design §6 for a finished restore. */
export function resultMessage(
  requestId: string,
  jobId: string,
  outcome: { result: RunRestoreResult } | { error: JobError },
): RestoreResultMessage {
  if ('error' in outcome) {
    return { requestId, jobId, status: 'Failed', error: { code: outcome.error.code, message: outcome.error.message } };
  }
  const { result } = outcome;
  return {
    requestId,
    jobId,
    status: 'Succeeded',
    result: result.status,
    // Queue messages are at most 64 KiB: the job carries the full list.
    ...(result.warnings.length > 0 ? { warnings: result.warnings.slice(0, 20) } : {}),
  };
}

export function* restoreOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, RestoreOrchestratorResult, unknown> {
  const input = readInput(context);
  const jobId = input.jobId ?? context.df.newGuid(`${context.df.instanceId}:job`);
  const step = { jobId, instanceName: input.instanceName, request: input.request };

  let outcome: { result: RunRestoreResult } | { error: JobError };
  let inUseUntil: string | undefined;
  try {
    const started = (yield context.df.callActivity(A.startRestoreJob, {
      ...step,
      trigger: input.trigger,
      orchestrationId: context.df.instanceId,
      ...(input.reply ? { requestId: input.reply.requestId } : {}),
    })) as StartRestoreJobResult;
    inUseUntil = started.inUseUntil;
    let sourceBlobName = started.sourceBlobName;
    // startRestoreJob only leaves the source open for a rehydration request; anything else it refuses.
    if (sourceBlobName === undefined) sourceBlobName = yield* rehydrate(context, step);
    const result = (yield context.df.callActivity(A.runRestore, { ...step, sourceBlobName })) as RunRestoreResult;
    outcome = { result };
  } catch (err) {
    outcome = { error: err instanceof RehydrationFailed ? err.jobError : decodeTaskError(err) };
  }
  yield context.df.callActivity(A.finishRestoreJob, { ...step, ...(inUseUntil ? { inUseUntil } : {}), outcome });
  if (input.reply) {
    // The result is the caller's only answer: retried (at-least-once; jobId lets consumers dedup).
    yield context.df.callActivityWithRetry(A.postRestoreResult, resultRetry, {
      queue: input.reply.queue,
      message: resultMessage(input.reply.requestId, jobId, outcome),
    });
  }
  return 'error' in outcome
    ? { jobId, status: 'Failed', error: outcome.error }
    : { jobId, status: 'Succeeded', result: outcome.result };
}

const resultRetry = new df.RetryOptions(5_000, 6);
resultRetry.backoffCoefficient = 2;
