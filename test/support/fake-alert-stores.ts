// In-memory fakes of the alert ports (outbox, channels, health), for unit tests of the raiser, the delivery worker
// and the watchdog. test/contract/alert-stores.test.ts runs the same contract against them and the Table adapters.

import {
  ConcurrencyError,
  type ChannelRecord,
  type ChannelStore,
  type DeliveryRecord,
  type EventRecord,
  type HealthRecord,
  type HealthStore,
  type OutboxStore,
  type RunKind,
  type Stored,
} from '../../shared/ports';

let etags = 0;
const nextEtag = () => `W/"fake-alert-${++etags}"`;
const copy = <T>(v: T): T => structuredClone(v);
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

async function* lazily<T>(snapshot: () => T[]): AsyncGenerator<T> {
  await Promise.resolve();
  for (const item of snapshot()) yield copy(item);
}

export interface FakeOutbox extends OutboxStore {
  /** Every event recorded so far, in order (tests count raised events with it). */
  readonly events: EventRecord[];
}

export function createFakeOutboxStore(): FakeOutbox {
  const events = new Map<string, { event: EventRecord; createdAt: string }>();
  const pending = new Map<string, Stored<DeliveryRecord>>();
  const finished: DeliveryRecord[] = [];
  const recorded: EventRecord[] = [];
  return {
    events: recorded,
    add(event, channels, createdAt) {
      return later(() => {
        if (events.has(event.id)) return false;
        events.set(event.id, { event: copy(event), createdAt });
        recorded.push(copy(event));
        for (const channel of channels) {
          const d: DeliveryRecord = {
            id: `${event.id}.${channel}`,
            event: copy(event),
            channel,
            status: 'Pending',
            attempts: 0,
            createdAt,
            nextAttemptAt: createdAt,
          };
          pending.set(d.id, { value: d, etag: nextEtag() });
        }
        return true;
      });
    },
    getEvent: (id) => Promise.resolve(copy(events.get(id)?.event)),
    listPending: () => lazily(() => [...pending.keys()].sort().map((k) => pending.get(k)!)),
    listFinished: (options = {}) =>
      lazily(() =>
        finished
          .filter((d) => options.status === undefined || d.status === options.status)
          .sort((a, b) => Date.parse(b.finishedAt ?? '') - Date.parse(a.finishedAt ?? '')),
      ),
    update(d, etag) {
      return later(() => {
        const current = pending.get(d.id);
        if (!current || current.etag !== etag) throw new ConcurrencyError(`delivery ${d.id} changed since it was read`);
        const next = { value: copy(d), etag: nextEtag() };
        pending.set(d.id, next);
        return next.etag;
      });
    },
    finish(d, etag) {
      return later(() => {
        const current = pending.get(d.id);
        if (!current || current.etag !== etag) throw new ConcurrencyError(`delivery ${d.id} changed since it was read`);
        pending.delete(d.id);
        finished.push(copy(d));
      });
    },
    prune(beforeIso) {
      return later(() => {
        const cutoff = Date.parse(beforeIso);
        let n = 0;
        for (let i = finished.length - 1; i >= 0; i--) {
          if (Date.parse(finished[i]!.finishedAt ?? '') < cutoff) {
            finished.splice(i, 1);
            n++;
          }
        }
        for (const [id, e] of events) {
          if (Date.parse(e.createdAt) < cutoff) {
            events.delete(id);
            n++;
          }
        }
        return n;
      });
    },
  };
}

export function createFakeChannelStore(): ChannelStore {
  const rows = new Map<string, ChannelRecord>();
  return {
    put: (c) => later(() => void rows.set(c.name, copy(c))),
    get: (name) => Promise.resolve(copy(rows.get(name))),
    list: () => lazily(() => [...rows.keys()].sort().map((k) => rows.get(k)!)),
    delete: (name) => later(() => void rows.delete(name)),
  };
}

export function createFakeHealthStore(): HealthStore {
  const rows = new Map<string, Stored<HealthRecord>>();
  const runs: Partial<Record<RunKind, string>> = {};
  return {
    get: (name) => Promise.resolve(copy(rows.get(name))),
    list: () => lazily(() => [...rows.keys()].sort().map((k) => rows.get(k)!)),
    put(r, etag) {
      return later(() => {
        const current = rows.get(r.instanceName);
        if (etag === undefined ? current !== undefined : current?.etag !== etag) {
          throw new ConcurrencyError(`the recorded health of ${r.instanceName} changed since it was read`);
        }
        rows.set(r.instanceName, { value: copy(r), etag: nextEtag() });
      });
    },
    delete: (name) => later(() => void rows.delete(name)),
    recordRun: (kind, at) => later(() => void (runs[kind] = at)),
    lastRuns: () => Promise.resolve({ ...runs }),
  };
}

export function createFakeAlertStores() {
  return { outbox: createFakeOutboxStore(), channels: createFakeChannelStore(), health: createFakeHealthStore() };
}
