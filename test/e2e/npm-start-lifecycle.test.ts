// The app as a developer runs it — `npm start`, its own Azurite keeping data on disk — stopped the ways people and
// service managers stop it (issue 18): a backup reported Succeeded is still there after a stop right after it, with
// SIGINT or SIGTERM, sent to the whole process group or to devhost alone; a restore stopped midway ends, after the
// restart, Succeeded with an equal database or Failed with no database left; and a second `npm start` refuses to run.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/azurite';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { weeklyDefaultPolicy } from '../support/policies';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { spawnOwned } from '../support/processes';
import { tableChecksums } from '../support/table-checksums';
import {
  adoNet,
  apiClient,
  instanceBody,
  jobEnded,
  repoRoot,
  startPgProxy,
  type ApiClient,
  type PgProxy,
} from './backup-support';
import { databaseRequest } from './restore-e2e-support';

let pg: TestPostgres;
let proxy: PgProxy;
let dataDir: string;
let dh: DevhostInstance;
let api: ApiClient;
let ordersPoint: string;

const targetSecret = {
  objectType: 'SecretStoreBasedAuthCredentials',
  secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://TARGET_DB' },
};

beforeAll(async () => {
  pg = await startPostgres({ major: 15 });
  // The stop loop backs up a small database, so that ten and more trials stay quick.
  await pg.query('CREATE DATABASE tiny');
  await pg.query(
    'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g',
    'tiny',
  );
  await seedVariedDatabase(pg, 'orders', 20_000);
  // Restores go through a proxy the test slows down, so that a stop lands in the middle of one.
  proxy = await startPgProxy({ host: pg.host, port: pg.port });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgkeep-npm-start-'));
  dh = await startDevhost({
    appRoot: repoRoot,
    launch: 'npm-start',
    azuriteBy: 'devhost',
    dataDir,
    readyTimeoutMs: 120_000,
    env: {
      TINY_DB: adoNet(pg.host, pg.port, 'tiny', pg.superuser, pg.password),
      ORDERS_DB: adoNet(pg.host, pg.port, 'orders', pg.superuser, pg.password),
      TARGET_DB: adoNet('127.0.0.1', proxy.port, 'postgres', pg.superuser, pg.password),
      SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
      EXPIRY_SCHEDULE: '0 0 0 1 1 *',
    },
  });
  api = apiClient(dh);
  const policy = weeklyDefaultPolicy({ name: 'weekly', start: '2021-08-22T02:00:00+00:00', deleteAfter: 'P3M' });
  expect((await api.call('PUT', 'backupPolicies/weekly', policy)).status).toBe(201);
  for (const db of ['tiny', 'orders']) {
    const body = instanceBody({
      resourceID: `local/${db}`,
      database: db,
      setting: `${db.toUpperCase()}_DB`,
      policy: 'weekly',
    });
    expect((await api.call('PUT', `backupInstances/${db}`, body)).status).toBe(201);
  }
  const started = await api.call('POST', 'backupInstances/orders/backup', {});
  const job = await jobEnded(api, started.body.name as string);
  expect(job.body.properties.status, job.text).toBe('Succeeded');
  ordersPoint = job.body.properties.recoveryPointId as string;
}, 240_000);

afterAll(async () => {
  await dh?.stop();
  await proxy?.close();
  await pg?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Polls a job every 50 ms until it ends (a stop must follow its end as closely as a person's Ctrl-C could). */
async function jobEndedSoon(jobId: string): Promise<any> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const r = await api.call('GET', `backupJobs/${jobId}`);
    const status = r.body?.properties?.status as string | undefined;
    if (status === 'Succeeded' || status === 'Failed') return r.body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not end: ${r.text}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function databaseExists(name: string): Promise<boolean> {
  return (await pg.query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length === 1;
}

describe('npm start stopped right after a backup', () => {
  const trials: [NodeJS.Signals, 'group' | 'devhost'][] = [];
  for (let round = 0; round < 3; round++) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const to of ['group', 'devhost'] as const) trials.push([signal, to]);
    }
  }

  it(`keeps every point and job it reported Succeeded, over ${trials.length} stops with SIGINT and SIGTERM to the group and to devhost alone`, async () => {
    const outcomes: string[] = [];
    for (const [signal, to] of trials) {
      const started = await api.call('POST', 'backupInstances/tiny/backup', {});
      expect(started.status, started.text).toBe(202);
      const job = await jobEndedSoon(started.body.name as string);
      expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
      const point = job.properties.recoveryPointId as string;

      dh.signal(signal, to);
      const { ms } = await dh.waitStopped(30_000);
      await dh.restart();

      const jobAfter = await api.call('GET', `backupJobs/${job.name}`);
      const pointAfter = await api.call('GET', `backupInstances/tiny/recoveryPoints/${point}`);
      const kept =
        jobAfter.status === 200 && jobAfter.body.properties.status === 'Succeeded' && pointAfter.status === 200;
      outcomes.push(
        `${signal} to ${to}: stopped in ${ms} ms, job ${jobAfter.status}, point ${pointAfter.status}${kept ? '' : ' LOST'}`,
      );
      // A stop takes a few seconds at most (more only on a machine far busier than a developer's).
      expect(ms, outcomes.join('\n')).toBeLessThan(15_000);
    }
    expect(
      outcomes.filter((o) => o.endsWith('LOST')),
      outcomes.join('\n'),
    ).toEqual([]);
  }, 600_000);
});

describe('a restore stopped midway', () => {
  it('stopped by Ctrl-C while pg_restore writes, ends Succeeded after the restart with a database equal to the source', async () => {
    proxy.uploadBytesPerSecond = 20_000;
    const r = await api.call(
      'POST',
      'backupInstances/orders/restore',
      databaseRequest(ordersPoint, 'copy_ctrlc', { targetSecret }),
    );
    expect(r.status, r.text).toBe(202);
    const deadline = Date.now() + 60_000;
    while (!(await databaseExists('copy_ctrlc'))) {
      if (Date.now() > deadline) throw new Error('the restore did not create its database');
      await new Promise((res) => setTimeout(res, 20));
    }
    dh.signal('SIGINT', 'group');
    // 5 s of grace for the running restore, then Azurite; a loaded CI machine takes longer than a laptop.
    await dh.waitStopped(60_000).catch((e) => {
      console.log('LOGS>>>', dh.logs().slice(-6000));
      throw e;
    });
    proxy.uploadBytesPerSecond = 0;
    await dh.restart();

    const job = await jobEnded(api, r.body.name as string, 120_000);
    expect(job.body.properties.status, job.text).toBe('Succeeded');
    expect(await tableChecksums(pg.connectionFor('copy_ctrlc'))).toEqual(
      await tableChecksums(pg.connectionFor('orders')),
    );
  }, 240_000);

  it('cut off after creating its database, ends Failed after the restart when its selection matches nothing, and leaves no database', async () => {
    // Slow enough that the database exists for a while before the restore finds nothing to restore and drops it.
    proxy.uploadBytesPerSecond = 500;
    const body = databaseRequest(
      ordersPoint,
      'copy_none',
      { targetSecret },
      { options: { tables: ['no_such_table'] } },
    );
    const r = await api.call('POST', 'backupInstances/orders/restore', body);
    expect(r.status, r.text).toBe(202);
    const deadline = Date.now() + 60_000;
    while (!(await databaseExists('copy_none'))) {
      if (Date.now() > deadline) throw new Error('the restore did not create its database');
      await new Promise((res) => setTimeout(res, 5));
    }
    // A crash: nothing of the restore gets to clean up (Azurite, told by its lifeline, still writes its data).
    dh.signal('SIGKILL', 'devhost');
    await dh.waitStopped(60_000);
    expect(await databaseExists('copy_none'), 'the kill came after the restore had dropped its database').toBe(true);
    proxy.uploadBytesPerSecond = 0;
    await dh.restart();

    const job = await jobEnded(api, r.body.name as string, 120_000);
    expect(job.body.properties.status, job.text).toBe('Failed');
    expect(job.body.properties.error.message).toContain('no object of the recovery point matches');
    expect(await databaseExists('copy_none')).toBe(false);
  }, 240_000);
});

/** Runs `npm start -- <args>` in the repository and returns its exit code and output. */
async function npmStart(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawnOwned('npm', ['start', '--', ...args], {
    cwd: repoRoot,
    env: { ...process.env, AzureWebJobsStorage: 'UseDevelopmentStorage=true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  // A second host that did start would run until killed: give up after a minute and show what it printed.
  const giveUp = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(giveUp);
  return { code, output };
}

async function hostState(): Promise<string> {
  const res = await fetch(`${dh.baseUrl}/admin/host/status`);
  return ((await res.json()) as { state: string }).state;
}

describe('a second npm start while one runs', () => {
  const portOf = (url: string): number => Number(new URL(url).port);

  // These tests need the first host up: a test before them that failed mid-stop must not turn them into hangs.
  beforeEach(async () => {
    if ((await hostState().catch(() => 'refused')) !== 'Running') await dh.restart();
  }, 120_000);

  it('exits non-zero, saying its HTTP port is in use, and changes nothing', async () => {
    const otherData = path.join(dataDir, 'second');
    const ports = `${await freePort()},${await freePort()},${await freePort()}`;
    const second = await npmStart([
      '--app',
      repoRoot,
      '--port',
      String(dh.port),
      '--azurite-ports',
      ports,
      '--data-dir',
      otherData,
    ]);
    expect(second.code, second.output).not.toBe(0);
    expect(second.output).toMatch(
      new RegExp(`devhost: cannot start: port ${dh.port} is in use by another process \\(another npm start\\?\\)`),
    );
    expect(fs.existsSync(otherData)).toBe(false);
    expect(await hostState()).toBe('Running');
  }, 120_000);

  it("exits non-zero, saying Azurite's ports are taken by a running Azurite", async () => {
    const { blobUrl, queueUrl, tableUrl } = dh.storage;
    const taken = [blobUrl, queueUrl, tableUrl].map(portOf);
    const second = await npmStart([
      '--app',
      repoRoot,
      '--port',
      String(await freePort()),
      '--azurite-ports',
      taken.join(','),
      '--data-dir',
      path.join(dataDir, 'second'),
    ]);
    expect(second.code, second.output).not.toBe(0);
    expect(second.output).toContain(
      `devhost: cannot start: Azurite's port(s) ${taken.join(', ')} are in use by another process; an Azurite is already running there`,
    );
    expect(await hostState()).toBe('Running');
  }, 120_000);
});
