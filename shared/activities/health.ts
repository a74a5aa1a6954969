// Health of many backup instances at once (issue 13): the API's instance list and get, GET /api/health and the
// watchdog all call assessInstances. It reads the jobs ONCE for all instances (one range query over the window
// health needs), and the newest point of each instance (one row each), never a full scan per instance.

import { parsePolicy } from '../domain/policy';
import { evaluateHealth, healthWindowStart, type HealthJob, type InstanceHealth } from '../domain/health';
import type { Schedule } from '../domain/types';
import type {
  InstanceRecord,
  JobRecord,
  JobStore,
  PolicyStore,
  RecoveryPointRecord,
  RecoveryPointStore,
} from '../ports';

export interface HealthReadDeps {
  readonly policies: PolicyStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  /** MISSED_SLOT_GRACE_MINUTES in ms. */
  readonly graceMs: number;
}

export interface InstanceAssessment {
  readonly health: InstanceHealth;
  /** The newest job (any operation) of the window read: at least the last 7 days. */
  readonly lastJob?: JobRecord;
  /** The newest recovery point, whatever its status. */
  readonly lastRecoveryPoint?: RecoveryPointRecord;
}

const WEEK_MS = 7 * 86_400_000;
const CONCURRENT_READS = 16;

/** Reads and parses each policy's schedule once (undefined: the policy is missing or no longer valid). */
export function policyScheduleReader(policies: PolicyStore): (name: string) => Promise<Schedule | undefined> {
  const cache = new Map<string, Promise<Schedule | undefined>>();
  return (name) => {
    let schedule = cache.get(name);
    if (!schedule) {
      schedule = policies.get(name).then((record) => {
        const parsed = record ? parsePolicy(record.document) : undefined;
        return parsed?.ok ? parsed.value.schedule : undefined;
      });
      cache.set(name, schedule);
    }
    return schedule;
  };
}

function healthJob(j: JobRecord): HealthJob {
  const slot = j.extra?.['scheduledSlot'];
  return {
    id: j.id,
    operation: j.operation,
    status: j.status,
    startTime: j.startTime,
    ...(typeof slot === 'string' ? { scheduledSlot: slot } : {}),
    ...(j.recoveryPointId !== undefined ? { recoveryPointId: j.recoveryPointId } : {}),
    ...(j.error ? { error: { code: j.error.code, message: j.error.message } } : {}),
  };
}

async function newestPoints(
  points: RecoveryPointStore,
  name: string,
): Promise<{ newest?: RecoveryPointRecord; available?: RecoveryPointRecord }> {
  const newest = await points.newest(name);
  if (!newest || newest.status === 'Available') return { ...(newest ? { newest, available: newest } : {}) };
  const available = await points.newest(name, { status: 'Available' });
  return { newest, ...(available ? { available } : {}) };
}

/** Each instance's health, last job and last point at `nowUtc`. */
export async function assessInstances(
  deps: HealthReadDeps,
  instances: readonly InstanceRecord[],
  nowUtc: string,
): Promise<Map<string, InstanceAssessment>> {
  const out = new Map<string, InstanceAssessment>();
  if (instances.length === 0) return out;
  const scheduleOf = policyScheduleReader(deps.policies);
  const names = [...new Set(instances.map((i) => i.policyName))];
  const schedules = new Map(await Promise.all(names.map(async (n) => [n, await scheduleOf(n)] as const)));
  // One window for everyone: far enough back for every instance's health, and for the 7-day "last job".
  let fromMs = Date.parse(nowUtc) - WEEK_MS;
  for (const i of instances)
    fromMs = Math.min(fromMs, Date.parse(healthWindowStart(schedules.get(i.policyName), nowUtc)));
  const byInstance = new Map<string, JobRecord[]>();
  const only = instances.length === 1 ? instances[0]!.name : undefined;
  for await (const job of deps.jobs.list({
    from: new Date(fromMs).toISOString(),
    ...(only ? { backupInstance: only } : {}),
  })) {
    const list = byInstance.get(job.backupInstance);
    if (list) list.push(job);
    else byInstance.set(job.backupInstance, [job]);
  }
  let next = 0;
  const lane = async () => {
    while (next < instances.length) {
      const instance = instances[next++]!;
      const { newest, available } = await newestPoints(deps.recoveryPoints, instance.name);
      const jobs = byInstance.get(instance.name) ?? [];
      const health = evaluateHealth({
        nowUtc,
        protection:
          instance.protectionState === 'ProtectionConfigured' && instance.deletedAt === undefined
            ? 'Protected'
            : 'Stopped',
        protectedSince: instance.protectedSince ?? instance.createdAt,
        schedule: schedules.get(instance.policyName),
        newestAvailablePoint: available ? { id: available.id, time: available.time } : undefined,
        jobs: jobs.map(healthJob),
        graceMs: deps.graceMs,
      });
      const lastJob = jobs[0];
      out.set(instance.name, {
        health,
        ...(lastJob ? { lastJob } : {}),
        ...(newest ? { lastRecoveryPoint: newest } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, instances.length) }, lane));
  return out;
}
