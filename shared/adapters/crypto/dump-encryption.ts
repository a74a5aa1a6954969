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
 * Encrypts a stream into the segmented format, synchronously: `update` and `final` hand each completed piece (the
 * header, then every sealed segment: length | nonce | ciphertext | tag) to `emit` as a view of ONE buffer the
 * encryptor reuses, valid until `emit` returns — copy it. The open segment's ciphertext is copied into that buffer
 * as it is produced, so a backup holds no ciphertext between chunks. Node's `cipher.update` still returns a fresh
 * buffer per call, whose collection is the encrypted backup's remaining extra cost (docs/decisions.md, "zstd's
 * output comes back through a relay too").
 */
export class SegmentEncryptor {
  private readonly head: Buffer;
  /** length(4) | nonce(12) | ciphertext(segmentSize) | tag(16) of the open segment. */
  private readonly segment: Buffer;
  private index = 0;
  private started = false;
  private cipher: CipherGCM | undefined;
  private filled = 0;

  constructor(
    private readonly key: Buffer,
    private readonly segmentSize = ENCRYPTION_SEGMENT_BYTES,
  ) {
    if (key.length !== 32) throw new PgkeepError('SystemErrorInternal', 'the encryption key must be 32 bytes');
    this.head = header(segmentSize);
    this.segment = Buffer.allocUnsafe(4 + NONCE_BYTES + segmentSize + TAG_BYTES);
  }

  update(chunk: Buffer, emit: (piece: Buffer) => void): void {
    this.start(emit);
    let at = 0;
    while (at < chunk.length) {
      // Data segments are never final: the stream ends with an empty segment flagged final.
      const cipher = (this.cipher ??= this.open(false));
      const take = Math.min(this.segmentSize - this.filled, chunk.length - at);
      this.put(cipher.update(chunk.subarray(at, at + take)));
      at += take;
      if (this.filled === this.segmentSize) this.close(cipher, emit);
    }
  }

  final(emit: (piece: Buffer) => void): void {
    this.start(emit);
    if (this.cipher !== undefined) this.close(this.cipher, emit);
    this.close(this.open(true), emit);
  }

  private start(emit: (piece: Buffer) => void): void {
    if (this.started) return;
    this.started = true;
    emit(this.head);
  }

  private open(final: boolean): CipherGCM {
    const nonce = randomBytes(NONCE_BYTES);
    nonce.copy(this.segment, 4);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(aad(this.head, this.index++, final));
    return cipher;
  }

  /** Appends ciphertext to the open segment (GCM's output is as long as its input). */
  private put(ciphertext: Buffer): void {
    ciphertext.copy(this.segment, 4 + NONCE_BYTES + this.filled);
    this.filled += ciphertext.length;
  }

  private close(cipher: CipherGCM, emit: (piece: Buffer) => void): void {
    this.put(cipher.final());
    const length = this.filled;
    this.segment.writeUInt32BE(length, 0);
    cipher.getAuthTag().copy(this.segment, 4 + NONCE_BYTES + length);
    this.cipher = undefined;
    this.filled = 0;
    emit(this.segment.subarray(0, 4 + NONCE_BYTES + length + TAG_BYTES));
  }
}

/** The segmented format as a Transform (pushes a copy of each piece SegmentEncryptor emits). */
export function createEncryptStream(key: Buffer, segmentSize = ENCRYPTION_SEGMENT_BYTES): Transform {
  const encryptor = new SegmentEncryptor(key, segmentSize);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      encryptor.update(chunk, (piece) => this.push(Buffer.from(piece)));
      done();
    },
    flush(done: TransformCallback) {
      encryptor.final((piece) => this.push(Buffer.from(piece)));
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
