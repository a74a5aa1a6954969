// Copies a child's stdout to several writable targets through ONE reused read buffer, so the host allocates nothing
// per chunk (no garbage for V8 to collect, a quarter of the reads): the relay between pg_dump and zstd / pg_restore
// (docs/decisions.md, "Dump stream").
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

/** Larger than a socket's default buffer (~208 KiB), so one read takes whatever the child has written. */
export const RELAY_BUFFER_BYTES = 256 * 1024;

export interface RelayOptions {
  /** Sees every chunk first, in order. The chunk's memory is reused once it returns: copy what you keep. Must not throw. */
  readonly onChunk?: (chunk: Buffer) => void;
  /**
   * Reading the child's output failed, or the host's end closed before the output ended (the targets are ended;
   * what they got is incomplete). Called at most once, never after the output ended.
   */
  readonly onError: (err: Error) => void;
}

export interface OutputRelay {
  /** Give this to the child as its stdout (`stdio[1]`), then call `start`. */
  readonly childEnd: Socket;
  /** The host's end, which the relay reads. Owned by the relay: destroying it stops the relay as a read failure. */
  readonly hostEnd: Socket;
  /**
   * Closes the host's copy of the child's end and starts relaying into `targets`. Reading pauses while any target
   * still holds bytes of the buffer (backpressure: the child's writes block), so memory stays at one buffer. A
   * target that closes or fails is dropped (pg_restore --list exits once it has read the TOC); the others go on.
   * The targets are ended when the child's output ends.
   */
  start(targets: readonly Writable[], options: RelayOptions): void;
  /** Closes both ends of a relay that will not be started (the child it was for was never spawned). */
  close(): void;
}

/**
 * Opens a connected pair of Unix sockets (what Node's `stdio: 'pipe'` is too), the reading end with a user buffer
 * (`onread`), which Node offers for sockets it connects but not for a child's stdio. The listening socket lives in
 * a fresh mode-0700 directory, removed as soon as the pair is connected, so no other user can connect in between.
 */
export async function openOutputRelay(bufferBytes = RELAY_BUFFER_BYTES, dir = tmpdir()): Promise<OutputRelay> {
  const home = await mkdtemp(join(dir, 'pgkeep-relay-'));
  const buffer = Buffer.allocUnsafe(bufferBytes);
  let onRead: (nread: number) => boolean = () => false;
  try {
    const path = join(home, 's');
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const reader = connect({ path, onread: { buffer, callback: (nread) => onRead(nread) } });
    reader.pause();
    const [[childEnd]] = await Promise.all([accepted, once(reader, 'connect')]).finally(() => server.close());
    return {
      childEnd,
      hostEnd: reader,
      start(targets, options) {
        childEnd.destroy();
        onRead = relayInto(reader, buffer, targets, options);
        reader.resume();
      },
      close() {
        childEnd.destroy();
        reader.destroy();
      },
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The read callback: hands `buffer[0, nread)` to onChunk and every live target; false (pause) while one holds it. */
function relayInto(
  reader: Socket,
  buffer: Buffer,
  targets: readonly Writable[],
  { onChunk, onError }: RelayOptions,
): (nread: number) => boolean {
  // Write callbacks not yet fired, per live target. A target's are forgiven when it closes: a closed handle holds
  // no memory (libuv finishes or cancels its writes before 'close').
  const pending = new Map<Writable, number>(targets.map((t) => [t, 0]));
  let outstanding = 0;
  let paused = false;
  const settle = (): void => {
    if (paused && outstanding === 0) {
      paused = false;
      reader.resume();
    }
  };
  const drop = (target: Writable): void => {
    outstanding -= pending.get(target) ?? 0;
    pending.delete(target);
    settle();
  };
  for (const target of targets) {
    target.on('error', () => drop(target));
    target.once('close', () => drop(target));
  }
  // The targets end however reading stops: 'end' (the child closed its end) or 'close' without it — a read error,
  // or the host's end destroyed, which emits neither 'end' nor 'error' and would otherwise leave them open for good.
  let ended = false;
  let failure: Error | undefined;
  const endTargets = (): void => {
    for (const target of pending.keys()) target.end();
  };
  reader.once('end', () => {
    ended = true;
    endTargets();
  });
  reader.on('error', (err) => (failure = err));
  reader.once('close', () => {
    if (ended) return;
    endTargets();
    onError(failure ?? new Error("the relay's socket closed before the child's output ended"));
  });
  return (nread) => {
    const chunk = buffer.subarray(0, nread);
    onChunk?.(chunk);
    let held = false;
    for (const [target, count] of pending) {
      if (target.destroyed || target.writableEnded) {
        drop(target);
        continue;
      }
      pending.set(target, count + 1);
      outstanding++;
      target.write(chunk, () => {
        const left = pending.get(target);
        if (left === undefined) return;
        pending.set(target, left - 1);
        outstanding--;
        settle();
      });
      // Written through to the kernel at once → nothing of the buffer stays queued (the callback still comes later).
      if (target.writableLength > 0) held = true;
    }
    if (!held) return true;
    paused = true;
    return false;
  };
}
