// Reads pg_dump's custom-format archive as it streams past (a tap on the dump pipeline) and computes the manifest of
// contents: per table the COPY row count and checksum, the schemas, extensions and large objects. Never buffers more
// than one header or TOC entry: data blocks go straight through the WebAssembly checksum in 64 KiB pieces.
//
// The format (PostgreSQL src/bin/pg_dump/pg_backup_archiver.c ReadHead/ReadToc, pg_backup_custom.c):
//   header  "PGDMP", version major/minor/rev bytes, intSize, offSize, format (1 = custom), compression (an int
//           level before 1.15, an algorithm byte from 1.15), creation time (7 ints), database name, server and
//           pg_dump versions (strings)
//   TOC     an int count, then per entry: dumpId, hadDumper, tableoid, oid, tag, desc, section, defn, dropStmt,
//           copyStmt, namespace, tablespace, tableam (1.14+), relkind (an int, 1.16+), owner, "false" (with oids),
//           dependency ids ending in a null string, then the custom format's data offset (a flag byte + offSize)
//   data    blocks: a type byte (1 = table data, 3 = large objects), the dumpId, then chunks (an int length and
//           that many bytes; 0 ends the block). Large-object blocks hold, per object, its oid and its chunks, and a
//           0 oid at the end.
// An int is a sign byte and intSize bytes, least significant first; a string is an int length (-1 = null) and
// the bytes. pg_dump writing to a pipe never goes back to fill in offsets, so the data follows the TOC directly.

import { COPY_CHECKSUM_ALGORITHM, CopyChecksum } from './copy-checksum';
import type { ContentsManifest, TableContents } from '../../domain/contents';

/** Archive versions this reader understands: pg_dump 9.6 (1.12) to 17 (1.16). */
const MIN_VERSION = version(1, 12, 0);
const MAX_VERSION = version(1, 16, 255);
const V1_14 = version(1, 14, 0);
const V1_15 = version(1, 15, 0);
const V1_16 = version(1, 16, 0);
const BLK_DATA = 1;
const BLK_BLOBS = 3;

function version(major: number, minor: number, rev: number): number {
  return (major * 256 + minor) * 256 + rev;
}

/** Thrown by the reader when the bytes at hand end before the value; `need` = absolute offset required. */
class NeedMore extends Error {
  constructor(readonly need: number) {
    super('more bytes needed');
  }
}

/** The archive is not what this reader understands; the manifest records why instead of the contents. */
export class UnreadableArchive extends Error {}

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    private readonly intSize: number,
  ) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new NeedMore(this.pos + 1);
    return this.buf[this.pos++]!;
  }

  int(): number {
    if (this.pos + 1 + this.intSize > this.buf.length) throw new NeedMore(this.pos + 1 + this.intSize);
    const negative = this.buf[this.pos++] !== 0;
    let value = 0;
    for (let i = 0; i < this.intSize; i++) value += this.buf[this.pos++]! * 2 ** (8 * i);
    return negative ? -value : value;
  }

  str(): string | null {
    const start = this.pos;
    const length = this.int();
    if (length < 0) return null;
    if (this.pos + length > this.buf.length) {
      this.pos = start;
      throw new NeedMore(start + 1 + this.intSize + length);
    }
    const text = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return text;
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new NeedMore(this.pos + n);
    this.pos += n;
  }
}

interface TocEntry {
  readonly desc: string;
  readonly tag: string;
  readonly namespace: string | null;
  readonly copyStmt: string | null;
  readonly defn: string | null;
}

type State =
  | { kind: 'header' }
  | { kind: 'toc'; remaining: number | undefined }
  | { kind: 'blockHeader' }
  | { kind: 'data'; dumpId: number }
  | { kind: 'blobs'; inObject: boolean }
  | { kind: 'blobBytes'; remaining: number }
  | { kind: 'failed'; reason: string };

export type ContentsResult =
  { readonly ok: true; readonly contents: ContentsManifest } | { readonly ok: false; readonly reason: string };

/**
 * Push the archive's bytes in order (any chunking), then call finish(). push never throws: a malformed or
 * unsupported archive stops the reading and finish() says why; the dump itself is judged elsewhere.
 */
export class DumpContentsParser {
  private state: State = { kind: 'header' };
  private held: Buffer[] = [];
  private heldBytes = 0;
  private need = 0;
  private intSize = 4;
  private offSize = 8;
  private archiveVersion = 0;
  private encoding = 'UTF8';
  private readonly entries = new Map<number, TocEntry>();
  private readonly schemas = new Set<string>();
  private readonly extensions = new Set<string>();
  private readonly tables = new Map<number, TableContents>();
  private largeObjects = 0;
  private readonly checksum = new CopyChecksum();

  push(chunk: Buffer): void {
    if (this.state.kind === 'failed' || chunk.length === 0) return;
    let buf = chunk;
    if (this.heldBytes > 0) {
      if (this.heldBytes + chunk.length < this.need) {
        // Copied: the caller may reuse its chunk's memory (the dump's relay reads into one buffer).
        this.held.push(Buffer.from(chunk));
        this.heldBytes += chunk.length;
        return;
      }
      buf = Buffer.concat([...this.held, chunk], this.heldBytes + chunk.length);
      this.held = [];
      this.heldBytes = 0;
    }
    try {
      this.consume(buf);
    } catch (err) {
      this.state = { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
      this.held = [];
      this.heldBytes = 0;
    }
  }

  /** The manifest of contents, or why there is none (the stream ended inside the archive, or it is unreadable). */
  finish(): ContentsResult {
    const state = this.state;
    if (state.kind === 'failed') return { ok: false, reason: state.reason };
    if (state.kind !== 'blockHeader' || this.heldBytes > 0) {
      return { ok: false, reason: `the archive ended early (while reading ${describe(state)})` };
    }
    const tables = [...this.entries.entries()]
      .filter(([, e]) => e.desc === 'TABLE DATA')
      .map(([id, e]) => this.tables.get(id) ?? tableOf(e, { rows: 0, checksum: '0'.repeat(16) }))
      .sort((a, b) => compareText(a.schema, b.schema) || compareText(a.name, b.name));
    for (const t of tables) this.schemas.add(t.schema);
    return {
      ok: true,
      contents: {
        formatVersion: 1,
        checksumAlgorithm: COPY_CHECKSUM_ALGORITHM,
        archiveVersion: `${this.archiveVersion >> 16}.${(this.archiveVersion >> 8) & 255}.${this.archiveVersion & 255}`,
        encoding: this.encoding,
        tables,
        schemas: [...this.schemas].sort(compareText),
        extensions: [...this.extensions].sort(compareText),
        largeObjects: this.largeObjects,
      },
    };
  }

  private consume(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      const state = this.state;
      if (state.kind === 'data') {
        const { next, phase } = this.checksum.framed(buf, off, this.intSize);
        off = next;
        if (phase === 'corrupt')
          throw new UnreadableArchive(`a negative chunk length in the data of dump id ${state.dumpId}`);
        if (phase === 'ended') this.endDataBlock(state.dumpId);
        continue;
      }
      if (state.kind === 'blobBytes') {
        const take = Math.min(state.remaining, buf.length - off);
        off += take;
        this.state =
          take === state.remaining
            ? { kind: 'blobs', inObject: true }
            : { kind: 'blobBytes', remaining: state.remaining - take };
        continue;
      }
      const reader = new Reader(buf, off, this.intSize);
      try {
        this.step(reader);
        off = reader.pos;
      } catch (err) {
        if (!(err instanceof NeedMore)) throw err;
        const rest = buf.subarray(off);
        // Copied: the caller may reuse its chunk's memory.
        this.held = [Buffer.from(rest)];
        this.heldBytes = rest.length;
        this.need = err.need - off;
        return;
      }
    }
  }

  /** Reads one structural item (the header, a TOC entry, a block header, a large object's chunk header). */
  private step(r: Reader): void {
    const state = this.state;
    switch (state.kind) {
      case 'header':
        this.readHeader(r);
        this.state = { kind: 'toc', remaining: undefined };
        return;
      case 'toc': {
        if (state.remaining === undefined) {
          const count = r.int();
          if (count < 0) throw new UnreadableArchive(`a negative TOC entry count (${count})`);
          this.state = count === 0 ? { kind: 'blockHeader' } : { kind: 'toc', remaining: count };
          return;
        }
        this.readTocEntry(r);
        this.state = state.remaining === 1 ? { kind: 'blockHeader' } : { kind: 'toc', remaining: state.remaining - 1 };
        return;
      }
      case 'blockHeader': {
        const type = r.byte();
        const dumpId = r.int();
        if (type === BLK_DATA) {
          const entry = this.entries.get(dumpId);
          if (entry?.desc !== 'TABLE DATA') {
            throw new UnreadableArchive(`a data block for dump id ${dumpId}, which is not a TABLE DATA entry`);
          }
          this.checksum.reset();
          this.state = { kind: 'data', dumpId };
        } else if (type === BLK_BLOBS) {
          this.state = { kind: 'blobs', inObject: false };
        } else {
          throw new UnreadableArchive(`an unknown data block type ${type} (dump id ${dumpId})`);
        }
        return;
      }
      case 'blobs': {
        if (!state.inObject) {
          const oid = r.int();
          if (oid === 0) this.state = { kind: 'blockHeader' };
          else {
            this.largeObjects++;
            this.state = { kind: 'blobs', inObject: true };
          }
          return;
        }
        const length = r.int();
        if (length < 0) throw new UnreadableArchive('a negative chunk length in large-object data');
        this.state = length === 0 ? { kind: 'blobs', inObject: false } : { kind: 'blobBytes', remaining: length };
        return;
      }
      default:
        throw new UnreadableArchive(`unexpected reader state ${state.kind}`);
    }
  }

  private readHeader(r: Reader): void {
    r.skip(5);
    if (r.buf.toString('latin1', r.pos - 5, r.pos) !== 'PGDMP') throw new UnreadableArchive('no PGDMP header');
    const major = r.byte();
    const minor = r.byte();
    const rev = major > 1 || (major === 1 && minor > 0) ? r.byte() : 0;
    this.archiveVersion = version(major, minor, rev);
    if (this.archiveVersion < MIN_VERSION || this.archiveVersion > MAX_VERSION) {
      throw new UnreadableArchive(`archive version ${major}.${minor}.${rev} is not one this reader knows`);
    }
    const intSize = r.byte();
    const offSize = r.byte();
    if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 16) {
      throw new UnreadableArchive(`implausible integer sizes (${intSize}, ${offSize})`);
    }
    this.intSize = intSize;
    this.offSize = offSize;
    // The reader was made before intSize was known: later ints of this header use the new size.
    const rest = new Reader(r.buf, r.pos, intSize);
    const format = rest.byte();
    if (format !== 1) throw new UnreadableArchive(`archive format ${format} is not custom (1)`);
    const compressed = this.archiveVersion >= V1_15 ? rest.byte() !== 0 : rest.int() !== 0;
    if (compressed) throw new UnreadableArchive('the archive is compressed by pg_dump (pgkeep dumps with -Z0)');
    for (let i = 0; i < 7; i++) rest.int();
    rest.str(); // database name
    rest.str(); // server version
    rest.str(); // pg_dump version
    r.pos = rest.pos;
  }

  private readTocEntry(r: Reader): void {
    const v = this.archiveVersion;
    const dumpId = r.int();
    r.int(); // hadDumper
    r.str(); // tableoid
    r.str(); // oid
    const tag = r.str() ?? '';
    const desc = r.str() ?? '';
    r.int(); // section
    const defn = r.str();
    r.str(); // dropStmt
    const copyStmt = r.str();
    const namespace = r.str();
    r.str(); // tablespace
    if (v >= V1_14) r.str(); // tableam
    if (v >= V1_16) r.int(); // relkind
    r.str(); // owner
    r.str(); // with oids
    while (r.str() !== null); // dependencies
    r.byte(); // offset flag
    r.skip(this.offSize);
    // Only what the contents need is kept: definitions can be large, and only ENCODING's is read.
    const entry: TocEntry = {
      desc,
      tag,
      namespace,
      copyStmt: desc === 'TABLE DATA' ? copyStmt : null,
      defn: desc === 'ENCODING' ? defn : null,
    };
    this.entries.set(dumpId, entry);
    if (desc === 'SCHEMA') this.schemas.add(tag);
    else if (desc === 'EXTENSION') this.extensions.add(tag);
    else if (desc === 'ENCODING') {
      const m = /'([^']+)'/.exec(defn ?? '');
      if (m?.[1]) this.encoding = m[1];
    }
  }

  private endDataBlock(dumpId: number): void {
    const entry = this.entries.get(dumpId);
    if (entry === undefined) throw new UnreadableArchive(`data for unknown dump id ${dumpId}`);
    const digest = this.checksum.digest();
    const previous = this.tables.get(dumpId);
    if (previous !== undefined) throw new UnreadableArchive(`two data blocks for dump id ${dumpId}`);
    this.tables.set(dumpId, tableOf(entry, digest));
    this.state = { kind: 'blockHeader' };
  }
}

function tableOf(entry: TocEntry, digest: { rows: number; checksum: string }): TableContents {
  return {
    schema: entry.namespace ?? '',
    name: entry.tag,
    columns: copyColumns(entry.copyStmt ?? ''),
    rows: digest.rows,
    checksum: digest.checksum,
  };
}

function describe(state: State): string {
  switch (state.kind) {
    case 'header':
      return 'the header';
    case 'toc':
      return 'the table of contents';
    case 'data':
      return `the data of dump id ${state.dumpId}`;
    default:
      return 'large-object data';
  }
}

/** Byte order of UTF-8, as PostgreSQL's "C" collation sorts: stable across machines and locales. */
function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The column names of pg_dump's `COPY <schema>.<table> (<columns>) FROM stdin;`, unquoted. Identifiers are bare
 * (lowercase, as pg_dump leaves them) or double-quoted with "" for a quote. A table without columns has no list.
 */
export function copyColumns(copyStmt: string): string[] {
  let i = 0;
  const s = copyStmt;
  const space = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const ident = (): string => {
    if (s[i] === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= s.length) throw new UnreadableArchive(`an unterminated quoted name in ${JSON.stringify(copyStmt)}`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            out += '"';
            i += 2;
            continue;
          }
          i++;
          return out;
        }
        out += s[i++];
      }
    }
    const start = i;
    while (i < s.length && !/[\s.,()"]/.test(s[i]!)) i++;
    if (i === start) throw new UnreadableArchive(`a name expected at ${i} in ${JSON.stringify(copyStmt)}`);
    return s.slice(start, i);
  };
  if (!/^COPY\s/.test(s))
    throw new UnreadableArchive(`a COPY statement expected, got ${JSON.stringify(s.slice(0, 40))}`);
  i = 4;
  space();
  ident();
  if (s[i] === '.') {
    i++;
    ident();
  }
  space();
  if (s[i] !== '(') return [];
  i++;
  const columns: string[] = [];
  for (;;) {
    space();
    columns.push(ident());
    space();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === ')') return columns;
    throw new UnreadableArchive(`a column list ends unexpectedly in ${JSON.stringify(copyStmt)}`);
  }
}
