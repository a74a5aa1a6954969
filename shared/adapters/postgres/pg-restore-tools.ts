// Picks the pg_restore that restores a recovery point: it must read the archive (its major ≥ the pg_dump major that
// wrote it) and should not be newer than the target server when an older qualifying one is installed.
import { PgkeepError } from '../../errors';
import type { PgClientTools } from '../../ports';
import { parseToolVersion } from './pg-binaries';

/**
 * The tools to restore a dump written by pg_dump `pgDumpVersion` (the manifest's value, e.g. "15.18" or
 * "pg_dump (PostgreSQL) 15.18") into a server of `targetServerMajor`.
 *
 * A pg_restore reads archives of its own and older pg_dump majors only, so candidates have major ≥ the dump's.
 * Among them: the highest whose major is ≤ the target's (a client newer than the server may send settings the
 * server does not know), else the highest candidate. Without `targetServerMajor`: the highest candidate.
 *
 * Throws PgkeepError UserErrorPgDumpVersionMismatch (the code of design §8 for "no suitable client tool installed";
 * reused rather than adding a restore-only code) when none qualifies, or UserErrorInvalidRequest when the version
 * cannot be read.
 */
export function pickPgRestore(
  pgDumpVersion: string,
  installed: readonly PgClientTools[],
  targetServerMajor?: number,
): PgClientTools {
  const dumpMajor = parseDumpMajor(pgDumpVersion);
  const candidates = installed.filter((t) => t.major >= dumpMajor).sort((a, b) => b.major - a.major);
  const notNewerThanTarget =
    targetServerMajor === undefined ? undefined : candidates.find((t) => t.major <= targetServerMajor);
  const chosen = notNewerThanTarget ?? candidates[0];
  if (chosen === undefined) {
    const majors = [...new Set(installed.map((t) => t.major))].sort((a, b) => a - b);
    const have = majors.length === 0 ? 'none is installed' : `installed majors: ${majors.join(', ')}`;
    throw new PgkeepError(
      'UserErrorPgDumpVersionMismatch',
      `the recovery point was written by pg_dump ${dumpMajor} but no pg_restore of major ${dumpMajor} or newer is available (${have})`,
      {
        target: 'pg_restore',
        hint: 'install a pg_restore whose major version is at least the pg_dump major of the recovery point (or set PG_BIN_DIRS to where it is)',
      },
    );
  }
  return chosen;
}

function parseDumpMajor(pgDumpVersion: string): number {
  const text = pgDumpVersion.trim();
  const parsed = parseToolVersion(text.includes('(PostgreSQL)') ? text : `(PostgreSQL) ${text}`);
  if (parsed === undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', 'the manifest has no readable pg_dump version', {
      target: 'pgDumpVersion',
    });
  }
  return parsed.major;
}
