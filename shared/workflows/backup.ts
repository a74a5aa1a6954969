// The backup orchestration (design §5): job → readiness → dump → commit, or job Failed with a code and the
// partial blob removed. Deterministic: time and ids come from context.df only; every side effect is an activity.

import { RetryOptions } from 'durable-functions';
import type * as df from 'durable-functions';
import {
  activities,
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

export function* backupOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, BackupOrchestratorResult, unknown> {
  const input = readInput(context);
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
