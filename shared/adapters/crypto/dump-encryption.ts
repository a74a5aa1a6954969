// Client-side AES-256-GCM for dumps, in independently authenticated segments so a restore can decrypt as it
// streams and still detect any changed, reordered, dropped or truncated byte.
//
// Format "PGKEEPE1":  header  = magic(8) | segmentSize(u32 BE)
//                     segment = length(u32 BE) | nonce(12) | ciphertext(length) | tag(16)
// AAD of segment i = header | i (u64 BE) | final flag (1 byte). The stream ends with one empty segment flagged final:
// a stream cut at a segment boundary lacks it and fails. Nonces are random per segment (a key encrypts far fewer than
// 2^32 segments of 1 MiB in ten years of backups).
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM } from 'node:crypto';
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
  /** 32 bytes: the backup's data key (envelope.ts). */
  readonly key: Buffer;
  /** The id of the key-encryption key that wrapped it, for the pipeline's record; never a key. */
  readonly keyId: string;
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

/**
 * A Transform that encrypts its input into the segmented format. Each chunk goes through the segment's cipher as it
 * arrives (GCM is a stream cipher); only the ciphertext of the open segment is held until its tag is known, and it is
 * pushed as it was produced, without copying it into one buffer (encryption is on the backup's hot path).
 */
export function createEncryptStream(key: Buffer, segmentSize = ENCRYPTION_SEGMENT_BYTES): Transform {
  if (key.length !== 32) throw new PgkeepError('SystemErrorInternal', 'the encryption key must be 32 bytes');
  const head = header(segmentSize);
  let index = 0;
  let started = false;
  // The open segment: its cipher, nonce, and the ciphertext so far (a segment's length precedes its body).
  let cipher: CipherGCM | undefined;
  let nonce = Buffer.alloc(0);
  let sealed: Buffer[] = [];
  let filled = 0;

  const open = (final: boolean): CipherGCM => {
    nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad(head, index++, final));
    return c;
  };
  const close = (stream: Transform, c: CipherGCM, length: number): void => {
    const last = c.final();
    const prefix = Buffer.alloc(4 + NONCE_BYTES);
    prefix.writeUInt32BE(length, 0);
    nonce.copy(prefix, 4);
    stream.push(prefix);
    for (const part of sealed) if (part.length > 0) stream.push(part);
    if (last.length > 0) stream.push(last);
    stream.push(c.getAuthTag());
    sealed = [];
    filled = 0;
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
      let at = 0;
      while (at < chunk.length) {
        // Data segments are never final: the stream ends with an empty segment flagged final.
        cipher ??= open(false);
        const take = Math.min(segmentSize - filled, chunk.length - at);
        sealed.push(cipher.update(chunk.subarray(at, at + take)));
        filled += take;
        at += take;
        if (filled === segmentSize) {
          close(this, cipher, segmentSize);
          cipher = undefined;
        }
      }
      done();
    },
    flush(done: TransformCallback) {
      start(this);
      if (cipher !== undefined) close(this, cipher, filled);
      close(this, open(true), 0);
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
