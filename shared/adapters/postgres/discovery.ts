// What a PostgreSQL server holds besides one database (issue 15): the databases discovery lists, the globals
// (roles, memberships, tablespaces) `pg_dumpall --globals-only --no-role-passwords` writes, and creating the roles a
// restore needs from such a script on another server.

import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Client } from 'pg';
import { DatabaseError, escapeIdentifier } from 'pg';
import { PgkeepError, type ErrorCode } from '../../errors';
import { pgConnectionLost } from '../network-errors';
import type { PgClientTools, PgConnection } from '../../ports';
import { connectPgClient, pgEnv, redact } from './connection-string';
import { classifyConnectError } from './pg-readiness';

export interface DiscoveredDatabase {
  readonly name: string;
  /** pg_database_size, or undefined when the login may not connect to it. */
  readonly sizeBytes?: number;
  readonly isTemplate: boolean;
  readonly allowConnections: boolean;
}

/** Connects where `conn` says and throws the readiness check's code when that fails (unreachable, login, …). */
async function connectOrThrow(conn: PgConnection, connectTimeoutMs = 15_000): Promise<Client> {
  try {
    return await connectPgClient(conn, { connectTimeoutMs });
  } catch (err) {
    const check = classifyConnectError(err, conn);
    throw new PgkeepError(check.code ?? 'UserErrorMissingNetworkSecurityPermissions', check.message, {
      ...(check.remediation ? { hint: check.remediation } : {}),
    });
  }
}

/** Every database of the server `conn` reaches, by name, with its size where the login may connect to it. */
export async function listDatabases(conn: PgConnection): Promise<DiscoveredDatabase[]> {
  const client = await connectOrThrow(conn);
  try {
    const { rows } = await client.query<{ datname: string; size: string | null; t: boolean; c: boolean }>(`
      SELECT datname, datistemplate AS t, datallowconn AS c,
             CASE WHEN datallowconn AND has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END AS size
      FROM pg_database ORDER BY datname`);
    return rows.map((r) => ({
      name: r.datname,
      ...(r.size !== null ? { sizeBytes: Number(r.size) } : {}),
      isTemplate: r.t,
      allowConnections: r.c,
    }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code: ErrorCode =
      err instanceof DatabaseError && err.code === '42501'
        ? 'UserErrorMissingDBPermissions'
        : pgConnectionLost.test(message) || (err instanceof DatabaseError && err.code?.startsWith('08'))
          ? 'UserErrorServerConnectionClosed'
          : 'SystemErrorInternal';
    throw new PgkeepError(code, `cannot list the databases of ${conn.host}:${conn.port}: ${redact(message, conn)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface GlobalsDump {
  /** The SQL script: CREATE ROLE / ALTER ROLE / GRANT … TO …, tablespaces; never a password. */
  readonly script: string;
  readonly pgDumpallVersion: string;
  /** pg_dumpall's warnings (e.g. roles a managed server does not let the login read). */
  readonly warnings: readonly string[];
}

/**
 * Runs `pg_dumpall --globals-only --no-role-passwords` against the server (connecting to conn.database), with the
 * password in the child's environment only. Without passwords pg_dumpall reads pg_roles, not pg_authid, which
 * managed servers (Azure) allow. Throws the readiness codes when it cannot connect, else the code of
 * classifyPgDumpallFailure with its stderr (password removed).
 */
export async function dumpGlobals(
  conn: PgConnection,
  tools: Pick<PgClientTools, 'binDir' | 'version'>,
): Promise<GlobalsDump> {
  // pg_dumpall --database=… says only "could not connect" for any failed connect: a probe first gives the
  // readiness check's code (refused login, unreachable, missing database).
  await (await connectOrThrow(conn)).end();
  const bin = path.join(tools.binDir, 'pg_dumpall');
  const child = spawn(bin, ['--globals-only', '--no-role-passwords', '--no-password', `--database=${conn.database}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...pgEnv(conn), PGAPPNAME: 'pgkeep-globals' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (err = (err + s).slice(-8192)));
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      err += e.message;
      resolve(null);
    });
    child.once('close', (c) => resolve(c));
  });
  const stderr = redact(err, conn).trim();
  if (code !== 0) {
    throw new PgkeepError(
      classifyPgDumpallFailure(stderr),
      `pg_dumpall --globals-only of ${conn.host}:${conn.port} failed: ${stderr || `exit ${String(code)}`}`,
    );
  }
  return {
    script: Buffer.concat(out).toString('utf8'),
    pgDumpallVersion: tools.version,
    warnings: stderr === '' ? [] : stderr.split('\n').filter((l) => /warning/i.test(l)),
  };
}

/**
 * The registry's code for a failed pg_dumpall from what libpq and pg_dumpall print: the same codes the readiness
 * checks and the dump use (refused login, unreachable server, lost connection, missing privilege, version), so a
 * failed globals backup says what to fix; anything else is SystemErrorDumpFailed.
 */
export function classifyPgDumpallFailure(stderr: string): ErrorCode {
  if (
    /password authentication failed|authentication failed for user|no password supplied|no pg_hba\.conf entry/i.test(
      stderr,
    )
  ) {
    return 'UserErrorDBUserAuthFailed';
  }
  if (/server version.*pg_dumpall version|aborting because of server version mismatch/i.test(stderr)) {
    return 'UserErrorPgDumpVersionMismatch';
  }
  if (pgConnectionLost.test(stderr)) return 'UserErrorServerConnectionClosed';
  if (
    /could not connect|connection refused|could not translate host name|timeout expired|Network is unreachable/i.test(
      stderr,
    )
  ) {
    return 'UserErrorMissingNetworkSecurityPermissions';
  }
  if (/permission denied/i.test(stderr)) return 'UserErrorMissingDBPermissions';
  return 'SystemErrorDumpFailed';
}

/** A role's name in a statement: a quoted identifier (with "" inside) or a bare one. */
const NAME = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const unquote = (n: string) => (n.startsWith('"') ? n.slice(1, -1).replace(/""/g, '"') : n.toLowerCase());

export interface GlobalsRoles {
  /** Per role: the statements that create and configure it, in script order. */
  readonly roles: ReadonlyMap<string, readonly string[]>;
  /** `GRANT a TO b …` statements with the granted role and the member. */
  readonly memberships: readonly { readonly role: string; readonly member: string; readonly sql: string }[];
}

/** Reads the roles and memberships out of a pg_dumpall --globals-only script (one statement per line). */
export function parseGlobals(script: string): GlobalsRoles {
  const roles = new Map<string, string[]>();
  const memberships: { role: string; member: string; sql: string }[] = [];
  const roleStmt = new RegExp(String.raw`^(?:CREATE|ALTER) ROLE ${NAME}(?=[\s;])`);
  const grant = new RegExp(String.raw`^GRANT ${NAME} TO ${NAME}(?=[\s;])`);
  for (const line of script.split('\n')) {
    const sql = line.trim();
    const r = roleStmt.exec(sql);
    if (r) {
      const name = unquote(r[1]!);
      roles.set(name, [...(roles.get(name) ?? []), sql]);
      continue;
    }
    const g = grant.exec(sql);
    if (g)
      memberships.push({ role: unquote(g[1]!), member: unquote(g[2]!), sql: sql.replace(/ GRANTED BY .*;$/, ';') });
  }
  return { roles, memberships };
}

export interface ApplyRolesResult {
  readonly created: readonly string[];
  /** Roles or attributes the target refused (e.g. SUPERUSER on a managed server), and roles not in the globals. */
  readonly warnings: readonly { readonly code: string; readonly message: string }[];
}

/**
 * Creates on the target server the roles among `needed` (all of the script's when undefined) that it lacks, with
 * their attributes and settings, then the memberships among roles that now exist. Existing roles are never
 * altered. Every refused statement is a warning naming the role, never a failure: a restore with owner keep then
 * reports the objects whose owner could not be set, as before.
 */
export async function createMissingRoles(
  client: Client,
  script: string,
  needed?: readonly string[],
): Promise<ApplyRolesResult> {
  const globals = parseGlobals(script);
  const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles');
  const existing = new Set(rows.map((r) => r.rolname));
  const wanted = needed ?? [...globals.roles.keys()];
  const created: string[] = [];
  const warnings: { code: string; message: string }[] = [];
  const run = async (sql: string): Promise<string | undefined> => {
    try {
      await client.query(sql);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  for (const role of wanted) {
    if (existing.has(role) || role.startsWith('pg_')) continue;
    const statements = globals.roles.get(role);
    if (!statements) {
      warnings.push({ code: 'RoleNotInGlobals', message: `role "${role}" is not in the server's globals` });
      continue;
    }
    const [first, ...rest] = statements;
    // pg_dumpall writes CREATE ROLE x; then ALTER ROLE x WITH …; a refused attribute must not lose the role.
    const failure = first === undefined ? 'no statement' : await run(first);
    if (failure !== undefined) {
      warnings.push({ code: 'RoleNotCreated', message: `role "${role}" could not be created: ${failure}` });
      continue;
    }
    created.push(role);
    existing.add(role);
    for (const sql of rest) {
      const refused = await run(sql);
      if (refused === undefined) continue;
      // Retry the attribute list without what managed servers refuse to grant.
      const softened = sql.replace(/\b(SUPERUSER|REPLICATION|BYPASSRLS)\b/g, (a) => `NO${a}`);
      if (softened !== sql) await run(softened);
      warnings.push({ code: 'RoleAttributeNotSet', message: `role "${role}": ${refused}` });
    }
  }
  for (const m of globals.memberships) {
    if (!created.includes(m.member) && !created.includes(m.role)) continue;
    if (!existing.has(m.member) || !existing.has(m.role)) continue;
    const refused = await run(m.sql);
    if (refused !== undefined) {
      warnings.push({
        code: 'RoleMembershipNotSet',
        message: `GRANT ${escapeIdentifier(m.role)} TO ${escapeIdentifier(m.member)}: ${refused}`,
      });
    }
  }
  return { created, warnings };
}
