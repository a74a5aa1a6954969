// The benchmark's PostgreSQL 15 server: in a temp dir, or kept in .bench-data/ between runs (--keep) so a generated
// gigabyte is not generated again. Unlike the test servers it is tuned for bulk loading, not for many small servers.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { PgConnection } from '../../shared/ports';
import { freePort } from '../support/azurite';
import { initCluster, postgresIds, startCluster, systemPgRunner, SYSTEM_BIN, type PgRunner } from '../support/postgres';

// Durability off (the data is regenerable); enough WAL and buffers that a bulk load does not checkpoint constantly.
const SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  autovacuum: 'off',
  shared_buffers: '128MB',
  max_wal_size: '4GB',
  checkpoint_timeout: '30min',
  max_connections: '20',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
};

export interface BenchPostgres {
  readonly port: number;
  connectionFor(db: string): PgConnection;
  /** A connected client for `db` (default `postgres`); the caller ends it. */
  client(db?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * Starts the server. With `keepDir`, the cluster lives there and survives stop() (its password beside it, readable
 * by root only); without, it lives in a temp dir that stop() removes.
 */
export async function startBenchPostgres(options: { keepDir?: string } = {}): Promise<BenchPostgres> {
  const root = options.keepDir ?? (await mkdtemp(path.join(tmpdir(), 'pgkeep-bench-pg-')));
  await mkdir(root, { recursive: true });
  const dataDir = path.join(root, 'pg15');
  // The server refuses to run as root: as root, the postgres OS user runs it and owns its folder.
  const ids = userInfo().uid === 0 ? await postgresIds() : undefined;
  const run = systemPgRunner();
  if (ids) await chown(root, ids.uid, ids.gid);

  try {
    const password = await ensureCluster(root, dataDir, run, ids);
    const port = await freePort();
    await startCluster(
      run,
      SYSTEM_BIN,
      dataDir,
      path.join(root, 'server.log'),
      { ...SETTINGS, port: String(port) },
      120,
    );

    const connectionFor = (db: string): PgConnection => ({
      host: '127.0.0.1',
      port,
      database: db,
      user: 'postgres',
      password,
      sslMode: 'disable',
    });
    let stopped = false;
    return {
      port,
      connectionFor,
      async client(db = 'postgres') {
        const c = new pg.Client({ ...connectionFor(db), ssl: false });
        await c.connect();
        return c;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          // A kept cluster is stopped cleanly so that the next run finds consistent data without recovery.
          await run(path.join(SYSTEM_BIN, 'pg_ctl'), [
            'stop',
            '-w',
            '-m',
            options.keepDir ? 'fast' : 'immediate',
            '-D',
            dataDir,
          ]);
        } finally {
          if (!options.keepDir) await rm(root, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    if (!options.keepDir) await rm(root, { recursive: true, force: true });
    throw err;
  }
}

/** Creates the cluster unless a kept one is there; returns the superuser's password. */
async function ensureCluster(
  root: string,
  dataDir: string,
  run: PgRunner,
  ids: { uid: number; gid: number } | undefined,
): Promise<string> {
  const pwFile = path.join(root, 'password');
  if (existsSync(path.join(dataDir, 'PG_VERSION')) && existsSync(pwFile)) {
    return (await readFile(pwFile, 'utf8')).trim();
  }
  await rm(dataDir, { recursive: true, force: true });
  const password = randomBytes(18).toString('base64url');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (ids) await chown(pwFile, ids.uid, ids.gid);
  await initCluster(run, SYSTEM_BIN, dataDir, 'postgres', pwFile);
  return password;
}
