// The durable backup semaphores (issue 15): the SlotStore contract on Table Storage (Azurite) and on the fake, and
// acquireBackupSlot/releaseBackupSlot from two "workers" (two store instances over the same table) racing for the
// slots of three servers: never more than a server's limit or the host's at once, first come first served per
// server, every backup served, entries of ended jobs dropped.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { createTableSlotStore } from '../../shared/adapters/storage/tables/backup-slots';
import { acquireBackupSlot, releaseBackupSlot, type SlotDeps } from '../../shared/activities/backup-slots';
import { ConcurrencyError, type SlotStore } from '../../shared/ports';
import { createFakeJobStore, createFakeInstanceStore, createFakeSlotStore } from '../support/fake-stores';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { sampleInstance, sampleJob } from './stores.contract';

let azurite: AzuriteInstance | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const tableSlots = (prefix: string): SlotStore =>
  createTableSlotStore(
    createTableProvider({ kind: 'connectionString', connectionString: azurite!.connectionString }, prefix),
  );

const entry = (jobId: string) => ({ jobId, since: '2026-01-01T00:00:00Z' });

function describeSlotStoreContract(label: string, make: () => SlotStore) {
  describe(`SlotStore (${label})`, () => {
    it('reads nothing before the first write, then both rows with etags', async () => {
      const store = make();
      expect(await store.read('a:5432')).toEqual({});
      await store.write(
        'a:5432',
        { row: { holders: [entry('j1')], queue: [] } },
        { row: { holders: [entry('j1')], queue: [] } },
      );
      const read = await store.read('a:5432');
      expect(read.server?.value).toEqual({ holders: [entry('j1')], queue: [] });
      expect(read.host?.value.holders).toEqual([entry('j1')]);
      expect(read.server?.etag).toBeTruthy();
    });

    it('writes both rows or neither: a stale etag on one fails the whole write with ConcurrencyError', async () => {
      const store = make();
      await store.write('a:5432', { row: { holders: [], queue: [] } }, { row: { holders: [], queue: [] } });
      const first = await store.read('a:5432');
      await store.write(
        'b:5432',
        { row: { holders: [entry('x')], queue: [] } },
        { row: { holders: [entry('x')], queue: [] }, etag: first.host!.etag },
      );
      await expect(
        store.write(
          'a:5432',
          { row: { holders: [entry('y')], queue: [] }, etag: first.server!.etag },
          { row: { holders: [entry('y')], queue: [] }, etag: first.host!.etag },
        ),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await store.read('a:5432')).server?.value.holders).toEqual([]);
      // Creating a row that exists meanwhile is a conflict too.
      await expect(
        store.write('c:5432', { row: { holders: [], queue: [] } }, { row: { holders: [], queue: [] } }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
    });

    it('sets and clears a server limit, keeping its holders', async () => {
      const store = make();
      await store.write('a:5432', { row: { holders: [entry('j1')], queue: [] } }, { row: { holders: [], queue: [] } });
      await store.setLimit('A:5432', 5);
      expect((await store.read('a:5432')).server?.value).toEqual({ holders: [entry('j1')], queue: [], limit: 5 });
      await store.setLimit('a:5432', undefined);
      expect((await store.read('a:5432')).server?.value.limit).toBeUndefined();
    });
  });
}

describeSlotStoreContract('Table Storage', () => tableSlots(`s${randomBytes(5).toString('hex')}`));
describeSlotStoreContract('in-memory fake', () => createFakeSlotStore());

describe('acquireBackupSlot and releaseBackupSlot', () => {
  async function world(workers: SlotStore[]) {
    const jobs = createFakeJobStore();
    const instances = createFakeInstanceStore();
    const names: { job: string; instance: string; server: string }[] = [];
    for (const server of ['h1', 'h2', 'h3']) {
      for (let i = 0; i < 6; i++) {
        const instance = `${server}-db${i}`;
        await instances.create(
          sampleInstance(instance, `local/${instance}`, {
            secret: { secretStoreType: 'AppSetting', uri: `appsetting://${server.toUpperCase()}` },
          }),
        );
        const job = `job-${instance}`;
        await jobs.create(sampleJob(job, '2026-01-01T00:00:00Z', { backupInstance: instance, status: 'InProgress' }));
        names.push({ job, instance, server });
      }
    }
    const depsFor = (slots: SlotStore): SlotDeps => ({
      slots,
      jobs,
      instances,
      secrets: {
        resolve: (ref) =>
          Promise.resolve(
            `Server=${ref.uri.slice('appsetting://'.length).toLowerCase()};Port=5432;Database=x;User Id=u;Password=p;`,
          ),
      },
      clock: { now: () => new Date() },
      limits: { server: 2, host: 3 },
      silentAfterMs: 600_000,
    });
    return { jobs, names, deps: workers.map(depsFor) };
  }

  it('never lets more than 2 backups of a server or 3 on the host hold a slot, across two workers, and serves all', async () => {
    const prefix = `r${randomBytes(5).toString('hex')}`;
    const { jobs, names, deps } = await world([tableSlots(prefix), tableSlots(prefix)]);
    const holding = new Map<string, number>();
    let host = 0;
    let peakHost = 0;
    const peak = new Map<string, number>();
    const sawQueued = new Set<string>();
    await Promise.all(
      names.map(async ({ job, instance, server }, i) => {
        const d = deps[i % 2]!;
        for (;;) {
          const r = await acquireBackupSlot(d, { jobId: job, instanceName: instance });
          if (r.granted) break;
          sawQueued.add((await jobs.get(job))!.status);
          await new Promise((res) => setTimeout(res, 20));
        }
        holding.set(server, (holding.get(server) ?? 0) + 1);
        host++;
        peak.set(server, Math.max(peak.get(server) ?? 0, holding.get(server)!));
        peakHost = Math.max(peakHost, host);
        await new Promise((res) => setTimeout(res, 400));
        holding.set(server, holding.get(server)! - 1);
        host--;
        await jobs.patch(job, { status: 'Succeeded' });
        await releaseBackupSlot(d, job);
      }),
    );
    expect([...peak.values()].every((p) => p <= 2)).toBe(true);
    expect(peakHost).toBeLessThanOrEqual(3);
    // Backups did run side by side (how many at the peak depends on the machine).
    expect(peakHost).toBeGreaterThanOrEqual(2);
    expect(sawQueued).toEqual(new Set(['Queued']));
    const left = await tableSlots(prefix).read('h1:5432');
    expect(left.server?.value).toEqual({ holders: [], queue: [] });
    expect(left.host?.value).toEqual({ holders: [], queue: [] });
  });

  it('records the place on the job while Queued and drops a holder whose job has ended', async () => {
    const slots = createFakeSlotStore();
    const { jobs, deps } = await world([slots]);
    const d = deps[0]!;
    const take = (i: number) => acquireBackupSlot(d, { jobId: `job-h1-db${i}`, instanceName: `h1-db${i}` });
    expect((await take(0)).granted).toBe(true);
    expect((await take(1)).granted).toBe(true);
    expect(await take(2)).toEqual({ granted: false, serverKey: 'h1:5432', waitingFor: 'server', position: 1 });
    expect((await jobs.get('job-h1-db2'))?.extra).toMatchObject({
      slotKey: 'h1:5432',
      queue: { waitingFor: 'server', position: 1 },
    });
    // job 0 crashed without releasing, and its job was failed by the operator: its slot goes to the next in line.
    await jobs.patch('job-h1-db0', { status: 'Failed' });
    expect((await take(2)).granted).toBe(true);
    const granted = await jobs.get('job-h1-db2');
    expect(granted?.status).toBe('InProgress');
    expect(granted?.extra?.queue).toBeUndefined();
  });
});
