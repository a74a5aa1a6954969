// Reads a stored dump back as a custom-format archive stream: blob download → SHA-256 of the stored bytes →
// `zstd -d`. Restores and tests read dumps through it.
import type { BlobClient } from '@azure/storage-blob';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PgkeepError } from '../errors';
import { createDecryptStream } from './dump-encryption';

export interface DumpReader {
  /** The decompressed pg_dump custom-format archive. */
  readonly archive: Readable;
  /** Settles once the whole blob went through: the SHA-256 and byte count of the stored bytes, or an error. */
  readonly done: Promise<{ readonly sha256: string; readonly bytes: number }>;
}

export interface OpenDumpReaderOptions {
  readonly abortSignal?: AbortSignal;
  /** Default `zstd` from PATH. */
  readonly zstdPath?: string;
  /** The key of an encrypted dump (its manifest's encryption.keyId names it). */
  readonly decryptionKey?: Buffer;
}

/**
 * Streams `blob` through `zstd -d`. The caller consumes `archive` (e.g. into pg_restore's stdin) and then awaits
 * `done` to learn the stored bytes' SHA-256 — compare it with the manifest before trusting the restore.
 */
export async function openDumpReader(blob: BlobClient, options: OpenDumpReaderOptions = {}): Promise<DumpReader> {
  const download = await blob.download(0, undefined, { abortSignal: options.abortSignal });
  const body = download.readableStreamBody;
  if (body === undefined) throw new PgkeepError('SystemErrorInternal', `the blob ${blob.name} has no body`);
  const zstd = spawn(options.zstdPath ?? 'zstd', ['-q', '-d', '-c'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const hash = createHash('sha256');
  const pendingChecks: Promise<void>[] = [];
  let bytes = 0;
  let stderr = '';
  zstd.stderr.setEncoding('utf8');
  zstd.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4096);
  });
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  zstd.stdin.on('error', () => undefined);
  const downloaded = new Promise<void>((resolve, reject) => {
    body.once('end', resolve);
    body.once('error', reject);
  });
  if (options.decryptionKey === undefined) {
    body.pipe(zstd.stdin);
  } else {
    const decrypt = createDecryptStream(options.decryptionKey);
    const decrypted = new Promise<void>((resolve, reject) => {
      decrypt.once('end', resolve);
      decrypt.once('error', (err) => {
        // Nothing after a failed segment may reach the restore: stop decompressing at once.
        zstd.kill('SIGKILL');
        reject(err);
      });
    });
    body.pipe(decrypt).pipe(zstd.stdin);
    decrypted.catch(() => undefined);
    pendingChecks.push(decrypted);
  }
  const exited = new Promise<number | null>((resolve, reject) => {
    zstd.once('error', reject);
    zstd.once('close', resolve);
  });
  const done = Promise.all([downloaded, exited, ...pendingChecks]).then(([, code]) => {
    if (code !== 0) {
      throw new PgkeepError('SystemErrorIntegrityCheckFailed', `zstd cannot decompress ${blob.name}: ${stderr.trim()}`);
    }
    return { sha256: hash.digest('hex'), bytes };
  });
  // The caller may only look at `done` after draining `archive`; until then a rejection is not unhandled.
  done.catch(() => undefined);
  return { archive: zstd.stdout, done };
}
