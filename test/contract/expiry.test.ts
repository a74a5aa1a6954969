// The expiry activities against real blobs in Azurite and the state stores (fakes, and Table Storage once):
// what is deleted, moved and kept, crash safety between mark, blob change and finalise, isolation, orphans.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { tableStateStores, type StateStores } from '../../shared/adapters/storage/stores';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import type { Clock, InstanceRecord, VaultBlobStore } from '../../shared/ports';
import { emptyTotals } from '../../shared/workflows/expiry';
import { createFakeStores } from '../support/fake-stores';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { sampleInstance } from './stores.contract';
import {
  activitiesOver,
  blobNames,
  expiryDeps,
  failingOn,
  fixtureDocument,
  fixturePolicy,
  manualClock,
  rowsOf,
  writePoint,
} from './expiry-support';

const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;
const policy = fixturePolicy('gfs-ten-years.json');
// GFS: Default 14 days in the vault; Monthly 3 months in the vault, then 2 years in the archive.
const t0 = '2025-01-06T00:30:00.000Z';
const now = '2025-04-20T00:00:00.000Z'; // p-default expired, p-monthly due to move, p-recent due for nothing

let azurite: AzuriteInstance | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

function blobStore(): VaultBlobStore {
  if (!azurite) throw new Error('azurite did not start');
  return createVaultBlobStore({ kind: 'connectionString', connectionString: azurite.connectionString }, unique('c'));
}

interface World {
  stores: StateStores;
  blobs: VaultBlobStore;
  clock: Clock & { set(iso: string): void };
  instance: InstanceRecord;
}

async function world(instanceExtra: Partial<InstanceRecord> = {}, stores = createFakeStores()): Promise<World> {
  const blobs = blobStore();
  const clock = manualClock(now);
  await stores.policies.create({ name: 'gfs', document: fixtureDocument('gfs-ten-years.json'), createdAt: t0 });
  const instance = sampleInstance('orders', unique('/subscriptions/x/db/'), { policyName: 'gfs', ...instanceExtra });
  await stores.instances.create(instance);
  return { stores, blobs, clock, instance };
}

/** Three points: an expired Default, a Monthly whose vault time is over, a recent Default (the newest). */
async function threePoints(w: World) {
  const base = { instanceName: 'orders', policy, policyName: 'gfs' };
  const expired = await writePoint(w.stores, w.blobs, { ...base, time: t0, tag: 'Default' });
  const monthly = await writePoint(w.stores, w.blobs, { ...base, time: '2025-01-05T00:30:00.000Z', tag: 'Monthly' });
  const recent = await writePoint(w.stores, w.blobs, { ...base, time: '2025-04-19T23:30:00.000Z', tag: 'Default' });
  return { expired, monthly, recent };
}

/** A sweeping run (the one that also lists the blobs), so every rule of the instance pass is in play. */
const expire = (w: World, deps = expiryDeps(w.stores, w.blobs, w.clock), at = now, sweepOrphans = true) =>
  activitiesOver(deps).expireInstance({ jobId: 'j', instanceName: 'orders', nowUtc: at, sweepOrphans });

describe('expireInstance', () => {
  it('deletes what is past its lifetime (row and blobs), archives what is due, and leaves the rest alone', async () => {
    const w = await world();
    const p = await threePoints(w);
    const result = await expire(w);
    expect(result).toMatchObject({ deleted: 1, moved: 1, failureCount: 0, warningCount: 0 });
    const rows = await rowsOf(w.stores.recoveryPoints, 'orders');
    expect(rows.map((r) => [r.id, r.dataStore])).toEqual([
      [p.monthly.id, 'ArchiveStore'],
      [p.recent.id, 'VaultStore'],
    ]);
    expect(rows[0]!.archivedAt).toBe(now);
    expect((await w.blobs.info(p.monthly.blobName))?.tier).toBe('Archive');
    expect((await w.blobs.info(p.monthly.manifestBlobName))?.tier).not.toBe('Archive');
    expect(await w.blobs.info(p.expired.blobName)).toBeUndefined();
    expect(await w.blobs.info(p.expired.manifestBlobName)).toBeUndefined();
    // A second run at the same instant has nothing left to do.
    expect(await expire(w)).toMatchObject({ deleted: 0, moved: 0, failureCount: 0 });
  });

  it('works the same over Table Storage', async () => {
    if (!azurite) throw new Error('azurite did not start');
    const tables = createTableProvider(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      unique('t'),
    );
    const stores: StateStores = tableStateStores(tables, manualClock(now));
    const w = await world({}, stores);
    const p = await threePoints(w);
    expect(await expire(w)).toMatchObject({ deleted: 1, moved: 1, failureCount: 0 });
    const rows = await rowsOf(stores.recoveryPoints, 'orders');
    expect(rows.map((r) => [r.id, r.dataStore, r.archivedAt])).toEqual([
      [p.monthly.id, 'ArchiveStore', now],
      [p.recent.id, 'VaultStore', undefined],
    ]);
  });

  it('never deletes the newest Available point of a protected instance, even past its expiry', async () => {
    const w = await world();
    const base = { instanceName: 'orders', policy, policyName: 'gfs', tag: 'Default' as const };
    await writePoint(w.stores, w.blobs, { ...base, time: '2025-01-01T00:00:00.000Z' });
    const newest = await writePoint(w.stores, w.blobs, { ...base, time: '2025-01-02T00:00:00.000Z' });
    expect(await expire(w)).toMatchObject({ deleted: 1 });
    expect((await rowsOf(w.stores.recoveryPoints, 'orders')).map((r) => r.id)).toEqual([newest.id]);
    expect(await w.blobs.info(newest.blobName)).toBeDefined();
  });

  it('deletes every point of an instance stopped with deleteBackupData true, floor or not', async () => {
    const w = await world({ protectionState: 'ProtectionStopped', deleteBackupDataOnStop: true });
    await threePoints(w);
    expect(await expire(w)).toMatchObject({ deleted: 3, failureCount: 0 });
    expect(await rowsOf(w.stores.recoveryPoints, 'orders')).toEqual([]);
    expect(await blobNames(w.blobs, 'orders/')).toEqual([]);
  });

  it('keeps the points of an instance stopped with deleteBackupData false until their own expiry, without a floor', async () => {
    const w = await world({ protectionState: 'ProtectionStopped', deleteBackupDataOnStop: false });
    const p = await threePoints(w);
    expect(await expire(w)).toMatchObject({ deleted: 1, moved: 1 });
    const recentEnd = '2025-05-04T00:00:00.000Z'; // past the recent point's 14 days: no floor when stopped
    expect(await expire(w, undefined, recentEnd)).toMatchObject({ deleted: 1 });
    expect((await rowsOf(w.stores.recoveryPoints, 'orders')).map((r) => r.id)).toEqual([p.monthly.id]);
  });

  it('leaves a point a restore is reading alone, even when it is past its lifetime', async () => {
    const w = await world();
    const base = { instanceName: 'orders', policy, policyName: 'gfs', tag: 'Default' as const };
    const reading = await writePoint(w.stores, w.blobs, {
      ...base,
      time: t0,
      extra: { inUseUntil: '2025-04-20T06:00:00.000Z' },
    });
    await writePoint(w.stores, w.blobs, { ...base, time: '2025-04-19T00:00:00.000Z' });
    expect(await expire(w)).toMatchObject({ deleted: 0 });
    expect(await w.blobs.info(reading.blobName)).toBeDefined();
    expect(await expire(w, undefined, '2025-04-20T07:00:00.000Z')).toMatchObject({ deleted: 1 });
  });

  it('does not delete a point whose row a restore leased after expiry read it (the mark loses on the etag)', async () => {
    const w = await world();
    const p = await threePoints(w);
    // The restore's lease lands between expiry's listing and its mark: simulate it by leasing on the first list.
    const points = w.stores.recoveryPoints;
    const racing = Object.create(points) as typeof points;
    racing.list = (name, options) => {
      const inner = points.list(name, options);
      return (async function* () {
        const seen = [];
        for await (const row of inner) seen.push(row);
        const target = seen.find((r) => r.value.id === p.expired.id)!;
        await points.update({ ...target.value, inUseUntil: '2025-04-21T00:00:00.000Z' }, target.etag);
        yield* seen;
      })();
    };
    const result = await expire(w, expiryDeps({ ...w.stores, recoveryPoints: racing }, w.blobs, w.clock));
    expect(result).toMatchObject({ deleted: 0, failureCount: 0, warningCount: 1 });
    expect(result.warnings[0]).toMatchObject({ code: 'RecoveryPointChanged', pointId: p.expired.id });
    expect((await w.stores.recoveryPoints.get('orders', p.expired.id))?.value.status).toBe('Available');
    expect(await w.blobs.info(p.expired.blobName)).toBeDefined();
  });

  it('goes on with the other points when one blob delete fails, and reports that one', async () => {
    const w = await world({ protectionState: 'ProtectionStopped', deleteBackupDataOnStop: true });
    const p = await threePoints(w);
    const blobs = failingOn(w.blobs, 'delete', [1], (args) => args[0] === p.monthly.blobName);
    const result = await expire(w, expiryDeps(w.stores, blobs, w.clock));
    expect(result).toMatchObject({ deleted: 2, failureCount: 1 });
    expect(result.failures[0]).toMatchObject({ pointId: p.monthly.id, code: 'StorageError' });
    expect((await rowsOf(w.stores.recoveryPoints, 'orders')).map((r) => [r.id, r.status])).toEqual([
      [p.monthly.id, 'Deleting'],
    ]);
  });

  describe('crash safety', () => {
    it('finishes a delete that failed between the mark and the blob delete, and nothing else early', async () => {
      const w = await world();
      const p = await threePoints(w);
      const crashing = failingOn(w.blobs, 'delete', [1]);
      expect(await expire(w, expiryDeps(w.stores, crashing, w.clock))).toMatchObject({ deleted: 0, failureCount: 1 });
      const marked = await w.stores.recoveryPoints.get('orders', p.expired.id);
      expect(marked?.value.status).toBe('Deleting');
      expect(await w.blobs.info(p.expired.blobName)).toBeDefined();

      expect(await expire(w)).toMatchObject({ deleted: 1, failureCount: 0 });
      expect(await w.stores.recoveryPoints.get('orders', p.expired.id)).toBeUndefined();
      expect(await blobNames(w.blobs, 'orders/')).toEqual(
        [p.monthly.blobName, p.monthly.manifestBlobName, p.recent.blobName, p.recent.manifestBlobName].sort(),
      );
    });

    it('finishes a delete whose blobs went but whose row removal failed', async () => {
      const w = await world();
      const p = await threePoints(w);
      const points = failingOn(w.stores.recoveryPoints, 'delete', [1]);
      const result = await expire(w, expiryDeps({ ...w.stores, recoveryPoints: points }, w.blobs, w.clock));
      expect(result).toMatchObject({ deleted: 0, failureCount: 1 });
      expect((await w.stores.recoveryPoints.get('orders', p.expired.id))?.value.status).toBe('Deleting');
      expect(await w.blobs.info(p.expired.blobName)).toBeUndefined();
      // The missing blob of a Deleting row is not a "missing blob" finding: the delete is under way.
      expect(result.warningCount).toBe(0);

      expect(await expire(w)).toMatchObject({ deleted: 1, failureCount: 0 });
      expect(await w.stores.recoveryPoints.get('orders', p.expired.id)).toBeUndefined();
    });

    it('finishes a move that failed between the mark and the tier change', async () => {
      const w = await world();
      const p = await threePoints(w);
      const crashing = failingOn(w.blobs, 'setTier', [1]);
      expect(await expire(w, expiryDeps(w.stores, crashing, w.clock))).toMatchObject({ moved: 0, failureCount: 1 });
      const marked = (await w.stores.recoveryPoints.get('orders', p.monthly.id))!.value;
      expect([marked.dataStore, marked.archivedAt]).toEqual(['ArchiveStore', undefined]);
      expect((await w.blobs.info(p.monthly.blobName))?.tier).not.toBe('Archive');

      w.clock.set('2025-04-21T00:00:00.000Z');
      expect(await expire(w, undefined, '2025-04-21T00:00:00.000Z')).toMatchObject({ moved: 1, failureCount: 0 });
      const done = (await w.stores.recoveryPoints.get('orders', p.monthly.id))!.value;
      expect([done.dataStore, done.archivedAt]).toEqual(['ArchiveStore', '2025-04-21T00:00:00.000Z']);
      expect((await w.blobs.info(p.monthly.blobName))?.tier).toBe('Archive');
    });

    it('finishes a move whose blob was archived but whose row was not finalised', async () => {
      const w = await world();
      const p = await threePoints(w);
      // The finalise is the update that sets archivedAt.
      const points = failingOn(w.stores.recoveryPoints, 'update', [1], (args) => {
        return (args[0] as { archivedAt?: string }).archivedAt !== undefined;
      });
      const result = await expire(w, expiryDeps({ ...w.stores, recoveryPoints: points }, w.blobs, w.clock));
      expect(result).toMatchObject({ deleted: 1, moved: 0, failureCount: 1 });
      expect((await w.blobs.info(p.monthly.blobName))?.tier).toBe('Archive');
      expect((await w.stores.recoveryPoints.get('orders', p.monthly.id))?.value.archivedAt).toBeUndefined();

      expect(await expire(w)).toMatchObject({ moved: 1, failureCount: 0 });
      expect((await w.stores.recoveryPoints.get('orders', p.monthly.id))?.value.archivedAt).toBe(now);
    });

    it('expires a rehydrated copy after its duration, and finishes one interrupted after the mark', async () => {
      const w = await world();
      const base = { instanceName: 'orders', policy, policyName: 'gfs' };
      const copyName = 'orders/rehydrated/copy-1.pgdump.zst';
      await w.blobs.ensureContainer();
      await w.blobs.blockBlobClient(copyName).upload(Buffer.from('copy'), 4);
      const archived = await writePoint(w.stores, w.blobs, {
        ...base,
        time: '2024-12-01T00:30:00.000Z',
        tag: 'Monthly',
        extra: {
          dataStore: 'ArchiveStore',
          archivedAt: '2025-03-01T00:00:00.000Z',
          rehydratedBlobName: copyName,
          rehydratedUntil: '2025-04-10T00:00:00.000Z',
        },
      });
      await writePoint(w.stores, w.blobs, { ...base, time: '2025-04-19T23:30:00.000Z', tag: 'Default' });
      const crashing = failingOn(w.blobs, 'delete', [1]);
      expect(await expire(w, expiryDeps(w.stores, crashing, w.clock))).toMatchObject({ failureCount: 1 });
      const marked = (await w.stores.recoveryPoints.get('orders', archived.id))!.value;
      // Marked: the copy is no longer offered to restores, but the row still names it so it is not lost.
      expect([marked.rehydratedUntil, marked.rehydratedBlobName]).toEqual([undefined, copyName]);

      expect(await expire(w)).toMatchObject({ rehydratedExpired: 1, failureCount: 0 });
      const done = (await w.stores.recoveryPoints.get('orders', archived.id))!.value;
      expect([done.rehydratedUntil, done.rehydratedBlobName, done.dataStore]).toEqual([
        undefined,
        undefined,
        'ArchiveStore',
      ]);
      expect(await w.blobs.info(copyName)).toBeUndefined();
      expect(await w.blobs.info(archived.blobName)).toBeDefined();
    });
  });

  describe('orphans', () => {
    it('deletes a blob no row names once it is older than the grace period, and not before', async () => {
      const w = await world();
      const p = await threePoints(w);
      const orphan = 'orders/interrupted-job/dump.pgdump.zst';
      await w.blobs.blockBlobClient(orphan).upload(Buffer.from('partial'), 7);
      const wall = manualClock(new Date(Date.now() + 47 * 3_600_000).toISOString());
      expect(await expire(w, expiryDeps(w.stores, w.blobs, wall))).toMatchObject({ orphansDeleted: 0 });
      expect(await w.blobs.info(orphan)).toBeDefined();

      wall.set(new Date(Date.now() + 49 * 3_600_000).toISOString());
      expect(await expire(w, expiryDeps(w.stores, w.blobs, wall))).toMatchObject({ orphansDeleted: 1 });
      expect(await w.blobs.info(orphan)).toBeUndefined();
      expect(await w.blobs.info(p.recent.blobName)).toBeDefined();
    });

    it('reports a row whose blob is missing on every run and keeps the row', async () => {
      const w = await world();
      const p = await threePoints(w);
      await w.blobs.delete(p.recent.blobName);
      for (let run = 0; run < 2; run++) {
        const result = await expire(w);
        expect(result.warnings).toEqual([
          expect.objectContaining({ code: 'RecoveryPointBlobMissing', pointId: p.recent.id, instanceName: 'orders' }),
        ]);
        expect(result.failureCount).toBe(0);
      }
      expect(await w.stores.recoveryPoints.get('orders', p.recent.id)).toBeDefined();
    });

    it('leaves blobs unlisted on a run that does not sweep: the old orphan stays, the missing blob goes unreported', async () => {
      const w = await world();
      const p = await threePoints(w);
      const orphan = 'orders/interrupted-job/dump.pgdump.zst';
      await w.blobs.blockBlobClient(orphan).upload(Buffer.from('partial'), 7);
      await w.blobs.delete(p.recent.blobName);
      const wall = manualClock(new Date(Date.now() + 49 * 3_600_000).toISOString());
      const quiet = await expire(w, expiryDeps(w.stores, w.blobs, wall), now, false);
      // The retention part of the run is the same as a sweeping run's.
      expect(quiet).toMatchObject({ deleted: 1, moved: 1, orphansDeleted: 0, warningCount: 0, failureCount: 0 });
      expect(await w.blobs.info(orphan)).toBeDefined();

      const swept = await expire(w, expiryDeps(w.stores, w.blobs, wall), now, true);
      expect(swept).toMatchObject({ orphansDeleted: 1, warningCount: 1 });
      expect(await w.blobs.info(orphan)).toBeUndefined();
    });
  });

  describe('deleted instances', () => {
    it('removes a deleted instance and releases its datasource once its points are gone', async () => {
      const w = await world({
        protectionState: 'ProtectionStopped',
        deleteBackupDataOnStop: true,
        deletedAt: '2025-04-19T00:00:00.000Z',
      });
      await threePoints(w);
      expect(await expire(w)).toMatchObject({ deleted: 3, instanceRemoved: true });
      expect(await w.stores.instances.get('orders')).toBeUndefined();
      await w.stores.instances.create(sampleInstance('again', w.instance.dataSource.resourceID));
    });

    it('keeps a deleted instance whose points are kept until their own expiry', async () => {
      const w = await world({
        protectionState: 'ProtectionStopped',
        deleteBackupDataOnStop: false,
        deletedAt: '2025-04-19T00:00:00.000Z',
      });
      await threePoints(w);
      expect(await expire(w)).toMatchObject({ deleted: 1, instanceRemoved: false });
      expect(await w.stores.instances.get('orders')).toBeDefined();
      const afterAll = '2027-06-01T00:00:00.000Z'; // the Monthly's two archive years are over
      expect(await expire(w, undefined, afterAll)).toMatchObject({ deleted: 2, instanceRemoved: true });
      expect(await w.stores.instances.get('orders')).toBeUndefined();
    });
  });
});

describe('the Expiry job', () => {
  it('sweeps the blobs on the first run and then once per ORPHAN_SWEEP_INTERVAL_HOURS of finished sweeping runs', async () => {
    const w = await world();
    const wall = manualClock('2025-04-20T02:30:00.000Z');
    const acts = activitiesOver(expiryDeps(w.stores, w.blobs, wall)); // interval 168 h
    const run = async (jobId: string, at: string, finish = true) => {
      wall.set(at);
      const started = await acts.startExpiryJob({ jobId, orchestrationId: jobId, trigger: 'Scheduled', nowUtc: at });
      if (finish) {
        await acts.finishExpiryJob({
          jobId,
          asOf: at,
          sweepOrphans: started.sweepOrphans,
          ...emptyTotals(1),
        });
      }
      return started.sweepOrphans;
    };
    // A sweeping run that never finished (a crash) does not count: the next run sweeps.
    expect(await run('d0', '2025-04-19T02:30:00.000Z', false)).toBe(true);
    expect(await run('d1', '2025-04-20T02:30:00.000Z')).toBe(true);
    expect((await w.stores.jobs.get('d1'))?.extra).toMatchObject({ sweepOrphans: true });
    expect(await run('d2', '2025-04-21T02:30:00.000Z')).toBe(false);
    expect(await run('d7', '2025-04-26T02:30:00.000Z')).toBe(false);
    expect((await w.stores.jobs.get('d7'))?.extra).toMatchObject({ sweepOrphans: false });
    // A retried start keeps its first decision, whatever has happened since.
    wall.set('2025-04-28T02:30:00.000Z');
    expect(
      (await acts.startExpiryJob({ jobId: 'd7', orchestrationId: 'd7', trigger: 'Scheduled', nowUtc: '' }))
        .sweepOrphans,
    ).toBe(false);
    expect(await run('d8', '2025-04-27T02:30:01.000Z')).toBe(true);
    expect(await run('d9', '2025-04-28T02:30:00.000Z')).toBe(false);

    const everyRun = activitiesOver(
      expiryDeps(w.stores, w.blobs, wall, { settings: { orphanGraceHours: 48, orphanSweepIntervalHours: 0 } }),
    );
    const started = await everyRun.startExpiryJob({
      jobId: 'e',
      orchestrationId: 'e',
      trigger: 'Scheduled',
      nowUtc: '',
    });
    expect(started.sweepOrphans).toBe(true);
  });

  it('is opened InProgress for all instances and ended Failed with the count and each failure as a warning', async () => {
    const w = await world();
    const acts = activitiesOver(expiryDeps(w.stores, w.blobs, w.clock));
    const started = await acts.startExpiryJob({ jobId: 'e1', orchestrationId: 'o', trigger: 'Scheduled', nowUtc: now });
    expect(started.instanceNames).toEqual(['orders']);
    expect(await w.stores.jobs.get('e1')).toMatchObject({
      operation: 'Expiry',
      backupInstance: '*',
      status: 'InProgress',
    });
    // A retried start does not fail on the job it created.
    await acts.startExpiryJob({ jobId: 'e1', orchestrationId: 'o', trigger: 'Scheduled', nowUtc: now });
    await acts.finishExpiryJob({
      jobId: 'e1',
      asOf: now,
      sweepOrphans: true,
      instances: 1,
      moved: 0,
      deleted: 2,
      rehydratedExpired: 0,
      orphansDeleted: 0,
      failureCount: 2,
      failures: [
        {
          code: 'StorageError',
          message: 'deleting failed: storage answered 503',
          instanceName: 'orders',
          pointId: 'p1',
        },
      ],
      warningCount: 0,
      warnings: [],
    });
    const job = await w.stores.jobs.get('e1');
    expect(job).toMatchObject({
      status: 'Failed',
      error: { code: 'SystemErrorInternal', message: expect.stringContaining('2 expiry action(s) failed') as string },
      extra: { deleted: 2, failures: 2, asOf: now },
    });
    expect(job?.warnings).toEqual([
      { code: 'StorageError', message: 'orders/p1: deleting failed: storage answered 503' },
      { code: 'FindingsTruncated', message: '1 more finding(s) not listed' },
    ]);
  });
});
