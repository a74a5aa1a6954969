// The expiry orchestration (design §7): one Expiry job per run, every backup instance expired at the run's instant
// with at most `concurrency` instances at once, and the job ended Failed with a count if any action failed.
// Deterministic: the run's instant and the job id come from context.df; every side effect is an activity.

import type * as df from 'durable-functions';
import {
  expiryActivities,
  type ExpireInstanceResult,
  type ExpiryFinding,
  type ExpiryOrchestratorInput,
  type ExpiryOrchestratorResult,
  type FinishExpiryJobInput,
  type StartExpiryJobResult,
} from './names';
import { decodeTaskError } from './task-errors';

/** Findings kept for the job (the job store trims its warnings further); the counts are always exact. */
export const maxFindingsPerRun = 500;

function readInput(context: df.OrchestrationContext): Required<ExpiryOrchestratorInput> {
  const input = context.df.getInput<ExpiryOrchestratorInput | undefined>();
  if (typeof input !== 'object' || input === null) throw new Error('expiryOrchestrator: input must be an object');
  if (!Number.isInteger(input.concurrency) || input.concurrency < 1) {
    throw new Error('expiryOrchestrator: input.concurrency must be an integer ≥ 1');
  }
  const trigger = input.trigger ?? 'Scheduled';
  if (trigger !== 'Scheduled' && trigger !== 'OnDemand') {
    throw new Error('expiryOrchestrator: input.trigger must be Scheduled or OnDemand');
  }
  return { concurrency: input.concurrency, trigger };
}

/** A run's counts and findings so far, as finishExpiryJob takes them. */
export type Totals = {
  -readonly [
    K in keyof Omit<FinishExpiryJobInput, 'jobId' | 'asOf' | 'sweepOrphans' | 'failures' | 'warnings'>
  ]: number;
} & {
  failures: ExpiryFinding[];
  warnings: ExpiryFinding[];
};

export function emptyTotals(instances: number): Totals {
  return {
    instances,
    moved: 0,
    deleted: 0,
    rehydratedExpired: 0,
    orphansDeleted: 0,
    failureCount: 0,
    failures: [],
    warningCount: 0,
    warnings: [],
  };
}

/** Adds one instance's result: counts exactly, findings up to maxFindingsPerRun each. */
export function addResult(totals: Totals, r: ExpireInstanceResult): void {
  totals.moved += r.moved;
  totals.deleted += r.deleted;
  totals.rehydratedExpired += r.rehydratedExpired;
  totals.orphansDeleted += r.orphansDeleted;
  totals.failureCount += r.failureCount;
  totals.warningCount += r.warningCount;
  totals.failures.push(...r.failures.slice(0, maxFindingsPerRun - totals.failures.length));
  totals.warnings.push(...r.warnings.slice(0, maxFindingsPerRun - totals.warnings.length));
}

interface Running {
  readonly instanceName: string;
  readonly task: df.Task;
}

export function* expiryOrchestrator(
  context: df.OrchestrationContext,
): Generator<df.Task, ExpiryOrchestratorResult, unknown> {
  const input = readInput(context);
  const nowUtc = context.df.currentUtcDateTime.toISOString();
  const jobId = context.df.newGuid(`${context.df.instanceId}:job`);

  const started = (yield context.df.callActivity(expiryActivities.startExpiryJob, {
    jobId,
    orchestrationId: context.df.instanceId,
    trigger: input.trigger,
    nowUtc,
  })) as StartExpiryJobResult;

  const names = started.instanceNames;
  const sweepOrphans = started.sweepOrphans;
  const totals = emptyTotals(names.length);

  // A sliding window: a slow instance (many points due) holds one slot, not a whole batch.
  const running: Running[] = [];
  let next = 0;
  const harvest = (): boolean => {
    let any = false;
    for (let i = running.length - 1; i >= 0; i--) {
      const { instanceName, task } = running[i]!;
      if (!task.isCompleted && !task.isFaulted) continue;
      running.splice(i, 1);
      any = true;
      if (task.isFaulted) {
        // The activity isolates point failures itself; reaching here means the instance as a whole failed.
        const error = decodeTaskError(task.result);
        totals.failureCount++;
        if (totals.failures.length < maxFindingsPerRun) {
          totals.failures.push({ code: error.code, message: error.message, instanceName });
        }
      } else {
        addResult(totals, task.result as ExpireInstanceResult);
      }
    }
    return any;
  };

  while (next < names.length || running.length > 0) {
    while (running.length < input.concurrency && next < names.length) {
      const instanceName = names[next++]!;
      running.push({
        instanceName,
        task: context.df.callActivity(expiryActivities.expireInstance, {
          jobId,
          instanceName,
          nowUtc,
          sweepOrphans,
        }),
      });
    }
    // Tasks that finished while the orchestrator waited on another one are taken without waiting: a new
    // Task.any over an already-finished task would never fire for it.
    if (harvest()) continue;
    yield context.df.Task.any(running.map((r) => r.task));
    harvest();
  }

  const { failures, warnings, ...counts } = totals;
  yield context.df.callActivity(expiryActivities.finishExpiryJob, {
    jobId,
    asOf: nowUtc,
    sweepOrphans,
    ...counts,
    failures,
    warnings,
  });
  return { jobId, status: totals.failureCount > 0 ? 'Failed' : 'Succeeded', failureCount: totals.failureCount };
}
