// The scheduler tick (design §5.5): for each protected instance, start the backup of its latest due slot once.
// Slot ids are deterministic, so a second start of the same slot is a no-op even if bookkeeping failed; a host that
// was down catches up with the latest missed slot only.

import { parsePolicy } from '../domain/policy';
import { lastOccurrenceAtOrBefore } from '../domain/schedule';
import type { Policy } from '../domain/types';
import { ConcurrencyError, type Clock, type InstanceRecord, type InstanceStore, type PolicyStore } from '../ports';
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
export function dueSlot(instance: InstanceRecord, policy: Policy, nowUtc: string): string | undefined {
  if (instance.protectionState !== 'ProtectionConfigured') return undefined;
  const slot = lastOccurrenceAtOrBefore(policy.schedule, nowUtc);
  if (slot === undefined) return undefined;
  if (instance.lastScheduledSlot !== undefined && Date.parse(slot) <= Date.parse(instance.lastScheduledSlot)) {
    return undefined;
  }
  return slot;
}

/** Records `slot` as the instance's latest scheduled slot unless a later one is (the scheduler and the watchdog). */
export async function recordSlot(
  deps: Pick<SchedulerDeps, 'instances' | 'clock'>,
  name: string,
  slot: string,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await deps.instances.get(name);
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

export async function runScheduler(deps: SchedulerDeps): Promise<SchedulerResult> {
  const now = deps.clock.now().toISOString();
  const policies = new Map<string, Policy | undefined>();
  const result: SchedulerResult = { started: [], failed: [] };
  for await (const { value: instance } of deps.instances.list()) {
    try {
      if (!policies.has(instance.policyName)) {
        const record = await deps.policies.get(instance.policyName);
        const parsed = record ? parsePolicy(record.document) : undefined;
        policies.set(instance.policyName, parsed?.ok ? parsed.value : undefined);
      }
      const policy = policies.get(instance.policyName);
      if (!policy) throw new Error(`policy '${instance.policyName}' is missing or invalid`);
      const slot = dueSlot(instance, policy, now);
      if (slot === undefined) continue;
      const id = scheduledOrchestrationId(instance.name, slot);
      if (!(await deps.starter.exists(id))) {
        await deps.starter.start(id, { instanceName: instance.name, trigger: 'Scheduled', scheduledSlot: slot });
        result.started.push(id);
        deps.log(`scheduler: started ${id}`);
      }
      await recordSlot(deps, instance.name, slot);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result.failed.push({ instance: instance.name, message });
      deps.log(`scheduler: instance ${instance.name} skipped: ${message}`);
    }
  }
  return result;
}
