// The processes on this machine, read from /proc: for tests that check what ran (a pg_dump alive, a password in an
// argv) and that nothing of a failed run is left running. And the registry of what the test harness started, so
// that everything it started is stopped even when a hook times out, a suite fails or a worker is killed.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** The argv as the kernel holds it: NUL-separated. */
  readonly cmdline: string;
}

/** Every process that could be read; one that exits while we look is left out. */
export function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      if (fields === undefined) continue;
      found.push({ pid: Number(entry), ppid: fields.ppid, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The argv joined by spaces, as a shell would show it. */
export const spaced = (cmdline: string): string => cmdline.split('\0').join(' ');

/** This worker's live children whose argv mentions `tool`. */
export const childrenRunning = (tool: string): ProcessInfo[] =>
  listProcesses().filter((p) => p.ppid === process.pid && p.cmdline.includes(tool));

interface StatFields {
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** Clock ticks after boot: with the pid, it names one process (pids are reused). */
  readonly startTime: string;
}

function statFields(pid: number): StatFields | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name in parentheses may hold spaces: the fields after it start two characters past the ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]), startTime: f[19]! };
}

/** Whether the process runs (a zombie has ended: only its parent has not collected it yet). */
export function isRunning(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f.state !== 'Z';
}

/** The live processes whose environment holds `name=value` (what a test run hands down to everything it starts). */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  const entry = `${name}=${value}`;
  return listProcesses().filter((p) => {
    try {
      return isRunning(p.pid) && readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes(entry);
    } catch {
      return false;
    }
  });
}

/** The live processes of process group `pgid`. */
export function groupMembers(pgid: number): ProcessInfo[] {
  return listProcesses().filter((p) => statFields(p.pid)?.pgid === pgid && isRunning(p.pid));
}

// ---- the registry of started processes ----------------------------------------------------------------------------

/**
 * One thing the harness started: a process group (the child was spawned detached, so it leads a group that holds
 * everything it forks) or, for a PostgreSQL postmaster (which puts itself and each backend into sessions of their
 * own), a process and its direct children.
 */
interface Owned {
  readonly pid: number;
  readonly startTime: string;
  readonly kind: 'group' | 'tree';
  readonly what: string;
}

/**
 * Set by the vitest global setup (test/support/global-setup.ts): a folder where every worker records what it
 * started, one file per process, so the teardown can stop what a killed worker left. Without it (benchmarks, a
 * script) the registry lives in this process only.
 */
export const REGISTRY_ENV = 'PGKEEP_TEST_PROCESS_REGISTRY';
const owned = new Map<number, Owned>();
let safetyNetInstalled = false;

function registryFile(pid: number): string | undefined {
  const dir = process.env[REGISTRY_ENV];
  return dir ? path.join(dir, `${pid}.json`) : undefined;
}

/** Records a started process: it is stopped at exit of this process, on SIGTERM/SIGINT, and by the teardown. */
export function registerOwned(pid: number, kind: Owned['kind'], what: string): void {
  const startTime = statFields(pid)?.startTime;
  if (startTime === undefined) return; // already gone
  const entry: Owned = { pid, startTime, kind, what };
  owned.set(pid, entry);
  const file = registryFile(pid);
  if (file) writeFileSync(file, JSON.stringify(entry));
  installSafetyNet();
}

/** Forgets a process that was stopped normally. */
export function unregisterOwned(pid: number): void {
  owned.delete(pid);
  const file = registryFile(pid);
  if (file) rmSync(file, { force: true });
}

/**
 * spawn() in a process group of its own, registered until it exits: killing the group reaches whatever the child
 * forked (a shell's children, a server's workers), and the group is killed at the latest when this process ends.
 */
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid !== undefined) {
    const pid = child.pid;
    registerOwned(pid, 'group', `${command} ${args.join(' ')}`.slice(0, 200));
    child.once('exit', () => {
      // The leader is gone, but what it forked may still run in its group: only forget an empty group.
      if (groupMembers(pid).length === 0) unregisterOwned(pid);
    });
  }
  return child;
}

/** SIGKILLs one registered process group or tree, unless its pid now names another process. */
function killOwned(entry: Owned): void {
  const now = statFields(entry.pid);
  // A leader that still runs must be the one we started; a group whose leader exited keeps its pgid (the kernel does
  // not reuse a pid while a group holds it), so its members are still ours.
  if (now !== undefined && now.startTime !== entry.startTime) return;
  if (entry.kind === 'group') {
    try {
      process.kill(-entry.pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
    return;
  }
  killTree(entry.pid);
}

/** SIGKILLs a process and its direct children (a postmaster and its backends); returns the pids it signalled. */
export function killTree(pid: number): number[] {
  const pids = [
    pid,
    ...listProcesses()
      .filter((p) => p.ppid === pid)
      .map((p) => p.pid),
  ];
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** Kills everything this process registered and has not stopped yet. Synchronous: it runs in an 'exit' handler. */
export function killAllOwned(): void {
  for (const entry of owned.values()) {
    killOwned(entry);
    unregisterOwned(entry.pid);
  }
}

/** Kills what every worker of a test run recorded in `dir` and removes the folder (the global teardown). */
export function killRegistered(dir: string): Owned[] {
  const killed: Owned[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return killed;
  }
  for (const f of files) {
    try {
      const entry = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Owned;
      killOwned(entry);
      killed.push(entry);
    } catch {
      // a file being written as the run ended
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return killed;
}

/** A fresh registry folder for a test run, named after the process that owns it. */
export function createRegistryDir(): string {
  const dir = path.join(tmpdir(), `pgkeep-test-processes-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Registry folders of earlier runs whose owner is gone (a run killed outright): their processes are killed. */
export function reapAbandonedRegistries(): Owned[] {
  const killed: Owned[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = /^pgkeep-test-processes-(\d+)-\d+$/.exec(name);
    if (!m || isRunning(Number(m[1]))) continue;
    killed.push(...killRegistered(path.join(tmpdir(), name)));
  }
  return killed;
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', killAllOwned);
  // vitest ends a worker whose hook timed out with SIGTERM; without a handler Node would die without 'exit'.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllOwned();
      process.removeListener(signal, onSignal);
      // Nobody else handles it: die of the signal as we would have without this handler.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
