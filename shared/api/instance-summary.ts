// What an instance resource says beyond its record (design §3 "with the last recovery point and job", plus what the
// console shows): the newest Available point, the newest job, the next scheduled slot, and the readiness last
// observed. Built for one instance or for all at once with a fixed number of storage reads (the list of 500).

import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { occurrences } from '../domain/schedule';
import type { Policy } from '../domain/types';
import { readinessErrorCodes } from '../contracts/instances';
import type { InstanceRecord, JobRecord, RecoveryPointRecord } from '../ports';
import type { ApiDeps } from './deps';
import type { InstanceSummary } from './resources';

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

async function newestAvailablePoint(deps: ApiDeps, name: string): Promise<RecoveryPointRecord | undefined> {
  for await (const { value } of deps.recoveryPoints.list(name, { limit: NEWEST_POINT_SCAN })) {
    if (value.status === 'Available') return value;
  }
  return undefined;
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
  // Newest first over the default window (7 days), as GET /backupJobs lists them.
  for await (const job of deps.jobs.list(options.onlyInstance ? { backupInstance: options.onlyInstance } : {})) {
    if (!lastJob.has(job.backupInstance)) lastJob.set(job.backupInstance, job);
    if (job.operation === 'Backup' && !lastBackup.has(job.backupInstance)) lastBackup.set(job.backupInstance, job);
  }
  const nextSlots = nextSlotsOf(deps, nowIso);
  const summaries = await mapConcurrently(instances, READ_CONCURRENCY, async (instance) => {
    const summary: InstanceSummary = {};
    const point = await newestAvailablePoint(deps, instance.name);
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
