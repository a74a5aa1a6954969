// The scheduler tick (design §5.5): for each protected instance, start the backup of its latest due slot once.
// Slot ids are deterministic and a slot is marked pending before its start and recorded after it, so a start cut off
// by a crash is recognised (the orchestration exists) instead of run twice; a host that was down catches up with the
// latest missed slot only.

import { jitterSeconds, policyJitterWindow } from '../domain/fleet';
import { mapLimited } from '../domain/limited';
import { parsePolicy } from '../domain/policy';
import { lastOccurrenceAtOrBefore } from '../domain/schedule';
import type { Policy } from '../domain/types';
import {
  ConcurrencyError,
  type Clock,
  type InstanceRecord,
  type InstanceStore,
  type PolicyStore,
  type SlotRecord,
  type Stored,
} from '../ports';
import type { BackupOrchestratorInput } from '../workflows/names';

export interface OrchestrationStarter {
  /** True if an orchestration with this id exists in any state. */
  exists(instanceId: string): Promise<boolean>;
  start(instanceId: string, input: BackupOrchestratorInput): Promise<void>;
}

export interface SchedulerDeps {
  readonly instances: InstanceStore;
  readonly policies: PolicyStore;
  readonly clock: Clock;
  readonly starter: OrchestrationStarter;
  readonly log: (message: string) => void;
  /** BACKUP_JITTER_SECONDS and BACKUP_SLOT_POLL_SECONDS (issue 15); absent = no jitter, the orchestration's poll. */
  readonly settings?: { readonly jitterSeconds?: number; readonly slotPollSeconds?: number };
}

export interface SchedulerResult {
  readonly started: string[];
  readonly failed: { instance: string; message: string }[];
}

/** `backup-<instance>-<slot as 20260105T013000000Z>`: one orchestration per instance and slot. */
export function scheduledOrchestrationId(instanceName: string, slotUtc: string): string {
  return `backup-${instanceName}-${slotUtc.replace(/[-:.]/g, '')}`;
}

/** The slot owed to an instance at `now`, or undefined if its latest slot was already started. */
export function dueSlot(
  instance: InstanceRecord,
  policy: Policy,
  nowUtc: string,
  latest: (policy: Policy) => string | undefined = (p) => lastOccurrenceAtOrBefore(p.schedule, nowUtc),
): string | undefined {
  if (instance.protectionState !== 'ProtectionConfigured') return undefined;
  const slot = latest(policy);
  if (slot === undefined) return undefined;
  if (instance.lastScheduledSlot !== undefined && Date.parse(slot) <= Date.parse(instance.lastScheduledSlot)) {
    return undefined;
  }
  return slot;
}

/**
 * Records `slot` as the instance's latest scheduled slot unless a later one is (the scheduler and the watchdog).
 * Given the row as listed, the first attempt writes with its etag (one write per due instance); it re-reads only
 * when the row changed meanwhile.
 */
export async function recordSlot(
  deps: Pick<SchedulerDeps, 'instances' | 'clock'>,
  name: string,
  slot: string,
  listed?: Stored<InstanceRecord>,
): Promise<void> {
  let stored: Stored<InstanceRecord> | undefined = listed;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0 || stored === undefined) stored = await deps.instances.get(name);
    if (!stored) return;
    const last = stored.value.lastScheduledSlot;
    if (last !== undefined && Date.parse(last) >= Date.parse(slot)) return;
    try {
      await deps.instances.update(
        { ...stored.value, lastScheduledSlot: slot, updatedAt: deps.clock.now().toISOString() },
        stored.etag,
      );
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
}

/** Due instances started at once: each start is a few storage round trips, which a sequential tick would add up. */
export const SCHEDULER_START_CONCURRENCY = 16;

export async function runScheduler(deps: SchedulerDeps): Promise<SchedulerResult> {
  const now = deps.clock.now().toISOString();
  const policies = new Map<string, Policy | undefined>();
  // The latest occurrence at `now` is the same for every instance of a policy: expand each schedule once per tick.
  const latestByPolicy = new Map<Policy, string | undefined>();
  const latest = (p: Policy) => {
    if (!latestByPolicy.has(p)) latestByPolicy.set(p, lastOccurrenceAtOrBefore(p.schedule, now));
    return latestByPolicy.get(p);
  };
  const jitter = deps.settings?.jitterSeconds ?? 0;
  // The window a policy allows: BACKUP_JITTER_SECONDS, at most half the time from this slot to its next one.
  const windowByPolicy = new Map<Policy, number>();
  const jitterWindow = (p: Policy, slot: string) => {
    if (!windowByPolicy.has(p)) windowByPolicy.set(p, policyJitterWindow(p, slot, jitter));
    return windowByPolicy.get(p) ?? 0;
  };
  const poll = deps.settings?.slotPollSeconds;
  const result: SchedulerResult = { started: [], failed: [] };
  const fail = (name: string, err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    result.failed.push({ instance: name, message });
    deps.log(`scheduler: instance ${name} skipped: ${message}`);
  };

  // Decide first (one pass over the rows, no I/O per instance but the policy reads), then start the due ones.
  const due: { stored: Stored<InstanceRecord>; slot: string; window: number }[] = [];
  for await (const stored of deps.instances.list()) {
    const instance = stored.value;
    try {
      if (!policies.has(instance.policyName)) {
        const record = await deps.policies.get(instance.policyName);
        const parsed = record ? parsePolicy(record.document) : undefined;
        policies.set(instance.policyName, parsed?.ok ? parsed.value : undefined);
      }
      const policy = policies.get(instance.policyName);
      if (!policy) throw new Error(`policy '${instance.policyName}' is missing or invalid`);
      const slot = dueSlot(instance, policy, now, latest);
      if (slot !== undefined) due.push({ stored, slot, window: jitterWindow(policy, slot) });
    } catch (err) {
      fail(instance.name, err);
    }
  }

  // Mark the due slots pending before starting them: a later tick that finds a slot still pending (this tick crashed
  // between a start and its record) asks whether its orchestration exists; every other due slot is started without
  // that read (one storage request less per due instance). A slot whose mark failed is not started now: the next
  // tick tries again.
  // The names a bulk slot write did not take: those it names, or all of them when it failed whole.
  const notTaken = async (
    what: string,
    write: (entries: SlotRecord[]) => Promise<string[]>,
    rows: readonly (typeof due)[number][],
  ): Promise<Set<string>> =>
    new Set(
      await write(rows.map(({ stored, slot }) => ({ name: stored.value.name, slot }))).catch((err: unknown) => {
        deps.log(`scheduler: ${what} failed: ${String(err)}`);
        return rows.map(({ stored }) => stored.value.name);
      }),
    );
  const unmarked = await notTaken(
    'marking slots pending',
    (e) => deps.instances.markSlotsPending(e),
    due.filter((d) => d.stored.value.pendingSlot !== d.slot),
  );
  const startOne = async ({ stored, slot, window }: (typeof due)[number]) => {
    const name = stored.value.name;
    try {
      if (unmarked.has(name)) throw new Error(`could not mark slot ${slot} pending; the next tick tries again`);
      const id = scheduledOrchestrationId(name, slot);
      const mayExist = stored.value.pendingSlot === slot;
      if (!mayExist || !(await deps.starter.exists(id))) {
        const delay = jitterSeconds(name, window);
        await deps.starter.start(id, {
          instanceName: name,
          trigger: 'Scheduled',
          scheduledSlot: slot,
          ...(delay > 0 ? { notBefore: new Date(Date.parse(slot) + delay * 1000).toISOString() } : {}),
          ...(poll !== undefined ? { slotPollSeconds: poll } : {}),
        });
        result.started.push(id);
        deps.log(`scheduler: started ${id}`);
      }
      return true;
    } catch (err) {
      fail(name, err);
      return false;
    }
  };
  const startedOk = await mapLimited(due, SCHEDULER_START_CONCURRENCY, startOne);
  // Bookkeeping after the starts, in bulk (the store's slot ledger): a crash before it only means the next tick finds
  // the orchestrations already there (their ids are the slots') and records them then.
  const toRecord = due.filter((_, i) => startedOk[i]);
  const unwritten = await notTaken(
    'recording slots in bulk (one by one instead)',
    (e) => deps.instances.recordSlots(e),
    toRecord,
  );
  if (unwritten.size > 0) deps.log(`scheduler: ${unwritten.size} slot records failed in bulk, one by one instead`);
  await mapLimited(
    toRecord.filter(({ stored }) => unwritten.has(stored.value.name)),
    SCHEDULER_START_CONCURRENCY,
    async ({ stored, slot }) => {
      try {
        await recordSlot(deps, stored.value.name, slot);
      } catch (err) {
        fail(stored.value.name, err);
      }
    },
  );
  // Started in parallel: report in the rows' order, as a sequential tick would.
  const order = new Map(due.map((d, i) => [scheduledOrchestrationId(d.stored.value.name, d.slot), i]));
  result.started.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return result;
}
