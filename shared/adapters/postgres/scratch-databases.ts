// The scratch server of a restore test (issue 17): checks it may create databases, finds and drops the scratch
// databases the tests left (only those named pgkeep_verify_<job> AND carrying the job's comment), and runs a plan's
// assertions in a restored database, each read-only with a statement timeout.

import { escapeIdentifier, type Client } from 'pg';
import { PgkeepError } from '../../errors';
import type { PgConnection } from '../../ports';
import { ownedScratch, SCRATCH_PREFIX, type ScratchMark } from '../../domain/restore-tests';
import { connectPgClient, redact } from './connection-string';
import { classifyConnectError } from './pg-readiness';
import { connectMaintenance } from './restore-pipeline';

export interface ScratchServer {
  readonly serverVersion: string;
  readonly major: number;
}

function where(target: PgConnection): string {
  return `${target.host}:${target.port}`;
}

async function withMaintenance<T>(target: PgConnection, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectMaintenance(target);
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof PgkeepError) throw err;
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `the scratch server ${where(target)} failed: ${redact(err instanceof Error ? err.message : String(err), target)}`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Connects to the scratch server and checks that the user may create databases. Connection failures throw the
 * readiness codes (design §8); no CREATEDB (and not superuser) throws UserErrorRestoreTestTargetNotReady.
 */
export async function probeScratchServer(target: PgConnection): Promise<ScratchServer> {
  return withMaintenance(target, async (client) => {
    const { rows } = await client.query<{ version: string; num: string; createdb: boolean | null }>(`
      SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
             (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS createdb`);
    const row = rows[0];
    if (row?.createdb !== true) {
      throw new PgkeepError(
        'UserErrorRestoreTestTargetNotReady',
        `user "${target.user}" on the scratch server ${where(target)} has no CREATEDB right: a restore test creates its scratch database there`,
        { target: '$.properties.target' },
      );
    }
    return { serverVersion: row.version, major: Math.floor(Number(row.num) / 10_000) };
  });
}

export interface ScratchDatabase {
  readonly name: string;
  readonly mark: ScratchMark;
}

/** The scratch databases on the server that a restore test made: name and comment agree (ownedScratch). */
export async function listScratchDatabases(target: PgConnection): Promise<ScratchDatabase[]> {
  return withMaintenance(target, async (client) => {
    const { rows } = await client.query<{ name: string; comment: string | null }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment
       FROM pg_database WHERE starts_with(datname, $1)`,
      [SCRATCH_PREFIX],
    );
    return rows.flatMap((r) => {
      const mark = ownedScratch(r.name, r.comment);
      return mark === undefined ? [] : [{ name: r.name, mark }];
    });
  });
}

/**
 * Drops scratch database `name` if it exists and is still marked as the test's own (name and comment agree, and
 * the comment names `jobId` when given). Returns whether it dropped something. Sessions in it are ended (FORCE).
 */
export async function dropScratchDatabase(target: PgConnection, name: string, jobId?: string): Promise<boolean> {
  return withMaintenance(target, async (client) => {
    const { rows } = await client.query<{ comment: string | null; num: string }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment, current_setting('server_version_num') AS num
       FROM pg_database WHERE datname = $1`,
      [name],
    );
    const row = rows[0];
    if (row === undefined) return false;
    const mark = ownedScratch(name, row.comment);
    if (mark === undefined || (jobId !== undefined && mark.jobId !== jobId)) return false;
    if (Number(row.num) >= 130_000) {
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
    } else {
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)}`);
    }
    return true;
  });
}

export interface AssertionOutcome {
  readonly sql: string;
  readonly passed: boolean;
  readonly message?: string;
}

/** Longest a single assertion may run, whatever is left of the test's time limit. */
const ASSERTION_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs each assertion in `conn.database` in its own read-only transaction, rolled back: it passes when it returns
 * exactly one row of one boolean column that is true. Returns the server's version with the outcomes.
 */
export async function runAssertions(
  conn: PgConnection,
  assertions: readonly string[],
  deadlineMs: number,
): Promise<{ serverVersion: string; outcomes: AssertionOutcome[] }> {
  let client: Client;
  try {
    client = await connectPgClient(conn, { connectTimeoutMs: 30_000 });
  } catch (err) {
    const failed = classifyConnectError(err, conn);
    throw new PgkeepError(failed.code ?? 'SystemErrorInternal', failed.message, { target: 'target', cause: err });
  }
  try {
    const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const outcomes: AssertionOutcome[] = [];
    for (const sql of assertions) {
      const left = deadlineMs - Date.now();
      if (left <= 0) {
        outcomes.push({ sql, passed: false, message: 'not run: the time limit of the test had passed' });
        continue;
      }
      outcomes.push(await runOne(client, conn, sql, Math.min(left, ASSERTION_TIMEOUT_MS)));
    }
    return { serverVersion: version.rows[0]?.v ?? 'unknown', outcomes };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runOne(client: Client, conn: PgConnection, sql: string, timeoutMs: number): Promise<AssertionOutcome> {
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const result = await client.query({ text: sql, rowMode: 'array' });
    // A multi-statement assertion answers with several results; only a single SELECT is an assertion.
    if (Array.isArray(result)) return { sql, passed: false, message: 'is more than one statement' };
    const rows = result.rows as unknown[][];
    if (rows.length !== 1 || result.fields.length !== 1) {
      return {
        sql,
        passed: false,
        message: `returned ${rows.length} row(s) of ${result.fields.length} column(s), not one boolean`,
      };
    }
    const value = rows[0]?.[0];
    if (typeof value !== 'boolean')
      return { sql, passed: false, message: `returned ${JSON.stringify(value)}, not a boolean` };
    return value ? { sql, passed: true } : { sql, passed: false, message: 'returned false' };
  } catch (err) {
    return {
      sql,
      passed: false,
      message: redact(err instanceof Error ? err.message : String(err), conn).slice(0, 500),
    };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}
