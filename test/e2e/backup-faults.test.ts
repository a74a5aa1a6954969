// Backups that fail, end to end under devhost: each fault ends the job Failed with its design code, leaves no
// recovery point and no blob, and releases the instance's lock; and the database password appears in no log line,
// job, response or process command line. Client-side encryption is on for this file.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- response bodies are checked by the assertions, not by types */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { startPostgres, type TestPostgres } from '../support/postgres';
import {
  adoNet,
  allCommandLines,
  apiClient,
  blobsUnder,
  fixturePolicy,
  instanceBody,
  jobEnded,
  pgDumpRunning,
  pollUntil,
  repoRoot,
  startPgProxy,
  vaultContainer,
  type ApiClient,
  type PgProxy,
} from './backup-support';

// Distinctive, so that a leak anywhere is found by a plain substring search.
const PASSWORD = 'Zq7-keeper-OKAPI-4419-xylophone';
const PASSWORD2 = 'Vr3-second-MARMOT-8831-quasar';
const CHANGED = 'Wt5-changed-NARWHAL-2207-zircon';
const secrets = [PASSWORD, PASSWORD2, CHANGED];

let pg15: TestPostgres;
let pg17: TestPostgres;
let dh: DevhostInstance;
let api: ApiClient;
let unreachable: PgProxy;
let switching: PgProxy;
let slow: PgProxy;
const commandLineScans: string[] = [];

const SHOP_SQL = `
  CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;
  CREATE TABLE ledger (id bigserial PRIMARY KEY, amount numeric NOT NULL);
  INSERT INTO ledger (amount) SELECT g / 100.0 FROM generate_series(1, 1000) g;
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO keeper, keeper2;
  GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO keeper, keeper2;`;

async function seedShop(server: TestPostgres, db: string, extraSql = ''): Promise<void> {
  await server.query(`CREATE DATABASE ${db}`);
  await server.query(SHOP_SQL + extraSql, db);
}

beforeAll(async () => {
  [pg15, pg17] = await Promise.all([startPostgres({ major: 15 }), startPostgres({ major: 17 })]);
  for (const server of [pg15, pg17]) {
    await server.query(
      `CREATE ROLE keeper LOGIN PASSWORD '${PASSWORD}'; CREATE ROLE keeper2 LOGIN PASSWORD '${PASSWORD2}'`,
    );
    await seedShop(server, 'shop');
  }
  await seedShop(pg15, 'shop_ns');
  // Random text (hard to compress) so that the throttled dump takes seconds and zstd emits early.
  await seedShop(
    pg15,
    'shop_big',
    `CREATE TABLE big (id int PRIMARY KEY, blob text NOT NULL);
     INSERT INTO big SELECT g, encode(decode(md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text), 'hex'), 'base64')
       FROM generate_series(1, 250000) g;
     GRANT SELECT ON big TO keeper;`,
  );
  const direct = { host: pg15.host, port: pg15.port };
  [unreachable, switching, slow] = await Promise.all([
    startPgProxy(direct),
    startPgProxy(direct),
    startPgProxy(direct),
  ]);
  const key = randomBytes(32).toString('base64');
  dh = await startDevhost({
    appRoot: repoRoot,
    env: {
      SHOP_DB: adoNet(pg15.host, pg15.port, 'shop', 'keeper', PASSWORD),
      SHOP_KEEPER2_DB: adoNet(pg15.host, pg15.port, 'shop', 'keeper2', PASSWORD2),
      SHOP_WRONG_DB: adoNet(pg15.host, pg15.port, 'shop', 'keeper', CHANGED),
      SHOP_NS_DB: `postgres://keeper:${PASSWORD}@${pg15.host}:${pg15.port}/shop_ns?sslmode=disable`,
      UNREACHABLE_DB: adoNet('127.0.0.1', unreachable.port, 'shop', 'keeper', PASSWORD),
      SWITCHING_DB: adoNet('127.0.0.1', switching.port, 'shop', 'keeper', PASSWORD),
      SLOW_DB: adoNet('127.0.0.1', slow.port, 'shop_big', 'keeper', PASSWORD),
      BACKUP_ENCRYPTION_KEY: key,
      BACKUP_ENCRYPTION_KEY_ID: 'e2e-key-1',
      SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
      DUMP_STALL_TIMEOUT_SECONDS: '5',
    },
  });
  api = apiClient(dh);
  expect((await api.call('PUT', 'backupPolicies/weekly', fixturePolicy('default-weekly.json'))).status).toBe(201);
}, 240_000);

afterAll(async () => {
  await dh?.stop();
  await Promise.all([unreachable?.close(), switching?.close(), slow?.close()]);
  await Promise.all([pg15?.stop(), pg17?.stop()]);
});

async function configure(name: string, database: string, setting: string): Promise<void> {
  const res = await api.call(
    'PUT',
    `backupInstances/${name}`,
    instanceBody({ resourceID: `local/${name}`, database, setting, policy: 'weekly' }),
  );
  expect(res.status, res.text).toBe(201);
}

async function backup(name: string): Promise<string> {
  const res = await api.call('POST', `backupInstances/${name}/backup`);
  expect(res.status, res.text).toBe(202);
  return res.body.name as string;
}

/** The job failed with `code`, and nothing of it is left: no recovery point, no blob, no lock. */
async function expectCleanFailure(name: string, jobId: string, code: string, nextOutcome = 'Failed') {
  const job = (await jobEnded(api, jobId)).body.properties;
  expect(job.status, JSON.stringify(job)).toBe('Failed');
  expect(job.error.code, JSON.stringify(job.error)).toBe(code);
  expect(job.error.hint).toEqual(expect.any(String));
  expect(job.recoveryPointId).toBeUndefined();
  expect((await api.call('GET', `backupInstances/${name}/recoveryPoints`)).body.value).toEqual([]);
  expect(await blobsUnder(dh, `${name}/`)).toEqual([]);
  const before = await blobsUnder(dh, '');
  // The lock is released: another backup can start at once (it meets the same fault, unless the fault is gone).
  const again = await backup(name);
  expect((await jobEnded(api, again)).body.properties.status).toBe(nextOutcome);
  if (nextOutcome === 'Failed') expect(await blobsUnder(dh, '')).toEqual(before);
  return job as { error: { code: string; message: string; hint: string } };
}

describe('backup faults', () => {
  it('backs up with encryption when nothing is wrong (the baseline the faults differ from)', async () => {
    await configure('good', 'shop', 'SHOP_DB');
    const job = (await jobEnded(api, await backup('good'))).body.properties;
    expect(job.status, JSON.stringify(job)).toBe('Succeeded');
    const point = await api.call('GET', `backupInstances/good/recoveryPoints/${job.recoveryPointId as string}`);
    expect(point.body.properties.manifest.encryption).toMatchObject({
      algorithm: 'AES-256-GCM',
      format: 'PGKEEPE1',
      keyId: 'e2e-key-1',
    });
    const blob = await vaultContainer(dh)
      .getBlockBlobClient(`good/${job.id as string}/dump.pgdump.zst`)
      .downloadToBuffer();
    expect(blob.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
  });

  it('refuses to configure an instance whose password is wrong, naming the check', async () => {
    const res = await api.call(
      'PUT',
      'backupInstances/wrongpw',
      instanceBody({ resourceID: 'local/wrongpw', database: 'shop', setting: 'SHOP_WRONG_DB', policy: 'weekly' }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContainEqual(
      expect.objectContaining({ code: 'UserErrorDBUserAuthFailed', target: 'userCanLogIn' }),
    );
    expect((await api.call('GET', 'backupInstances/wrongpw')).status).toBe(404);
  });

  it('fails UserErrorDBUserAuthFailed when the password changed after configuration', async () => {
    await configure('authfail', 'shop', 'SHOP_KEEPER2_DB');
    await pg15.query(`ALTER ROLE keeper2 PASSWORD '${CHANGED}'`);
    await expectCleanFailure('authfail', await backup('authfail'), 'UserErrorDBUserAuthFailed');
  });

  it('fails UserErrorMissingNetworkSecurityPermissions when the server cannot be reached', async () => {
    await configure('unreach', 'shop', 'UNREACHABLE_DB');
    await unreachable.refuse();
    await expectCleanFailure('unreach', await backup('unreach'), 'UserErrorMissingNetworkSecurityPermissions');
  });

  it('fails UserErrorMissingDBPermissions naming the table the user cannot read', async () => {
    await configure('noselect', 'shop_ns', 'SHOP_NS_DB');
    await pg15.query('REVOKE SELECT ON ledger FROM keeper', 'shop_ns');
    const job = await expectCleanFailure('noselect', await backup('noselect'), 'UserErrorMissingDBPermissions');
    expect(job.error.message).toContain('ledger');
    const report = await api.call('POST', 'backupInstances/noselect/validateForBackup');
    expect(report.body.status).toBe('Failed');
    expect(JSON.stringify(report.body)).toMatch(/GRANT SELECT ON .*ledger/);
  });

  it('fails UserErrorPgDumpVersionMismatch when the server is newer than every installed pg_dump', async () => {
    await configure('newer', 'shop', 'SWITCHING_DB');
    // The same address now leads to a PostgreSQL 17 (only pg_dump 15 is installed).
    switching.target = { host: pg17.host, port: pg17.port };
    await expectCleanFailure('newer', await backup('newer'), 'UserErrorPgDumpVersionMismatch');
  });

  it('answers a second backup while one runs with 409 UserErrorBackupInProgress', async () => {
    await configure('busy', 'shop', 'SHOP_DB');
    const locker = new pg.Client({ ...pg15.connectionFor('shop'), ssl: false });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const first = await backup('busy');
      // The backup's first statement on `items` now waits for the lock (describeDatabase reads its size).
      await pollUntil(
        () =>
          pg15.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
        (rows) => rows[0]!.n > 0,
        30_000,
        'the backup waiting for the lock',
      );
      const second = await api.call('POST', 'backupInstances/busy/backup');
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('UserErrorBackupInProgress');
      expect(second.body.error.message).toContain(first);
      expect((await api.call('GET', `backupJobs/${first}`)).body.properties.status).toBe('InProgress');
      await locker.query('COMMIT');
      expect((await jobEnded(api, first)).body.properties.status).toBe('Succeeded');
    } finally {
      await locker.end();
    }
    expect((await jobEnded(api, await backup('busy'))).body.properties.status).toBe('Succeeded');
  });

  it('fails SystemErrorDumpStalled when a lock keeps the backup waiting longer than DUMP_STALL_TIMEOUT', async () => {
    await configure('locked', 'shop', 'SHOP_DB');
    const locker = new pg.Client({ ...pg15.connectionFor('shop'), ssl: false });
    await locker.connect();
    let jobId: string;
    try {
      await locker.query('BEGIN; LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
      jobId = await backup('locked');
      expect((await jobEnded(api, jobId)).body.properties.status).toBe('Failed');
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
    // With the lock gone, the next backup succeeds.
    await expectCleanFailure('locked', jobId, 'SystemErrorDumpStalled', 'Succeeded');
  });

  it('fails UserErrorServerConnectionClosed when the server is killed mid-dump', async () => {
    await configure('killed', 'shop_big', 'SLOW_DB');
    slow.bytesPerSecond = 2_000_000;
    const jobId = await backup('killed');
    await pollUntil(
      () => api.call('GET', `backupJobs/${jobId}`),
      (r) => r.body.properties.progress.bytes > 0 || ['Succeeded', 'Failed'].includes(r.body.properties.status),
      60_000,
      'progress bytes',
    );
    const running = (await api.call('GET', `backupJobs/${jobId}`)).body.properties;
    expect(running.status, JSON.stringify(running)).toBe('InProgress');
    expect(pgDumpRunning()).toBe(true);
    commandLineScans.push(...allCommandLines());
    await pg15.kill();
    await expectCleanFailure('killed', jobId, 'UserErrorServerConnectionClosed');
  });

  it('never shows the database password in logs, jobs, responses or command lines', async () => {
    const jobs = (await api.call('GET', 'backupJobs')).body.value as { name: string }[];
    expect(jobs.length).toBeGreaterThanOrEqual(15);
    for (const j of jobs) await api.call('GET', `backupJobs/${j.name}`);
    const logs = dh.logs();
    // The scans are not vacuous: the host logged every request, the responses hold the failures, and a pg_dump ran.
    expect(logs).toContain("Executed 'Functions.backupNowHttp' (Succeeded");
    expect(api.seen.some((t) => t.includes('UserErrorDBUserAuthFailed'))).toBe(true);
    expect(commandLineScans.some((l) => l.includes('pg_dump --format=custom'))).toBe(true);
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(api.seen.filter((t) => t.includes(secret))).toEqual([]);
      expect(commandLineScans.filter((l) => l.includes(secret))).toEqual([]);
    }
  });
});
