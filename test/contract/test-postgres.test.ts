import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagedServerDir, runnableServerBinDir, startPostgres, type PgMajor } from '../support/postgres';

async function canConnect(
  conn: ReturnType<Awaited<ReturnType<typeof startPostgres>>['connectionFor']>,
): Promise<boolean> {
  const client = new pg.Client({ ...conn, ssl: false, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPostgres', () => {
  it.each<PgMajor>([15, 13, 17])('serves PostgreSQL %i with password auth on its own port', async (major) => {
    const server = await startPostgres({ major });
    try {
      const rows = await server.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Math.floor(Number(rows[0]?.server_version_num) / 10_000)).toBe(major);
      expect(await canConnect(server.connectionFor('postgres', server.superuser, 'wrong'))).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('kill() takes the server down at once, and stop() still cleans up after it', async () => {
    const server = await startPostgres();
    try {
      expect(await canConnect(server.connectionFor('postgres'))).toBe(true);
      await server.kill();
      expect(await canConnect(server.connectionFor('postgres'))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});

// As root the servers run as the `postgres` OS user, who cannot enter a checkout under a directory only root may
// enter (`mktemp -d`, /root). Such a checkout is built here: a 0700 folder holding node_modules/pg13-linux-x64, its
// native/ a link to the real one (so the path, not the files, is what keeps the server's user out).
describe.runIf(userInfo().uid === 0)('runnableServerBinDir from a checkout only root may enter', () => {
  let closed: string;
  let copyRoot: string;
  const packageIn = async (checkout: string): Promise<string> => {
    const pkg = path.join(checkout, 'node_modules', 'pg13-linux-x64');
    await mkdir(pkg, { recursive: true });
    await copyFile(path.resolve(packagedServerDir(13), '../package.json'), path.join(pkg, 'package.json'));
    await symlink(packagedServerDir(13), path.join(pkg, 'native'));
    return path.join(pkg, 'native');
  };
  beforeAll(async () => {
    closed = await mkdtemp(path.join(tmpdir(), 'pgkeep-root-only-'));
    await chmod(closed, 0o700);
    copyRoot = await mkdtemp(path.join(tmpdir(), 'pgkeep-server-copies-'));
    await chmod(copyRoot, 0o755);
  });
  afterAll(async () => {
    await rm(closed, { recursive: true, force: true });
    await rm(copyRoot, { recursive: true, force: true });
  });

  it('starts the server from one copy of the binaries that concurrent callers share', async () => {
    const [a, b] = [await packageIn(path.join(closed, 'a')), await packageIn(path.join(closed, 'b'))];
    const [binA, binB] = await Promise.all([
      runnableServerBinDir(a, { copyRoot }),
      runnableServerBinDir(b, { copyRoot }),
    ]);
    expect(binA).toBe(binB);
    expect(binA.startsWith(copyRoot + path.sep)).toBe(true);
    // One finished copy; the losing worker's staging folder is gone.
    expect(await readdir(copyRoot)).toEqual([path.basename(path.dirname(binA))]);

    const server = await startPostgres({ major: 13, serverFiles: { nativeDir: a, copyRoot } });
    try {
      const rows = await server.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Math.floor(Number(rows[0]?.server_version_num) / 10_000)).toBe(13);
    } finally {
      await server.stop();
    }
  });

  it('says what to do when the server user cannot enter the copy folder either', async () => {
    const closedCopies = await mkdtemp(path.join(closed, 'copies-'));
    const native = await packageIn(path.join(closed, 'c'));
    await expect(runnableServerBinDir(native, { copyRoot: closedCopies })).rejects.toThrow(
      /postgres OS user cannot run the PostgreSQL server in .*Permission denied.*nor a copy of it under .*clone pgkeep where other users may enter.*TMPDIR/,
    );
  });
});
