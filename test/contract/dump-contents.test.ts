// The manifest of contents against real pg_dump output: computed from the archive as runDump streams it, it equals
// what COPY of the source tables gives (an independent reference), whatever the chunking; a pg_restore of the dump
// reads back equal through restored-contents, across majors (13 → 17) and with a non-UTC database time zone; and a
// changed, shortened or missing table in the restored database is named.
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DumpContentsParser } from '../../shared/adapters/postgres/dump-contents';
import { runDump } from '../../shared/adapters/postgres/dump-pipeline';
import { discoverPgTools, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { pgEnv } from '../../shared/adapters/postgres/connection-string';
import { dumpSessionSettings, readRestoredContents } from '../../shared/adapters/postgres/restored-contents';
import { compareContents, qualifiedName, type ContentsManifest } from '../../shared/domain/contents';
import type { PgClientTools, PgConnection } from '../../shared/ports';
import { referenceDigest } from '../support/custom-archive';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';

const DB = 'contents';

/** seedVariedDatabase plus what trips a reader of COPY text: odd names, escapes, no columns, partitions, inheritance. */
async function seedTricky(server: TestPostgres): Promise<void> {
  await seedVariedDatabase(server, DB, 5_000);
  await server.query(
    `
    CREATE EXTENSION hstore;
    CREATE TABLE "weird ""name"""("a b" int, "Ünï" text, c hstore);
    INSERT INTO "weird ""name""" VALUES
      (1, E'tab\\there, newline\\nthere, back\\\\slash, cr\\r', 'k=>v'),
      (2, NULL, NULL), (3, repeat('long ', 40000), '"a b"=>"c d"');
    CREATE TABLE empty_t (id int);
    CREATE TABLE no_columns ();
    INSERT INTO no_columns DEFAULT VALUES; INSERT INTO no_columns DEFAULT VALUES;
    CREATE TABLE gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
    INSERT INTO gen (a) SELECT generate_series(1, 50);
    CREATE TABLE parent (id int, region text) PARTITION BY LIST (region);
    CREATE TABLE p_eu PARTITION OF parent FOR VALUES IN ('eu');
    CREATE TABLE p_us PARTITION OF parent FOR VALUES IN ('us');
    INSERT INTO parent SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 99) g;
    CREATE TABLE base (a int, b text);
    CREATE TABLE child (c int) INHERITS (base);
    INSERT INTO base VALUES (1, 'base'); INSERT INTO child VALUES (2, 'child', 3);
    CREATE TABLE kinds (f float8, r real, iv interval, ts timestamptz, d date, tz timetz, bytes bytea, n numeric, j json);
    INSERT INTO kinds VALUES ('NaN', '-0', '1 year 2 mons -3 days 04:05:06.789', '2024-03-31 02:30:00+02', '4713-01-01 BC',
      '12:00:00+05:30', '\\x00ff10', '1e-20', '{"x": [1, 2.50]}'),
      ('Infinity', 3.4e38, '-178000000 years', 'infinity', 'infinity', '00:00:00-14', '', 'NaN', 'null'),
      (0.1, 1.1754944e-38, '0', '1999-12-31 23:59:59.999999+00', '2000-02-29', NULL, NULL, -0.000, '[]');
    CREATE UNLOGGED TABLE scratchpad (k text PRIMARY KEY, v text);
    INSERT INTO scratchpad VALUES ('a', 'b');
    CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM customers;
    ALTER DATABASE ${DB} SET timezone TO 'Pacific/Chatham';
    `,
    DB,
  );
}

/** The raw archive pg_dump writes, as the pipeline runs it (custom format, no compression, PGTZ=UTC). */
async function rawArchive(tools: PgClientTools, conn: PgConnection): Promise<Buffer> {
  const child = spawn(tools.pgDump, ['--format=custom', '--compress=0', '--no-password'], {
    env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', ...pgEnv(conn), PGTZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code).toBe(0);
  return Buffer.concat(chunks);
}

/** An independent reference: each table's COPY text read here and hashed by the plain BigInt FNV-1a. */
async function referenceOf(conn: PgConnection, manifest: ContentsManifest) {
  const client = new pg.Client({ ...conn, ssl: false });
  await client.connect();
  try {
    for (const [k, v] of dumpSessionSettings(manifest)) await client.query(`SET ${k} = '${v}'`);
    const out = new Map<string, { rows: number; checksum: string }>();
    for (const t of manifest.tables) {
      const cols = t.columns.map((c) => pg.escapeIdentifier(c)).join(', ');
      const chunks: Buffer[] = [];
      const sql = `COPY ${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.name)}${cols ? ` (${cols})` : ''} TO STDOUT`;
      for await (const c of client.query(copyTo(sql)) as AsyncIterable<Buffer>) chunks.push(c);
      out.set(qualifiedName(t), referenceDigest(Buffer.concat(chunks)));
    }
    return out;
  } finally {
    await client.end();
  }
}

async function pgRestore(tools: PgClientTools, archive: Buffer, conn: PgConnection): Promise<void> {
  const child = spawn(tools.pgRestore, ['--no-owner', '--exit-on-error', `--dbname=${conn.database}`], {
    env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', ...pgEnv(conn) },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(archive);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code, err).toBe(0);
}

describe.each([
  { source: 15, target: 15 },
  { source: 13, target: 17 },
] as const)('manifest of contents, PostgreSQL $source dumped, restored into $target', ({ source, target }) => {
  let src: TestPostgres;
  let dst: TestPostgres;
  let tools: PgClientTools;
  let archive: Buffer;
  let manifest: ContentsManifest;

  beforeAll(async () => {
    src = await startPostgres({ major: source });
    dst = target === source ? src : await startPostgres({ major: target });
    tools = pickPgDump(15, await discoverPgTools({ pathDirs: [] }));
    await seedTricky(src);
    const result = await runDump({
      conn: src.connectionFor(DB),
      tools,
      sink: { stageBlock: () => Promise.resolve(), commitBlocks: () => Promise.resolve() },
      zstdLevel: 1,
      stallTimeoutMs: 60_000,
      expectedSizeBytes: 0,
    });
    expect(result.contents?.ok, JSON.stringify(result.contents)).toBe(true);
    if (!result.contents?.ok) throw new Error('no contents');
    manifest = result.contents.contents;
    archive = await rawArchive(tools, src.connectionFor(DB));
  });
  afterAll(async () => {
    await src?.stop();
    if (dst !== src) await dst?.stop();
  });

  it('lists every table with data, and each count and checksum equals COPY of the source table', async () => {
    expect(manifest.tables.map(qualifiedName)).toEqual(
      expect.arrayContaining([
        'public.customers',
        'Sales Ops.Quarterly Targets',
        'public.events',
        'public.weird "name"',
        'public.empty_t',
        'public.no_columns',
        'public.gen',
        'public.p_eu',
        'public.p_us',
        'public.base',
        'public.child',
        'public.kinds',
        'public.scratchpad',
      ]),
    );
    expect(manifest.tables.map(qualifiedName)).not.toContain('public.parent');
    expect(manifest.tables.map(qualifiedName)).not.toContain('public.mv');
    expect(manifest.tables.find((t) => t.name === 'gen')?.columns).toEqual(['a']);
    expect(manifest.tables.find((t) => t.name === 'child')?.columns).toEqual(['a', 'b', 'c']);
    const reference = await referenceOf(src.connectionFor(DB), manifest);
    for (const t of manifest.tables) {
      expect({ rows: t.rows, checksum: t.checksum }, qualifiedName(t)).toEqual(reference.get(qualifiedName(t)));
    }
    expect(manifest.tables.find((t) => t.name === 'events')?.rows).toBe(5_000);
    expect(manifest.tables.find((t) => t.name === 'no_columns')?.rows).toBe(2);
  });

  it('records the schemas, the extensions and the large objects the dump carries', () => {
    expect(manifest.schemas).toEqual(expect.arrayContaining(['Sales Ops', 'public']));
    expect(manifest.extensions).toContain('hstore');
    expect(manifest.largeObjects).toBe(1);
    expect(manifest.encoding).toBe('UTF8');
  });

  it('computes the same contents from the raw archive however its bytes are cut', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.integer({ min: 0, max: archive.length }), { maxLength: 40 })
          .map((c) => c.sort((a, b) => a - b)),
        (cuts) => {
          const parser = new DumpContentsParser();
          let prev = 0;
          for (const c of [...cuts, archive.length]) {
            parser.push(archive.subarray(prev, c));
            prev = c;
          }
          expect(parser.finish()).toEqual({ ok: true, contents: manifest });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reads back no difference from a pg_restore of the dump, and names a changed, shortened and dropped table', async () => {
    const db = `restored_${source}`;
    await dst.query(`CREATE DATABASE ${db} TEMPLATE template0`);
    await pgRestore(tools, archive, dst.connectionFor(db));
    const equal = compareContents(manifest, await readRestoredContents(dst.connectionFor(db), manifest));
    expect(equal.mismatches).toEqual([]);
    expect(equal.tables).toBe(manifest.tables.length);
    expect(equal.rowsCompared).toBe(manifest.tables.reduce((n, t) => n + t.rows, 0));

    await dst.query(
      `UPDATE customers SET name = 'Ada!' WHERE name = 'Ada'; DELETE FROM events WHERE id = 7; DROP TABLE gen;
       SELECT lo_unlink(oid) FROM pg_largeobject_metadata;`,
      db,
    );
    const changed = compareContents(manifest, await readRestoredContents(dst.connectionFor(db), manifest));
    expect(changed.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'Checksum', object: 'public.customers' }),
        { kind: 'RowCount', object: 'public.events', expected: 5_000, actual: 4_999 },
        { kind: 'TableMissing', object: 'public.gen', expected: 50, actual: null },
        { kind: 'LargeObjectCount', object: 'large objects', expected: 1, actual: 0 },
      ]),
    );
    expect(changed.mismatches).toHaveLength(4);
  });
});
