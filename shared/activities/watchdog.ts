// The health watchdog (issue 13), run by its own timer (WATCHDOG_SCHEDULE). It notices the backup that never started
// as surely as the one that failed: a scheduled slot with no backup MISSED_SLOT_GRACE_MINUTES after it was due (the
// host was down, the timer did not fire) is recorded as a Failed Backup job with UserErrorBackupMissed — which raises
// BackupMissed through the job store's outbox hook — and claimed, so the scheduler does not start it late (unless
// MISSED_SLOT_START_LATE_BACKUP says to). Then it evaluates every instance's health and raises HealthChanged for each
// status that differs from the one it last recorded.

import { missedSlots, type HealthStatus } from '../domain/health';
import type { Schedule } from '../domain/types';
import { errorSpec } from '../errors';
import {
  ConcurrencyError,
  type Clock,
  type HealthStore,
  type InstanceRecord,
  type InstanceStore,
  type JobRecord,
} from '../ports';
import type { EventRaiser } from '../events/outbox';
import { healthChangedEvent, type EventLinks } from '../events/records';
import { assessInstances, policyScheduleReader, type HealthReadDeps } from './health';
import { recordSlot, scheduledOrchestrationId, type OrchestrationStarter } from './scheduler';

export interface WatchdogDeps extends HealthReadDeps {
  readonly instances: InstanceStore;
  readonly health: HealthStore;
  readonly raiser: EventRaiser;
  readonly clock: Clock;
  readonly starter: OrchestrationStarter;
  readonly settings: { readonly startLateBackup: boolean };
  /** The CloudEvents source (the vault's id) and where event links point. */
  readonly source: string;
  readonly links: EventLinks;
  readonly log: (message: string) => void;
  /** Telemetry: how many instances are in each status after the run. */
  readonly onHealth?: (counts: Record<HealthStatus, number>) => void;
}

export interface WatchdogResult {
  readonly missed: { instance: string; slot: string; jobId: string }[];
  readonly changed: { instance: string; from: HealthStatus; to: HealthStatus }[];
  readonly counts: Record<HealthStatus, number>;
}

/** The job that records a missed slot: one per instance and slot, so a second run finds it. */
export const missedJobId = (instanceName: string, slot: string) =>
  `${scheduledOrchestrationId(instanceName, slot)}-missed`;

async function recordMissed(
  deps: WatchdogDeps,
  scheduleOf: (policyName: string) => Promise<Schedule | undefined>,
  instance: InstanceRecord,
  nowIso: string,
  result: WatchdogResult,
): Promise<void> {
  if (instance.protectionState !== 'ProtectionConfigured' || instance.deletedAt !== undefined) return;
  const schedule = await scheduleOf(instance.policyName);
  if (!schedule) return; // health reports the policy; there is no schedule to miss
  const missed = missedSlots({
    schedule,
    nowUtc: nowIso,
    graceMs: deps.graceMs,
    lastScheduledSlot: instance.lastScheduledSlot,
    protectedSince: instance.protectedSince ?? instance.createdAt,
  });
  if (!missed) return;
  const orchestrationId = scheduledOrchestrationId(instance.name, missed.latest);
  // The scheduler started it but did not get to record the slot: not missed, it runs (or ran).
  if (await deps.starter.exists(orchestrationId)) return;
  const jobId = missedJobId(instance.name, missed.latest);
  const job: JobRecord = {
    id: jobId,
    operation: 'Backup',
    backupInstance: instance.name,
    status: 'Failed',
    trigger: 'Scheduled',
    startTime: nowIso,
    endTime: nowIso,
    progress: { bytes: 0 },
    error: {
      code: 'UserErrorBackupMissed',
      message: `no backup of '${instance.name}' started for the scheduled slot ${missed.latest}${
        missed.count > 1 ? ` (${missed.count} slots missed since the last one started)` : ''
      }`,
      hint: errorSpec('UserErrorBackupMissed').hint,
    },
    extra: { scheduledSlot: missed.latest, missedSlots: missed.count },
  };
  try {
    await deps.jobs.create(job);
  } catch (err) {
    // Recorded by an earlier run that stopped before claiming the slot: claim it now.
    if (!(err instanceof ConcurrencyError)) throw err;
  }
  if (deps.settings.startLateBackup) {
    // Marked pending first, as the scheduler does: a crash before the slot is recorded below is then recognised by
    // the next tick (it asks whether the orchestration exists) instead of starting the slot a second time.
    const unmarked = await deps.instances.markSlotsPending([{ name: instance.name, slot: missed.latest }]);
    if (unmarked.length > 0) throw new Error(`could not mark slot ${missed.latest} of '${instance.name}' pending`);
    await deps.starter.start(orchestrationId, {
      instanceName: instance.name,
      trigger: 'Scheduled',
      scheduledSlot: missed.latest,
    });
  }
  await recordSlot(deps, instance.name, missed.latest);
  result.missed.push({ instance: instance.name, slot: missed.latest, jobId });
  deps.log(`watchdog: ${instance.name} missed the slot ${missed.latest} (job ${jobId})`);
}

export async function runWatchdog(deps: WatchdogDeps): Promise<WatchdogResult> {
  const nowIso = deps.clock.now().toISOString();
  const result: WatchdogResult = {
    missed: [],
    changed: [],
    counts: { Healthy: 0, Warning: 0, Critical: 0, Unknown: 0 },
  };
  const scheduleOf = policyScheduleReader(deps.policies);
  for await (const { value } of deps.instances.list()) {
    try {
      await recordMissed(deps, scheduleOf, value, nowIso, result);
    } catch (err) {
      deps.log(
        `watchdog: missed-slot check of ${value.name} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  const live: InstanceRecord[] = [];
  for await (const { value } of deps.instances.list()) if (value.deletedAt === undefined) live.push(value);
  const assessed = await assessInstances(deps, live, nowIso);
  const recorded = new Map<string, Awaited<ReturnType<HealthStore['get']>>>();
  for await (const r of deps.health.list()) recorded.set(r.value.instanceName, r);

  for (const [name, { health }] of assessed) {
    result.counts[health.status]++;
    const stored = recorded.get(name);
    recorded.delete(name);
    const previous: HealthStatus = stored?.value.health.status ?? 'Unknown';
    // First sight of an instance: an alarm is news, Healthy or Unknown is not.
    const raise = stored ? previous !== health.status : health.status === 'Warning' || health.status === 'Critical';
    if (stored && !raise) continue;
    const changes = (stored?.value.changes ?? 0) + (raise ? 1 : 0);
    try {
      if (raise) {
        await deps.raiser.raise([healthChangedEvent(name, changes, previous, health, deps.source, deps.links)]);
        result.changed.push({ instance: name, from: previous, to: health.status });
      }
      await deps.health.put({ instanceName: name, health, since: nowIso, changes }, stored?.etag);
    } catch (err) {
      // Another run recorded it meanwhile; the event (same id) was kept once.
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
  for (const name of recorded.keys()) await deps.health.delete(name);
  await deps.health.recordRun('watchdog', nowIso);
  deps.onHealth?.(result.counts);
  return result;
}
