// What an instance resource says beyond its record (design §3 "with the last recovery point and job", plus what the
// console shows): the newest Available point, the newest job, the next scheduled slot, and the readiness last
// observed. Built for one instance or for all at once: one job listing serves every instance (a succeeded backup job
// names its point, tag and size), and only instances without a successful backup in the window read their points.

import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { occurrences } from '../domain/schedule';
import { tagNames, type Policy, type TagName } from '../domain/types';
import { readinessErrorCodes } from '../contracts/instances';
import { recoveryPointIdTime, type InstanceRecord, type JobRecord } from '../ports';
import type { ApiDeps } from './deps';
import type { InstanceSummary, LastPoint } from './resources';

/** Concurrent point reads when summarising many instances. */
const READ_CONCURRENCY = 16;
/** Rows read to find the newest Available point (points being deleted sort among them). */
const NEWEST_POINT_SCAN = 5;
const DAY_MS = 86_400_000;

/** Runs `fn` over `items`, `limit` at a time, keeping the order of results. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function newestAvailablePoint(deps: ApiDeps, name: string): Promise<LastPoint | undefined> {
  for await (const { value } of deps.recoveryPoints.list(name, { limit: NEWEST_POINT_SCAN })) {
    if (value.status === 'Available') return value;
  }
  return undefined;
}

/**
 * The point a succeeded backup job committed, from the job alone: finishSucceeded (activities/backup.ts) records its
 * id (which encodes its time), size and tag. A point younger than the shortest vault retention (7 days) is still in
 * VaultStore and cannot have expired.
 */
export function pointOfJob(job: JobRecord): LastPoint | undefined {
  if (job.operation !== 'Backup' || job.status !== 'Succeeded' || job.recoveryPointId === undefined) return undefined;
  const ms = recoveryPointIdTime(job.recoveryPointId);
  const tag = job.extra?.retentionTag;
  if (ms === undefined || typeof tag !== 'string' || !(tagNames as readonly string[]).includes(tag)) return undefined;
  return {
    id: job.recoveryPointId,
    time: new Date(ms).toISOString(),
    tag: tag as TagName,
    bytes: job.progress.bytes,
    dataStore: 'VaultStore',
  };
}

/**
 * The next scheduled slot after `nowIso` per policy name, parsed once per request. Weekly schedules fire within 7
 * days; a policy that cannot be read (deleted, or stricter validation since) has none.
 */
export function nextSlotsOf(deps: ApiDeps, nowIso: string): (policyName: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  const compute = async (policyName: string) => {
    const record = await deps.policies.get(policyName);
    const parsed = record && parsePolicy(record.document);
    if (!parsed?.ok) return undefined;
    return nextSlot(parsed.value, nowIso);
  };
  return (policyName) => {
    let hit = cache.get(policyName);
    if (!hit) cache.set(policyName, (hit = compute(policyName)));
    return hit;
  };
}

export function nextSlot(policy: Policy, nowIso: string): string | undefined {
  const to = new Date(Date.parse(nowIso) + 8 * DAY_MS).toISOString();
  return occurrences(policy.schedule, nowIso, to).find((t) => t > nowIso);
}

/** Readiness as last observed: the newest backup job's outcome, else the checks configuring the instance passed. */
export function readinessOf(instance: InstanceRecord, lastBackup: JobRecord | undefined): InstanceSummary['readiness'] {
  if (lastBackup && lastBackup.startTime >= instance.createdAt) {
    if (lastBackup.status === 'Failed' && lastBackup.error && readinessErrorCodes.includes(lastBackup.error.code)) {
      return {
        status: 'NotReady',
        checkedAt: lastBackup.startTime,
        code: lastBackup.error.code,
        message: lastBackup.error.message,
      };
    }
    if (lastBackup.status === 'Succeeded') return { status: 'Ready', checkedAt: lastBackup.startTime };
  }
  // PUT refuses an instance whose checks fail, so an instance that exists passed them when it was configured.
  return { status: 'Ready', checkedAt: instance.createdAt };
}

/** The summaries of `instances`: one job listing for all of them, one short point read per instance. */
export async function summarize(
  deps: ApiDeps,
  instances: readonly InstanceRecord[],
  options: { onlyInstance?: string } = {},
): Promise<Map<string, InstanceSummary>> {
  const nowIso = deps.clock.now().toISOString();
  const lastJob = new Map<string, JobRecord>();
  const lastBackup = new Map<string, JobRecord>();
  const lastPoint = new Map<string, LastPoint>();
  // Newest first over the default window (7 days), as GET /backupJobs lists them.
  for await (const job of deps.jobs.list(options.onlyInstance ? { backupInstance: options.onlyInstance } : {})) {
    const name = job.backupInstance;
    if (!lastJob.has(name)) lastJob.set(name, job);
    if (job.operation === 'Backup' && !lastBackup.has(name)) lastBackup.set(name, job);
    const point = lastPoint.has(name) ? undefined : pointOfJob(job);
    if (point) lastPoint.set(name, point);
  }
  const nextSlots = nextSlotsOf(deps, nowIso);
  const summaries = await mapConcurrently(instances, READ_CONCURRENCY, async (instance) => {
    const summary: InstanceSummary = {};
    // A stopped instance's points may be going (stopProtection with deleteBackupData): read them.
    const fromJob = instance.protectionState === 'ProtectionConfigured' ? lastPoint.get(instance.name) : undefined;
    const point = fromJob ?? (await newestAvailablePoint(deps, instance.name));
    if (point) summary.lastRecoveryPoint = point;
    const job = lastJob.get(instance.name);
    if (job) summary.lastJob = job;
    if (instance.protectionState === 'ProtectionConfigured') {
      const next = await nextSlots(instance.policyName);
      if (next) summary.nextScheduledBackup = next;
    }
    summary.readiness = readinessOf(instance, lastBackup.get(instance.name));
    return [instance.name, summary] as const;
  });
  return new Map(summaries);
}

/** The summary of one instance. */
export async function summaryOf(deps: ApiDeps, instance: InstanceRecord): Promise<InstanceSummary> {
  const summary = (await summarize(deps, [instance], { onlyInstance: instance.name })).get(instance.name);
  if (!summary) throw new PgkeepError('SystemErrorInternal', `no summary of '${instance.name}'`);
  return summary;
}
