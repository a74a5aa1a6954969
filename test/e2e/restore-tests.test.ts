// Restore tests and verify through HTTP under devhost (issue 17): a plan over two instances passes and leaves its
// evidence on the points and in the history; a failing assertion, a manifest that disagrees with the data and a
// tampered dump each fail the test with the reason named; scratch targets without CREATEDB and the source server are
// refused; a host killed mid-test leaves no scratch database once the next run is done; a scheduled Verify plan runs;
// and the source databases are untouched throughout.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- response bodies are checked by the assertions, not by types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums, type DatabaseChecksums } from '../support/table-checksums';
import { jobEnded, pollUntil } from './backup-support';
import { secretRef, startRestoreTestEnv, type RestoreTestEnv } from './restore-test-e2e-support';

let env: RestoreTestEnv;
const points: Record<string, string> = {};
const before: Record<string, DatabaseChecksums> = {};

beforeAll(async () => {
  env = await startRestoreTestEnv();
  for (const db of ['orders', 'inventory']) before[db] = await tableChecksums(env.source.connectionFor(db));
  points.orders = await env.backup('orders');
  points.inventory = await env.backup('inventory');
}, 300_000);

afterAll(async () => {
  await env?.stop();
});

const pointOf = async (instance: string, id: string) =>
  (await env.api.call('GET', `backupInstances/${instance}/recoveryPoints/${id}`)).body;

describe('a restore-test plan over two instances', () => {
  it('restores each latest point into a scratch database, finds no difference, passes the assertion and drops it', async () => {
    const put = await env.putPlan('nightly', {
      schedule: '0 0 3 * * *',
      backupInstances: ['orders', 'inventory'],
      assertions: { orders: ['SELECT count(*) > 0 FROM events'] },
      timeLimit: 'PT30M',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(put.body.properties).toMatchObject({ mode: 'Restore', point: 'latest', timeZone: 'UTC', enabled: true });
    expect(put.body.properties.nextScheduledRun).toMatch(/T03:00:00\.000Z$/);

    const jobs = await env.run('nightly');
    expect(jobs.map((j) => [j.properties.backupInstance, j.properties.operation, j.properties.status])).toEqual([
      ['orders', 'RestoreTest', 'Succeeded'],
      ['inventory', 'RestoreTest', 'Succeeded'],
    ]);
    for (const instance of ['orders', 'inventory']) {
      const test = (await pointOf(instance, points[instance]!)).properties.restoreTest;
      expect(test, instance).toMatchObject({
        planName: 'nightly',
        status: 'Passed',
        contentsChecked: true,
        mismatches: [],
        mismatchCount: 0,
        targetServerVersion: expect.stringMatching(/^15\./),
      });
      // customers, "Sales Ops"."Quarterly Targets", documents, events
      expect(test.tables).toBe(4);
      expect(test.rowsCompared).toBeGreaterThan(instance === 'orders' ? 20_000 : 2_000);
      expect(test.durationMs).toBeGreaterThan(0);
      // The SHA-256 the restore matched, of the stored blob (not encrypted here: zstd only).
      const point = (await pointOf(instance, points[instance]!)).properties;
      expect(test.integrity).toEqual({
        sha256: point.sha256,
        bytes: point.sizeInBytes,
        covers: 'StoredBlob',
        storedAs: 'zstd',
      });
    }
    const orders = (await pointOf('orders', points.orders!)).properties.restoreTest;
    expect(orders.assertions).toEqual([{ sql: 'SELECT count(*) > 0 FROM events', passed: true }]);
    // The list carries the evidence too, and the history has the test.
    const list = await env.api.call('GET', 'backupInstances/orders/recoveryPoints');
    expect(list.body.value[0].properties.restoreTest.status).toBe('Passed');
    const history = await env.api.call('GET', 'backupInstances/orders/restoreTests');
    expect(history.body.value[0].properties).toMatchObject({ jobId: jobs[0].name, status: 'Passed' });
    expect(await env.scratchDatabases()).toEqual([]);
  });
});

describe('a failing restore test', () => {
  it('fails on an assertion that returns false, showing the assertion', async () => {
    const put = await env.putPlan('assert-false', {
      backupInstances: ['orders'],
      assertions: { orders: ['SELECT count(*) = 0 FROM events'] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const [job] = await env.run('assert-false');
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.error.code).toBe('SystemErrorRestoreTestFailed');
    expect(job.properties.error.message).toContain('SELECT count(*) = 0 FROM events');
    const test = (await pointOf('orders', points.orders!)).properties.restoreTest;
    expect(test).toMatchObject({
      status: 'Failed',
      mismatches: [],
      assertions: [{ sql: 'SELECT count(*) = 0 FROM events', passed: false, message: 'returned false' }],
    });
    expect(await env.scratchDatabases()).toEqual([]);
    // The failed test makes the instance Critical until a later test of it passes.
    const health = (await env.api.call('GET', 'backupInstances/orders')).body.properties.health;
    expect(health.status).toBe('Critical');
    expect(health.reasons.map((r: { code: string }) => r.code)).toContain('RestoreTestFailed');
  });

  it('fails when the restored data differs from the manifest of contents, naming the table', async () => {
    const point = (await pointOf('orders', points.orders!)).properties;
    const manifestBlob = env.blobs.getBlockBlobClient(`orders/${point.manifest.jobId}/manifest.json`);
    const manifest = JSON.parse((await manifestBlob.downloadToBuffer()).toString('utf8'));
    const customers = manifest.contents.tables.find((t: any) => t.schema === 'public' && t.name === 'customers');
    const original = customers.checksum as string;
    customers.checksum = '0123456789abcdef';
    await manifestBlob.upload(JSON.stringify(manifest), Buffer.byteLength(JSON.stringify(manifest)));
    try {
      await env.putPlan('differs', { backupInstances: ['orders'] });
      const [job] = await env.run('differs');
      expect(job.properties.status).toBe('Failed');
      expect(job.properties.error.code).toBe('SystemErrorRestoreTestFailed');
      const test = (await pointOf('orders', points.orders!)).properties.restoreTest;
      expect(test.status).toBe('Failed');
      expect(test.mismatches).toEqual([
        { kind: 'Checksum', object: 'public.customers', expected: '0123456789abcdef', actual: original },
      ]);
    } finally {
      customers.checksum = original;
      await manifestBlob.upload(JSON.stringify(manifest), Buffer.byteLength(JSON.stringify(manifest)));
    }
  });
});

describe('a point taken before manifests of contents', () => {
  it('is still tested: restored, checked by SHA-256 and the assertions, with contentsChecked false', async () => {
    const point = (await pointOf('inventory', points.inventory!)).properties;
    const manifestBlob = env.blobs.getBlockBlobClient(`inventory/${point.manifest.jobId}/manifest.json`);
    const original = (await manifestBlob.downloadToBuffer()).toString('utf8');
    const { contents: _dropped, ...older } = JSON.parse(original);
    await manifestBlob.upload(JSON.stringify(older), Buffer.byteLength(JSON.stringify(older)));
    try {
      await env.putPlan('older', {
        backupInstances: ['inventory'],
        assertions: { inventory: ['SELECT count(*) > 0 FROM customers'] },
      });
      const [job] = await env.run('older');
      expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
      expect((await pointOf('inventory', points.inventory!)).properties.restoreTest).toMatchObject({
        status: 'Passed',
        contentsChecked: false,
        tables: 0,
        mismatches: [],
        assertions: [{ passed: true }],
      });
    } finally {
      await manifestBlob.upload(original, Buffer.byteLength(original));
    }
  });
});

describe('scratch targets a test refuses', () => {
  it('refuses a plan whose scratch user has no CREATEDB with UserErrorRestoreTestTargetNotReady', async () => {
    const r = await env.api.call('PUT', 'restoreTestPlans/nocreate', {
      properties: {
        backupInstances: ['orders'],
        target: { datasourceAuthCredentials: secretRef('NOCREATE_SCRATCH_DB') },
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('UserErrorRestoreTestTargetNotReady');
    expect(r.body.error.message).toContain('CREATEDB');
    expect(r.text).not.toContain('nocreate-pw');
  });

  it('fails a test on the source server unless the plan names it, and then leaves the source as it was', async () => {
    const onSource = { datasourceAuthCredentials: secretRef('SOURCE_AS_SCRATCH_DB') };
    expect((await env.putPlan('on-source', { backupInstances: ['inventory'], target: onSource })).status).toBe(201);
    const [refused] = await env.run('on-source');
    expect(refused.properties.status).toBe('Failed');
    expect(refused.properties.error.code).toBe('UserErrorRestoreTestTargetIsSource');
    expect(await env.scratchDatabases(env.source)).toEqual([]);

    const allowed = { ...onSource, allowSourceServer: true };
    expect((await env.putPlan('on-source', { backupInstances: ['inventory'], target: allowed })).status).toBe(200);
    const [passed] = await env.run('on-source');
    expect(passed.properties.status, JSON.stringify(passed.properties.error)).toBe('Succeeded');
    expect(await env.scratchDatabases(env.source)).toEqual([]);
  });
});

describe('verify', () => {
  it('reads a point back without a server: SHA-256 and the TOC as pg_restore --list reads it', async () => {
    const r = await env.api.call('POST', `backupInstances/orders/recoveryPoints/${points.orders}/verify`);
    expect(r.status, r.text).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/backupJobs/${r.body.name}`);
    const job = (await jobEnded(env.api, r.body.name as string)).body;
    expect(job.properties).toMatchObject({ operation: 'Verify', status: 'Succeeded', recoveryPointId: points.orders });
    expect(job.properties.extendedInfo.tocEntries).toBe(
      (await pointOf('orders', points.orders!)).properties.manifest.tocEntries,
    );
  });

  it('runs a scheduled Verify plan by itself', async () => {
    const put = await env.api.call('PUT', 'restoreTestPlans/verify-often', {
      properties: { mode: 'Verify', schedule: '*/5 * * * * *', backupInstances: ['inventory'] },
    });
    expect(put.status, put.text).toBe(201);
    const found = await pollUntil(
      () => env.api.call('GET', 'backupJobs?backupInstance=inventory&operation=Verify'),
      (res) =>
        (res.body.value as any[]).some(
          (j) => j.properties.trigger === 'Scheduled' && j.properties.status === 'Succeeded',
        ),
      60_000,
      'a scheduled Verify job that succeeded',
    );
    const job = (found.body.value as any[]).find((j) => j.properties.trigger === 'Scheduled');
    expect(job.properties.extendedInfo.planName).toBe('verify-often');
    await env.api.call('DELETE', 'restoreTestPlans/verify-often');
  });
});

describe('a tampered dump', () => {
  it('fails the restore test and verify with SystemErrorIntegrityCheckFailed and leaves no scratch database', async () => {
    const tampered = await env.backup('inventory');
    const point = (await pointOf('inventory', tampered)).properties;
    const blob = env.blobs.getBlockBlobClient(`inventory/${point.manifest.jobId}/dump.pgdump.zst`);
    const bytes = await blob.downloadToBuffer();
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await blob.uploadData(bytes);

    await env.putPlan('tampered', { backupInstances: ['inventory'] });
    const [job] = await env.run('tampered');
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.error.code).toBe('SystemErrorIntegrityCheckFailed');
    const test = (await pointOf('inventory', tampered)).properties.restoreTest;
    expect(test).toMatchObject({ status: 'Failed', error: { code: 'SystemErrorIntegrityCheckFailed' } });
    expect(test.integrity).toBeUndefined();
    expect(await env.scratchDatabases()).toEqual([]);

    const v = await env.api.call('POST', `backupInstances/inventory/recoveryPoints/${tampered}/verify`);
    const verified = (await jobEnded(env.api, v.body.name as string)).body;
    expect(verified.properties.status).toBe('Failed');
    expect(verified.properties.error.code).toBe('SystemErrorIntegrityCheckFailed');
  });
});

describe('a host killed mid-test', () => {
  it('leaves no scratch database once the next run is done', async () => {
    await env.api.call('PUT', 'restoreTestPlans/slow', {
      properties: { backupInstances: ['orders'], target: { datasourceAuthCredentials: secretRef('SLOW_SCRATCH_DB') } },
    });
    env.proxy.uploadBytesPerSecond = 200_000;
    const started = await env.api.call('POST', 'restoreTestPlans/slow/run');
    expect(started.status, started.text).toBe(202);
    const killedJob = started.body.value[0].name as string;
    await pollUntil(
      () => env.scratchDatabases(),
      (dbs) => dbs.length > 0,
      60_000,
      'a scratch database being restored',
    );
    await env.dh.kill();
    env.proxy.uploadBytesPerSecond = 0;
    await env.dh.restart();
    const [next] = await env.run('slow');
    expect(next.properties.status, JSON.stringify(next.properties.error)).toBe('Succeeded');
    // The killed test resumes with the host and finishes too; whatever it ends as, its scratch database is gone.
    const killed = (await jobEnded(env.api, killedJob, 180_000)).body;
    expect(['Succeeded', 'Failed']).toContain(killed.properties.status);
    expect(await env.scratchDatabases()).toEqual([]);
  });
});

describe('the source databases', () => {
  it('are untouched by every test: their checksums before and after are equal', async () => {
    for (const db of ['orders', 'inventory']) {
      expect(await tableChecksums(env.source.connectionFor(db)), db).toEqual(before[db]);
    }
  });
});
