// Health of many backup instances at once (issue 13): the API's instance list and get, GET /api/health and the
// watchdog all call assessInstances. It reads the jobs ONCE for all instances (one range query over the window
// health needs). The newest available point of a protected instance comes from that same listing when a backup
// succeeded in the last 7 days (its job names the point, its tag and size); only the other instances read their
// newest point (one row each), never a full scan per instance.

import { parsePolicy } from '../domain/policy';
import { evaluateHealth, healthWindowStart, type HealthJob, type InstanceHealth } from '../domain/health';
import { tagNames, type Schedule, type TagName } from '../domain/types';
import type {
  InstanceRecord,
  JobRecord,
  JobStore,
  PolicyStore,
  RecoveryPointRecord,
  RecoveryPointStore,
} from '../ports';
import { recoveryPointIdTime } from '../ports';

export interface HealthReadDeps {
  readonly policies: PolicyStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  /** MISSED_SLOT_GRACE_MINUTES in ms. */
  readonly graceMs: number;
}

/** The newest Available point, as far as health and the instance resource need it. */
export type LastPoint = Pick<RecoveryPointRecord, 'id' | 'time' | 'tag' | 'bytes' | 'dataStore'>;

export interface InstanceAssessment {
  readonly health: InstanceHealth;
  /** The newest job (any operation) of the window read: at least the last 7 days. */
  readonly lastJob?: JobRecord;
  /** The newest Backup job of that window. */
  readonly lastBackupJob?: JobRecord;
  /** The newest Available recovery point: the last successful backup. */
  readonly lastRecoveryPoint?: LastPoint;
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

/**
 * The point a succeeded backup job committed, from the job alone: finishSucceeded (activities/backup.ts) records its
 * id (which encodes its time), size and tag. Trusted only while the point cannot have gone: younger than the shortest
 * retention (7 days, so in VaultStore and not expired) and taken since protection last started (stopProtection with
 * deleteBackupData deletes points; resuming sets protectedSince).
 */
export function pointOfJob(job: JobRecord, notBefore: string, nowUtc: string): LastPoint | undefined {
  if (job.operation !== 'Backup' || job.status !== 'Succeeded' || job.recoveryPointId === undefined) return undefined;
  const ms = recoveryPointIdTime(job.recoveryPointId);
  const tag = job.extra?.['retentionTag'];
  if (ms === undefined || typeof tag !== 'string' || !(tagNames as readonly string[]).includes(tag)) return undefined;
  if (ms < Date.parse(nowUtc) - WEEK_MS || ms < Date.parse(notBefore)) return undefined;
  return {
    id: job.recoveryPointId,
    time: new Date(ms).toISOString(),
    tag: tag as TagName,
    bytes: job.progress.bytes,
    dataStore: 'VaultStore',
  };
}

function asLastPoint(p: RecoveryPointRecord): LastPoint {
  return { id: p.id, time: p.time, tag: p.tag, bytes: p.bytes, dataStore: p.dataStore };
}

/** The newest Available point: from the newest succeeded backup job when it can be trusted, else one row read. */
async function newestAvailablePoint(
  points: RecoveryPointStore,
  instance: InstanceRecord,
  jobs: readonly JobRecord[],
  nowUtc: string,
): Promise<LastPoint | undefined> {
  if (instance.protectionState === 'ProtectionConfigured' && instance.deletedAt === undefined) {
    const since = instance.protectedSince ?? instance.createdAt;
    const newestBackup = jobs.find((j) => j.operation === 'Backup' && j.status === 'Succeeded');
    const fromJob = newestBackup && pointOfJob(newestBackup, since, nowUtc);
    if (fromJob) return fromJob;
  }
  const available = await points.newest(instance.name, { status: 'Available' });
  return available && asLastPoint(available);
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
      const jobs = byInstance.get(instance.name) ?? [];
      const available = await newestAvailablePoint(deps.recoveryPoints, instance, jobs, nowUtc);
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
        ...(instance.datasourceMissingSince !== undefined
          ? { datasourceMissingSince: instance.datasourceMissingSince }
          : {}),
      });
      const lastJob = jobs[0];
      const lastBackupJob = jobs.find((j) => j.operation === 'Backup');
      out.set(instance.name, {
        health,
        ...(lastJob ? { lastJob } : {}),
        ...(lastBackupJob ? { lastBackupJob } : {}),
        ...(available ? { lastRecoveryPoint: available } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, instances.length) }, lane));
  return out;
}
