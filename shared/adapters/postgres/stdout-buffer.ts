// Runs pg_dump with a 64 KiB stdout buffer (coreutils' stdbuf) when the machine has stdbuf. pg_dump writes its archive
// through stdio, whose buffer on a pipe is 8 KiB: the host then woke, read and forwarded ~24,000 pieces per 185 MiB
// of archive, which cost more CPU than anything else in the backup. With 64 KiB writes, reads fill the pipe (64 KiB)
// and are a quarter as many (docs/decisions.md, "Dump stream").
import { spawn } from 'node:child_process';

/** Matches the capacity of a Linux pipe and Node's read size: a larger buffer gives no larger reads. */
const STDOUT_BUFFER = '64K';

/** Per search path, whether `stdbuf` runs there (it needs its preload library too): asked once per process. */
const probes = new Map<string, Promise<boolean>>();

function stdbufWorks(searchPath: string): Promise<boolean> {
  let probe = probes.get(searchPath);
  if (probe === undefined) {
    probe = new Promise<boolean>((resolve) => {
      const child = spawn('stdbuf', [`-o${STDOUT_BUFFER}`, 'true'], { env: { PATH: searchPath }, stdio: 'ignore' });
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
    });
    probes.set(searchPath, probe);
  }
  return probe;
}

/**
 * The file and arguments that run `file args` with block-buffered stdout: `stdbuf -o64K file args…` (stdbuf execs
 * the tool, so its exit status, signals and stderr are the tool's own), or `file args` unchanged when `searchPath`
 * (the PATH the child gets) has no working stdbuf.
 */
export async function withBufferedStdout(
  file: string,
  args: readonly string[],
  searchPath: string,
): Promise<[string, string[]]> {
  return (await stdbufWorks(searchPath)) ? ['stdbuf', [`-o${STDOUT_BUFFER}`, file, ...args]] : [file, [...args]];
}
