// The backup orchestration (design §5): job → readiness → dump → commit, or job Failed with a code and the
// partial blob removed. Deterministic: time and ids come from context.df only; every side effect is an activity.

import { RetryOptions } from 'durable-functions';
import type * as df from 'durable-functions';
import {
  activities,
  slotPollsPerHistory,
  type AcquireBackupSlotResult,
  type BackupOrchestratorInput,
  type BackupOrchestratorResult,
  type CommitRecoveryPointResult,
  type DumpResult,
  type ReadinessResult,
  type StartBackupJobResult,
} from './names';
import { decodeTaskError } from './task-errors';

function readInput(context: df.OrchestrationContext): BackupOrchestratorInput {
  const input = context.df.getInput<BackupOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('backupOrchestrator: input must be an object');
  if (typeof input.instanceName !== 'string' || input.instanceName === '') {
    throw new Error('backupOrchestrator: input.instanceName must be a non-empty string');
  }
  if (input.trigger !== 'Scheduled' && input.trigger !== 'OnDemand') {
    throw new Error('backupOrchestrator: input.trigger must be Scheduled or OnDemand');
  }
  return input;
}

/**
 * Retries of the bookkeeping steps (start, commit, fail). They are idempotent — each reads what an earlier attempt
 * wrote — and a transient Table/Blob error there must not leave a job InProgress holding the instance's lock.
 * readiness and dump are not retried here: their failures are reported on the job and the next slot tries again.
 */
export const bookkeepingRetry = { firstRetryIntervalInMilliseconds: 2_000, maxNumberOfAttempts: 4 } as const;

function retryOptions(): df.RetryOptions {
  const o = new RetryOptions(bookkeepingRetry.firstRetryIntervalInMilliseconds, bookkeepingRetry.maxNumberOfAttempts);
  o.backoffCoefficient = 2;
  return o;
}

// Dates made from replayed values are deterministic; the lint rule cannot tell them from `new Date()`.
// eslint-disable-next-line no-restricted-globals
const instant = (iso: string): number => Date.parse(iso);
// eslint-disable-next-line no-restricted-globals
const dateAt = (ms: number): Date => new Date(ms);

export function* backupOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, BackupOrchestratorResult, unknown> {
  const input = readInput(context);
  // Jitter (BACKUP_JITTER_SECONDS): a scheduled backup waits for its place in the window before its job starts.
  if (input.notBefore !== undefined && instant(input.notBefore) > context.df.currentUtcDateTime.getTime()) {
    yield context.df.createTimer(dateAt(instant(input.notBefore)));
  }
  const jobId = input.jobId ?? context.df.newGuid(`${context.df.instanceId}:job`);
  const step = { jobId, instanceName: input.instanceName };
  const retry = retryOptions();

  let dumpTime: string | undefined;
  try {
    const started = (yield context.df.callActivityWithRetry(activities.startBackupJob, retry, {
      ...step,
      trigger: input.trigger,
      orchestrationId: context.df.instanceId,
      ...(input.scheduledSlot ? { scheduledSlot: input.scheduledSlot } : {}),
    })) as StartBackupJobResult;
    // Not started (protection stopped, another backup running): the start step already failed the job.
    if (!started.started) return { jobId, status: 'Failed', error: started.error };

    // A slot of the server and of the host (issue 15): Queued until one frees, asking again on a durable timer.
    const pollMs = (input.slotPollSeconds ?? 30) * 1000;
    let slot = (yield context.df.callActivityWithRetry(
      activities.acquireBackupSlot,
      retry,
      step,
    )) as AcquireBackupSlotResult;
    for (let polls = 1; !slot.granted; polls++) {
      if (polls > slotPollsPerHistory) {
        // Keep the history short while waiting long: the same job goes on in a fresh history.
        const { notBefore: _waited, ...rest } = input;
        context.df.continueAsNew({ ...rest, jobId });
        return { jobId, status: 'Queued' };
      }
      yield context.df.createTimer(dateAt(context.df.currentUtcDateTime.getTime() + pollMs));
      slot = (yield context.df.callActivityWithRetry(
        activities.acquireBackupSlot,
        retry,
        step,
      )) as AcquireBackupSlotResult;
    }

    const ready = (yield context.df.callActivity(activities.checkBackupReadiness, step)) as ReadinessResult;
    const dump = (yield context.df.callActivity(activities.runDump, {
      ...step,
      serverMajor: ready.serverMajor,
    })) as DumpResult;
    dumpTime = dump.time;
    const committed = (yield context.df.callActivityWithRetry(activities.commitRecoveryPoint, retry, {
      ...step,
      trigger: input.trigger,
      ...(input.retentionTagOverride ? { retentionTagOverride: input.retentionTagOverride } : {}),
      dump,
    })) as CommitRecoveryPointResult;
    return { jobId, status: 'Succeeded', recoveryPointId: committed.recoveryPointId };
  } catch (err) {
    const error = decodeTaskError(err);
    yield context.df.callActivityWithRetry(activities.failBackupJob, retry, {
      ...step,
      error,
      ...(dumpTime ? { dumpTime } : {}),
    });
    return { jobId, status: 'Failed', error };
  }
}
