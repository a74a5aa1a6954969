// The operator CLI end to end: the built `pgkeep` bin run as a child process against the app under devhost (with
// function keys enforced), Azurite and real PostgreSQL servers. Protect, back up and restore through it, follow jobs
// (plain lines, a terminal's progress bar, Ctrl-C), its exit codes, and no secret in anything it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { Temporal } from 'temporal-polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResource } from '../../shared/contracts/jobs';
import type { RecoveryPointResource } from '../../shared/contracts/recovery-points';
import type { List } from '../../shared/contracts/resources';
import { freePort } from '../support/azurite';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { weeklyDefaultPolicy } from '../support/policies';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { tableChecksums } from '../support/table-checksums';
import { adoNet, startPgProxy, type PgProxy } from './backup-support';
import { containerSasUrl } from './restore-e2e-support';

const repoRoot = path.resolve(__dirname, '../..');
const bin = path.join(repoRoot, 'dist/cli/pgkeep.js');
/** Tables print local times: a zone with a 45-minute offset shows that they are converted, not copied. */
const TZ = 'Asia/Kathmandu';

let pg: TestPostgres;
/** A second server, stopped by the failing-backup test. */
let doomedPg: TestPostgres;
/** ORDERS_DB leads through it, so a test can slow a backup down. */
let ordersProxy: PgProxy;
let dh: DevhostInstance;
let apiUrl: string;
let dir: string;
const apiKey = randomBytes(24).toString('base64url');
/** Everything any pgkeep run printed, for the secrets scan. */
const printed: string[] = [];
/** Secrets handed to pgkeep on its command line (SAS signatures): never to be printed back. */
const argvSecrets: string[] = [];

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
  /** Resolves once stderr matches. */
  stderrMatches(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      TZ,
      PGKEEP_API_URL: apiUrl,
      PGKEEP_API_KEY: apiKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    for (const w of waiters) w();
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    done,
    stderrMatches: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(stderr)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`stderr did not match ${pattern} within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

const pgkeep = (...args: string[]): Promise<CliRun> => startCli(args).done;

/** Runs pgkeep with --json and parses its one document. */
async function pgkeepJson<T>(...args: string[]): Promise<T> {
  const run = await pgkeep(...args, '--json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

const local = (iso: string): string =>
  Temporal.Instant.from(iso)
    .toZonedDateTimeISO(TZ)
    .toPlainDateTime()
    .toString({ smallestUnit: 'second' })
    .replace('T', ' ');

beforeAll(async () => {
  [pg, doomedPg] = await Promise.all([startPostgres(), startPostgres()]);
  await seedVariedDatabase(pg, 'orders', 5_000);
  await doomedPg.query('CREATE DATABASE doomed');
  await doomedPg.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g', 'doomed');
  ordersProxy = await startPgProxy({ host: pg.host, port: pg.port });
  dh = await startDevhost({
    appRoot: repoRoot,
    args: ['--enable-auth'],
    env: {
      DEVHOST_FUNCTION_KEY: apiKey,
      ORDERS_DB: adoNet('127.0.0.1', ordersProxy.port, 'orders', pg.superuser, pg.password),
      TARGET_DB: adoNet(pg.host, pg.port, 'postgres', pg.superuser, pg.password),
      DOOMED_DB: adoNet(doomedPg.host, doomedPg.port, 'doomed', doomedPg.superuser, doomedPg.password),
      SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
      EXPIRY_SCHEDULE: '0 0 0 1 1 *',
    },
  });
  apiUrl = `${dh.baseUrl}/api`;
  dir = mkdtempSync(path.join(tmpdir(), 'pgkeep-cli-e2e-'));
  writeFileSync(
    path.join(dir, 'weekly.json'),
    JSON.stringify(weeklyDefaultPolicy({ name: 'ignored', start: '2021-08-22T02:00:00+00:00', deleteAfter: 'P3M' })),
  );
}, 180_000);

afterAll(async () => {
  await dh?.stop();
  await ordersProxy?.close();
  await pg?.stop();
  await doomedPg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pgkeep against a running app', () => {
  it('applies a policy and prints the API document exactly with --json', async () => {
    const applied = await pgkeep('policies', 'apply', 'weekly', '-f', path.join(dir, 'weekly.json'));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^created policy 'weekly'/);
    expect(applied.stdout).toMatch(/schedule: +R\/2021-08-22T02:00:00\+00:00\/P1W \(UTC\)/);

    const shown = await pgkeep('policies', 'show', 'weekly', '--json');
    const direct = await fetch(`${apiUrl}/backupPolicies/weekly`, { headers: { 'x-functions-key': apiKey } });
    expect(shown.stdout).toBe(`${await direct.text()}\n`);
  });

  it('protects a database, naming the datasource after the secret when no --server-id is given', async () => {
    const run = await pgkeep(
      'protect',
      'orders',
      '--policy',
      'weekly',
      '--database',
      'orders',
      '--credentials',
      'appsetting://ORDERS_DB',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^protected 'orders'/);
    const instance = await pgkeepJson<{ properties: { dataSourceInfo: { resourceID: string } } }>(
      'instances',
      'show',
      'orders',
    );
    expect(instance.properties.dataSourceInfo.resourceID).toBe('appsetting/ORDERS_DB/databases/orders');
    const list = await pgkeep('instances', 'list');
    expect(list.stdout).toMatch(/^orders +orders +weekly +ProtectionConfigured/m);
  });

  it('backs up with --wait: exit 0, one plain line per phase change, the point then listed by points list', async () => {
    const run = await pgkeep('backup', 'orders', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const rp = /^recovery point: +(\S+)$/m.exec(run.stdout)?.[1];
    expect(rp, run.stdout).toBeDefined();
    expect(run.stdout).toMatch(/^status: +Succeeded$/m);

    const lines = run.stderr.trimEnd().split('\n');
    const phases = lines.map((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}job \S+ {2}(\S+)/.exec(l)?.[1]);
    expect(
      phases.every((p) => p !== undefined),
      run.stderr,
    ).toBe(true);
    expect(phases.at(-1)).toBe('Succeeded');
    for (let i = 1; i < phases.length; i++) expect(phases[i]).not.toBe(phases[i - 1]);

    const points = await pgkeepJson<List<RecoveryPointResource>>('points', 'list', 'orders');
    expect(points.value.map((p) => p.name)).toContain(rp);
    const latest = await pgkeepJson<RecoveryPointResource>('points', 'show', 'orders', 'latest');
    expect(latest.name).toBe(points.value[0]!.name);
  });

  it('lists and shows jobs with local times in tables and the API ISO strings in JSON', async () => {
    const jobs = await pgkeepJson<List<JobResource>>('jobs', 'list', '--instance', 'orders', '--operation', 'Backup');
    const job = jobs.value[0]!;
    expect(job.properties.startTime).toMatch(/Z$/);
    const table = await pgkeep('jobs', 'list', '--instance', 'orders', '--since', '1h');
    expect(table.stdout).toMatch(
      new RegExp(`^${job.name} +Backup +orders +Succeeded +OnDemand +${local(job.properties.startTime)} `, 'm'),
    );
    const shown = await pgkeep('jobs', 'show', job.name);
    expect(shown.stdout).toMatch(new RegExp(`^started: +${local(job.properties.startTime)}$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^recovery point: +${job.properties.recoveryPointId}$`, 'm'));
  });

  it('restores --point latest --as-database with --wait into a database with the same rows', async () => {
    const run = await pgkeep(
      'restore',
      'orders',
      '--point',
      'latest',
      '--as-database',
      'orders_copy',
      '--credentials',
      'appsetting://TARGET_DB',
      '--wait',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^operation: +Restore$/m);
    expect(run.stdout).toMatch(/^status: +Succeeded$/m);
    const [source, copy] = await Promise.all([
      tableChecksums(pg.connectionFor('orders')),
      tableChecksums(pg.connectionFor('orders_copy')),
    ]);
    expect(Object.keys(source.tables).length).toBeGreaterThan(0);
    expect(copy).toEqual(source);
  });

  it('restores --as-files into a container given by SAS URL, and never prints the SAS', async () => {
    const blobService = BlobServiceClient.fromConnectionString(dh.storage.connectionString);
    await blobService.getContainerClient('exports').createIfNotExists();
    const url = containerSasUrl({ blobService }, 'exports');
    argvSecrets.push(new URL(url).searchParams.get('sig')!);
    const run = await pgkeep('restore', 'orders', '--point', 'latest', '--as-files', url, '--prefix', 'cli', '--wait');
    expect(run.code, run.stderr).toBe(0);
    const pointId = /^recovery point: +(\S+)$/m.exec(run.stdout)?.[1];
    const names: string[] = [];
    for await (const b of blobService.getContainerClient('exports').listBlobsFlat({ prefix: 'cli/' }))
      names.push(b.name);
    expect(names.sort()).toEqual([`cli/${pointId}-restore.sh`, `cli/${pointId}.dump`, `cli/${pointId}.manifest.json`]);
  });

  it('stops watching on Ctrl-C with exit 130 and how to watch again; the job goes on and Succeeds', async () => {
    ordersProxy.bytesPerSecond = 64 * 1024;
    try {
      const started = await pgkeepJson<JobResource>('backup', 'orders');
      const watching = startCli(['jobs', 'watch', started.name]);
      await watching.stderrMatches(/job \S+ {2}InProgress/);
      watching.child.kill('SIGINT');
      const stopped = await watching.done;
      expect(stopped.code).toBe(130);
      expect(stopped.stderr).toContain(`watch it again: pgkeep jobs watch ${started.name}`);
      const still = await pgkeepJson<JobResource>('jobs', 'show', started.name);
      expect(['NotStarted', 'InProgress']).toContain(still.properties.status);
      ordersProxy.bytesPerSecond = 0;
      const again = await pgkeep('jobs', 'watch', started.name);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^status: +Succeeded$/m);
    } finally {
      ordersProxy.bytesPerSecond = 0;
    }
  });

  it('draws a progress bar with phase, bytes and rate when watching on a terminal', async () => {
    ordersProxy.bytesPerSecond = 128 * 1024;
    try {
      const started = await pgkeepJson<JobResource>('backup', 'orders');
      // script(1) gives the CLI a pseudo-terminal; TERM and COLUMNS make the bar's redraws predictable.
      const command = [process.execPath, bin, 'jobs', 'watch', started.name].map((a) => `'${a}'`).join(' ');
      const tty = await new Promise<CliRun>((resolve, reject) => {
        const child = spawn('script', ['-qfec', command, '/dev/null'], {
          env: {
            PATH: process.env.PATH ?? '',
            TZ,
            TERM: 'xterm',
            COLUMNS: '120',
            PGKEEP_API_URL: apiUrl,
            PGKEEP_API_KEY: apiKey,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
        child.on('error', reject);
        child.on('close', (code) => {
          printed.push(out);
          resolve({ code, stdout: out, stderr: '' });
        });
      });
      expect(tty.code, tty.stdout).toBe(0);
      // Redrawn in place (cursor moves, no newline per update), with the phase, a size and a rate.
      expect(tty.stdout).toContain('\u001b[');
      expect(tty.stdout).toMatch(
        new RegExp(`job ${started.name} {2}InProgress {2}\\d+(\\.\\d)? (B|KiB|MiB) {2}\\d+(\\.\\d)? (B|KiB|MiB)/s`),
      );
      expect(tty.stdout).toMatch(/status: +Succeeded/);
    } finally {
      ordersProxy.bytesPerSecond = 0;
    }
  });

  it('exits 1 with the job error code when a backup fails (its PostgreSQL server stopped)', async () => {
    const protect = await pgkeep(
      'protect',
      'doomed',
      '--policy',
      'weekly',
      '--database',
      'doomed',
      '--credentials',
      'appsetting://DOOMED_DB',
    );
    expect(protect.code, protect.stderr).toBe(0);
    await doomedPg.stop();
    const run = await pgkeep('backup', 'doomed', '--wait', '--json');
    expect(run.code).toBe(1);
    const job = JSON.parse(run.stdout) as JobResource;
    expect(job.properties.status).toBe('Failed');
    const code = job.properties.error!.code;
    expect(code).toBe('UserErrorMissingNetworkSecurityPermissions');
    expect(run.stderr).toContain(`Backup job ${job.name} of 'doomed' ended Failed`);
    expect(run.stderr).toContain(`pgkeep: ${code}: `);
    expect(run.stderr).toMatch(/^hint: \S/m);
  });

  it('answers API errors with exit 1, the code, the message and the hint', async () => {
    const run = await pgkeep('instances', 'show', 'nope');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^pgkeep: UserErrorNotFound: backup instance 'nope' was not found$/m);
    expect(run.stderr).toMatch(/^hint: check the name/m);
    const unauthenticated = await startCli(['instances', 'list'], { PGKEEP_API_KEY: '' }).done;
    expect(unauthenticated.code).toBe(1);
    expect(unauthenticated.stderr).toContain('the API answered 401');
    expect(unauthenticated.stderr).toMatch(/^hint: .*PGKEEP_API_KEY/m);
  });

  it('exits 3 naming the URL and npm start when nothing answers at the API URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/api`;
    const run = await pgkeep('jobs', 'list', '--api', url);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`cannot reach the pgkeep API at ${url} (connection refused)`);
    expect(run.stderr).toContain('npm start');
  });

  it.each([
    [['backup', 'orders', '--bogus'], /unknown option '--bogus'/],
    [['restore', 'orders', '--point', 'latest'], /exactly one of --as-database <name> and --as-files/],
    [
      [
        'restore',
        'orders',
        '--point',
        'latest',
        '--as-database',
        'x',
        '--credentials',
        'appsetting://T',
        '--jobs',
        '0',
      ],
      /--jobs: /,
    ],
    [['restore', 'orders', '--point', 'latest', '--as-files', 'ftp://x'], /--as-files: must be the http\(s\) URL/],
    [
      ['restore', 'orders', '--point', 'latest', '--as-files', 'https://a.example/c', '--prefix', 'a/../b'],
      /--prefix: /,
    ],
    [['jobs', 'list', '--status', 'Sleeping'], /--status: /],
    [['backup', 'orders', '--tag', 'Hourly'], /--tag: /],
    [
      ['protect', 'x', '--policy', 'p', '--database', 'template0', '--credentials', 'appsetting://X'],
      /--database: system databases/,
    ],
  ])('exits 2 on %j before sending anything, naming the option', async (args, message) => {
    // Pointed at a dead URL: exit 2, not 3, shows nothing was sent.
    const run = await pgkeep(...args, '--api', `http://127.0.0.1:${await freePort()}/api`);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('usage: pgkeep');
  });

  it('warns that --key is visible, and --verbose logs requests without the key', async () => {
    const run = await startCli(['instances', 'list', '--verbose', '--key', apiKey], { PGKEEP_API_KEY: '' }).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: --key shows in the process list');
    expect(run.stderr).toMatch(new RegExp(`^pgkeep: GET ${apiUrl}/backupInstances → 200 \\(\\d+ ms\\)$`, 'm'));
  });

  it('shows the health of every instance (GET /api/health), exit 1 only when Critical', async () => {
    const run = await pgkeep('health', '--json');
    const body = JSON.parse(run.stdout) as {
      status: string;
      counts: Record<string, number>;
      instances: { name: string; health: { status: string } }[];
    };
    expect(run.code).toBe(body.status === 'Critical' ? 1 : 0);
    expect(Object.values(body.counts).reduce((a, b) => a + b, 0)).toBe(2);
    // The doomed instance's backup failed: it is listed among those not Healthy.
    expect(body.instances.find((i) => i.name === 'doomed')?.health.status).not.toBe('Healthy');
    const text = await pgkeep('health');
    expect(text.stdout).toMatch(new RegExp(`^status: +${body.status}$`, 'm'));
    expect(text.stdout).toMatch(/^doomed +(Warning|Critical|Unknown) +\S/m);
  });

  it('never prints a secret: no connection string password, no API key, no SAS signature', () => {
    expect(printed.length).toBeGreaterThan(20);
    const all = printed.join('\n');
    expect(argvSecrets).toHaveLength(1);
    for (const secret of [pg.password, doomedPg.password, apiKey, ...argvSecrets]) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/Password=/i);
  });
});
