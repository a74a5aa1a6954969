// The contract of the state-store ports (shared/ports.ts) as one suite, run against the Table Storage adapters on
// Azurite and against the in-memory fakes (stores.test.ts); plus the vault blob store contract (Azurite only).

import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StateStores } from '../../shared/adapters/storage/stores';
import { PgkeepError } from '../../shared/errors';
import {
  ConcurrencyError,
  recoveryPointId,
  type AuditEntry,
  type Clock,
  type InstanceRecord,
  type JobRecord,
  type PolicyRecord,
  type RecoveryPointRecord,
  type VaultBlobStore,
} from '../../shared/ports';

/** A clock the suite moves by hand: the job list's default window counts back from it. */
export class TestClock implements Clock {
  constructor(private current: number = Date.parse('2025-06-15T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  set(iso: string): void {
    this.current = Date.parse(iso);
  }
}

export type StoresFactory = (clock: Clock) => Promise<StateStores>;

// --- sample records ---

const ODD = 'odd/na\\me#with?ctl\u0001%2f and \u00e9';

export function samplePolicy(name: string, extra: Record<string, unknown> = {}): PolicyRecord {
  return {
    name,
    document: {
      datasourceTypes: ['Microsoft.DBforPostgreSQL/servers/databases'],
      objectType: 'BackupPolicy',
      policyRules: [{ name: 'Default', objectType: 'AzureRetentionRule', isDefault: true }],
      ...extra,
    },
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

export function sampleInstance(name: string, resourceID: string, extra: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    name,
    friendlyName: `${name} friendly`,
    dataSource: {
      resourceID,
      resourceName: 'orders',
      datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
      objectType: 'Datasource',
    },
    policyName: 'weekly',
    secret: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
    protectionState: 'ProtectionConfigured',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

export function samplePoint(
  instanceName: string,
  time: string,
  suffix = 'a1',
  extra: Partial<RecoveryPointRecord> = {},
): RecoveryPointRecord {
  const id = recoveryPointId(time, suffix);
  return {
    instanceName,
    id,
    time,
    tag: 'Default',
    trigger: 'Scheduled',
    dataStore: 'VaultStore',
    status: 'Available',
    policyName: 'weekly',
    jobId: `job-${suffix}`,
    blobName: `${instanceName}/${id}/dump.pgdump.zst`,
    manifestBlobName: `${instanceName}/${id}/manifest.json`,
    bytes: 123_456,
    sha256: 'ab'.repeat(32),
    vaultUntil: '2026-01-01T00:00:00.000Z',
    movesToArchive: false,
    deleteAt: '2026-01-01T00:00:00.000Z',
    serverVersion: '16.4',
    pgDumpVersion: '17.2',
    databaseName: 'orders',
    createdAt: time,
    ...extra,
  };
}

export function sampleJob(id: string, startTime: string, extra: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    operation: 'Backup',
    backupInstance: 'orders',
    status: 'InProgress',
    trigger: 'Scheduled',
    startTime,
    progress: { bytes: 0 },
    ...extra,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Runs `fn` over `items` with a few requests in flight: fast on Azurite without flooding it. */
async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>, width = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

const isoPlus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// --- the state-store contract ---

export function describeStateStoreContract(label: string, factory: StoresFactory): void {
  describe(`state stores (${label})`, () => {
    let stores: StateStores;
    let clock: TestClock;
    beforeEach(async () => {
      clock = new TestClock();
      stores = await factory(clock);
    });

    describe('PolicyStore', () => {
      it('returns a created policy by name with its document unchanged', async () => {
        const policy = samplePolicy('weekly', { nested: { list: [1, 'two', { three: null }] } });
        await stores.policies.create(policy);
        expect(await stores.policies.get('weekly')).toEqual(policy);
      });

      it('refuses to create a policy whose name exists with ConcurrencyError and keeps the first', async () => {
        await stores.policies.create(samplePolicy('weekly'));
        await expect(stores.policies.create(samplePolicy('weekly', { other: true }))).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        expect((await stores.policies.get('weekly'))?.document).not.toHaveProperty('other');
      });

      it('returns undefined for a missing policy', async () => {
        expect(await stores.policies.get('missing')).toBeUndefined();
      });

      it('deletes a policy, and deleting an absent one succeeds', async () => {
        await stores.policies.create(samplePolicy('weekly'));
        await stores.policies.delete('weekly');
        await stores.policies.delete('weekly');
        expect(await stores.policies.get('weekly')).toBeUndefined();
      });

      it('lists every policy', async () => {
        await stores.policies.create(samplePolicy('a'));
        await stores.policies.create(samplePolicy('b'));
        expect((await collect(stores.policies.list())).map((p) => p.name).sort()).toEqual(['a', 'b']);
      });

      it('refuses a document above 60 KiB with UserErrorInvalidPolicy and stores nothing', async () => {
        const big = samplePolicy('big', { description: 'x'.repeat(31 * 1024) });
        await expect(stores.policies.create(big)).rejects.toMatchObject({ code: 'UserErrorInvalidPolicy' });
        expect(await stores.policies.get('big')).toBeUndefined();
        await stores.policies.create(samplePolicy('fits', { description: 'x'.repeat(29 * 1024) }));
      });

      it('keeps names with key-forbidden characters apart from their escaped look-alikes', async () => {
        await stores.policies.create(samplePolicy(ODD, { which: 'odd' }));
        await stores.policies.create(samplePolicy('odd%2fna', { which: 'look-alike' }));
        expect((await stores.policies.get(ODD))?.document['which']).toBe('odd');
        expect((await stores.policies.get('odd%2fna'))?.document['which']).toBe('look-alike');
        expect((await collect(stores.policies.list())).map((p) => p.name).sort()).toEqual([ODD, 'odd%2fna'].sort());
        await stores.policies.delete(ODD);
        expect(await stores.policies.get(ODD)).toBeUndefined();
      });
    });

    describe('InstanceStore', () => {
      const SERVER_DB =
        '/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg/databases/orders';

      it('returns a created instance with an etag and without the optional fields it did not set', async () => {
        const instance = sampleInstance('orders', SERVER_DB);
        await stores.instances.create(instance);
        const got = await stores.instances.get('orders');
        expect(got?.value).toEqual(instance);
        expect(got?.etag).toEqual(expect.any(String));
      });

      it('round-trips every optional field', async () => {
        const instance = sampleInstance('orders', SERVER_DB, {
          deleteBackupDataOnStop: false,
          activeBackupJobId: 'job-1',
          lastScheduledSlot: '2025-06-01T02:00:00.000Z',
          protectedSince: '2025-05-01T00:00:00.000Z',
          deletedAt: '2025-06-02T00:00:00.000Z',
          protectionState: 'ProtectionStopped',
          dataSource: { ...sampleInstance('x', SERVER_DB).dataSource, resourceLocation: 'westeurope' },
        });
        await stores.instances.create(instance);
        expect((await stores.instances.get('orders'))?.value).toEqual(instance);
      });

      it('refuses a second instance of the same name with ConcurrencyError', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        await expect(stores.instances.create(sampleInstance('orders', `${SERVER_DB}-2`))).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
      });

      it('refuses to protect a claimed datasource (any letter case) with UserErrorDatasourceAlreadyProtected naming the owner', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        const err: unknown = await stores.instances
          .create(sampleInstance('orders-again', SERVER_DB.toUpperCase()))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PgkeepError);
        expect(err).toMatchObject({ code: 'UserErrorDatasourceAlreadyProtected' });
        expect((err as Error).message).toContain('orders');
        expect(await stores.instances.get('orders-again')).toBeUndefined();
      });

      it('returns undefined for a missing instance', async () => {
        expect(await stores.instances.get('missing')).toBeUndefined();
      });

      it('releases the datasource claim on delete, and deleting an absent instance succeeds', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        await stores.instances.delete('orders');
        await stores.instances.delete('orders');
        expect(await stores.instances.get('orders')).toBeUndefined();
        await stores.instances.create(sampleInstance('orders-new', SERVER_DB));
        expect((await stores.instances.get('orders-new'))?.value.dataSource.resourceID).toBe(SERVER_DB);
      });

      it('updates with the current etag, returns a new one, and refuses the stale one with ConcurrencyError', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB, { activeBackupJobId: 'job-1' }));
        const read = await stores.instances.get('orders');
        if (!read) throw new Error('instance not stored');
        const { activeBackupJobId: _, ...withoutLock } = read.value;
        const etag2 = await stores.instances.update({ ...withoutLock, policyName: 'daily' }, read.etag);
        expect(etag2).not.toBe(read.etag);
        const after = await stores.instances.get('orders');
        expect(after?.value.policyName).toBe('daily');
        expect(after?.value).not.toHaveProperty('activeBackupJobId');
        await expect(stores.instances.update({ ...read.value, policyName: 'stale' }, read.etag)).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        await stores.instances.update({ ...withoutLock, policyName: 'again' }, etag2);
        expect((await stores.instances.get('orders'))?.value.policyName).toBe('again');
      });

      it('records a tick of slots in bulk without touching the rows, and never moves a later slot back', async () => {
        const names = Array.from({ length: 150 }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
        for (const name of names) {
          await stores.instances.create(
            sampleInstance(name, `${SERVER_DB}-${name}`, { activeBackupJobId: `job-${name}` }),
          );
        }
        const before = new Map<string, string>();
        for await (const row of stores.instances.list()) before.set(row.value.name, row.etag);
        // The watchdog recorded a later slot on one row (through update) before the tick's bulk record lands.
        const later = '2026-01-11T02:00:00.000Z';
        const watched = await stores.instances.get('fleet-007');
        if (!watched) throw new Error('instance not stored');
        await stores.instances.update({ ...watched.value, lastScheduledSlot: later }, watched.etag);

        const slot = '2026-01-04T02:00:00.000Z';
        const unwritten = await stores.instances.recordSlots(names.map((name) => ({ name, slot })));

        expect(unwritten).toEqual([]);
        const first = await stores.instances.get('fleet-000');
        expect(first).toEqual({
          value: {
            ...sampleInstance('fleet-000', `${SERVER_DB}-fleet-000`, { activeBackupJobId: 'job-fleet-000' }),
            lastScheduledSlot: slot,
          },
          etag: before.get('fleet-000'),
        });
        const listed = new Map<string, string | undefined>();
        for await (const row of stores.instances.list()) listed.set(row.value.name, row.value.lastScheduledSlot);
        expect([...listed.entries()].filter(([, s]) => s !== slot)).toEqual([['fleet-007', later]]);
        expect((await stores.instances.get('fleet-007'))?.value.lastScheduledSlot).toBe(later);
      });

      it('keeps a slot marked pending beside the row: read by get and list, untouched by update and by the record', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        const slot = '2026-01-04T02:00:00.000Z';
        expect(await stores.instances.markSlotsPending([{ name: 'orders', slot }])).toEqual([]);
        const read = await stores.instances.get('orders');
        expect(read?.value).toMatchObject({ pendingSlot: slot });
        expect(read?.value.lastScheduledSlot).toBeUndefined();
        await stores.instances.update({ ...read!.value, policyName: 'other' }, read!.etag);
        await stores.instances.recordSlots([{ name: 'orders', slot }]);
        const listed: InstanceRecord[] = [];
        for await (const row of stores.instances.list()) listed.push(row.value);
        expect(listed).toEqual([
          { ...sampleInstance('orders', SERVER_DB), policyName: 'other', pendingSlot: slot, lastScheduledSlot: slot },
        ]);
      });

      it('forgets the recorded slot of a deleted instance: one created again under its name starts afresh', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        await stores.instances.recordSlots([{ name: 'orders', slot: '2026-01-04T02:00:00.000Z' }]);
        await stores.instances.delete('orders');
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        expect((await stores.instances.get('orders'))?.value.lastScheduledSlot).toBeUndefined();
      });

      it('lets exactly one of two writers holding the same etag take the backup lock', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        const read = await stores.instances.get('orders');
        if (!read) throw new Error('instance not stored');
        const results = await Promise.allSettled(
          ['job-a', 'job-b'].map((job) =>
            stores.instances.update({ ...read.value, activeBackupJobId: job }, read.etag),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected');
        expect(rejected?.reason).toBeInstanceOf(ConcurrencyError);
      });

      it('refuses to update a deleted instance with ConcurrencyError', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        const read = await stores.instances.get('orders');
        if (!read) throw new Error('instance not stored');
        await stores.instances.delete('orders');
        await expect(stores.instances.update(read.value, read.etag)).rejects.toBeInstanceOf(ConcurrencyError);
      });

      it('refuses to change the datasource of an instance', async () => {
        await stores.instances.create(sampleInstance('orders', SERVER_DB));
        const read = await stores.instances.get('orders');
        if (!read) throw new Error('instance not stored');
        const moved = { ...read.value, dataSource: { ...read.value.dataSource, resourceID: `${SERVER_DB}-2` } };
        await expect(stores.instances.update(moved, read.etag)).rejects.toMatchObject({
          code: 'UserErrorInvalidRequest',
        });
      });

      it('lists instances only (not their claims), each with an etag that update accepts', async () => {
        await stores.instances.create(sampleInstance('a', `${SERVER_DB}-a`));
        await stores.instances.create(sampleInstance(ODD, `${SERVER_DB}-odd`));
        const listed = await collect(stores.instances.list());
        expect(listed.map((s) => s.value.name).sort()).toEqual(['a', ODD].sort());
        const odd = listed.find((s) => s.value.name === ODD);
        if (!odd) throw new Error('odd instance not listed');
        await stores.instances.update({ ...odd.value, friendlyName: 'renamed' }, odd.etag);
        expect((await stores.instances.get(ODD))?.value.friendlyName).toBe('renamed');
      });
    });

    describe('RecoveryPointStore', () => {
      const T0 = '2025-06-01T02:00:00.000Z';

      it('returns a created point by id with every field, including sizes beyond 32 bits', async () => {
        const point = samplePoint('orders', T0, 'a1', {
          bytes: 5_000_000_000_123,
          movesToArchive: true,
          archivedAt: '2025-12-01T00:00:00.000Z',
          rehydratedBlobName: 'orders/x/rehydrated.zst',
          rehydratedUntil: '2025-12-20T00:00:00.000Z',
          inUseUntil: '2025-12-02T00:00:00.000Z',
          dataStore: 'ArchiveStore',
          tag: 'Yearly',
          trigger: 'OnDemand',
        });
        await stores.recoveryPoints.create(point);
        const got = await stores.recoveryPoints.get('orders', point.id);
        expect(got?.value).toEqual(point);
        expect(got?.etag).toEqual(expect.any(String));
      });

      it('leaves unset optional fields absent', async () => {
        const point = samplePoint('orders', T0);
        await stores.recoveryPoints.create(point);
        const got = await stores.recoveryPoints.get('orders', point.id);
        expect(got?.value).toEqual(point);
        expect(got?.value).not.toHaveProperty('archivedAt');
      });

      it('refuses a second point with the same id with ConcurrencyError', async () => {
        await stores.recoveryPoints.create(samplePoint('orders', T0));
        await expect(stores.recoveryPoints.create(samplePoint('orders', T0))).rejects.toBeInstanceOf(ConcurrencyError);
      });

      it('refuses a point whose id does not encode its time', async () => {
        const point = { ...samplePoint('orders', T0), time: isoPlus(T0, 1) };
        await expect(stores.recoveryPoints.create(point)).rejects.toBeInstanceOf(RangeError);
      });

      it('returns undefined for a missing point or instance', async () => {
        await stores.recoveryPoints.create(samplePoint('orders', T0));
        expect(await stores.recoveryPoints.get('orders', recoveryPointId(T0, 'zz'))).toBeUndefined();
        expect(await stores.recoveryPoints.get('other', recoveryPointId(T0, 'a1'))).toBeUndefined();
        expect(await stores.recoveryPoints.get('orders', 'not-an-id')).toBeUndefined();
      });

      it('lists newest first whatever the insertion order, and only the given instance', async () => {
        const times = [0, 3, 1, 2].map((d) => isoPlus(T0, d * DAY));
        for (const t of times) await stores.recoveryPoints.create(samplePoint('orders', t));
        await stores.recoveryPoints.create(samplePoint('orders-2', isoPlus(T0, 10 * DAY)));
        const listed = await collect(stores.recoveryPoints.list('orders'));
        expect(listed.map((p) => p.value.time)).toEqual([...times].sort().reverse());
      });

      it('bounds the list by time: from inclusive, to exclusive, to the millisecond', async () => {
        const times = [-1, 0, 1, 999, 1000, 1001].map((ms) => isoPlus(T0, ms));
        for (const t of times) await stores.recoveryPoints.create(samplePoint('orders', t));
        const between = await collect(stores.recoveryPoints.list('orders', { from: T0, to: isoPlus(T0, 1000) }));
        expect(between.map((p) => p.value.time)).toEqual([999, 1, 0].map((ms) => isoPlus(T0, ms)));
        const since = await collect(stores.recoveryPoints.list('orders', { from: isoPlus(T0, 1000) }));
        expect(since.map((p) => p.value.time)).toEqual([1001, 1000].map((ms) => isoPlus(T0, ms)));
        const before = await collect(stores.recoveryPoints.list('orders', { to: T0 }));
        expect(before.map((p) => p.value.time)).toEqual([isoPlus(T0, -1)]);
        expect(await collect(stores.recoveryPoints.list('orders', { from: T0, to: T0 }))).toEqual([]);
      });

      it('keeps instances with key-forbidden characters apart', async () => {
        await stores.recoveryPoints.create(samplePoint(ODD, T0, 'odd'));
        await stores.recoveryPoints.create(samplePoint('odd%2fna', T0, 'alike'));
        expect((await collect(stores.recoveryPoints.list(ODD))).map((p) => p.value.jobId)).toEqual(['job-odd']);
        expect((await stores.recoveryPoints.get(ODD, recoveryPointId(T0, 'odd')))?.value.instanceName).toBe(ODD);
      });

      it('updates with the current etag and refuses a stale one with ConcurrencyError', async () => {
        const point = samplePoint('orders', T0, 'a1', { inUseUntil: '2025-06-02T00:00:00.000Z' });
        await stores.recoveryPoints.create(point);
        const read = await stores.recoveryPoints.get('orders', point.id);
        if (!read) throw new Error('point not stored');
        const { inUseUntil: _, ...rest } = read.value;
        const etag2 = await stores.recoveryPoints.update({ ...rest, status: 'Deleting' }, read.etag);
        const after = await stores.recoveryPoints.get('orders', point.id);
        expect(after?.value.status).toBe('Deleting');
        expect(after?.value).not.toHaveProperty('inUseUntil');
        expect(after?.etag).toBe(etag2);
        await expect(
          stores.recoveryPoints.update({ ...read.value, status: 'Deleted' }, read.etag),
        ).rejects.toBeInstanceOf(ConcurrencyError);
      });

      it('deletes a point, and deleting an absent one succeeds', async () => {
        const point = samplePoint('orders', T0);
        await stores.recoveryPoints.create(point);
        await stores.recoveryPoints.delete('orders', point.id);
        await stores.recoveryPoints.delete('orders', point.id);
        await stores.recoveryPoints.delete('never', point.id);
        expect(await stores.recoveryPoints.get('orders', point.id)).toBeUndefined();
      });

      it('reads the newest point, and the newest with a status, past rows of other statuses', async () => {
        expect(await stores.recoveryPoints.newest('orders')).toBeUndefined();
        const times = [0, 1, 2, 3].map((d) => isoPlus(T0, d * DAY));
        await stores.recoveryPoints.create(samplePoint('orders', times[0]!, 'a0'));
        await stores.recoveryPoints.create(samplePoint('orders', times[1]!, 'a1'));
        await stores.recoveryPoints.create(samplePoint('orders', times[2]!, 'a2', { status: 'Deleting' }));
        await stores.recoveryPoints.create(samplePoint('orders', times[3]!, 'a3', { status: 'Deleted' }));
        await stores.recoveryPoints.create(samplePoint('orders-2', isoPlus(T0, 10 * DAY)));
        expect((await stores.recoveryPoints.newest('orders'))?.time).toBe(times[3]);
        expect((await stores.recoveryPoints.newest('orders', { status: 'Available' }))?.time).toBe(times[1]);
        expect(await stores.recoveryPoints.newest('orders', { status: 'Available' })).toEqual(
          samplePoint('orders', times[1]!, 'a1'),
        );
      });

      it('lists all of more than 1,000 points (one Table page) newest first', async () => {
        const times = Array.from({ length: 1_100 }, (_, i) => isoPlus(T0, i * HOUR));
        await inParallel(times, (t) => stores.recoveryPoints.create(samplePoint('many', t)));
        const listed = await collect(stores.recoveryPoints.list('many'));
        expect(listed).toHaveLength(1_100);
        expect(listed.map((p) => p.value.time)).toEqual([...times].reverse());
      });

      it('lists every point of every instance once with listAll', async () => {
        const made = [
          samplePoint('a', T0, 'p1'),
          samplePoint('a', isoPlus(T0, DAY), 'p2'),
          samplePoint(ODD, T0, 'p3', { status: 'Deleting' }),
        ];
        for (const p of made) await stores.recoveryPoints.create(p);
        const all = await collect(stores.recoveryPoints.listAll());
        expect(all.map((s) => `${s.value.instanceName}/${s.value.id}`).sort()).toEqual(
          made.map((p) => `${p.instanceName}/${p.id}`).sort(),
        );
        expect(all.every((s) => typeof s.etag === 'string')).toBe(true);
      });

      it('pages a listing: limit yields at most that many, afterId continues after the last one seen', async () => {
        const times = Array.from({ length: 7 }, (_, i) => isoPlus(T0, i * DAY));
        for (const t of times) await stores.recoveryPoints.create(samplePoint('paged', t));
        const newestFirst = [...times].reverse();
        const pages: string[][] = [];
        let afterId: string | undefined;
        for (;;) {
          const page = await collect(stores.recoveryPoints.list('paged', { limit: 3, ...(afterId && { afterId }) }));
          if (page.length === 0) break;
          pages.push(page.map((p) => p.value.time));
          afterId = page.at(-1)?.value.id;
        }
        expect(pages).toEqual([newestFirst.slice(0, 3), newestFirst.slice(3, 6), newestFirst.slice(6)]);
        const bounded = await collect(
          stores.recoveryPoints.list('paged', { afterId: recoveryPointId(times[5]!, 'a1'), to: times[2]!, limit: 9 }),
        );
        expect(bounded.map((p) => p.value.time)).toEqual([times[1], times[0]]);
        expect(await collect(stores.recoveryPoints.list('paged', { limit: 0 }))).toEqual([]);
      });
    });

    describe('JobStore', () => {
      const NOW = '2025-06-15T12:00:00.000Z';
      const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

      it('returns a created job by id, with every optional field', async () => {
        const job = sampleJob(id(1), NOW, {
          endTime: isoPlus(NOW, HOUR),
          status: 'Failed',
          progress: { bytes: 5_000_000_000, percent: 42.5 },
          recoveryPointId: recoveryPointId(NOW, 'r1'),
          error: { code: 'SystemErrorDumpFailed', message: 'pg_dump exited with 1', hint: 'retry' },
          warnings: [{ code: 'W1', message: 'first' }],
          orchestrationId: 'backup-orders-2025',
          extra: { retentionTag: 'Monthly', nested: { a: [1, 2] } },
        });
        await stores.jobs.create(job);
        expect(await stores.jobs.get(job.id)).toEqual(job);
      });

      it('refuses a second job with the same id with ConcurrencyError', async () => {
        await stores.jobs.create(sampleJob(id(1), NOW));
        await expect(stores.jobs.create(sampleJob(id(1), isoPlus(NOW, -DAY)))).rejects.toBeInstanceOf(ConcurrencyError);
        expect((await stores.jobs.get(id(1)))?.startTime).toBe(NOW);
      });

      it('returns undefined for a missing job', async () => {
        expect(await stores.jobs.get(id(404))).toBeUndefined();
      });

      it('round-trips ids with key-forbidden characters', async () => {
        await stores.jobs.create(sampleJob(ODD, NOW));
        expect((await stores.jobs.get(ODD))?.id).toBe(ODD);
        await stores.jobs.patch(ODD, { status: 'Succeeded' });
        expect((await collect(stores.jobs.list({}))).map((j) => j.id)).toEqual([ODD]);
      });

      it('patch merges the given fields, leaves the others, and replaces a field whole', async () => {
        await stores.jobs.create(
          sampleJob(id(1), NOW, { progress: { bytes: 10, percent: 5 }, orchestrationId: 'o-1' }),
        );
        await stores.jobs.patch(id(1), { progress: { bytes: 20 } });
        await stores.jobs.patch(id(1), { recoveryPointId: 'rp-1', endTime: undefined });
        const got = await stores.jobs.get(id(1));
        expect(got).toEqual(
          sampleJob(id(1), NOW, { progress: { bytes: 20 }, orchestrationId: 'o-1', recoveryPointId: 'rp-1' }),
        );
      });

      it('patch of a missing job throws UserErrorNotFound', async () => {
        await expect(stores.jobs.patch(id(404), { status: 'Failed' })).rejects.toMatchObject({
          code: 'UserErrorNotFound',
        });
      });

      it('never lets a late progress write take a finished job back to InProgress', async () => {
        await stores.jobs.create(sampleJob(id(1), NOW, { progress: { bytes: 10 } }));
        await stores.jobs.patch(id(1), { status: 'Succeeded', endTime: isoPlus(NOW, HOUR), progress: { bytes: 99 } });
        await stores.jobs.patch(id(1), {
          status: 'InProgress',
          progress: { bytes: 50 },
          warnings: [{ code: 'W', message: 'late but kept' }],
        });
        const got = await stores.jobs.get(id(1));
        expect(got?.status).toBe('Succeeded');
        expect(got?.progress).toEqual({ bytes: 99 });
        expect(got?.warnings).toEqual([{ code: 'W', message: 'late but kept' }]);
      });

      it('keeps a terminal status under concurrent progress writes', async () => {
        await stores.jobs.create(sampleJob(id(1), NOW));
        const progress = Array.from({ length: 10 }, (_, i) =>
          stores.jobs.patch(id(1), { status: 'InProgress', progress: { bytes: i } }),
        );
        await Promise.all([
          ...progress.slice(0, 5),
          stores.jobs.patch(id(1), { status: 'Failed' }),
          ...progress.slice(5),
        ]);
        await stores.jobs.patch(id(1), { status: 'InProgress', progress: { bytes: 1_000 } });
        expect((await stores.jobs.get(id(1)))?.status).toBe('Failed');
      });

      it('trims warnings that would not fit and says how many were left out', async () => {
        const warnings = Array.from({ length: 2_000 }, (_, i) => ({
          code: 'ExpiryFailed',
          message: `point ${i} ${'x'.repeat(40)}`,
        }));
        await stores.jobs.create(sampleJob(id(1), NOW));
        await stores.jobs.patch(id(1), { warnings });
        const got = (await stores.jobs.get(id(1)))?.warnings ?? [];
        expect(got.length).toBeLessThan(2_000);
        expect(got.slice(0, -1)).toEqual(warnings.slice(0, got.length - 1));
        expect(got.at(-1)).toEqual({
          code: 'WarningsTruncated',
          message: `${2_000 - (got.length - 1)} more warnings were left out`,
        });
      });

      it('lists the last 7 days by default, newest first across days', async () => {
        clock.set(NOW);
        const starts = [-8 * DAY, -6 * DAY, -HOUR, -3 * DAY, -7 * DAY + 1, -7 * DAY - 1];
        for (const [i, ms] of starts.entries()) await stores.jobs.create(sampleJob(id(i), isoPlus(NOW, ms)));
        const listed = await collect(stores.jobs.list({}));
        expect(listed.map((j) => j.startTime)).toEqual(
          [-HOUR, -3 * DAY, -6 * DAY, -7 * DAY + 1].map((ms) => isoPlus(NOW, ms)),
        );
        clock.set(isoPlus(NOW, -2 * DAY));
        expect((await collect(stores.jobs.list({}))).map((j) => j.startTime)).toEqual(
          [-HOUR, -3 * DAY, -6 * DAY, -7 * DAY + 1, -7 * DAY - 1, -8 * DAY].map((ms) => isoPlus(NOW, ms)),
        );
      });

      it('bounds the list by startTime: from inclusive, to exclusive, across day boundaries', async () => {
        const midnight = '2025-06-10T00:00:00.000Z';
        const offsets = [-1, 0, 1, DAY - 1, DAY, DAY + 1];
        for (const [i, ms] of offsets.entries()) await stores.jobs.create(sampleJob(id(i), isoPlus(midnight, ms)));
        const listed = await collect(stores.jobs.list({ from: midnight, to: isoPlus(midnight, DAY) }));
        expect(listed.map((j) => j.startTime)).toEqual([DAY - 1, 1, 0].map((ms) => isoPlus(midnight, ms)));
        const older = await collect(stores.jobs.list({ from: '2000-01-01T00:00:00Z', to: midnight }));
        expect(older.map((j) => j.startTime)).toEqual([isoPlus(midnight, -1)]);
      });

      it('filters by backupInstance, operation and status, alone and together', async () => {
        await stores.jobs.create(
          sampleJob(id(1), isoPlus(NOW, -1 * HOUR), { backupInstance: 'a', status: 'Succeeded' }),
        );
        await stores.jobs.create(
          sampleJob(id(2), isoPlus(NOW, -2 * HOUR), { backupInstance: 'b', status: 'Succeeded' }),
        );
        await stores.jobs.create(
          sampleJob(id(3), isoPlus(NOW, -3 * HOUR), { backupInstance: 'a', operation: 'Restore', trigger: 'Queue' }),
        );
        await stores.jobs.create(sampleJob(id(4), isoPlus(NOW, -4 * HOUR), { backupInstance: "o'brien" }));
        const ids = async (filter: Parameters<typeof stores.jobs.list>[0]) =>
          (await collect(stores.jobs.list(filter))).map((j) => j.id);
        expect(await ids({ backupInstance: 'a' })).toEqual([id(1), id(3)]);
        expect(await ids({ operation: 'Restore' })).toEqual([id(3)]);
        expect(await ids({ status: 'Succeeded' })).toEqual([id(1), id(2)]);
        expect(await ids({ backupInstance: 'a', status: 'InProgress' })).toEqual([id(3)]);
        expect(await ids({ backupInstance: "o'brien" })).toEqual([id(4)]);
        expect(await ids({ backupInstance: 'a', operation: 'Expiry' })).toEqual([]);
      });

      it('filters by status as patched, not as created', async () => {
        await stores.jobs.create(sampleJob(id(1), NOW));
        await stores.jobs.patch(id(1), { status: 'Cancelled' });
        expect((await collect(stores.jobs.list({ status: 'InProgress' }))).map((j) => j.id)).toEqual([]);
        expect((await collect(stores.jobs.list({ status: 'Cancelled' }))).map((j) => j.id)).toEqual([id(1)]);
      });

      it('refuses a bound that is not a time with UserErrorInvalidRequest', async () => {
        await expect(collect(stores.jobs.list({ from: 'yesterday' }))).rejects.toMatchObject({
          code: 'UserErrorInvalidRequest',
        });
      });

      it('lists all of more than 1,000 jobs (one Table page) newest first across days', async () => {
        const starts = Array.from({ length: 1_100 }, (_, i) => isoPlus(NOW, -i * 7 * 60_000));
        await inParallel([...starts.entries()], ([i, t]) => stores.jobs.create(sampleJob(id(i), t)));
        const listed = await collect(stores.jobs.list({}));
        expect(listed.map((j) => j.startTime)).toEqual(starts);
      });
    });

    describe('AuditLogStore', () => {
      const NOW = '2025-06-15T12:00:00.000Z';
      const entry = (n: number, time: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
        id: `a${n}`,
        time,
        principal: 'alice@example.com',
        principalKind: 'user',
        action: 'putPolicy',
        target: 'PUT /api/backupPolicies/weekly',
        clientIp: '203.0.113.7',
        outcome: 'Succeeded',
        status: 201,
        ...extra,
      });

      it('returns an appended entry with every field, optional ones included', async () => {
        const full = entry(1, NOW, { outcome: 'Failed', status: 409, errorCode: 'UserErrorPolicyInUse', jobId: 'j1' });
        await stores.auditLog.append(full);
        await stores.auditLog.append(entry(2, isoPlus(NOW, -HOUR), { clientIp: '' }));
        expect(await collect(stores.auditLog.list({}))).toEqual([
          full,
          entry(2, isoPlus(NOW, -HOUR), { clientIp: '' }),
        ]);
      });

      it('never overwrites: a second entry with the same id and time is refused with ConcurrencyError', async () => {
        await stores.auditLog.append(entry(1, NOW));
        await expect(stores.auditLog.append(entry(1, NOW, { principal: 'mallory' }))).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
        expect((await collect(stores.auditLog.list({}))).map((e) => e.principal)).toEqual(['alice@example.com']);
      });

      it('lists the last 7 days by default and [from, to) when given, newest first across days', async () => {
        const times = [NOW, isoPlus(NOW, -2 * DAY), isoPlus(NOW, -6 * DAY), isoPlus(NOW, -8 * DAY)];
        for (const [i, t] of times.entries()) await stores.auditLog.append(entry(i, t));
        expect((await collect(stores.auditLog.list({}))).map((e) => e.time)).toEqual(times.slice(0, 3));
        const window = { from: isoPlus(NOW, -9 * DAY), to: isoPlus(NOW, -2 * DAY) };
        expect((await collect(stores.auditLog.list(window))).map((e) => e.time)).toEqual(times.slice(2));
      });

      it('filters by exact principal', async () => {
        await stores.auditLog.append(entry(1, NOW));
        await stores.auditLog.append(entry(2, isoPlus(NOW, -HOUR), { principal: 'queue', principalKind: 'queue' }));
        await stores.auditLog.append(entry(3, isoPlus(NOW, -2 * HOUR), { principal: "o'brien" }));
        expect((await collect(stores.auditLog.list({ principal: 'queue' }))).map((e) => e.id)).toEqual(['a2']);
        expect((await collect(stores.auditLog.list({ principal: "o'brien" }))).map((e) => e.id)).toEqual(['a3']);
        expect(await collect(stores.auditLog.list({ principal: 'alice' }))).toEqual([]);
      });
    });
  });
}

// --- the vault blob store contract ---

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(stream)) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export function describeVaultBlobContract(label: string, factory: () => Promise<VaultBlobStore>): void {
  describe(`VaultBlobStore (${label})`, () => {
    let blobs: VaultBlobStore;
    beforeEach(async () => {
      blobs = await factory();
    });

    it('names dumps and manifests under <instance>/<point>/', () => {
      expect(blobs.dumpBlobName('orders', 'p1')).toBe('orders/p1/dump.pgdump.zst');
      expect(blobs.manifestBlobName('orders', 'p1')).toBe('orders/p1/manifest.json');
    });

    it('round-trips JSON and returns undefined for a missing blob', async () => {
      const manifest = { serverVersion: '16.4', tables: [{ name: 'orders', rows: 12 }], sha256: 'ab' };
      await blobs.putJson('orders/p1/manifest.json', manifest);
      expect(await blobs.getJson('orders/p1/manifest.json')).toEqual(manifest);
      expect(await blobs.getJson('orders/none/manifest.json')).toBeUndefined();
    });

    it('writes through the block blob client and reads the bytes back with their size', async () => {
      await blobs.ensureContainer();
      const body = Buffer.from('PGDMP fake dump bytes');
      await blobs.blockBlobClient('orders/p1/dump.pgdump.zst').upload(body, body.length, { metadata: { sha256: 'x' } });
      expect(await readAll(await blobs.openRead('orders/p1/dump.pgdump.zst'))).toEqual(body);
      const info = await blobs.info('orders/p1/dump.pgdump.zst');
      expect(info).toMatchObject({ name: 'orders/p1/dump.pgdump.zst', bytes: body.length, metadata: { sha256: 'x' } });
      expect(Date.parse(info?.createdOn ?? '')).not.toBeNaN();
      expect(await blobs.info('orders/none')).toBeUndefined();
    });

    it('writes a small blob whole with putBytes (globals scripts), replacing what was there', async () => {
      const first = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 255]);
      await blobs.putBytes('_servers/pg1/g1/globals.sql.zst', first, 'application/octet-stream');
      expect(await readAll(await blobs.openRead('_servers/pg1/g1/globals.sql.zst'))).toEqual(first);
      const second = Buffer.from('replaced');
      await blobs.putBytes('_servers/pg1/g1/globals.sql.zst', second, 'application/octet-stream');
      expect(await readAll(await blobs.openRead('_servers/pg1/g1/globals.sql.zst'))).toEqual(second);
      expect((await blobs.info('_servers/pg1/g1/globals.sql.zst'))?.bytes).toBe(second.length);
    });

    it('moves a blob between tiers, and refuses to read it while archived', async () => {
      await blobs.putJson('orders/p2/manifest.json', { a: 1 });
      await blobs.setTier('orders/p2/manifest.json', 'Cool');
      expect((await blobs.info('orders/p2/manifest.json'))?.tier).toBe('Cool');
      await blobs.setTier('orders/p2/manifest.json', 'Archive');
      expect((await blobs.info('orders/p2/manifest.json'))?.tier).toBe('Archive');
      await expect(blobs.openRead('orders/p2/manifest.json')).rejects.toMatchObject({
        code: 'UserErrorRecoveryPointArchived',
      });
    });

    it('rehydrates an archived blob by copying it into a readable Hot blob, leaving the original archived', async () => {
      await blobs.putJson('orders/p3/dump.pgdump.zst', { dump: true });
      await blobs.setTier('orders/p3/dump.pgdump.zst', 'Archive');
      await blobs.startRehydrateCopy('orders/p3/dump.pgdump.zst', 'orders/p3/rehydrated.pgdump.zst', 'High');
      const deadline = Date.now() + 10_000;
      let info = await blobs.info('orders/p3/rehydrated.pgdump.zst');
      while (info?.copyStatus === 'pending' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        info = await blobs.info('orders/p3/rehydrated.pgdump.zst');
      }
      expect(info).toMatchObject({ tier: 'Hot', copyStatus: 'success' });
      expect(await blobs.getJson('orders/p3/rehydrated.pgdump.zst')).toEqual({ dump: true });
      expect((await blobs.info('orders/p3/dump.pgdump.zst'))?.tier).toBe('Archive');
    });

    it('deletes a blob, and deleting an absent one succeeds', async () => {
      await blobs.putJson('orders/p4/manifest.json', {});
      await blobs.delete('orders/p4/manifest.json');
      await blobs.delete('orders/p4/manifest.json');
      expect(await blobs.info('orders/p4/manifest.json')).toBeUndefined();
    });

    it('lists the blobs under a prefix, and all of them without one', async () => {
      for (const name of ['a/1/manifest.json', 'a/2/manifest.json', 'ab/1/manifest.json'])
        await blobs.putJson(name, {});
      const names = async (prefix?: string) => {
        const out: string[] = [];
        for await (const b of blobs.list(prefix)) out.push(b.name);
        return out.sort();
      };
      expect(await names('a/')).toEqual(['a/1/manifest.json', 'a/2/manifest.json']);
      expect(await names()).toEqual(['a/1/manifest.json', 'a/2/manifest.json', 'ab/1/manifest.json']);
    });
  });
}
