import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOutputRelay, type OutputRelay } from '../../../../shared/adapters/postgres/output-relay';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * A target that takes its time: each write completes on a later turn of the event loop, and only THEN reads the
 * chunk — so bytes overwritten while still queued would show in its hash. Records how many writes it held at once.
 */
function slowTarget(): { target: Writable; hash: () => string; bytes: () => number; mostHeld: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let held = 0;
  let mostHeld = 0;
  const target = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      held++;
      mostHeld = Math.max(mostHeld, held);
      setImmediate(() => {
        hash.update(chunk);
        bytes += chunk.length;
        held--;
        done();
      });
    },
  });
  return { target, hash: () => hash.digest('hex'), bytes: () => bytes, mostHeld: () => mostHeld };
}

describe('openOutputRelay', () => {
  let dir: string;
  let file: string;
  let data: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'relay-test-'));
    data = randomBytes(6 * 1024 * 1024 + 123);
    file = path.join(dir, 'data');
    await writeFile(file, data);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Resolves once the child exited (at once if it already has). */
  const exit = (child: ChildProcess): Promise<unknown> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
  const socketDirs = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('pgkeep-relay-'));

  /**
   * Relays `child`'s output into one slow target, telling `onRead` the bytes read so far and the last read's size;
   * resolves with what onError got once the target finished and the child exited (a hang fails by timeout).
   */
  async function relayUntilFailure(
    relay: OutputRelay,
    child: ChildProcess,
    onRead: (seen: number, last: number) => void,
  ): Promise<{ err: Error; target: ReturnType<typeof slowTarget> }> {
    const target = slowTarget();
    let seen = 0;
    const failed = new Promise<Error>((resolve) => {
      relay.start([target.target], {
        onChunk: (chunk) => {
          seen += chunk.length;
          onRead(seen, chunk.length);
        },
        onError: resolve,
      });
    });
    const [err] = await Promise.all([failed, once(target.target, 'finish'), exit(child)]);
    return { err, target };
  }

  /** Runs `cat file` into the relay; resolves with what onChunk saw once the child exited and the targets ended. */
  async function relayCat(targets: Writable[], bufferBytes: number): Promise<{ seen: string; reads: number }> {
    const relay = await openOutputRelay(bufferBytes, dir);
    const child = spawn('cat', [file], { stdio: ['ignore', relay.childEnd, 'inherit'] });
    const seen = createHash('sha256');
    let reads = 0;
    relay.start(targets, {
      onChunk: (chunk) => {
        expect(chunk.length).toBeLessThanOrEqual(bufferBytes);
        seen.update(chunk);
        reads++;
      },
      onError: (err) => {
        throw err;
      },
    });
    await Promise.all([once(child, 'exit'), ...targets.map((t) => once(t, 'finish'))]);
    return { seen: seen.digest('hex'), reads };
  }

  it('hands every byte, in order, to onChunk and to every target, and ends the targets when the child is done', async () => {
    const a = slowTarget();
    const b = slowTarget();
    const { seen, reads } = await relayCat([a.target, b.target], 64 * 1024);
    expect(seen).toBe(sha256(data));
    expect(a.hash()).toBe(sha256(data));
    expect(b.hash()).toBe(sha256(data));
    expect(reads).toBeGreaterThanOrEqual(data.length / (64 * 1024));
  });

  it('never reads into its buffer while a target still holds bytes of it: one chunk in flight per target', async () => {
    const a = slowTarget();
    await relayCat([a.target], 16 * 1024);
    // Had the relay read on, the slow target would hold several chunks at once (and see overwritten bytes).
    expect(a.mostHeld()).toBe(1);
    expect(a.hash()).toBe(sha256(data));
  });

  it('drops a target that exits early (as pg_restore --list does) and relays the rest to the others', async () => {
    const early = spawn('head', ['-c', '100'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const sum = spawn('sha256sum', { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    sum.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const relay = await openOutputRelay(64 * 1024, dir);
    const child = spawn('cat', [file], { stdio: ['ignore', relay.childEnd, 'inherit'] });
    relay.start([early.stdin, sum.stdin], { onChunk: () => undefined, onError: (err) => expect.fail(err.message) });
    const exitCode = async (c: ReturnType<typeof spawn>, event: 'exit' | 'close'): Promise<unknown> =>
      ((await once(c, event)) as unknown[])[0];
    const [earlyCode, sumCode] = await Promise.all([
      exitCode(early, 'exit'),
      exitCode(sum, 'close'),
      once(child, 'exit'),
    ]);
    expect(earlyCode).toBe(0);
    expect(sumCode).toBe(0);
    expect(out.split(' ')[0]).toBe(sha256(data));
  });

  it('fails through onError with the read error when its socket is reset, and ends the targets with what it read', async () => {
    const relay = await openOutputRelay(64 * 1024, dir);
    // A Unix socket closed while bytes sent to it lie unread resets its peer: the host's next read fails with
    // ECONNRESET instead of seeing the end. The byte written here is one the child never reads from its stdout.
    relay.hostEnd.write('x');
    const sent = 100_000;
    const child = spawn('sh', ['-c', `head -c ${sent} "$0" && exec sleep 600`, file], {
      stdio: ['ignore', relay.childEnd, 'inherit'],
    });
    const { err, target } = await relayUntilFailure(relay, child, (seen) => {
      // Killed only once everything it wrote was read: the reset is then the read's own result, never raced by
      // the last bytes (which would read as a plain end).
      if (seen === sent) child.kill('SIGKILL');
    });
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(target.bytes()).toBe(sent);
    expect(target.hash()).toBe(sha256(data.subarray(0, sent)));
    expect(await socketDirs()).toEqual([]);
  });

  it('ends the targets and fails through onError when its own end is destroyed mid-stream; the child is not left blocked', async () => {
    const relay = await openOutputRelay(64 * 1024, dir);
    const child = spawn('cat', [file], { stdio: ['ignore', relay.childEnd, 'inherit'] });
    const { err, target } = await relayUntilFailure(relay, child, (seen, last) => {
      // Destroyed from outside the read, as a caller stopping the relay would: no 'end', no 'error' follows.
      if (seen >= 1024 * 1024 && seen - last < 1024 * 1024) setImmediate(() => relay.hostEnd.destroy());
    });
    expect(err.message).toMatch(/closed before the child's output ended/);
    expect(target.bytes()).toBeGreaterThanOrEqual(1024 * 1024);
    expect(target.bytes()).toBeLessThan(data.length);
    expect(target.hash()).toBe(sha256(data.subarray(0, target.bytes())));
    // cat's writes fail once nobody reads: it dies of SIGPIPE instead of blocking for good.
    expect(child.signalCode ?? child.exitCode).not.toBe(0);
    expect(await socketDirs()).toEqual([]);
  });

  it('close() closes both ends of a relay that is never started', async () => {
    const relay = await openOutputRelay(64 * 1024, dir);
    const hostClosed = once(relay.hostEnd, 'close');
    relay.close();
    await hostClosed;
    expect(relay.childEnd.destroyed).toBe(true);
    expect(await socketDirs()).toEqual([]);
  });

  it('leaves no socket file behind, and fails clearly when it cannot create one', async () => {
    const relay = await openOutputRelay(1024, dir);
    relay.start([], { onChunk: () => undefined, onError: () => undefined });
    expect(await socketDirs()).toEqual([]);
    await expect(openOutputRelay(1024, path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});
