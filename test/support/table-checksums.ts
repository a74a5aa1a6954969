// Fingerprints a database's contents for round-trip tests: per table an md5 over every row (ordered by the row's
// text, so by all columns), per sequence its state, per large object an md5 of its bytes. Equal maps = equal data.
import pg from 'pg';
import type { PgConnection } from '../../shared/ports';

export interface DatabaseChecksums {
  /** "schema.table" → `<row count>:<md5 of the ordered rows>`. */
  readonly tables: Record<string, string>;
  /** "schema.sequence" → `<last_value>:<is_called>`. */
  readonly sequences: Record<string, string>;
  /** oid → md5 of the large object's bytes. */
  readonly largeObjects: Record<string, string>;
}

/** Reads the checksums of `conn.database` (the user must be able to read everything, e.g. a superuser). */
export async function tableChecksums(conn: PgConnection): Promise<DatabaseChecksums> {
  const client = new pg.Client({ ...conn, ssl: false });
  await client.connect();
  try {
    // The text form of timestamps and floats depends on session settings: pin them for both sides.
    await client.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'");
    const relations = await client.query<{ schema: string; name: string; kind: string }>(`
      SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1, 2`);
    const tables: Record<string, string> = {};
    const sequences: Record<string, string> = {};
    for (const rel of relations.rows) {
      const qualified = `${pg.escapeIdentifier(rel.schema)}.${pg.escapeIdentifier(rel.name)}`;
      const key = `${rel.schema}.${rel.name}`;
      if (rel.kind === 'S') {
        const { rows } = await client.query<{ v: string; c: boolean }>(
          `SELECT last_value::text AS v, is_called AS c FROM ${qualified}`,
        );
        sequences[key] = `${rows[0]?.v}:${String(rows[0]?.c)}`;
        continue;
      }
      const { rows } = await client.query<{ n: string; h: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C")) AS h
         FROM ONLY ${qualified} t`,
      );
      tables[key] = `${rows[0]?.n}:${rows[0]?.h ?? 'empty'}`;
    }
    const los = await client.query<{ oid: string; h: string }>(
      'SELECT oid::text AS oid, md5(lo_get(oid)) AS h FROM pg_largeobject_metadata ORDER BY oid',
    );
    const largeObjects = Object.fromEntries(los.rows.map((r) => [r.oid, r.h]));
    return { tables, sequences, largeObjects };
  } finally {
    await client.end();
  }
}
