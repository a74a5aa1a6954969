// Starting restore-test plan runs (issue 17): one RestoreTest (or Verify) job and orchestration per selected
// instance. The HTTP run route and the scheduler timer share it; the timer starts each due slot once (deterministic
// orchestration and job ids per slot, and the plan's lastScheduledSlot moved with its etag).

import { createHash } from 'node:crypto';
import {
  ConcurrencyError,
  type Clock,
  type InstanceStore,
  type JobRecord,
  type JobStore,
  type RestoreTestPlanRecord,
  type RestoreTestPlanStore,
} from '../ports';
import { dueSlot } from '../domain/restore-tests';
import { instanceSelector, selectInstances } from '../domain/plan-selection';
import type { RestoreTestPlanProperties } from '../contracts/restore-tests';
import type { RestoreTestOrchestratorInput, VerifyOrchestratorInput } from '../workflows/names';

export interface PlanRunDeps {
  readonly instances: InstanceStore;
  readonly jobs: JobStore;
  readonly clock: Clock;
  readonly newId: () => string;
  /** Whether an orchestration instance of that id exists (a slot already started). */
  readonly exists: (orchestrationId: string) => Promise<boolean>;
  readonly startRestoreTest: (orchestrationId: string, input: RestoreTestOrchestratorInput) => Promise<void>;
  readonly startVerify: (orchestrationId: string, input: VerifyOrchestratorInput) => Promise<void>;
}

/** The instances a plan covers now. */
export async function planInstances(
  deps: Pick<PlanRunDeps, 'instances'>,
  p: RestoreTestPlanProperties,
): Promise<string[]> {
  const all = [];
  for await (const { value } of deps.instances.list()) {
    all.push({
      name: value.name,
      policyName: value.policyName,
      resourceID: value.dataSource.resourceID,
      protected: value.protectionState === 'ProtectionConfigured',
      deleted: value.deletedAt !== undefined,
    });
  }
  return selectInstances(instanceSelector(p), all);
}

/** A UUID-shaped id derived from `seed`: the job of a scheduled slot is the same on every attempt to start it. */
export function derivedId(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const compact = (iso: string) => iso.replace(/[-:.]/g, '');

/**
 * Starts one test per instance of the plan: creates each job (NotStarted, so the caller can answer with it) and
 * starts its orchestration. A scheduled slot's ids are derived from the slot, and an orchestration that exists is
 * not started again. Returns the jobs it started.
 */
export async function startPlanRun(
  deps: PlanRunDeps,
  plan: Pick<RestoreTestPlanRecord, 'name' | 'properties'>,
  trigger: 'Scheduled' | 'OnDemand',
  slot?: string,
): Promise<JobRecord[]> {
  const started: JobRecord[] = [];
  const operation = plan.properties.mode === 'Verify' ? 'Verify' : 'RestoreTest';
  for (const instanceName of await planInstances(deps, plan.properties)) {
    const kind = operation === 'Verify' ? 'verify' : 'restoretest';
    const orchestrationId =
      slot === undefined
        ? `${kind}-${plan.name}-${instanceName}-${deps.newId()}`
        : `${kind}-${plan.name}-${instanceName}-${compact(slot)}`;
    if (slot !== undefined && (await deps.exists(orchestrationId))) continue;
    const jobId = slot === undefined ? deps.newId() : derivedId(orchestrationId);
    const job: JobRecord = {
      id: jobId,
      operation,
      backupInstance: instanceName,
      status: 'NotStarted',
      trigger,
      startTime: deps.clock.now().toISOString(),
      progress: { bytes: 0 },
      orchestrationId,
      extra: { planName: plan.name, ...(slot ? { scheduledSlot: slot } : {}) },
    };
    if (!(await deps.jobs.get(jobId))) await deps.jobs.create(job);
    try {
      if (operation === 'Verify') {
        await deps.startVerify(orchestrationId, {
          jobId,
          instanceName,
          trigger,
          point: plan.properties.point,
          planName: plan.name,
          orchestrationId,
        });
      } else {
        await deps.startRestoreTest(orchestrationId, {
          jobId,
          planName: plan.name,
          instanceName,
          trigger,
          plan: plan.properties,
          ...(slot ? { scheduledSlot: slot } : {}),
        });
      }
    } catch (err) {
      await deps.jobs.patch(jobId, {
        status: 'Failed',
        endTime: deps.clock.now().toISOString(),
        error: { code: 'SystemErrorInternal', message: 'the test could not be started', hint: 'retry' },
      });
      throw err;
    }
    started.push(job);
  }
  return started;
}

export interface SchedulerDeps extends PlanRunDeps {
  readonly plans: RestoreTestPlanStore;
  readonly log: (message: string) => void;
}

/**
 * One tick of the restore-test scheduler: every enabled plan whose schedule has a slot newer than the last one it
 * started gets that slot's run. The slot is claimed on the plan row first (etag), so two ticks never both start it;
 * a crash between the claim and the starts is covered by the deterministic ids of the next manual run, not retried.
 */
export async function runRestoreTestScheduler(deps: SchedulerDeps): Promise<{ started: number; failed: string[] }> {
  const now = deps.clock.now().toISOString();
  let started = 0;
  const failed: string[] = [];
  for await (const { value: plan, etag } of deps.plans.list()) {
    const slot = dueSlot({ ...plan.properties, createdAt: plan.createdAt }, plan.lastScheduledSlot, now);
    if (slot === undefined) continue;
    try {
      await deps.plans.update({ ...plan, lastScheduledSlot: slot }, etag);
    } catch (err) {
      if (err instanceof ConcurrencyError) continue; // another tick (or an edit) got there first
      throw err;
    }
    try {
      started += (await startPlanRun(deps, plan, 'Scheduled', slot)).length;
    } catch (err) {
      failed.push(plan.name);
      deps.log(`restore-test scheduler: plan ${plan.name} slot ${slot} failed to start: ${String(err)}`);
    }
  }
  return { started, failed };
}
