// A throwaway MariaDB for the expiry benchmark's `--blob-metadata mariadb`: Azurite then keeps blob metadata in SQL
// tables with indexes instead of its LokiJS collections, whose every blob insert and delete costs time proportional
// to the whole container (index maintenance), which at 200,000 blobs is what a run would measure. System binaries
// (Debian package `mariadb-server`), a temporary data directory, a random password that only Azurite's environment
// sees; everything is removed on stop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/azurite';

export interface BenchMariaDb {
  /** `mysql://…` with the password, for Azurite's AZURITE_DB (environment only). */
  readonly url: string;
  stop(): Promise<void>;
}

function binary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${name} not found: install MariaDB (Debian: apt-get install mariadb-server) for --blob-metadata mariadb`,
  );
}

/** Runs SQL through the socket as root (no password yet), the statements on stdin rather than in argv. */
function runSql(socket: string, sql: string): void {
  const res = spawnSync(binary('mariadb'), ['--no-defaults', `--socket=${socket}`, '-uroot'], { input: sql });
  if (res.status !== 0) throw new Error(`mariadb client failed: ${res.stderr.toString().trim()}`);
}

export async function startBenchMariaDb(): Promise<BenchMariaDb> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgkeep-bench-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'sock');
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ['--user=root'] : [];
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const install = spawnSync(
      binary('mariadb-install-db'),
      ['--no-defaults', ...userArgs, `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr.trim()}`);
    const port = await freePort();
    child = spawn(
      binary('mariadbd'),
      [
        '--no-defaults',
        ...userArgs,
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        // A benchmark database: durability of the metadata across a machine crash is not the point.
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-log-bin',
        `--log-error=${path.join(dir, 'error.log')}`,
        `--pid-file=${path.join(dir, 'pid')}`,
      ],
      { stdio: 'ignore' },
    );
    const until = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) {
        const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`mariadbd exited with code ${child.exitCode}: ${log.slice(-500)}`);
      }
      if (existsSync(socket)) break;
      if (Date.now() > until) throw new Error('mariadbd did not open its socket in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    const password = randomBytes(12).toString('hex');
    runSql(
      socket,
      `CREATE DATABASE azurite_blob;
       CREATE USER 'azurite'@'127.0.0.1' IDENTIFIED BY '${password}';
       GRANT ALL ON azurite_blob.* TO 'azurite'@'127.0.0.1';`,
    );
    return { url: `mysql://azurite:${password}@127.0.0.1:${port}/azurite_blob`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
