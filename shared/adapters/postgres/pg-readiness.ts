// The database half of backup readiness (design §8): can we reach the server, log in, and read everything pg_dump
// reads? Returns a pure-data report; assertReady turns its first failure into a PgkeepError.
import { DatabaseError, escapeIdentifier, type Client } from 'pg';
import { PgkeepError, type ErrorCode, type ErrorDetail } from '../../errors';
import type { DbReadinessReport, PgConnection, ReadinessCheck } from '../../ports';
import { connectPgClient, redact } from './connection-string';
import { networkErrnos } from '../network-errors';

export interface CheckDatabaseReadinessOptions {
  /** How long to wait for the TCP connection and login; default 15 s. */
  readonly connectTimeoutMs?: number;
}

export const readinessCheckNames = {
  reachable: 'serverReachable',
  login: 'userCanLogIn',
  database: 'databaseExists',
  privileges: 'userCanReadDatabase',
} as const;

/** Objects the user cannot read, as the permission check finds them. */
export interface MissingPrivilege {
  readonly kind: 'schema' | 'table' | 'sequence' | 'large object';
  /** Schema of a table or sequence; the schema's own name for a schema; undefined for a large object. */
  readonly schema?: string;
  /** Table, sequence or schema name, or the large object's oid. */
  readonly name: string;
}

/**
 * Connects as the backup user and checks, in order: the server is reachable, the user can log in, the database
 * exists, and the user can USAGE every schema and SELECT every table, sequence and large object pg_dump will read.
 * A check that cannot run because an earlier one failed is NotApplicable. Never throws for an expected failure.
 */
export async function checkDatabaseReadiness(
  conn: PgConnection,
  options: CheckDatabaseReadinessOptions = {},
): Promise<DbReadinessReport> {
  const names = readinessCheckNames;
  const notApplicable = (name: string): ReadinessCheck => ({
    name,
    status: 'NotApplicable',
    message: 'not checked because an earlier check failed',
  });
  let client: Client;
  try {
    client = await connectPgClient(conn, { connectTimeoutMs: options.connectTimeoutMs ?? 15_000 });
  } catch (err) {
    const failure = classifyConnectError(err, conn);
    const order: string[] = [names.reachable, names.login, names.database, names.privileges];
    const failedAt = order.indexOf(failure.name);
    return {
      checks: order.map((name, i): ReadinessCheck => {
        if (i < failedAt) return succeeded(name, conn);
        return i === failedAt ? failure : notApplicable(name);
      }),
    };
  }
  try {
    const versionRows = await client.query<{ v: string; n: string }>(
      "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n",
    );
    const serverVersion = versionRows.rows[0]?.v ?? 'unknown';
    const serverMajor = Math.floor(Number(versionRows.rows[0]?.n ?? '0') / 10_000);
    const missing = await findMissingPrivileges(client);
    return {
      serverVersion,
      serverMajor,
      checks: [
        succeeded(names.reachable, conn),
        succeeded(names.login, conn),
        succeeded(names.database, conn),
        privilegesCheck(conn, missing),
      ],
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Throws the report's first failed check as a PgkeepError (with its details and remediation as the hint). */
export function assertReady(report: Pick<DbReadinessReport, 'checks'>): void {
  const failed = report.checks.find((c) => c.status === 'Failed');
  if (failed === undefined) return;
  throw new PgkeepError(failed.code ?? 'SystemErrorInternal', failed.message, {
    target: failed.name,
    details: failed.details === undefined ? [] : [...failed.details],
    ...(failed.remediation === undefined ? {} : { hint: failed.remediation }),
  });
}

/**
 * Schemas without USAGE, tables (incl. partitions) and sequences without SELECT, and large objects the user cannot
 * read, in the database the client is connected to. Views, materialized views and foreign tables are left out:
 * pg_dump writes their definitions without reading them. Extension members are left out: pg_dump dumps the
 * CREATE EXTENSION, not their rows.
 */
export async function findMissingPrivileges(client: Client): Promise<MissingPrivilege[]> {
  const { rows } = await client.query<{ kind: MissingPrivilege['kind']; schema: string | null; name: string }>(`
    WITH user_schemas AS (
      SELECT n.oid, n.nspname
      FROM pg_namespace n
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
    )
    SELECT 'schema' AS kind, s.nspname AS schema, s.nspname AS name, 0 AS ord
    FROM user_schemas s
    WHERE NOT has_schema_privilege(s.oid, 'USAGE')
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, s.nspname, c.relname,
           CASE c.relkind WHEN 'S' THEN 2 ELSE 1 END
    FROM pg_class c JOIN user_schemas s ON s.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'S')
      AND NOT has_table_privilege(c.oid, 'SELECT')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'large object', NULL, m.oid::text, 3
    FROM pg_largeobject_metadata m
    WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
      AND current_setting('lo_compat_privileges') = 'off'
      AND NOT pg_has_role(m.lomowner, 'USAGE')
      AND NOT EXISTS (SELECT 1 FROM aclexplode(m.lomacl) a
                      WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_has_role(a.grantee, 'USAGE')))
    ORDER BY ord, schema, name
  `);
  return rows.map((r) =>
    r.schema === null ? { kind: r.kind, name: r.name } : { kind: r.kind, schema: r.schema, name: r.name },
  );
}

/** The SQL that grants `user` exactly the missing privileges; identifiers quoted. Run it as the objects' owner. */
export function grantScript(user: string, missing: readonly MissingPrivilege[]): string {
  const role = escapeIdentifier(user);
  const lines = missing.map((m) => {
    switch (m.kind) {
      case 'schema':
        return `GRANT USAGE ON SCHEMA ${escapeIdentifier(m.name)} TO ${role};`;
      case 'table':
        return `GRANT SELECT ON TABLE ${qualified(m)} TO ${role};`;
      case 'sequence':
        return `GRANT SELECT ON SEQUENCE ${qualified(m)} TO ${role};`;
      case 'large object':
        // The oid came from pg_largeobject_metadata; keep it numeric so nothing else can ride along.
        return `GRANT SELECT ON LARGE OBJECT ${String(Number(m.name))} TO ${role};`;
    }
  });
  return ['-- run as the owner of these objects (or a superuser), connected to the database', ...lines].join('\n');
}

function qualified(m: MissingPrivilege): string {
  return `${escapeIdentifier(m.schema ?? '')}.${escapeIdentifier(m.name)}`;
}

function describe(m: MissingPrivilege): string {
  if (m.kind === 'large object') return `large object ${m.name}`;
  if (m.kind === 'schema') return `schema ${escapeIdentifier(m.name)}`;
  return `${m.kind} ${qualified(m)}`;
}

const MAX_NAMED_IN_MESSAGE = 10;

function privilegesCheck(conn: PgConnection, missing: readonly MissingPrivilege[]): ReadinessCheck {
  const name = readinessCheckNames.privileges;
  if (missing.length === 0) {
    return { name, status: 'Succeeded', message: `user "${conn.user}" can read every object in "${conn.database}"` };
  }
  const code: ErrorCode = 'UserErrorMissingDBPermissions';
  const named = missing.slice(0, MAX_NAMED_IN_MESSAGE).map(describe);
  const more = missing.length > named.length ? ` and ${missing.length - named.length} more` : '';
  const details: ErrorDetail[] = missing.map((m) => ({
    code,
    message: `user "${conn.user}" lacks ${m.kind === 'schema' ? 'USAGE' : 'SELECT'} on ${describe(m)}`,
    target: describe(m),
  }));
  return {
    name,
    status: 'Failed',
    code,
    message: `user "${conn.user}" cannot read ${missing.length} object(s) in database "${conn.database}": ${named.join(', ')}${more}`,
    remediation: grantScript(conn.user, missing),
    details,
  };
}

function succeeded(name: string, conn: PgConnection): ReadinessCheck {
  const messages: Record<string, string> = {
    [readinessCheckNames.reachable]: `server ${conn.host}:${conn.port} is reachable`,
    [readinessCheckNames.login]: `user "${conn.user}" can log in`,
    [readinessCheckNames.database]: `database "${conn.database}" exists`,
  };
  return { name, status: 'Succeeded', message: messages[name] ?? 'ok' };
}

/**
 * Maps a failed connect to the failing readiness check: network trouble → serverReachable
 * (UserErrorMissingNetworkSecurityPermissions), 28P01/28000 → userCanLogIn (UserErrorDBUserAuthFailed),
 * 3D000 → databaseExists (UserErrorNotFound). Messages are ours or pg's, redacted of the password either way.
 */
export function classifyConnectError(err: unknown, conn: PgConnection): ReadinessCheck {
  const names = readinessCheckNames;
  const where = `${conn.host}:${conn.port}`;
  const text = (s: string): string => redact(s, conn);
  if (err instanceof DatabaseError) {
    if (err.code === '28P01' || err.code === '28000') {
      return {
        name: names.login,
        status: 'Failed',
        code: 'UserErrorDBUserAuthFailed',
        message: text(`user "${conn.user}" cannot log in to ${where}: ${err.message}`),
      };
    }
    if (err.code === '3D000') {
      return {
        name: names.database,
        status: 'Failed',
        code: 'UserErrorNotFound',
        message: text(`database "${conn.database}" does not exist on ${where}`),
        remediation: "check the database name (the backup instance's resourceName) or create the database",
      };
    }
    return {
      name: names.login,
      status: 'Failed',
      code: 'UserErrorDBUserAuthFailed',
      message: text(`the server ${where} refused the connection of user "${conn.user}": ${err.message}`),
    };
  }
  const errno = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const network =
    (typeof errno === 'string' && networkErrnos.has(errno)) || /timeout|terminated|SSL|closed|refused/i.test(message);
  return {
    name: names.reachable,
    status: 'Failed',
    code: network ? 'UserErrorMissingNetworkSecurityPermissions' : 'SystemErrorInternal',
    message: text(`cannot connect to ${where}: ${typeof errno === 'string' ? `${errno} ` : ''}${message}`),
    remediation:
      "check the host name and port, and allow the app's outbound addresses (or Azure services) in the server's firewall",
  };
}
