// Client-side AES-256-GCM for dumps, in independently authenticated segments so a restore can decrypt as it
// streams and still detect any changed, reordered, dropped or truncated byte.
//
// Format "PGKEEPE1":  header  = magic(8) | segmentSize(u32 BE)
//                     segment = length(u32 BE) | nonce(12) | ciphertext(length) | tag(16)
// AAD of segment i = header | i (u64 BE) | final flag (1 byte). The stream ends with one empty segment flagged final:
// a stream cut at a segment boundary lacks it and fails. Nonces are random per segment (a key encrypts far fewer than
// 2^32 segments of 1 MiB in ten years of backups).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PgkeepError } from '../../errors';

const MAGIC = Buffer.from('PGKEEPE1', 'latin1');
const HEADER_BYTES = MAGIC.length + 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const ENCRYPTION_SEGMENT_BYTES = 1024 * 1024;
/** Refuse absurd segment lengths before allocating (a corrupt or hostile header). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface DumpEncryptionKey {
  /** 32 bytes. */
  readonly key: Buffer;
  /** Recorded in the manifest so a restore knows which key to ask for; never the key itself. */
  readonly keyId: string;
}

/** Decodes a base64 BACKUP_ENCRYPTION_KEY; throws UserErrorInvalidRequest when it is not 32 bytes. */
export function parseEncryptionKey(base64: string, keyId: string): DumpEncryptionKey {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) {
    throw new PgkeepError('UserErrorInvalidRequest', 'the backup encryption key must be 32 bytes, base64-encoded');
  }
  return { key, keyId };
}

function header(segmentSize: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(segmentSize, MAGIC.length);
  return h;
}

function aad(head: Buffer, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail.writeUInt8(final ? 1 : 0, 8);
  return Buffer.concat([head, tail]);
}

/** A Transform that encrypts its input into the segmented format. */
export function createEncryptStream(key: Buffer, segmentSize = ENCRYPTION_SEGMENT_BYTES): Transform {
  if (key.length !== 32) throw new PgkeepError('SystemErrorInternal', 'the encryption key must be 32 bytes');
  const head = header(segmentSize);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let started = false;

  const seal = (plain: Buffer, final: boolean): Buffer => {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(aad(head, index++, final));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    return Buffer.concat([len, nonce, body, cipher.getAuthTag()]);
  };
  const start = (stream: Transform): void => {
    if (!started) {
      started = true;
      stream.push(head);
    }
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      start(this);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= segmentSize) {
        let all = Buffer.concat(pending);
        while (all.length >= segmentSize) {
          this.push(seal(all.subarray(0, segmentSize), false));
          all = all.subarray(segmentSize);
        }
        pending = all.length > 0 ? [Buffer.from(all)] : [];
        pendingBytes = all.length;
      }
      done();
    },
    flush(done: TransformCallback) {
      start(this);
      if (pendingBytes > 0) this.push(seal(Buffer.concat(pending), false));
      this.push(seal(Buffer.alloc(0), true));
      done();
    },
  });
}

/**
 * A Transform that decrypts the segmented format and fails (SystemErrorIntegrityCheckFailed) on a wrong key, any
 * changed byte, reordered or missing segments, or a missing end.
 */
export function createDecryptStream(key: Buffer): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let head: Buffer | undefined;
  let index = 0;
  let ended = false;
  const corrupt = (why: string): PgkeepError =>
    new PgkeepError('SystemErrorIntegrityCheckFailed', `the encrypted dump cannot be decrypted: ${why}`);

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        if (head === undefined) {
          if (buffered.length < HEADER_BYTES) return done();
          head = Buffer.from(buffered.subarray(0, HEADER_BYTES));
          if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('not a pgkeep encrypted stream');
          buffered = buffered.subarray(HEADER_BYTES);
        }
        for (;;) {
          if (buffered.length < 4) break;
          const length = buffered.readUInt32BE(0);
          if (length > MAX_SEGMENT_BYTES) throw corrupt('segment length out of range');
          const total = 4 + NONCE_BYTES + length + TAG_BYTES;
          if (buffered.length < total) break;
          if (ended) throw corrupt('data after the final segment');
          const nonce = buffered.subarray(4, 4 + NONCE_BYTES);
          const body = buffered.subarray(4 + NONCE_BYTES, 4 + NONCE_BYTES + length);
          const tag = buffered.subarray(4 + NONCE_BYTES + length, total);
          const final = length === 0;
          const decipher = createDecipheriv('aes-256-gcm', key, nonce);
          decipher.setAAD(aad(head, index++, final));
          decipher.setAuthTag(tag);
          let plain: Buffer;
          try {
            plain = Buffer.concat([decipher.update(body), decipher.final()]);
          } catch {
            throw corrupt(`segment ${index - 1} failed authentication (wrong key or altered data)`);
          }
          if (plain.length > 0) this.push(plain);
          if (final) ended = true;
          buffered = buffered.subarray(total);
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      if (!ended || buffered.length > 0) done(corrupt('the stream is truncated'));
      else done();
    },
  });
}
