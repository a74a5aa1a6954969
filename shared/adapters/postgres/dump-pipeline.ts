// Streams `pg_dump --format=custom --compress=0` through the zstd CLI into staged blocks of a block blob (design §5.2),
// checking on the way that the dump is real (PGDMP header, pg_restore --list reads it), and commits only on success.
//
// Needs the zstd command-line tool (multi-threaded with -T0, a few MiB of memory): Debian/Ubuntu package `zstd`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { PgkeepError, type ErrorCode } from '../../errors';
import type { BlockBlobSink, PgClientTools, PgConnection } from '../../ports';
import { pgEnv, redact } from './connection-string';
import { ENCRYPTION_SEGMENT_BYTES, SegmentEncryptor, type DumpEncryptionKey } from '../crypto/dump-encryption';
import { chooseBlockSize, StagedBlockWriter } from '../storage/staged-blocks';
import { pgConnectionLost } from '../network-errors';
import { DumpContentsParser, type ContentsResult } from './dump-contents';
import { withBufferedStdout } from './stdout-buffer';
import { openOutputRelay, type OutputRelay } from './output-relay';

export interface RunDumpOptions {
  readonly conn: PgConnection;
  /** From pickPgDump: pg_dump and the pg_restore of the same major (it reads the TOC back). */
  readonly tools: Pick<PgClientTools, 'pgDump' | 'pgRestore' | 'version'>;
  readonly sink: BlockBlobSink;
  /** 1–3 in practice (ZSTD_LEVEL). */
  readonly zstdLevel: number;
  /** No bytes from pg_dump (and no block staged) for this long → SystemErrorDumpStalled. */
  readonly stallTimeoutMs: number;
  /** The database's size; sets the block size (see chooseBlockSize). */
  readonly expectedSizeBytes: number;
  /** Throttled to once per second or per 16 MiB of dump, plus once at the end. */
  readonly onProgress?: (dumpedBytes: number, storedBytes: number) => void;
  readonly abortSignal?: AbortSignal;
  /** Metadata set on the blob at commit (e.g. the job id). */
  readonly metadata?: Record<string, string>;
  /** Default `zstd` from PATH. */
  readonly zstdPath?: string;
  /** Client-side AES-256-GCM after compression (dump-encryption.ts); the SHA-256 covers the encrypted bytes. */
  readonly encryption?: DumpEncryptionKey;
  /** Computes the manifest of contents from pg_dump's plain archive as it passes, before zstd and encryption
   *  (dump-contents.ts); default true. */
  readonly contents?: boolean;
}

export interface DumpResult {
  /** Bytes stored in the blob (compressed). */
  readonly bytes: number;
  /** Hex SHA-256 of the stored bytes. */
  readonly sha256: string;
  /** Bytes pg_dump wrote (the custom-format archive before compression). */
  readonly uncompressedBytes: number;
  /** Entries `pg_restore --list` printed for the archive. */
  readonly tocEntries: number;
  readonly pgDumpVersion: string;
  readonly compression: { readonly algorithm: 'zstd'; readonly level: number };
  readonly encryption: {
    readonly algorithm: 'AES-256-GCM';
    readonly format: 'PGKEEPE1';
    readonly keyId: string;
    readonly segmentBytes: number;
  } | null;
  readonly blockSize: number;
  readonly blockCount: number;
  /** The manifest of contents, or why it could not be computed; undefined when not asked for. */
  readonly contents?: ContentsResult;
}

const PROGRESS_INTERVAL_MS = 1_000;
const PROGRESS_BYTES = 16 * 1024 * 1024;
const STDERR_KEEP = 8 * 1024;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Dumps `conn.database` into the sink and commits the blob; returns what the manifest needs. On any failure kills
 * the children, leaves the staged blocks uncommitted (nothing becomes visible) and throws PgkeepError:
 * SystemErrorDumpStalled, UserErrorServerConnectionClosed (the server went away mid-dump), or SystemErrorDumpFailed
 * (pg_dump's message with the password removed; an empty or unreadable dump; zstd or upload failures).
 */
export async function runDump(options: RunDumpOptions): Promise<DumpResult> {
  const { conn, tools, sink } = options;
  const level = options.zstdLevel;
  if (!Number.isInteger(level) || level < 1 || level > 19) {
    throw new PgkeepError('SystemErrorInternal', `zstd level ${level} is outside 1–19`);
  }
  const blockSize = chooseBlockSize(options.expectedSizeBytes);
  const internal = new AbortController();
  const children: ChildProcess[] = [];
  const early: { reason?: 'stalled' | 'aborted' | 'spawn' | 'upload' | 'relay'; detail?: string } = {};

  const killAll = (): void => {
    internal.abort();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const stop = (reason: NonNullable<typeof early.reason>, detail?: string): void => {
    if (early.reason === undefined) {
      early.reason = reason;
      early.detail = detail;
    }
    killAll();
  };

  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
  const [dumpFile, dumpArgs] = await withBufferedStdout(
    tools.pgDump,
    ['--format=custom', '--compress=0', '--no-password'],
    baseEnv.PATH,
  );
  // pg_dump and zstd each write into a socket the host reads into one reused buffer (output-relay.ts): pg_dump's
  // bytes are copied on to zstd and pg_restore, zstd's into the staged blocks. A fresh 64 KiB buffer per read of
  // zstd's output cost ~15 full collections per GiB dumped (docs/decisions.md, "zstd's output comes back through a
  // relay too").
  const [relay, compressed] = await openRelays();
  // pg_dump writes into the relay's socket; the host copies each read on to zstd and pg_restore from one reused buffer.
  const pgDump = spawnChild(children, dumpFile, dumpArgs, relay.childEnd, {
    // The password travels in the child's environment only; argv is world-readable in /proc.
    ...baseEnv,
    ...pgEnv(conn),
    PGAPPNAME: 'pgkeep',
    // Timestamps with time zone are written in UTC, whatever the server's default: the manifest of contents
    // checksums their text, and a restore test reads them back in UTC (restored-contents.ts).
    PGTZ: 'UTC',
  });
  const zstd = spawnChild(
    children,
    options.zstdPath ?? 'zstd',
    ['-q', '-T0', `-${level}`, '-c'],
    compressed.childEnd,
    baseEnv,
  );
  const pgRestore = spawnChild(children, tools.pgRestore, ['--list'], 'pipe', baseEnv);
  pgDump.stdin.end();
  for (const child of children) {
    child.once('error', (err) => stop('spawn', err.message));
    // One tool failing dooms the dump: stop the others now rather than upload what is left. The failing tool's own
    // exit code is kept; the others show SIGKILL, which the classification below reads as "stopped by us".
    child.once('exit', (code) => {
      if (code !== null && code !== 0) killAll();
    });
  }

  const dumpErr = tail(pgDump.stderr);
  const zstdErr = tail(zstd.stderr);
  const restoreErr = tail(pgRestore.stderr);
  const tocEntries = countTocLines(pgRestore.stdout);

  const stall = setTimeout(() => stop('stalled'), options.stallTimeoutMs);
  const onAbort = (): void => stop('aborted');
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  if (options.abortSignal?.aborted === true) onAbort();

  let dumped = 0;
  let stored = 0;
  let header = Buffer.alloc(0);
  let lastReport = { at: 0, bytes: 0 };
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport.at < PROGRESS_INTERVAL_MS && dumped - lastReport.bytes < PROGRESS_BYTES) return;
    lastReport = { at: now, bytes: dumped };
    try {
      options.onProgress?.(dumped, stored);
    } catch {
      // Progress is advisory: a failing callback must not break the stream it is reporting on.
    }
  };

  const contents = options.contents === false ? undefined : new DumpContentsParser();
  relay.start([zstd.stdin, pgRestore.stdin], {
    // The chunk's memory is the relay's read buffer: the parser and the header check copy what they keep.
    onChunk: (chunk) => {
      contents?.push(chunk);
      dumped += chunk.length;
      if (header.length < 5) header = Buffer.concat([header, chunk.subarray(0, 5 - header.length)]);
      stall.refresh();
      report(false);
    },
    onError: (err) => stop('relay', err.message),
  });

  const writer = new StagedBlockWriter(sink, {
    blockSize,
    abortSignal: internal.signal,
    onBlockStaged: () => stall.refresh(),
  });
  const hash = createHash('sha256');
  // What is stored (zstd's output, encrypted when asked) is hashed, counted and cut into staged blocks.
  const store = blockTarget(
    writer,
    options.encryption ? new SegmentEncryptor(options.encryption.key) : undefined,
    (piece) => {
      hash.update(piece);
      stored += piece.length;
    },
  );
  const upload = finished(store).catch((err: unknown) => {
    stop('upload', err instanceof Error ? err.message : String(err));
  });
  compressed.start([store], {
    onError: (err) => stop('upload', `reading zstd's output failed: ${err.message}`),
  });

  const [dumpExit, zstdExit, restoreExit] = await Promise.all([exited(pgDump), exited(zstd), exited(pgRestore)]);
  await upload;
  clearTimeout(stall);
  options.abortSignal?.removeEventListener('abort', onAbort);

  const scrub = (text: string): string => redact(text, conn).trim();
  const failure = ((): PgkeepError | undefined => {
    const db = `database "${conn.database}" on ${conn.host}:${conn.port}`;
    if (early.reason === 'aborted') return new PgkeepError('SystemErrorDumpFailed', `the dump of ${db} was cancelled`);
    if (early.reason === 'stalled') {
      return new PgkeepError(
        'SystemErrorDumpStalled',
        `pg_dump of ${db} produced no bytes for ${Math.round(options.stallTimeoutMs / 1000)} s and was stopped`,
      );
    }
    if (ownFailure(dumpExit)) {
      const stderr = scrub(dumpErr());
      const code: ErrorCode = pgConnectionLost.test(stderr)
        ? 'UserErrorServerConnectionClosed'
        : 'SystemErrorDumpFailed';
      return new PgkeepError(code, `pg_dump of ${db} failed (${describeExit(dumpExit)}): ${stderr}`);
    }
    if (early.reason === 'spawn')
      return new PgkeepError('SystemErrorDumpFailed', `cannot start a dump tool: ${scrub(early.detail ?? '')}`);
    if (early.reason === 'relay')
      return new PgkeepError('SystemErrorDumpFailed', `reading pg_dump's output failed: ${scrub(early.detail ?? '')}`);
    if (ownFailure(zstdExit))
      return new PgkeepError('SystemErrorDumpFailed', `zstd failed (${describeExit(zstdExit)}): ${scrub(zstdErr())}`);
    if (early.reason === 'upload')
      return new PgkeepError(
        'SystemErrorDumpFailed',
        `uploading the dump of ${db} failed: ${scrub(early.detail ?? '')}`,
      );
    if (dumped === 0 || header.toString('latin1') !== 'PGDMP') {
      return new PgkeepError(
        'SystemErrorDumpFailed',
        `pg_dump of ${db} wrote an empty or truncated dump (no PGDMP header)`,
      );
    }
    if (ownFailure(restoreExit) || tocEntries() === 0) {
      return new PgkeepError(
        'SystemErrorDumpFailed',
        `pg_dump of ${db} wrote an empty or truncated dump: pg_restore --list cannot read it (${scrub(restoreErr()) || describeExit(restoreExit)})`,
      );
    }
    if (dumpExit.code !== 0 || zstdExit.code !== 0) {
      return new PgkeepError('SystemErrorDumpFailed', `the dump of ${db} was interrupted`);
    }
    return undefined;
  })();
  if (failure !== undefined) {
    internal.abort();
    await writer.settle();
    throw failure;
  }

  const blockIds = await writer.finish().catch((err: unknown) => {
    throw new PgkeepError(
      'SystemErrorDumpFailed',
      `uploading the dump failed: ${scrub(err instanceof Error ? err.message : String(err))}`,
      { cause: err },
    );
  });
  const sha256 = hash.digest('hex');
  await sink
    .commitBlocks(blockIds, { abortSignal: options.abortSignal, metadata: options.metadata })
    .catch((err: unknown) => {
      throw new PgkeepError(
        'SystemErrorDumpFailed',
        `committing the dump's ${blockIds.length} blocks failed: ${scrub(err instanceof Error ? err.message : String(err))}`,
        { cause: err },
      );
    });
  report(true);
  return {
    bytes: stored,
    sha256,
    uncompressedBytes: dumped,
    tocEntries: tocEntries(),
    pgDumpVersion: tools.version,
    compression: { algorithm: 'zstd', level },
    encryption: options.encryption
      ? {
          algorithm: 'AES-256-GCM',
          format: 'PGKEEPE1',
          keyId: options.encryption.keyId,
          segmentBytes: ENCRYPTION_SEGMENT_BYTES,
        }
      : null,
    blockSize,
    blockCount: blockIds.length,
    ...(contents ? { contents: contents.finish() } : {}),
  };
}

/** The two relays; when one cannot be opened, the other is closed and the dump fails. */
async function openRelays(): Promise<[OutputRelay, OutputRelay]> {
  const [first, second] = await Promise.allSettled([openOutputRelay(), openOutputRelay()]);
  if (first.status === 'fulfilled' && second.status === 'fulfilled') return [first.value, second.value];
  const failure: unknown = first.status === 'rejected' ? first.reason : (second as PromiseRejectedResult).reason;
  for (const opened of [first, second]) if (opened.status === 'fulfilled') opened.value.close();
  throw new PgkeepError(
    'SystemErrorDumpFailed',
    `cannot open the sockets pg_dump and zstd write to: ${failure instanceof Error ? failure.message : String(failure)}`,
    { cause: failure },
  );
}

/**
 * A Writable over the staged-block writer: each chunk (zstd's output) is encrypted when asked, each stored piece
 * goes to `seen` (hash, count) and is copied into the current block before the write returns. The write's callback
 * is called at once unless the writer has maxInFlight blocks staging; until it is, the relay feeding this target does
 * not reuse its buffer (backpressure back to zstd).
 */
function blockTarget(
  writer: StagedBlockWriter,
  encryptor: SegmentEncryptor | undefined,
  seen: (piece: Buffer) => void,
): Writable {
  const store = (piece: Buffer): void => {
    seen(piece);
    writer.put(piece);
  };
  // Runs a step, then calls back at once or when the writer is ready again; a failed step fails the write.
  const run = (step: () => void, done: (err?: Error | null) => void): void => {
    try {
      step();
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const wait = writer.ready();
    if (wait) wait.then(() => done(), done);
    else done();
  };
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      run(() => (encryptor ? encryptor.update(chunk, store) : store(chunk)), done);
    },
    final(done) {
      run(() => encryptor?.final(store), done);
    },
  });
}

type ToolChild = ChildProcess & { stdin: Writable; stderr: Readable };
type PipedChild = ToolChild & { stdout: Readable };

/** `stdout` 'pipe', or a socket the child writes to instead (then the host gets no stdout stream). */
function spawnChild(
  children: ChildProcess[],
  file: string,
  args: string[],
  stdout: 'pipe',
  env: Record<string, string>,
): PipedChild;
function spawnChild(
  children: ChildProcess[],
  file: string,
  args: string[],
  stdout: Socket,
  env: Record<string, string>,
): ToolChild;
function spawnChild(
  children: ChildProcess[],
  file: string,
  args: string[],
  stdout: 'pipe' | Socket,
  env: Record<string, string>,
): ToolChild {
  const child = spawn(file, args, { env, stdio: ['pipe', stdout, 'pipe'] }) as ToolChild;
  children.push(child);
  return child;
}

/**
 * Resolves with the exit status once the process exited and its stderr was read to the end. Not 'close': that also
 * waits for stdout, which a killed pipeline may never drain.
 */
function exited(child: ToolChild): Promise<Exit> {
  const stderrDone = new Promise<void>((resolve) => {
    if (child.stderr.closed) resolve();
    else child.stderr.once('close', () => resolve());
  });
  const exit = new Promise<Exit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A child that never started emits 'error' and no 'exit'.
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return Promise.all([exit, stderrDone]).then(([status]) => status);
}

/** Exited non-zero by itself (not killed by us with SIGKILL, not failed to start). */
function ownFailure(exit: Exit): boolean {
  return exit.code !== null && exit.code !== 0;
}

function describeExit(exit: Exit): string {
  return exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
}

/** Keeps the last few KiB of a stream (stderr) without unbounded memory. */
function tail(stream: Readable): () => string {
  let kept = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    kept = (kept + s).slice(-STDERR_KEEP);
  });
  return () => kept;
}

/** Counts TOC lines of `pg_restore --list` output (comment lines start with ';'). */
function countTocLines(stream: Readable): () => number {
  let count = 0;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '' && !line.startsWith(';')) count++;
  });
  return () => count + (partial.trim() !== '' && !partial.startsWith(';') ? 1 : 0);
}
