import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COPY_CHECKSUM_WASM_BASE64, CopyChecksum } from '../../../../shared/adapters/postgres/copy-checksum';
import { referenceDigest } from '../../../support/custom-archive';

const watFile = path.resolve(__dirname, '../../../../shared/adapters/postgres/copy-checksum.wat');

/** Random COPY-like text: rows of printable bytes, tabs, multi-byte UTF-8, some empty, newline-terminated. */
const copyText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constant(''), fc.string({ maxLength: 300 })), {
    maxLength: 40,
  })
  // As COPY text escapes them: backslashes doubled, newlines as \n.
  .map((rows) => Buffer.from(rows.map((r) => `${r.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`).join(''), 'utf8'));

/** Cut points splitting a buffer of `length` bytes into pieces. */
const cuts = (length: number) =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: Math.max(0, length) }), { maxLength: 12 })
    .map((c) => c.sort((a, b) => a - b));

function pieces(buf: Buffer, at: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}

function framedBlock(text: Buffer, chunkBytes: number): Buffer {
  const parts: Buffer[] = [];
  const int = (n: number) => {
    const b = Buffer.alloc(5);
    b.writeUInt32LE(n, 1);
    return b;
  };
  for (let off = 0; off < text.length; off += chunkBytes) {
    const piece = text.subarray(off, off + chunkBytes);
    parts.push(int(piece.length), piece);
  }
  parts.push(int(0));
  return Buffer.concat(parts);
}

describe('COPY_CHECKSUM_WASM_BASE64', () => {
  it('is the compilation of copy-checksum.wat', async () => {
    const wabt = await (await import('wabt')).default();
    const module = wabt.parseWat('copy-checksum.wat', readFileSync(watFile, 'utf8'));
    module.validate();
    const compiled = Buffer.from(module.toBinary({}).buffer).toString('base64');
    module.destroy();
    expect(compiled, `copy-checksum.wat changed: set COPY_CHECKSUM_WASM_BASE64 to\n${compiled}`).toBe(
      COPY_CHECKSUM_WASM_BASE64,
    );
  });
});

describe('CopyChecksum.text', () => {
  it('gives the reference sum of FNV-1a 64 per row, however the text is split', () => {
    fc.assert(
      fc.property(
        copyText.chain((t) => fc.tuple(fc.constant(t), cuts(t.length))),
        ([text, at]) => {
          const sum = new CopyChecksum();
          for (const p of pieces(text, at)) sum.text(p);
          expect(sum.digest()).toEqual(referenceDigest(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the reference sum for many short rows, empty rows and end markers anywhere, however split', () => {
    // Rows of a few bytes from an alphabet that makes \\. and \. rows likely: exercises the four-rows-at-a-time path
    // (lanes refilled after every row, empty rows between, a marker in any lane) and its hand-over to the
    // byte-at-a-time path at cuts, where a row or a marker is split.
    const row = fc.oneof(
      fc.constant(''),
      fc.constant('\\.'),
      fc.constant('\\.'.slice(1)),
      fc.stringMatching(/^[\\.a\t]{0,9}$/),
      fc.string({ maxLength: 70 }).map((r) => r.replace(/\n/g, '')),
    );
    fc.assert(
      fc.property(
        fc
          .array(row, { maxLength: 300 })
          .map((rows) => Buffer.from(rows.map((r) => `${r}\n`).join('')))
          .chain((t) => fc.tuple(fc.constant(t), cuts(t.length))),
        ([text, at]) => {
          const sum = new CopyChecksum();
          for (const p of pieces(text, at)) sum.text(p);
          expect(sum.digest()).toEqual(referenceDigest(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order of the rows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 30 }),
        fc.integer(),
        (rows, seed) => {
          const clean = rows.map((r) => r.replace(/\\/g, '\\\\').replace(/\n/g, ''));
          const shuffled = [...clean].sort((a, b) => ((a.length * 31 + seed) % 7) - ((b.length * 31 + seed) % 7));
          const of = (list: string[]) => {
            const sum = new CopyChecksum();
            sum.text(Buffer.from(list.map((r) => `${r}\n`).join('')));
            return sum.digest();
          };
          expect(of(shuffled)).toEqual(of(clean));
        },
      ),
    );
  });

  it('changes when one row changes and counts a repeated row twice', () => {
    const of = (text: string) => {
      const sum = new CopyChecksum();
      sum.text(Buffer.from(text));
      return sum.digest();
    };
    expect(of('1\tAda\n2\tBob\n').checksum).not.toBe(of('1\tAda\n2\tBoc\n').checksum);
    expect(of('1\tAda\n1\tAda\n')).toEqual({
      rows: 2,
      checksum: referenceDigest(Buffer.from('1\tAda\n1\tAda\n')).checksum,
    });
    expect(of('1\tAda\n1\tAda\n').checksum).not.toBe(of('').checksum);
  });

  it("stops at pg_dump's end-of-data marker, a line of exactly \\.", () => {
    const sum = new CopyChecksum();
    sum.text(Buffer.from('1\tAda\n\\\\.\n\\.\n\n\nafter\n'));
    expect(sum.digest()).toEqual(referenceDigest(Buffer.from('1\tAda\n\\\\.\n')));
    expect(sum.digest().rows).toBe(2);
  });

  it('reads beyond one 64 KiB input area, and a row longer than it', () => {
    const long = `${'x'.repeat(200_000)}\n${'y'.repeat(70_000)}\nshort\n`;
    const sum = new CopyChecksum();
    sum.text(Buffer.from(long));
    expect(sum.digest()).toEqual(referenceDigest(Buffer.from(long)));
  });

  it('is zero rows and a zero sum for no text, and starts over after reset', () => {
    const sum = new CopyChecksum();
    expect(sum.digest()).toEqual({ rows: 0, checksum: '0000000000000000' });
    sum.text(Buffer.from('a\n'));
    sum.reset();
    sum.text(Buffer.from('b\n'));
    expect(sum.digest()).toEqual(referenceDigest(Buffer.from('b\n')));
  });
});

describe('CopyChecksum.framed', () => {
  it('reads chunked data to its end mark and hashes only the chunk bytes, however the block is split', () => {
    fc.assert(
      fc.property(
        copyText.chain((t) =>
          fc.tuple(fc.constant(t), fc.integer({ min: 1, max: 500 })).chain(([text, chunkBytes]) => {
            const block = Buffer.concat([framedBlock(text, chunkBytes), Buffer.from('AFTER')]);
            return fc.tuple(fc.constant(text), fc.constant(block), cuts(block.length));
          }),
        ),
        ([text, block, at]) => {
          const sum = new CopyChecksum();
          let consumed = 0;
          let phase = 'chunkLength';
          for (const p of pieces(block, at)) {
            if (phase === 'ended') break;
            const r = sum.framed(p, 0, 4);
            consumed += r.next;
            phase = r.phase;
          }
          expect(phase).toBe('ended');
          expect(consumed).toBe(block.length - 'AFTER'.length);
          expect(sum.payloadBytes()).toBe(text.length);
          expect(sum.digest()).toEqual(referenceDigest(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('says corrupt at a negative chunk length', () => {
    const sum = new CopyChecksum();
    expect(sum.framed(Buffer.from([1, 5, 0, 0, 0, 65]), 0, 4).phase).toBe('corrupt');
  });
});
