// Writes pg_dump custom-format archives the way pg_backup_archiver.c WriteHead/WriteToc and pg_backup_custom.c
// write them, for the archive versions no installed pg_dump produces here (1.15 of pg_dump 16, 1.16 of 17), and a
// reference row checksum written plainly in BigInt, independent of the WebAssembly one under test.
import { createHash } from 'node:crypto';

export interface ArchiveTable {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
  /** COPY text rows, without their newlines. */
  readonly rows: readonly string[];
}

export interface ArchiveSpec {
  readonly minor: 12 | 13 | 14 | 15 | 16;
  readonly tables: readonly ArchiveTable[];
  readonly schemas?: readonly string[];
  readonly extensions?: readonly string[];
  /** Large objects: each one's bytes. */
  readonly largeObjects?: readonly Buffer[];
  /** Splits each table's data into chunks of at most this many bytes (pg_dump writes one chunk per row). */
  readonly chunkBytes?: number;
  readonly encoding?: string;
}

const INT_SIZE = 4;
const OFF_SIZE = 8;

function int(n: number): Buffer {
  const b = Buffer.alloc(1 + INT_SIZE);
  b[0] = n < 0 ? 1 : 0;
  b.writeUInt32LE(Math.abs(n), 1);
  return b;
}

function str(s: string | null): Buffer {
  if (s === null) return int(-1);
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int(bytes.length), bytes]);
}

const quote = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

export function copyStatement(t: Pick<ArchiveTable, 'schema' | 'name' | 'columns'>): string {
  const cols = t.columns.length === 0 ? '' : ` (${t.columns.map(quote).join(', ')})`;
  return `COPY ${quote(t.schema)}.${quote(t.name)}${cols} FROM stdin;\n`;
}

interface Entry {
  readonly dumpId: number;
  readonly desc: string;
  readonly tag: string;
  readonly namespace: string | null;
  readonly defn: string;
  readonly copyStmt: string | null;
  readonly hadDumper: boolean;
}

function tocEntry(minor: number, e: Entry): Buffer {
  const parts = [
    int(e.dumpId),
    int(e.hadDumper ? 1 : 0),
    str('0'),
    str('0'),
    str(e.tag),
    str(e.desc),
    int(e.desc === 'TABLE DATA' ? 3 : 2),
    str(e.defn),
    str(''),
    str(e.copyStmt),
    str(e.namespace),
    str(''),
  ];
  if (minor >= 14) parts.push(str(e.desc === 'TABLE DATA' ? 'heap' : ''));
  if (minor >= 16) parts.push(int(e.desc === 'TABLE DATA' ? 114 : 0));
  parts.push(str('owner'), str('false'), str('1'), str(null));
  // The custom format's data offset: "not set" (a pipe cannot seek back), then offSize zero bytes.
  parts.push(Buffer.from([1]), Buffer.alloc(OFF_SIZE));
  return Buffer.concat(parts);
}

function chunked(data: Buffer, chunkBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunkBytes) {
    const piece = data.subarray(off, Math.min(data.length, off + chunkBytes));
    out.push(int(piece.length), piece);
  }
  out.push(int(0));
  return out;
}

/** The archive's bytes. */
export function writeArchive(spec: ArchiveSpec): Buffer {
  const header = [
    Buffer.from('PGDMP'),
    Buffer.from([1, spec.minor, 0, INT_SIZE, OFF_SIZE, 1]),
    spec.minor >= 15 ? Buffer.from([0]) : int(0),
    ...[0, 0, 0, 1, 0, 125, 0].map(int),
    str('db'),
    str('15.4'),
    str('15.4'),
  ];
  const entries: Entry[] = [];
  let id = 1;
  const add = (e: Omit<Entry, 'dumpId'>): number => {
    entries.push({ ...e, dumpId: id });
    return id++;
  };
  add({
    desc: 'ENCODING',
    tag: 'ENCODING',
    namespace: null,
    defn: `SET client_encoding = '${spec.encoding ?? 'UTF8'}';\n`,
    copyStmt: null,
    hadDumper: false,
  });
  for (const s of spec.schemas ?? []) {
    add({
      desc: 'SCHEMA',
      tag: s,
      namespace: null,
      defn: `CREATE SCHEMA ${quote(s)};\n`,
      copyStmt: null,
      hadDumper: false,
    });
  }
  for (const x of spec.extensions ?? []) {
    add({
      desc: 'EXTENSION',
      tag: x,
      namespace: null,
      defn: `CREATE EXTENSION ${x};\n`,
      copyStmt: null,
      hadDumper: false,
    });
  }
  const dataIds = spec.tables.map((t) =>
    add({
      desc: 'TABLE DATA',
      tag: t.name,
      namespace: t.schema,
      defn: '',
      copyStmt: copyStatement(t),
      hadDumper: true,
    }),
  );
  const blobsId =
    (spec.largeObjects?.length ?? 0) > 0
      ? add({ desc: 'BLOBS', tag: 'BLOBS', namespace: null, defn: '', copyStmt: null, hadDumper: true })
      : undefined;
  const toc = [int(entries.length), ...entries.map((e) => tocEntry(spec.minor, e))];
  const data: Buffer[] = [];
  spec.tables.forEach((t, i) => {
    // As pg_dump writes it: the rows, then the end-of-data marker and two empty lines.
    const text = Buffer.from(`${t.rows.map((r) => `${r}\n`).join('')}\\.\n\n\n`, 'utf8');
    data.push(Buffer.from([1]), int(dataIds[i]!), ...chunked(text, spec.chunkBytes ?? 4096));
  });
  if (blobsId !== undefined) {
    data.push(Buffer.from([3]), int(blobsId));
    spec.largeObjects!.forEach((lo, i) => data.push(int(16384 + i), ...chunked(lo, 1000)));
    data.push(int(0));
  }
  return Buffer.concat([...header, ...toc, ...data]);
}

const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

/** FNV-1a 64 of one row's bytes, plainly. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * PRIME) & MASK;
  return h;
}

/**
 * The reference digest of COPY text: its lines' FNV-1a 64 summed modulo 2^64 (a last line without newline counts),
 * up to a line that is exactly `\.` (pg_dump's end-of-data marker).
 */
export function referenceDigest(text: Uint8Array): { rows: number; checksum: string } {
  let sum = 0n;
  let rows = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length && i === start) break;
    if (i === text.length || text[i] === 10) {
      const line = text.subarray(start, i);
      if (line.length === 2 && line[0] === 0x5c && line[1] === 0x2e) break;
      sum = (sum + fnv1a64(line)) & MASK;
      rows++;
      start = i + 1;
    }
  }
  return { rows, checksum: sum.toString(16).padStart(16, '0') };
}

/** A short fingerprint of a buffer for test titles and messages. */
export function fingerprint(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 12);
}
