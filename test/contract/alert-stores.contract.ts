// The contract of the alert ports (shared/ports.ts: OutboxStore, ChannelStore, HealthStore) as one suite, run against
// the Table Storage adapters on Azurite and against the in-memory fakes (alert-stores.test.ts).

import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  type ChannelRecord,
  type ChannelStore,
  type DeliveryRecord,
  type EventRecord,
  type HealthRecord,
  type HealthStore,
  type OutboxStore,
} from '../../shared/ports';

export interface AlertStores {
  readonly outbox: OutboxStore;
  readonly channels: ChannelStore;
  readonly health: HealthStore;
}

export function sampleEvent(id: string, extra: Partial<EventRecord> = {}): EventRecord {
  return {
    id,
    name: 'BackupFailed',
    type: 'pgkeep.backup.failed',
    source: '/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v',
    subject: 'orders',
    time: '2026-03-10T12:00:00.000Z',
    data: { jobId: 'j1', backupInstance: 'orders', error: { code: 'SystemErrorDumpFailed', message: 'boom' } },
    ...extra,
  };
}

export function sampleChannel(name: string, extra: Partial<ChannelRecord> = {}): ChannelRecord {
  return {
    name,
    kind: 'Webhook',
    endpoint: { secret: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_URL' } },
    events: ['BackupFailed', 'BackupMissed'],
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...extra,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const T0 = '2026-03-10T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const done = (d: DeliveryRecord, status: 'Delivered' | 'Failed', finishedAt: string) => ({
  ...d,
  status,
  finishedAt,
  attempts: d.attempts + 1,
});

export function describeAlertStoreContract(label: string, factory: () => Promise<AlertStores>): void {
  describe(`alert stores (${label})`, () => {
    let stores: AlertStores;
    beforeEach(async () => {
      stores = await factory();
    });

    describe('OutboxStore', () => {
      it('records an event with one pending delivery per channel', async () => {
        expect(await stores.outbox.add(sampleEvent('e1'), ['ops', 'teams'], T0)).toBe(true);
        expect(await stores.outbox.getEvent('e1')).toEqual(sampleEvent('e1'));
        const pending = await collect(stores.outbox.listPending());
        expect(pending.map((p) => p.value)).toEqual([
          {
            id: 'e1.ops',
            event: sampleEvent('e1'),
            channel: 'ops',
            status: 'Pending',
            attempts: 0,
            createdAt: T0,
            nextAttemptAt: T0,
          },
          {
            id: 'e1.teams',
            event: sampleEvent('e1'),
            channel: 'teams',
            status: 'Pending',
            attempts: 0,
            createdAt: T0,
            nextAttemptAt: T0,
          },
        ]);
      });

      it('keeps an event once: a second add of its id writes nothing, even after its deliveries finished', async () => {
        await stores.outbox.add(sampleEvent('e1'), ['ops'], T0);
        expect(await stores.outbox.add(sampleEvent('e1'), ['ops', 'late'], at(1))).toBe(false);
        const [row] = await collect(stores.outbox.listPending());
        await stores.outbox.finish(done(row!.value, 'Delivered', at(2)), row!.etag);
        expect(await stores.outbox.add(sampleEvent('e1'), ['ops'], at(3))).toBe(false);
        expect(await collect(stores.outbox.listPending())).toEqual([]);
        expect(await collect(stores.outbox.listFinished())).toHaveLength(1);
      });

      it('updates a pending delivery with its etag and refuses a stale one with ConcurrencyError', async () => {
        await stores.outbox.add(sampleEvent('e1'), ['ops'], T0);
        const [row] = await collect(stores.outbox.listPending());
        const leased = { ...row!.value, leaseUntil: at(2), attempts: 1, lastError: 'HTTP 503', lastHttpStatus: 503 };
        const etag = await stores.outbox.update(leased, row!.etag);
        const [after] = await collect(stores.outbox.listPending());
        expect(after).toEqual({ value: leased, etag });
        await expect(stores.outbox.update({ ...leased, attempts: 2 }, row!.etag)).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
      });

      it('finishes a delivery out of the pending set, and a stale finish fails with ConcurrencyError', async () => {
        await stores.outbox.add(sampleEvent('e1'), ['a', 'b'], T0);
        const [a, b] = await collect(stores.outbox.listPending());
        await stores.outbox.update({ ...b!.value, attempts: 1 }, b!.etag);
        await expect(stores.outbox.finish(done(b!.value, 'Delivered', at(1)), b!.etag)).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        await stores.outbox.finish(done(a!.value, 'Failed', at(1)), a!.etag);
        expect((await collect(stores.outbox.listPending())).map((p) => p.value.id)).toEqual(['e1.b']);
        expect(await collect(stores.outbox.listFinished())).toEqual([done(a!.value, 'Failed', at(1))]);
      });

      it('lists finished deliveries newest first, filtered by status', async () => {
        for (const [i, id] of ['e1', 'e2', 'e3'].entries()) await stores.outbox.add(sampleEvent(id), ['ops'], at(i));
        const rows = await collect(stores.outbox.listPending());
        const statuses = ['Delivered', 'Failed', 'Delivered'] as const;
        for (const [i, row] of rows.entries()) {
          await stores.outbox.finish(done(row.value, statuses[i]!, at(10 + i)), row.etag);
        }
        expect((await collect(stores.outbox.listFinished())).map((d) => d.id)).toEqual(['e3.ops', 'e2.ops', 'e1.ops']);
        expect((await collect(stores.outbox.listFinished({ status: 'Delivered' }))).map((d) => d.id)).toEqual([
          'e3.ops',
          'e1.ops',
        ]);
      });

      it('prunes finished deliveries and event records older than the cutoff, nothing pending or newer', async () => {
        await stores.outbox.add(sampleEvent('old'), ['ops'], at(0));
        await stores.outbox.add(sampleEvent('new'), ['ops'], at(100));
        await stores.outbox.add(sampleEvent('waiting'), ['ops'], at(0));
        const rows = await collect(stores.outbox.listPending());
        const byId = new Map(rows.map((r) => [r.value.id, r]));
        await stores.outbox.finish(done(byId.get('old.ops')!.value, 'Delivered', at(1)), byId.get('old.ops')!.etag);
        await stores.outbox.finish(done(byId.get('new.ops')!.value, 'Delivered', at(101)), byId.get('new.ops')!.etag);
        expect(await stores.outbox.prune(at(50))).toBe(3);
        expect((await collect(stores.outbox.listFinished())).map((d) => d.id)).toEqual(['new.ops']);
        expect((await collect(stores.outbox.listPending())).map((d) => d.value.id)).toEqual(['waiting.ops']);
        expect(await stores.outbox.getEvent('old')).toBeUndefined();
        expect(await stores.outbox.getEvent('new')).toBeDefined();
      });
    });

    describe('ChannelStore', () => {
      it('round-trips a channel with a secret endpoint and one with a URL, optional fields absent', async () => {
        const secret = sampleChannel('ops', {
          signingSecret: { secretStoreType: 'AzureKeyVault', uri: 'https://kv.vault.azure.net/secrets/hook-key' },
          backupInstances: ['orders', 'billing'],
        });
        const plain = sampleChannel('teams', { kind: 'Teams', endpoint: { url: 'https://example.org/hook?sig=abc' } });
        await stores.channels.put(secret);
        await stores.channels.put(plain);
        expect(await stores.channels.get('ops')).toEqual(secret);
        expect(await stores.channels.get('teams')).toEqual(plain);
        expect(await stores.channels.get('teams')).not.toHaveProperty('backupInstances');
        expect((await collect(stores.channels.list())).map((c) => c.name)).toEqual(['ops', 'teams']);
      });

      it('replaces on put and deletes (absent ones too)', async () => {
        await stores.channels.put(sampleChannel('ops', { backupInstances: ['orders'] }));
        const replaced = sampleChannel('ops', { kind: 'Slack', events: ['HealthChanged'] });
        await stores.channels.put(replaced);
        expect(await stores.channels.get('ops')).toEqual(replaced);
        await stores.channels.delete('ops');
        await stores.channels.delete('ops');
        expect(await stores.channels.get('ops')).toBeUndefined();
      });
    });

    describe('HealthStore', () => {
      const record = (changes: number, status: HealthRecord['health']['status']): HealthRecord => ({
        instanceName: 'orders',
        health: { status, reasons: [{ code: 'BackupMissed', message: 'no backup ran' }], evaluatedAt: T0 },
        since: T0,
        changes,
      });

      it('creates once, then replaces only with the etag it read', async () => {
        await stores.health.put(record(1, 'Warning'));
        await expect(stores.health.put(record(1, 'Warning'))).rejects.toBeInstanceOf(ConcurrencyError);
        const read = await stores.health.get('orders');
        expect(read?.value).toEqual(record(1, 'Warning'));
        await stores.health.put(record(2, 'Critical'), read!.etag);
        await expect(stores.health.put(record(3, 'Healthy'), read!.etag)).rejects.toBeInstanceOf(ConcurrencyError);
        expect((await collect(stores.health.list())).map((r) => r.value)).toEqual([record(2, 'Critical')]);
        await stores.health.delete('orders');
        await stores.health.delete('orders');
        expect(await stores.health.get('orders')).toBeUndefined();
      });

      it('keeps the last run of each timer', async () => {
        expect(await stores.health.lastRuns()).toEqual({});
        await stores.health.recordRun('scheduler', at(0));
        await stores.health.recordRun('scheduler', at(5));
        await stores.health.recordRun('expiry', at(1));
        expect(await stores.health.lastRuns()).toEqual({ scheduler: at(5), expiry: at(1) });
      });
    });
  });
}
