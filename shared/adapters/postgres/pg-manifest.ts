// Reads what a backup's manifest records about the database itself (design §5.3), just before the dump: server
// version, size, encoding, extensions, schemas and tables with row estimates, and the roles the dump refers to.
import type { Client } from 'pg';
import { PgkeepError } from '../../errors';
import type { PgConnection } from '../../ports';
import { connectPgClient } from './connection-string';
import { classifyConnectError } from './pg-readiness';

export type RelationKind = 'table' | 'partitioned table' | 'sequence' | 'view' | 'materialized view' | 'foreign table';

/**
 * The database's description. A type alias (not an interface) so it can be spread into a JSON manifest.
 * Row estimates come from the planner statistics (pg_class.reltuples): null when the table was never analyzed.
 */
export type DatabaseDescription = {
  readonly database: string;
  readonly serverVersion: string;
  readonly serverMajor: number;
  readonly databaseSizeBytes: number;
  readonly encoding: string;
  readonly collation: string;
  readonly ctype: string;
  readonly owner: string;
  readonly extensions: readonly { readonly name: string; readonly version: string; readonly schema: string }[];
  readonly schemas: readonly { readonly name: string; readonly owner: string }[];
  readonly relations: readonly {
    readonly schema: string;
    readonly name: string;
    readonly kind: RelationKind;
    readonly rowEstimate: number | null;
    readonly sizeBytes: number;
  }[];
  readonly largeObjects: number;
  /**
   * Roles the dump mentions as owners or grantees (ALTER … OWNER TO, GRANT … TO). They are not in the dump:
   * a restore elsewhere needs them to exist, or runs with owner "none".
   */
  readonly rolesReferenced: readonly string[];
};

/** Connects as `conn` and describes its database. Connection failures throw the readiness codes (design §8). */
export async function describeDatabase(conn: PgConnection): Promise<DatabaseDescription> {
  let client: Client;
  try {
    client = await connectPgClient(conn, { connectTimeoutMs: 15_000 });
  } catch (err) {
    const failed = classifyConnectError(err, conn);
    throw new PgkeepError(failed.code ?? 'SystemErrorInternal', failed.message, { target: failed.name });
  }
  try {
    return await describeConnectedDatabase(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/** The description of the database `client` is connected to. */
export async function describeConnectedDatabase(client: Client): Promise<DatabaseDescription> {
  const db = await client.query<{
    database: string;
    version: string;
    version_num: string;
    size: string;
    encoding: string;
    collation: string;
    ctype: string;
    owner: string;
    large_objects: string;
  }>(`
    SELECT d.datname AS database, current_setting('server_version') AS version,
           current_setting('server_version_num') AS version_num, pg_database_size(d.oid)::text AS size,
           pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collation, d.datctype AS ctype,
           pg_get_userbyid(d.datdba) AS owner,
           (SELECT count(*) FROM pg_largeobject_metadata)::text AS large_objects
    FROM pg_database d WHERE d.datname = current_database()`);
  const extensions = await client.query<{ name: string; version: string; schema: string }>(`
    SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY e.extname`);
  const schemas = await client.query<{ name: string; owner: string }>(`
    SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner
    FROM pg_namespace n WHERE ${USER_SCHEMA} ORDER BY n.nspname`);
  const relations = await client.query<{
    schema: string;
    name: string;
    relkind: string;
    reltuples: number;
    size: string;
  }>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relkind, c.reltuples::float8 AS reltuples,
           pg_total_relation_size(c.oid)::text AS size
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f') AND ${USER_SCHEMA}
    ORDER BY n.nspname, c.relname`);
  const roles = await client.query<{ role: string }>(`
    WITH owners AS (
      SELECT datdba AS oid FROM pg_database WHERE datname = current_database()
      UNION SELECT nspowner FROM pg_namespace n WHERE ${USER_SCHEMA}
      UNION SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}
      UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA}
      UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_SCHEMA}
      UNION SELECT lomowner FROM pg_largeobject_metadata
      UNION SELECT defaclrole FROM pg_default_acl
    ), acls AS (
      SELECT datacl AS acl FROM pg_database WHERE datname = current_database()
      UNION ALL SELECT nspacl FROM pg_namespace n WHERE ${USER_SCHEMA}
      UNION ALL SELECT c.relacl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA}
      UNION ALL SELECT a.attacl FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attacl IS NOT NULL AND ${USER_SCHEMA}
      UNION ALL SELECT p.proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA}
      UNION ALL SELECT t.typacl FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_SCHEMA}
      UNION ALL SELECT lomacl FROM pg_largeobject_metadata
      UNION ALL SELECT defaclacl FROM pg_default_acl
    ), grantees AS (
      SELECT (aclexplode(acl)).grantee AS oid FROM acls WHERE acl IS NOT NULL
    )
    SELECT r.rolname AS role FROM pg_roles r
    WHERE r.oid IN (SELECT oid FROM owners UNION SELECT oid FROM grantees)
    ORDER BY r.rolname`);

  const row = db.rows[0];
  if (row === undefined)
    throw new PgkeepError('SystemErrorInternal', 'the current database is missing from pg_database');
  return {
    database: row.database,
    serverVersion: row.version,
    serverMajor: Math.floor(Number(row.version_num) / 10_000),
    databaseSizeBytes: Number(row.size),
    encoding: row.encoding,
    collation: row.collation,
    ctype: row.ctype,
    owner: row.owner,
    extensions: extensions.rows,
    schemas: schemas.rows,
    relations: relations.rows.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: relationKind(r.relkind),
      // -1 (PostgreSQL 14+) or 0 with no pages before: never analyzed, so no honest estimate.
      rowEstimate: r.relkind === 'v' || r.reltuples < 0 ? null : Math.round(r.reltuples),
      sizeBytes: Number(r.size),
    })),
    largeObjects: Number(row.large_objects),
    rolesReferenced: roles.rows.map((r) => r.role),
  };
}

function relationKind(relkind: string): RelationKind {
  switch (relkind) {
    case 'p':
      return 'partitioned table';
    case 'S':
      return 'sequence';
    case 'v':
      return 'view';
    case 'm':
      return 'materialized view';
    case 'f':
      return 'foreign table';
    default:
      return 'table';
  }
}
