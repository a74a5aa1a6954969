import { describe, expect, it } from 'vitest';
import {
  blockIdFor,
  chooseBlockSize,
  chooseMaxInFlight,
  MAX_BLOCKS,
  StagedBlockWriter,
} from '../../../../shared/adapters/storage/staged-blocks';
import type { BlockBlobSink } from '../../../../shared/ports';

const MiB = 1024 * 1024;

/** A sink that holds every stageBlock until released, recording what it got and the peak concurrency. */
function gatedSink() {
  const staged = new Map<string, Buffer>();
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let peak = 0;
  const sink: BlockBlobSink = {
    stageBlock: async (id, data) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => waiting.push(resolve));
      staged.set(id, Buffer.from(data));
      inFlight--;
    },
    commitBlocks: () => Promise.resolve(),
  };
  return {
    sink,
    staged,
    peak: () => peak,
    pending: () => waiting.length,
    releaseAll: () => waiting.splice(0).forEach((r) => r()),
  };
}

describe('chooseBlockSize', () => {
  it('never goes below 8 MiB', () => {
    expect(chooseBlockSize(0)).toBe(8 * MiB);
    expect(chooseBlockSize(10 * 1024 * MiB)).toBe(8 * MiB);
  });

  it('leaves room for a blob four times the expected size within 50,000 blocks', () => {
    for (const gib of [60, 100, 500, 1000]) {
      const expected = gib * 1024 * MiB;
      const size = chooseBlockSize(expected);
      expect(size % MiB).toBe(0);
      expect((expected * 4) / size).toBeLessThanOrEqual(MAX_BLOCKS);
    }
  });

  it('caps blocks at 100 MiB', () => {
    expect(chooseBlockSize(10 * 1024 * 1024 * MiB)).toBe(100 * MiB);
  });
});

describe('chooseMaxInFlight', () => {
  it('keeps four 8 MiB blocks in flight but only two 100 MiB ones', () => {
    expect(chooseMaxInFlight(8 * MiB)).toBe(4);
    expect(chooseMaxInFlight(100 * MiB)).toBe(2);
  });
});

describe('blockIdFor', () => {
  it('gives every index of a blob a distinct id of the same length, the same on every attempt', () => {
    const ids = [0, 1, 9, 49_999].map(blockIdFor);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.length)).size).toBe(1);
    expect(blockIdFor(7)).toBe(blockIdFor(7));
  });
});

describe('StagedBlockWriter', () => {
  it('cuts the stream into full blocks plus a last partial one, in order', async () => {
    const gate = gatedSink();
    const writer = new StagedBlockWriter(gate.sink, { blockSize: 10, maxInFlight: 100 });
    const input = Buffer.from('abcdefghijklmnopqrstuvwxyz');
    for (let i = 0; i < input.length; i += 7) await writer.write(input.subarray(i, i + 7));
    const finished = writer.finish();
    gate.releaseAll();
    const ids = await finished;
    expect(ids).toEqual([0, 1, 2].map(blockIdFor));
    expect(Buffer.concat(ids.map((id) => gate.staged.get(id) ?? Buffer.alloc(0))).toString()).toBe(input.toString());
  });

  it('waits in write() while maxInFlight blocks are being staged (bounded memory, backpressure)', async () => {
    const gate = gatedSink();
    const writer = new StagedBlockWriter(gate.sink, { blockSize: 4, maxInFlight: 2 });
    await writer.write(Buffer.from('1111'));
    let returned = false;
    const second = writer.write(Buffer.from('2222')).then(() => (returned = true));
    await new Promise((r) => setImmediate(r));
    expect(gate.pending()).toBe(2);
    expect(returned).toBe(false);
    gate.releaseAll();
    await second;
    const finished = writer.finish();
    gate.releaseAll();
    await finished;
    expect(gate.peak()).toBe(2);
  });

  it('put() copies at once so the caller may reuse its chunk, and ready() is undefined until maxInFlight blocks stage', async () => {
    const gate = gatedSink();
    const writer = new StagedBlockWriter(gate.sink, { blockSize: 4, maxInFlight: 2 });
    const chunk = Buffer.from('1111');
    writer.put(chunk);
    chunk.write('xxxx');
    expect(writer.ready()).toBeUndefined();
    chunk.write('2222');
    writer.put(chunk);
    const wait = writer.ready();
    expect(wait).toBeInstanceOf(Promise);
    expect(gate.pending()).toBe(2);
    gate.releaseAll();
    await wait;
    const finished = writer.finish();
    gate.releaseAll();
    const ids = await finished;
    expect(ids.map((id) => gate.staged.get(id)?.toString())).toEqual(['1111', '2222']);
  });

  it('reuses the buffers of staged blocks: at most maxInFlight + 1 distinct buffers, each block still its own bytes', async () => {
    const seen = new Set<ArrayBufferLike>();
    const staged: string[] = [];
    // Resolves at once, copying what it got: the port allows reuse of `data` after the promise resolves.
    const sink: BlockBlobSink = {
      stageBlock: async (_id, data) => {
        seen.add(data.buffer);
        staged.push(data.toString());
        await new Promise((r) => setImmediate(r));
      },
      commitBlocks: () => Promise.resolve(),
    };
    // Blocks above Buffer's 4 KiB pool threshold, so each fresh allocation would be a buffer of its own.
    const writer = new StagedBlockWriter(sink, { blockSize: 8192, maxInFlight: 2 });
    const input = Buffer.from(Array.from({ length: 10 * 8192 }, (_, i) => 97 + (i % 26)));
    for (let i = 0; i < input.length; i += 3000) await writer.write(input.subarray(i, i + 3000));
    await writer.finish();
    expect(staged.join('')).toBe(input.toString());
    expect(staged).toHaveLength(10);
    expect(seen.size).toBeLessThanOrEqual(3);
  });

  it('fails the next write and finish once a block could not be staged', async () => {
    const failing: BlockBlobSink = {
      stageBlock: () => Promise.reject(new Error('storage said no')),
      commitBlocks: () => Promise.resolve(),
    };
    const writer = new StagedBlockWriter(failing, { blockSize: 2, maxInFlight: 1 });
    await expect(writer.write(Buffer.from('ab'))).rejects.toThrow('storage said no');
    await expect(writer.finish()).rejects.toThrow('storage said no');
  });
});
