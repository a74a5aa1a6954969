// What an instance resource says beyond its record (design §3 "with the last recovery point and job", plus what the
// console shows): its health, the newest Available point, the newest job, the next scheduled slot, and the readiness
// last observed. Built for one instance or for all at once by assessInstances (activities/health.ts): one job listing
// serves every instance, and only instances without a recent successful backup read their newest point.

import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { occurrences } from '../domain/schedule';
import type { Policy } from '../domain/types';
import { readinessErrorCodes } from '../contracts/instances';
import type { InstanceRecord, JobRecord } from '../ports';
import { assessInstances } from '../activities/health';
import type { ApiDeps } from './deps';
import type { InstanceSummary } from './resources';

const DAY_MS = 86_400_000;

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

/** The summaries of `instances`: their assessment (health, last job and point) plus the next slot and readiness. */
export async function summarize(
  deps: ApiDeps,
  instances: readonly InstanceRecord[],
): Promise<Map<string, InstanceSummary>> {
  const nowIso = deps.clock.now().toISOString();
  const assessed = await assessInstances({ ...deps, graceMs: deps.alerts.missedSlotGraceMs }, instances, nowIso);
  const nextSlots = nextSlotsOf(deps, nowIso);
  const summaries = await Promise.all(
    instances.map(async (instance) => {
      const a = assessed.get(instance.name);
      const summary: InstanceSummary = {
        ...(a?.lastRecoveryPoint ? { lastRecoveryPoint: a.lastRecoveryPoint } : {}),
        ...(a?.lastJob ? { lastJob: a.lastJob } : {}),
        ...(a ? { health: a.health } : {}),
        readiness: readinessOf(instance, a?.lastBackupJob),
      };
      if (instance.protectionState === 'ProtectionConfigured') {
        const next = await nextSlots(instance.policyName);
        if (next) summary.nextScheduledBackup = next;
      }
      return [instance.name, summary] as const;
    }),
  );
  return new Map(summaries);
}

/** The summary of one instance. */
export async function summaryOf(deps: ApiDeps, instance: InstanceRecord): Promise<InstanceSummary> {
  const summary = (await summarize(deps, [instance])).get(instance.name);
  if (!summary) throw new PgkeepError('SystemErrorInternal', `no summary of '${instance.name}'`);
  return summary;
}
