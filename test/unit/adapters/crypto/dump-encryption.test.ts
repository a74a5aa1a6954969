import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  createDecryptStream,
  createEncryptStream,
  SegmentEncryptor,
} from '../../../../shared/adapters/crypto/dump-encryption';

const key = randomBytes(32);
const SEGMENT = 1000;

/** Feeds `data` in uneven chunks through a transform and collects the output. */
function through(stream: NodeJS.ReadWriteStream, data: Buffer, chunk = 333): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return buffer(Readable.from(parts).pipe(stream));
}

const encrypt = (plain: Buffer): Promise<Buffer> => through(createEncryptStream(key, SEGMENT), plain);
const decrypt = (sealed: Buffer, k = key): Promise<Buffer> => through(createDecryptStream(k), sealed, 517);

describe('createEncryptStream / createDecryptStream', () => {
  it('round-trips any length, including empty and exact multiples of the segment size', async () => {
    for (const length of [0, 1, SEGMENT - 1, SEGMENT, 3 * SEGMENT, 3 * SEGMENT + 17]) {
      const plain = randomBytes(length);
      const sealed = await encrypt(plain);
      if (length >= 64) expect(sealed.includes(plain.subarray(0, 64))).toBe(false);
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    }
  });

  it('lays segments out as header | length | nonce | ciphertext | tag, whatever the input chunking', async () => {
    const plain = randomBytes(2 * SEGMENT + 5);
    for (const chunk of [1, 333, SEGMENT, 5000]) {
      const sealed = await through(createEncryptStream(key, SEGMENT), plain, chunk);
      const segment = 4 + 12 + SEGMENT + 16;
      expect(sealed.length, String(chunk)).toBe(12 + 2 * segment + (4 + 12 + 5 + 16) + (4 + 12 + 16));
      expect(sealed.readUInt32BE(12)).toBe(SEGMENT);
      expect(sealed.readUInt32BE(12 + 2 * segment)).toBe(5);
      expect(sealed.readUInt32BE(12 + 2 * segment + 4 + 12 + 5 + 16)).toBe(0);
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    }
  });

  it('rejects a wrong key', async () => {
    const sealed = await encrypt(randomBytes(2500));
    await expect(decrypt(sealed, randomBytes(32))).rejects.toMatchObject({ code: 'SystemErrorIntegrityCheckFailed' });
  });

  it('rejects a single flipped byte', async () => {
    const sealed = await encrypt(randomBytes(2500));
    sealed[sealed.length >> 1] = (sealed[sealed.length >> 1] ?? 0) ^ 1;
    await expect(decrypt(sealed)).rejects.toMatchObject({ code: 'SystemErrorIntegrityCheckFailed' });
  });

  it('rejects a stream cut at a segment boundary (the final segment is missing)', async () => {
    const sealed = await encrypt(randomBytes(2 * SEGMENT));
    const segment = 4 + 12 + SEGMENT + 16;
    const cut = sealed.subarray(0, 12 + 2 * segment);
    await expect(decrypt(cut)).rejects.toMatchObject({ code: 'SystemErrorIntegrityCheckFailed' });
  });

  it('rejects swapped segments', async () => {
    const sealed = await encrypt(randomBytes(2 * SEGMENT));
    const segment = 4 + 12 + SEGMENT + 16;
    const head = sealed.subarray(0, 12);
    const first = sealed.subarray(12, 12 + segment);
    const second = sealed.subarray(12 + segment, 12 + 2 * segment);
    const rest = sealed.subarray(12 + 2 * segment);
    await expect(decrypt(Buffer.concat([head, second, first, rest]))).rejects.toMatchObject({
      code: 'SystemErrorIntegrityCheckFailed',
    });
  });

  it('SegmentEncryptor emits every sealed segment from one reused buffer, and the copies decrypt', async () => {
    const encryptor = new SegmentEncryptor(key, SEGMENT);
    const plain = randomBytes(3 * SEGMENT + 7);
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    const emit = (piece: Buffer): void => {
      copies.push(Buffer.from(piece));
      if (piece.length > 12) memory.add(piece.buffer);
    };
    for (let i = 0; i < plain.length; i += 700) encryptor.update(plain.subarray(i, i + 700), emit);
    encryptor.final(emit);
    // The header, three full segments, the partial one and the empty final one.
    expect(copies.map((c) => c.length)).toEqual([12, ...[SEGMENT, SEGMENT, SEGMENT, 7, 0].map((n) => 4 + 12 + n + 16)]);
    expect(memory.size).toBe(1);
    expect((await decrypt(Buffer.concat(copies))).equals(plain)).toBe(true);
  });
});
