// The processes devhost's functions started (pg_dump, pg_restore, zstd), found by walking the process table down from
// devhost. An abandoned function's tools must not outlive devhost: an orphaned pg_restore would go on writing into
// the database that the next start's re-run of the same activity drops and restores again.
import { execFileSync } from 'node:child_process';

/** The pids of every process below `root`, children first; [] where `ps` is unavailable. */
export function descendantsOf(root: number): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8', timeout: 5_000 });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || !Number.isInteger(ppid)) continue;
    children.set(ppid!, [...(children.get(ppid!) ?? []), pid!]);
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** SIGKILLs every process below devhost except those in `keep` (and theirs); returns how many it signalled. */
export function killChildProcesses(keep: readonly number[]): number {
  const spared = new Set<number>();
  for (const pid of keep) {
    spared.add(pid);
    for (const d of descendantsOf(pid)) spared.add(d);
  }
  let killed = 0;
  for (const pid of descendantsOf(process.pid)) {
    if (spared.has(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // it ended meanwhile
    }
  }
  return killed;
}
