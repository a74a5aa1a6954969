// Finds the installed PostgreSQL client tools (pg_dump + pg_restore per major) and picks the pg_dump for a server.
// Rule: the same major as the server if installed, else the lowest newer one (see pickPgDump).
import { execFile } from 'node:child_process';
import { access, constants, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PgkeepError } from '../../errors';
import type { PgClientTools, ReadinessCheck } from '../../ports';

const execFileAsync = promisify(execFile);

export interface DiscoverPgToolsOptions {
  /** PG_BIN_DIRS, split: searched first, so an operator's choice wins over the system's. */
  readonly extraDirs?: readonly string[];
  /** The directories of PATH; default: this process's PATH (the OS's, not a pgkeep setting). */
  readonly pathDirs?: readonly string[];
  /** Where Debian/Ubuntu put one directory per installed major; default /usr/lib/postgresql. */
  readonly versionedRoot?: string;
}

const cache = new Map<string, Promise<PgClientTools[]>>();

/**
 * The installed client tool sets, one per major (the first directory found for a major wins: PG_BIN_DIRS, then
 * /usr/lib/postgresql/<major>/bin, then PATH), sorted by major. A directory counts only if it has both pg_dump and
 * pg_restore and both report the same version. Cached per process and per search list: installing a client
 * needs a restart, as it does for any deployed binary.
 */
export function discoverPgTools(options: DiscoverPgToolsOptions = {}): Promise<PgClientTools[]> {
  const key = JSON.stringify([options.extraDirs ?? [], options.pathDirs ?? null, options.versionedRoot ?? null]);
  let found = cache.get(key);
  if (found === undefined) {
    found = searchDirs(options).then(probeAll);
    // A failed probe (unexpected I/O error) must not poison the cache for the life of the process.
    found.catch(() => cache.delete(key));
    cache.set(key, found);
  }
  return found;
}

/**
 * One line for the start of the app when this machine lacks a tool every backup and restore needs — a pg_dump +
 * pg_restore pair, or zstd on PATH — with the command that installs them; undefined when nothing is missing.
 */
export async function missingToolsWarning(options: DiscoverPgToolsOptions = {}): Promise<string | undefined> {
  const missing: string[] = [];
  if ((await discoverPgTools(options)).length === 0) missing.push('pg_dump and pg_restore');
  const pathDirs = options.pathDirs ?? parsePgBinDirs(process.env.PATH ?? '');
  const zstd = await Promise.all(pathDirs.map((d) => isExecutable(path.join(d, 'zstd'))));
  if (!zstd.includes(true)) missing.push('zstd');
  if (missing.length === 0) return undefined;
  return (
    `pgkeep: ${missing.join(' and ')} not found (searched PG_BIN_DIRS, /usr/lib/postgresql/*/bin and PATH): ` +
    'backups and restores fail until they are installed, e.g. apt-get install postgresql-client zstd'
  );
}

/** Splits a PG_BIN_DIRS value (":"-separated, blanks ignored). */
export function parsePgBinDirs(value: string): string[] {
  return value
    .split(':')
    .map((d) => d.trim())
    .filter((d) => d !== '');
}

/**
 * The tools to dump a server of `serverMajor` with. pg_dump refuses servers newer than itself, and an older-format
 * archive is the one more pg_restore versions can read, so: the same major if installed, else the lowest newer one.
 * Throws PgkeepError UserErrorPgDumpVersionMismatch naming the server major and the installed majors.
 */
export function pickPgDump(serverMajor: number, installed: readonly PgClientTools[]): PgClientTools {
  const candidates = installed.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
  const chosen = candidates[0];
  if (chosen === undefined) {
    throw new PgkeepError('UserErrorPgDumpVersionMismatch', mismatchMessage(serverMajor, installed), {
      target: 'pg_dump',
    });
  }
  return chosen;
}

/** The readiness line for "a pg_dump ≥ the server's major is installed" (design §8). */
export function pgDumpReadinessCheck(
  serverMajor: number | undefined,
  installed: readonly PgClientTools[],
): ReadinessCheck {
  const name = 'pgDumpVersion';
  if (serverMajor === undefined) {
    return {
      name,
      status: 'NotApplicable',
      message: 'the server version is unknown because the server was not reached',
    };
  }
  try {
    const tools = pickPgDump(serverMajor, installed);
    return {
      name,
      status: 'Succeeded',
      message: `pg_dump ${tools.version} will dump this PostgreSQL ${serverMajor} server`,
    };
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    return { name, status: 'Failed', code: err.code, message: err.message, remediation: err.hint };
  }
}

function mismatchMessage(serverMajor: number, installed: readonly PgClientTools[]): string {
  const majors = [...new Set(installed.map((t) => t.major))].sort((a, b) => a - b);
  const have = majors.length === 0 ? 'none is installed' : `installed majors: ${majors.join(', ')}`;
  return `the server runs PostgreSQL ${serverMajor} but no pg_dump of major ${serverMajor} or newer is available (${have})`;
}

async function searchDirs(options: DiscoverPgToolsOptions): Promise<string[]> {
  const root = options.versionedRoot ?? '/usr/lib/postgresql';
  let versioned: string[] = [];
  try {
    versioned = (await readdir(root))
      .filter((d) => /^\d+(\.\d+)?$/.test(d))
      // Newest first only for a stable order; one per major anyway.
      .sort((a, b) => Number(b) - Number(a))
      .map((d) => path.join(root, d, 'bin'));
  } catch {
    // No Debian-style layout on this machine.
  }
  const pathDirs = options.pathDirs ?? parsePgBinDirs(process.env.PATH ?? '');
  return [...(options.extraDirs ?? []), ...versioned, ...pathDirs];
}

async function probeAll(dirs: readonly string[]): Promise<PgClientTools[]> {
  const probed = await Promise.all(dirs.map(probeDir));
  const byMajor = new Map<number, PgClientTools>();
  for (const tools of probed) {
    if (tools !== undefined && !byMajor.has(tools.major)) byMajor.set(tools.major, tools);
  }
  return [...byMajor.values()].sort((a, b) => a.major - b.major);
}

async function probeDir(dir: string): Promise<PgClientTools | undefined> {
  const pgDump = path.join(dir, 'pg_dump');
  const pgRestore = path.join(dir, 'pg_restore');
  if (!(await isExecutable(pgDump)) || !(await isExecutable(pgRestore))) return undefined;
  const [dumpVersion, restoreVersion] = await Promise.all([toolVersion(pgDump), toolVersion(pgRestore)]);
  if (dumpVersion === undefined || dumpVersion.version !== restoreVersion?.version) return undefined;
  return { major: dumpVersion.major, version: dumpVersion.version, binDir: await realpath(dir), pgDump, pgRestore };
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Parses `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`, `pg_restore (PostgreSQL) 17.2`, `… 9.6.24`. */
export function parseToolVersion(output: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output);
  if (m === null) return undefined;
  const first = Number(m[1]);
  // Before 10 the major was two numbers (9.6); we report its first part, which is enough to compare with ≥ 10.
  const version = [m[1], m[2], m[3]].filter((p) => p !== undefined).join('.');
  return { major: first, version };
}

async function toolVersion(file: string): Promise<{ major: number; version: string } | undefined> {
  try {
    const { stdout } = await execFileAsync(file, ['--version'], { timeout: 10_000, env: { LC_ALL: 'C' } });
    return parseToolVersion(stdout);
  } catch {
    // A broken or foreign binary of that name: not a usable tool.
    return undefined;
  }
}
