// Raising events (issue 13; docs/decisions.md "Health and alerts"): each event is written to the outbox with one
// Pending delivery per channel that subscribes to it, in one Table transaction, before the state change that caused
// it is written. The delivery worker (delivery.ts) sends them; nothing here talks to an endpoint.

import type { ChannelRecord, ChannelStore, Clock, EventRecord, OutboxStore } from '../ports';

export interface EventRaiser {
  /** Records each event once (by id) with its deliveries; a repeated raise of the same id writes nothing. */
  raise(events: readonly EventRecord[]): Promise<void>;
}

/** Whether a channel wants an event: its name, and its instance filter (vault-wide events pass every filter). */
export function subscribes(channel: ChannelRecord, event: EventRecord): boolean {
  if (!channel.events.includes(event.name)) return false;
  if (event.subject === '*' || channel.backupInstances === undefined) return true;
  return channel.backupInstances.includes(event.subject);
}

export interface RaiserDeps {
  readonly outbox: OutboxStore;
  readonly channels: ChannelStore;
  readonly clock: Clock;
}

export function createEventRaiser(deps: RaiserDeps): EventRaiser {
  return {
    async raise(events) {
      if (events.length === 0) return;
      const channels: ChannelRecord[] = [];
      for await (const c of deps.channels.list()) channels.push(c);
      const now = deps.clock.now().toISOString();
      for (const event of events) {
        const targets = channels.filter((c) => subscribes(c, event)).map((c) => c.name);
        // An event nobody subscribes to is not kept: the outbox holds what is owed to someone, so it stays small.
        if (targets.length > 0) await deps.outbox.add(event, targets, now);
      }
    },
  };
}
