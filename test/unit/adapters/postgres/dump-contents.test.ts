import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyColumns, DumpContentsParser } from '../../../../shared/adapters/postgres/dump-contents';
import {
  copyStatement,
  referenceDigest,
  writeArchive,
  type ArchiveSpec,
  type ArchiveTable,
} from '../../../support/custom-archive';

const name = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0')),
);

const table: fc.Arbitrary<ArchiveTable> = fc.record({
  schema: name,
  name,
  columns: fc.array(name, { maxLength: 4 }),
  rows: fc.array(
    // As COPY text escapes them: backslashes doubled, newlines as \n.
    fc.string({ maxLength: 60 }).map((r) => r.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')),
    { maxLength: 30 },
  ),
});

const spec: fc.Arbitrary<ArchiveSpec> = fc.record({
  minor: fc.constantFrom(12, 13, 14, 15, 16),
  tables: fc.uniqueArray(table, { maxLength: 5, selector: (t) => `${t.schema}.${t.name}` }),
  schemas: fc.uniqueArray(name, { maxLength: 3 }),
  extensions: fc.uniqueArray(fc.constantFrom('plpgsql', 'pgcrypto', 'hstore'), { maxLength: 3 }),
  largeObjects: fc.array(
    fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
    { maxLength: 3 },
  ),
  chunkBytes: fc.integer({ min: 1, max: 200 }),
});

/**
 * Feeds `archive` cut at the given points; with `reuse`, each piece is copied into one scratch buffer that is
 * scribbled over after every push (as the dump's relay reuses its read buffer).
 */
function parse(archive: Buffer, at: readonly number[] = [], reuse = false) {
  const parser = new DumpContentsParser();
  const scratch = Buffer.alloc(archive.length);
  let prev = 0;
  for (const c of [...at, archive.length]) {
    const piece = archive.subarray(prev, c);
    if (reuse) {
      piece.copy(scratch);
      parser.push(scratch.subarray(0, piece.length));
      scratch.fill(0xa5);
    } else {
      parser.push(piece);
    }
    prev = c;
  }
  return parser.finish();
}

function reasonOf(archive: Buffer): string {
  const result = parse(archive);
  return result.ok ? 'parsed' : result.reason;
}

describe('DumpContentsParser', () => {
  it('finds every table with its COPY columns, row count and reference checksum, in archive versions 1.12–1.16, however the stream is cut and whether or not the caller reuses the memory of its chunks', () => {
    fc.assert(
      fc.property(
        spec.chain((s) => {
          const archive = writeArchive(s);
          return fc.tuple(
            fc.constant(s),
            fc.constant(archive),
            fc
              .uniqueArray(fc.integer({ min: 0, max: archive.length }), { maxLength: 20 })
              .map((c) => c.sort((a, b) => a - b)),
          );
        }),
        ([s, archive, at]) => {
          const result = parse(archive, at);
          expect(result.ok, JSON.stringify(result)).toBe(true);
          expect(parse(archive, at, true)).toEqual(result);
          if (!result.ok) return;
          const c = result.contents;
          expect(c.archiveVersion).toBe(`1.${s.minor}.0`);
          const byKey = new Map(c.tables.map((t) => [`${t.schema}.${t.name}`, t]));
          expect(byKey.size).toBe(s.tables.length);
          for (const t of s.tables) {
            const found = byKey.get(`${t.schema}.${t.name}`);
            const text = Buffer.from(t.rows.map((r) => `${r}\n`).join(''));
            expect(found).toEqual({ schema: t.schema, name: t.name, columns: t.columns, ...referenceDigest(text) });
          }
          expect(c.largeObjects).toBe(s.largeObjects?.length ?? 0);
          expect(c.extensions).toEqual([...(s.extensions ?? [])].sort());
          expect(new Set(c.schemas)).toEqual(new Set([...(s.schemas ?? []), ...s.tables.map((t) => t.schema)]));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads the encoding of the dump from its ENCODING entry', () => {
    const result = parse(writeArchive({ minor: 14, tables: [], encoding: 'LATIN1' }));
    expect(result.ok && result.contents.encoding).toBe('LATIN1');
  });

  it('says the archive ended early when the stream stops inside a data block or the TOC', () => {
    const archive = writeArchive({
      minor: 14,
      tables: [{ schema: 'public', name: 't', columns: ['a'], rows: ['1', '2', '3'] }],
    });
    for (const cut of [archive.length - 3, 40, 120]) {
      const result = parse(archive.subarray(0, cut));
      expect(result.ok, `cut at ${cut}`).toBe(false);
      expect(!result.ok && result.reason).toMatch(/ended early/);
    }
  });

  it('refuses what it does not understand with a reason: not an archive, a compressed one, an unknown version', () => {
    expect(reasonOf(Buffer.from('-- plain SQL dump\n'))).toBe('no PGDMP header');
    const compressed = writeArchive({ minor: 14, tables: [] });
    // The compression level int right after the format byte: 5 bytes at offset 11.
    compressed[12] = 6;
    expect(reasonOf(compressed)).toMatch(/compressed/);
    const future = writeArchive({ minor: 16, tables: [] });
    future[6] = 17;
    expect(reasonOf(future)).toMatch(/version 1\.17\.0/);
  });

  it('keeps nothing of a data block in memory: a 20 MiB table passes with the parser holding no bytes', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => `${i}\t${'v'.repeat(90)}`);
    const archive = writeArchive({
      minor: 14,
      tables: [{ schema: 'public', name: 'big', columns: ['id', 'v'], rows }],
    });
    const parser = new DumpContentsParser();
    const held: number[] = [];
    for (let off = 0; off < archive.length; off += 65536) {
      parser.push(archive.subarray(off, off + 65536));
      held.push((parser as unknown as { heldBytes: number }).heldBytes);
    }
    expect(Math.max(...held)).toBeLessThan(65536);
    const result = parser.finish();
    expect(result.ok && result.contents.tables[0]?.rows).toBe(200_000);
  });
});

describe('copyColumns', () => {
  it('reads back the column list of the COPY statement pg_dump writes, quoted names included', () => {
    fc.assert(
      fc.property(name, name, fc.array(name, { maxLength: 6 }), (schema, tableName, columns) => {
        expect(copyColumns(copyStatement({ schema, name: tableName, columns }))).toEqual(columns);
      }),
    );
  });

  it('reads a real pg_dump statement', () => {
    expect(copyColumns('COPY "Sales Ops"."Quarterly Targets" ("Region", target) FROM stdin;\n')).toEqual([
      'Region',
      'target',
    ]);
    expect(copyColumns('COPY public.empty  FROM stdin;\n')).toEqual([]);
  });
});
