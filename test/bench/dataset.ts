// Generates the benchmark database server-side (INSERT … SELECT generate_series, in batches) until its tables reach
// a target size: random words from a skewed vocabulary, hex ids, varied jsonb, timestamps, numerics and indexes —
// data that compresses like a real application's, not like filler.
import pg from 'pg';
import type { BenchPostgres } from './server';
import { formatBytes, formatMs, MiB, timed, type Out } from './support';

/** Bumped whenever the generator changes, so a kept database from an older generator is rebuilt. */
const GENERATOR_VERSION = 1;

const SCHEMA = `
  -- A word of the vocabulary: 8000 pseudo-words of 3–10 letters, small ids far more frequent (Zipf-like).
  CREATE FUNCTION bench_words(n int) RETURNS text LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT string_agg(translate(substr(md5(k::text), 1, 3 + k % 8), '0123456789', 'aeioulnrst'), ' ')
    FROM (SELECT floor(8000 * random() ^ 2)::int + 1 AS k FROM generate_series(1, greatest(n, 1))) s
  $$;
  CREATE TABLE customers (
    id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, country char(2) NOT NULL,
    credit numeric(12, 2) NOT NULL, created_at timestamptz NOT NULL, profile jsonb NOT NULL);
  CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(12, 2) NOT NULL,
    placed_at timestamptz NOT NULL, lines jsonb NOT NULL, note text);
  CREATE INDEX orders_customer ON orders (customer_id);
  CREATE INDEX orders_placed ON orders (placed_at);
  CREATE TABLE events (
    id bigint PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, session text NOT NULL, payload jsonb NOT NULL);
  CREATE INDEX events_at ON events (at);
  CREATE TABLE documents (
    id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, tags text[] NOT NULL, updated_at timestamptz NOT NULL);
`;

/**
 * One batch: `n` events, n/2 orders, n/10 customers and n/10 documents, ids from `first`; one statement per table,
 * so that the tables can be filled on parallel connections.
 */
function batchSql(first: number, n: number): string[] {
  const range = (count: number) => `generate_series(${first}, ${first + Math.max(1, Math.floor(count)) - 1}) AS g`;
  return [
    `INSERT INTO customers
    SELECT g, 'user' || g || '.' || substr(md5(g::text), 1, 6) || '@' || bench_words(1) || '.example', bench_words(2 + g % 2),
      (ARRAY['DE','US','FR','GB','NL','SE','JP','BR','IN','PL'])[1 + floor(random() * 10)::int],
      round((random() * 20000)::numeric, 2), timestamptz '2015-01-01' + random() * interval '9 years',
      jsonb_build_object('lang', (ARRAY['en','de','fr','ja'])[1 + g % 4], 'newsletter', random() < 0.3,
        'bio', bench_words(8 + g % 12), 'pref_' || (g % 23), floor(random() * 1000))
    FROM ${range(n / 10)}`,
    `INSERT INTO orders
    SELECT g, 1 + floor(random() * ${first / 10 + n / 10})::bigint,
      (ARRAY['new','paid','shipped','delivered','cancelled','refunded'])[1 + floor(random() * 6)::int],
      round((random() * 900 + 5)::numeric, 2), timestamptz '2018-01-01' + random() * interval '6 years',
      (SELECT jsonb_agg(jsonb_build_object('sku', upper(substr(md5((g * 31 + i)::text), 1, 10)), 'qty', 1 + i % 4,
         'price', round((random() * 200)::numeric, 2))) FROM generate_series(1, 1 + g % 4) AS i),
      CASE WHEN random() < 0.4 THEN bench_words(4 + g % 10) END
    FROM ${range(n / 2)}`,
    `INSERT INTO events
    SELECT g, timestamptz '2023-01-01' + random() * interval '400 days',
      (ARRAY['page_view','click','search','add_to_cart','checkout','login','logout','error'])[1 + floor(random() * 8)::int],
      md5(random()::text),
      jsonb_build_object('path', '/' || bench_words(2), 'ms', floor(random() * 3000), 'ok', random() < 0.97,
        'k' || (g % 41), md5((g * 7)::text), 'attr_' || floor(random() * 300)::int, round((random() * 1e6)::numeric, 3),
        'ua', bench_words(3), 'ab', jsonb_build_array(g % 3, random() < 0.5))
    FROM ${range(n)}`,
    `INSERT INTO documents
    SELECT g, initcap(bench_words(3 + g % 5)), bench_words(60 + floor(random() * 200)::int),
      ARRAY[bench_words(1), bench_words(1), bench_words(1)], timestamptz '2020-01-01' + random() * interval '4 years'
    FROM ${range(n / 10)}`,
  ];
}

const TABLE_BYTES = `
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
  FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
  WHERE ns.nspname = 'public' AND c.relkind = 'r'`;

export interface Dataset {
  readonly database: string;
  readonly tableBytes: number;
  readonly databaseBytes: number;
  /** Undefined when a kept database was reused. */
  readonly generatedMs?: number;
}

/**
 * Makes sure database `bench_<sizeMb>mb` exists with about `sizeMb` MiB of table data (tables, TOAST and indexes)
 * and returns its measured size. A database left complete by an earlier --keep run is reused; a partial one
 * (interrupted generation) is rebuilt.
 */
export async function ensureDataset(server: BenchPostgres, sizeMb: number, out: Out): Promise<Dataset> {
  const database = `bench_${sizeMb}mb`;
  const marker = `pgkeep-bench generator=${GENERATOR_VERSION} size-mb=${sizeMb} complete`;
  const admin = await server.client();
  try {
    const found = await admin.query<{ note: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = $1`,
      [database],
    );
    if (found.rows[0]?.note === marker) {
      const sizes = await measure(server, database);
      out(`dataset ${database}: reused (${formatBytes(sizes.tableBytes)} of tables)`);
      return { database, ...sizes };
    }
    if (found.rows.length > 0) await admin.query(`DROP DATABASE ${pg.escapeIdentifier(database)}`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }

  const target = sizeMb * MiB;
  const { ms } = await timed(async () => {
    const conns = await Promise.all(batchSql(0, 1).map(() => server.client(database)));
    try {
      const db = conns[0]!;
      await db.query(SCHEMA);
      // First batch small to learn the bytes per row, then batches of ~32 MiB (or what is left).
      let next = 1;
      let rows = Math.max(50, Math.min(20_000, Math.floor(target / 2000)));
      let bytes = 0;
      while (bytes < target * 0.98) {
        const statements = batchSql(next, rows);
        await Promise.all(statements.map((sql, i) => conns[i]!.query(sql)));
        next += rows;
        bytes = Number((await db.query<{ bytes: string }>(TABLE_BYTES)).rows[0]?.bytes ?? 0);
        const perRow = bytes / (next - 1);
        rows = Math.max(10, Math.min(Math.ceil((target - bytes) / perRow), Math.ceil((32 * MiB) / perRow)));
      }
      await db.query('ANALYZE');
      await db.query('CHECKPOINT');
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });
  const admin2 = await server.client();
  try {
    await admin2.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(database)} IS ${pg.escapeLiteral(marker)}`);
  } finally {
    await admin2.end();
  }
  const sizes = await measure(server, database);
  const rate = sizes.tableBytes / MiB / (ms / 1000);
  out(
    `dataset ${database}: generated ${formatBytes(sizes.tableBytes)} of tables in ${formatMs(ms)} (${rate.toFixed(1)} MiB/s)`,
  );
  return { database, ...sizes, generatedMs: ms };
}

async function measure(
  server: BenchPostgres,
  database: string,
): Promise<{ tableBytes: number; databaseBytes: number }> {
  const db = await server.client(database);
  try {
    const table = await db.query<{ bytes: string }>(TABLE_BYTES);
    const total = await db.query<{ bytes: string }>(`SELECT pg_database_size(current_database())::bigint AS bytes`);
    return { tableBytes: Number(table.rows[0]?.bytes ?? 0), databaseBytes: Number(total.rows[0]?.bytes ?? 0) };
  } finally {
    await db.end();
  }
}
