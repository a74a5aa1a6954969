// Small texts kept the way dumps are kept (a server's globals script): zstd, then — with a data key — the segmented
// AES-256-GCM of dump-encryption.ts; the SHA-256 and byte count of the stored bytes go into the caller's manifest.
// They are read back through the restore source (hash → decrypt → zstd -d), so `pgkeep decrypt`, restores and
// rewraps treat them exactly as they treat dumps.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PgkeepError } from '../../errors';
import { createEncryptStream } from '../crypto/dump-encryption';
import { integrityError, matchesManifest, openDecompressedSource } from './restore-source';

export interface SealedText {
  /** The stored bytes: a zstd frame, encrypted when a data key was given. */
  readonly body: Buffer;
  readonly sha256: string;
}

/** Every chunk of a stream, in one buffer (small blobs only). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** zstd -<level> of the text (the zstd CLI, as the dump pipeline uses), then encrypted under `dataKey` if given. */
export async function sealText(
  text: string,
  options: { readonly level: number; readonly dataKey?: Buffer; readonly zstdPath?: string },
): Promise<SealedText> {
  const zstd = spawn(options.zstdPath ?? 'zstd', ['-q', `-${options.level}`, '-c'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  zstd.stderr.setEncoding('utf8');
  zstd.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-2048)));
  zstd.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    zstd.once('error', (err) => {
      stderr += err.message;
      resolve(null);
    });
    zstd.once('close', resolve);
  });
  zstd.stdin.end(Buffer.from(text, 'utf8'));
  const compressed = options.dataKey
    ? readAll(zstd.stdout.pipe(createEncryptStream(options.dataKey)))
    : readAll(zstd.stdout);
  const [code, body] = await Promise.all([exited, compressed]);
  if (code !== 0) {
    throw new PgkeepError(
      'SystemErrorDumpFailed',
      `zstd failed to compress: ${stderr.trim() || `exit ${String(code)}`}`,
    );
  }
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
}

/**
 * The text of stored bytes `sealText` wrote. Throws SystemErrorIntegrityCheckFailed when they are not the ones the
 * manifest describes, or do not decrypt or decompress.
 */
export async function unsealText(
  stored: Buffer,
  expected: { readonly sha256: string; readonly bytes: number },
  options: { readonly dataKey?: Buffer; readonly zstdPath?: string } = {},
): Promise<string> {
  const source = await openDecompressedSource(() => Promise.resolve(Readable.from([stored])), {
    ...(options.dataKey ? { decryptionKey: options.dataKey } : {}),
    ...(options.zstdPath ? { zstdPath: options.zstdPath } : {}),
  });
  const [text, digest] = await Promise.all([readAll(source.archive), source.done]);
  if (!matchesManifest(digest, expected.sha256, expected.bytes)) {
    throw integrityError(digest, expected.sha256, expected.bytes);
  }
  if (!digest.decompressed) {
    throw new PgkeepError(
      'SystemErrorIntegrityCheckFailed',
      `the stored text cannot be decrypted or decompressed: ${digest.zstdError}`,
    );
  }
  return text.toString('utf8');
}
