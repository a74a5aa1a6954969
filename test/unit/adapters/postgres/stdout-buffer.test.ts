import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withBufferedStdout } from '../../../../shared/adapters/postgres/stdout-buffer';

const SYSTEM_PATH = process.env.PATH ?? '/usr/bin:/bin';

/** Runs the command and returns its exit code and stdout. */
async function run(file: string, args: string[], searchPath: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(file, args, { env: { PATH: searchPath }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, out };
}

describe('withBufferedStdout', () => {
  it("runs the tool under stdbuf with a 64 KiB stdout buffer where stdbuf works (this machine's coreutils)", async () => {
    const [file, args] = await withBufferedStdout('env', [], SYSTEM_PATH);
    expect(file).toBe('stdbuf');
    // stdbuf hands the buffer size to its preload library in the tool's environment.
    expect((await run(file, args, SYSTEM_PATH)).out).toMatch(/^_STDBUF_O=65536$/m);
  });

  it("keeps the tool's own exit status and output", async () => {
    const [file, args] = await withBufferedStdout('sh', ['-c', 'echo out; exit 3'], SYSTEM_PATH);
    expect(await run(file, args, SYSTEM_PATH)).toEqual({ code: 3, out: 'out\n' });
  });

  it('runs the tool unchanged when the search path has no stdbuf', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-no-stdbuf-'));
    try {
      // A search path holding the tool but not stdbuf, as on a machine without coreutils' stdbuf.
      await symlink(path.join(path.dirname(process.execPath), 'node'), path.join(dir, 'node'));
      const [file, args] = await withBufferedStdout('node', ['-e', 'process.exit(4)'], dir);
      expect([file, args]).toEqual(['node', ['-e', 'process.exit(4)']]);
      expect((await run(file, args, dir)).code).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
