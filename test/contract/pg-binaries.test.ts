import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discoverPgTools,
  missingToolsWarning,
  parsePgBinDirs,
  parseToolVersion,
  pickPgDump,
} from '../../shared/adapters/postgres/pg-binaries';
import { PgkeepError } from '../../shared/errors';
import type { PgClientTools } from '../../shared/ports';

const systemPgDump = '/usr/lib/postgresql/15/bin/pg_dump';

/** A directory holding stand-in client tools that report `version` (what a PG_BIN_DIRS entry looks like). */
async function fakeToolDir(root: string, version: string, tools = ['pg_dump', 'pg_restore']): Promise<string> {
  const dir = path.join(root, version);
  await mkdir(dir, { recursive: true });
  for (const tool of tools) {
    const file = path.join(dir, tool);
    await writeFile(file, `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`);
    await chmod(file, 0o755);
  }
  return dir;
}

const tools = (...majors: number[]): PgClientTools[] =>
  majors.map((major) => ({
    major,
    version: `${major}.1`,
    binDir: `/opt/pg${major}/bin`,
    pgDump: `/opt/pg${major}/bin/pg_dump`,
    pgRestore: `/opt/pg${major}/bin/pg_restore`,
  }));

describe('discoverPgTools', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pgkeep-bins-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds the system PostgreSQL 15 client with the version pg_dump reports', async () => {
    const found = await discoverPgTools({ pathDirs: [] });
    const reported = execFileSync(systemPgDump, ['--version'], { encoding: 'utf8' });
    const pg15 = found.find((t) => t.major === 15);
    expect(pg15).toBeDefined();
    expect(reported).toContain(pg15?.version);
    expect(pg15?.pgDump).toBe(systemPgDump);
    expect(pg15?.pgRestore).toBe('/usr/lib/postgresql/15/bin/pg_restore');
  });

  it('adds the majors found in PG_BIN_DIRS, one entry per major, sorted', async () => {
    const dir17 = await fakeToolDir(root, '17.4');
    const dir16 = await fakeToolDir(root, '16.2');
    const found = await discoverPgTools({ extraDirs: [dir17, dir16], pathDirs: [] });
    expect(found.map((t) => t.major)).toEqual([15, 16, 17]);
    expect(found.find((t) => t.major === 17)).toMatchObject({ version: '17.4', pgDump: path.join(dir17, 'pg_dump') });
  });

  it('ignores a directory that has pg_dump but no pg_restore', async () => {
    const lonely = await fakeToolDir(root, '18.0', ['pg_dump']);
    const found = await discoverPgTools({ extraDirs: [lonely], pathDirs: [] });
    expect(found.map((t) => t.major)).not.toContain(18);
  });

  it('lets a PG_BIN_DIRS entry win over the system directory of the same major', async () => {
    const own15 = await fakeToolDir(root, '15.99');
    const found = await discoverPgTools({ extraDirs: [own15], pathDirs: [] });
    expect(found.find((t) => t.major === 15)?.version).toBe('15.99');
  });

  it('probes once per process for the same search list', async () => {
    const a = discoverPgTools({ pathDirs: ['/usr/bin'] });
    const b = discoverPgTools({ pathDirs: ['/usr/bin'] });
    expect(a).toBe(b);
    expect((await a).length).toBeGreaterThan(0);
  });
});

describe('pickPgDump', () => {
  it('prefers the same major as the server', () => {
    expect(pickPgDump(15, tools(13, 15, 17)).major).toBe(15);
  });

  it('falls back to the lowest newer major, not the highest', () => {
    expect(pickPgDump(14, tools(13, 15, 16, 17)).major).toBe(15);
  });

  it('throws UserErrorPgDumpVersionMismatch naming the server major and the installed majors', () => {
    let caught: unknown;
    try {
      pickPgDump(17, tools(13, 15));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PgkeepError);
    expect((caught as PgkeepError).code).toBe('UserErrorPgDumpVersionMismatch');
    expect((caught as PgkeepError).message).toMatch(/PostgreSQL 17/);
    expect((caught as PgkeepError).message).toMatch(/13, 15/);
  });

  it('throws UserErrorPgDumpVersionMismatch for a 17 server when only the system 15 is installed', async () => {
    const installed = await discoverPgTools({ pathDirs: [] });
    expect(() => pickPgDump(17, installed)).toThrow(
      expect.objectContaining({ code: 'UserErrorPgDumpVersionMismatch' }),
    );
  });
});

describe('parseToolVersion', () => {
  it('reads the major and version from Debian, plain and pre-10 output', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toEqual({
      major: 15,
      version: '15.18',
    });
    expect(parseToolVersion('pg_restore (PostgreSQL) 17.2')).toEqual({ major: 17, version: '17.2' });
    expect(parseToolVersion('pg_dump (PostgreSQL) 9.6.24')).toEqual({ major: 9, version: '9.6.24' });
    expect(parseToolVersion('something else')).toBeUndefined();
  });
});

describe('parsePgBinDirs', () => {
  it('splits on ":" and drops blanks', () => {
    expect(parsePgBinDirs(' /a/bin::/b/bin ')).toEqual(['/a/bin', '/b/bin']);
    expect(parsePgBinDirs('')).toEqual([]);
  });
});

describe('missingToolsWarning', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(path.join(tmpdir(), 'pgkeep-no-tools-'));
  });
  afterAll(async () => {
    await rm(empty, { recursive: true, force: true });
  });

  it('says nothing on a machine with a PostgreSQL client and zstd', async () => {
    expect(await missingToolsWarning()).toBeUndefined();
  });

  it('names every missing tool and the command that installs them', async () => {
    const warning = await missingToolsWarning({ pathDirs: [empty], versionedRoot: empty });
    expect(warning).toContain('pg_dump and pg_restore and zstd not found');
    expect(warning).toContain('apt-get install postgresql-client zstd');
  });

  it('names only zstd when a PG_BIN_DIRS entry has the client tools', async () => {
    const dir = await fakeToolDir(empty, '16.1');
    const warning = await missingToolsWarning({ extraDirs: [dir], pathDirs: [empty], versionedRoot: empty });
    expect(warning).toMatch(/^pgkeep: zstd not found/);
  });
});
