// Key rotation through the operator CLI (issue 16's endpoints, `pgkeep keys list`, `instances rewrap`, `servers
// rewrap`): the built `pgkeep` bin against the app under devhost (function keys enforced), Azurite and PostgreSQL.
// Two points are backed up under keyring key k1; the host restarts with k2 current (k1 kept to read old points);
// rewrapping one point and then the whole instance moves their key ids to k2, as `keys list` shows, each Rewrap job
// Succeeded; a server's globals rewrap runs as its own job.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResource } from '../../shared/contracts/jobs';
import type { RecoveryPointResource } from '../../shared/contracts/recovery-points';
import type { KeyUse } from '../../cli/commands/keys';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { weeklyDefaultPolicy } from '../support/policies';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { adoNet } from './backup-support';

const repoRoot = path.resolve(__dirname, '../..');
const bin = path.join(repoRoot, 'dist/cli/pgkeep.js');
const apiKey = randomBytes(24).toString('base64url');
const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');

let azurite: AzuriteInstance;
let pg: TestPostgres;
let dh: DevhostInstance | undefined;
let dir: string;
/** Oldest first. */
const points: string[] = [];
/** Everything pgkeep printed, for the secrets check. */
const printed: string[] = [];

/** The app on the shared Azurite with `keyring` (restarting it when it runs). */
async function startApp(keyring: { current: string; keys: Record<string, string> }): Promise<void> {
  await dh?.stop();
  dh = await startDevhost({
    appRoot: repoRoot,
    storageConnectionString: azurite.connectionString,
    args: ['--enable-auth'],
    env: {
      DEVHOST_FUNCTION_KEY: apiKey,
      ORDERS_DB: adoNet(pg.host, pg.port, 'orders', pg.superuser, pg.password),
      BACKUP_KEYRING: JSON.stringify(keyring),
      SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
      EXPIRY_SCHEDULE: '0 0 0 1 1 *',
    },
  });
}

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function pgkeep(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', PGKEEP_API_URL: `${dh!.baseUrl}/api`, PGKEEP_API_KEY: apiKey },
      },
      (err, stdout, stderr) => {
        printed.push(stdout, stderr);
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function pgkeepJson<T>(...args: string[]): Promise<T> {
  const run = await pgkeep(...args, '--json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const keyOf = async (id: string) =>
  (await pgkeepJson<RecoveryPointResource>('points', 'show', 'orders', id)).properties.encryptionKeyId;
const keyList = async () =>
  (await pgkeepJson<{ value: KeyUse[] }>('keys', 'list')).value.map((u) => [u.keyId, u.instance, u.points]);

beforeAll(async () => {
  [azurite, pg] = await Promise.all([startAzurite(), startPostgres()]);
  await seedVariedDatabase(pg, 'orders', 1_000);
  await startApp({ current: 'k1', keys: { k1 } });
  dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-cli-keys-'));
  const policy = path.join(dir, 'weekly.json');
  await writeFile(
    policy,
    JSON.stringify(weeklyDefaultPolicy({ name: 'ignored', start: '2021-08-22T02:00:00+00:00', deleteAfter: 'P3M' })),
  );
  for (const args of [
    ['policies', 'apply', 'weekly', '-f', policy],
    ['protect', 'orders', '--policy', 'weekly', '--database', 'orders', '--credentials', 'appsetting://ORDERS_DB'],
  ]) {
    const run = await pgkeep(...args);
    expect(run.code, run.stderr).toBe(0);
  }
  for (let i = 0; i < 2; i++) {
    const job = await pgkeepJson<JobResource>('backup', 'orders', '--wait');
    points.push(job.properties.recoveryPointId!);
  }
}, 240_000);

afterAll(async () => {
  await dh?.stop();
  await azurite?.stop();
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pgkeep keys list', () => {
  it('shows the key that wraps the points’ data keys, with how many points it guards', async () => {
    expect(await keyList()).toEqual([['k1', 'orders', 2]]);
    const table = await pgkeep('keys', 'list');
    expect(table.stdout).toMatch(/^KEY +INSTANCE +POINTS +OLDEST +NEWEST$/m);
    expect(table.stdout).toMatch(/^k1 +orders +2 /m);
  });
});

describe('rewrap after a rotation to k2', () => {
  it('rewraps one point in the call: its Rewrap job Succeeded and its key id changes from k1 to k2', async () => {
    await startApp({ current: 'k2', keys: { k1, k2 } });
    const newest = points[1]!;
    expect(await keyOf(newest)).toBe('k1');
    const job = await pgkeepJson<JobResource>('instances', 'rewrap', 'orders', '--point', 'latest');
    expect(job.properties).toMatchObject({ operation: 'Rewrap', status: 'Succeeded', recoveryPointId: newest });
    expect(await keyOf(newest)).toBe('k2');
    expect(await keyOf(points[0]!)).toBe('k1');
    expect(await keyList()).toEqual([
      ['k2', 'orders', 1],
      ['k1', 'orders', 1],
    ]);
  }, 120_000);

  it('rewraps every point of the instance as a Rewrap job followed with --wait to Succeeded; k1 then guards none', async () => {
    const run = await pgkeep('instances', 'rewrap', 'orders', '--wait');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^operation: +Rewrap$/m);
    expect(run.stdout).toMatch(/^status: +Succeeded$/m);
    expect(await keyOf(points[0]!)).toBe('k2');
    expect(await keyList()).toEqual([['k2', 'orders', 2]]);
  }, 120_000);

  it("runs a server's globals rewrap as a Rewrap job to Succeeded", async () => {
    const put = await fetch(`${dh!.baseUrl}/api/servers/pg1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-functions-key': apiKey },
      body: JSON.stringify({
        properties: {
          resourceID: 'local/pg1',
          datasourceAuthCredentials: {
            objectType: 'SecretStoreBasedAuthCredentials',
            secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
          },
        },
      }),
    });
    expect(put.status, await put.text()).toBe(201);
    const job = await pgkeepJson<JobResource>('servers', 'rewrap', 'pg1', '--wait');
    expect(job.properties).toMatchObject({ operation: 'Rewrap', status: 'Succeeded' });
  }, 120_000);

  it('printed no key material', () => {
    for (const text of printed) for (const key of [k1, k2, apiKey]) expect(text).not.toContain(key);
  });
});
