// Reads a stored (zstd) dump for a restore: source bytes → SHA-256 + byte count → `zstd -d` → the custom-format
// archive. When the consumer gives up early the source is still read to its end, so a corruption is always told.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { PgkeepError } from '../../errors';
import { createDecryptStream } from '../crypto/dump-encryption';

export interface SourceDigest {
  /** Hex SHA-256 of the stored bytes read (the whole source unless it failed or was destroyed). */
  readonly sha256: string;
  readonly bytes: number;
  /** zstd exited 0: the bytes decompressed cleanly (its frame checksum matched). */
  readonly decompressed: boolean;
  /** zstd's stderr tail when it failed. */
  readonly zstdError: string;
  /** The source stream failed (e.g. the download broke); the digest then covers a prefix only. */
  readonly sourceError?: Error;
}

export interface DecompressedSource {
  /** The decompressed pg_dump custom-format archive (zstd's stdout). */
  readonly archive: Readable;
  /**
   * With `teeStored`: the stored bytes themselves, as read (an encrypted dump is delivered as it is stored). Paced
   * with the archive: both must be consumed. Fails when the source fails.
   */
  readonly stored?: Readable;
  /** Settles (never rejects) once the source ended or failed and zstd exited. */
  readonly done: Promise<SourceDigest>;
  /** The consumer stopped: throw away the rest of the archive but keep reading the source into the digest. */
  discardArchive(): void;
  /** Cancellation: stop reading and kill zstd; `done` then settles with what was read. */
  destroy(): void;
}

export interface OpenDecompressedSourceOptions {
  /** Called with the running count of stored bytes read. */
  readonly onBytes?: (bytesRead: number) => void;
  /** Default `zstd` from PATH. */
  readonly zstdPath?: string;
  /** The key of a client-side encrypted dump (manifest `encryption.keyId` names it); decrypted after hashing. */
  readonly decryptionKey?: Buffer;
  /** Also hand out the stored bytes (`stored`), e.g. to deliver an encrypted dump while proving it decrypts. */
  readonly teeStored?: boolean;
}

/** Opens `source` and starts decompressing it. Throws SystemErrorRestoreFailed when the source cannot be opened. */
export async function openDecompressedSource(
  source: () => Promise<NodeJS.ReadableStream>,
  options: OpenDecompressedSourceOptions = {},
): Promise<DecompressedSource> {
  let opened: NodeJS.ReadableStream;
  try {
    opened = await source();
  } catch (err) {
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `cannot read the recovery point: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const input = opened instanceof Readable ? opened : new Readable().wrap(opened);
  const zstd = spawn(options.zstdPath ?? 'zstd', ['-q', '-d', '-c'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const hash = createHash('sha256');
  let bytes = 0;
  let zstdError = '';
  let sourceError: Error | undefined;
  zstd.stderr.setEncoding('utf8');
  zstd.stderr.on('data', (s: string) => {
    zstdError = (zstdError + s).slice(-4096);
  });
  input.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    options.onBytes?.(bytes);
  });
  zstd.stdin.on('error', () => undefined);
  const stored = options.teeStored === true ? new PassThrough() : undefined;
  if (stored !== undefined) input.pipe(stored);
  // What feeds zstd: the stored bytes, or their decryption (the digest always covers the stored bytes).
  let feed: Readable = input;
  let firstHop: NodeJS.WritableStream = zstd.stdin;
  if (options.decryptionKey !== undefined) {
    const decrypt = createDecryptStream(options.decryptionKey);
    decrypt.once('error', (err) => {
      // Nothing after a segment that fails authentication may reach the restore: stop zstd at once.
      zstdError = `decryption failed: ${err.message}`;
      if (zstd.exitCode === null && zstd.signalCode === null) zstd.kill('SIGKILL');
    });
    input.pipe(decrypt);
    feed = decrypt;
    firstHop = decrypt;
  }
  feed.pipe(zstd.stdin);

  const sourceEnded = new Promise<void>((resolve) => {
    input.once('end', resolve);
    input.once('close', resolve);
    input.once('error', (err) => {
      sourceError = err;
      zstd.stdin.end();
      stored?.destroy(err);
      resolve();
    });
  });
  const zstdExited = new Promise<number | null>((resolve) => {
    zstd.once('error', (err) => {
      zstdError = err.message;
      resolve(null);
    });
    zstd.once('close', (code) => resolve(code));
  });
  // zstd gave up (corrupt input) before the source ended: read the rest into the digest anyway (a `stored`
  // consumer keeps the source flowing by itself).
  void zstdExited.then(() => {
    input.unpipe(firstHop);
    if (stored === undefined) input.resume();
  });

  const done = Promise.all([sourceEnded, zstdExited]).then(([, code]): SourceDigest => ({
    sha256: hash.digest('hex'),
    bytes,
    decompressed: code === 0,
    zstdError: zstdError.trim(),
    ...(sourceError === undefined ? {} : { sourceError }),
  }));
  return {
    archive: zstd.stdout,
    ...(stored !== undefined ? { stored } : {}),
    done,
    discardArchive() {
      zstd.stdout.unpipe();
      zstd.stdout.resume();
    },
    destroy() {
      input.unpipe();
      input.destroy();
      stored?.destroy();
      if (zstd.exitCode === null && zstd.signalCode === null) zstd.kill('SIGKILL');
      zstd.stdout.resume();
    },
  };
}

/** The verdict on stored bytes: they are the ones the manifest describes. */
export function matchesManifest(digest: SourceDigest, expectedSha256: string, expectedBytes: number): boolean {
  return (
    digest.sourceError === undefined &&
    digest.bytes === expectedBytes &&
    digest.sha256.toLowerCase() === expectedSha256.trim().toLowerCase()
  );
}

/** The SystemErrorIntegrityCheckFailed for bytes that do not match the manifest. */
export function integrityError(digest: SourceDigest, expectedSha256: string, expectedBytes: number): PgkeepError {
  const what =
    digest.bytes !== expectedBytes
      ? `${digest.bytes} bytes were read where the manifest records ${expectedBytes}`
      : `the SHA-256 of the stored bytes is ${digest.sha256}, the manifest records ${expectedSha256}`;
  return new PgkeepError('SystemErrorIntegrityCheckFailed', `the recovery point failed its integrity check: ${what}`);
}
