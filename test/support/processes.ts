// The processes on this machine, read from /proc: for tests that check what ran (a pg_dump alive, a password in an
// argv) and that nothing of a failed run is left running.
import { readdirSync, readFileSync } from 'node:fs';

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
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces: the fields after it start two characters past the ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      found.push({ pid: Number(entry), ppid, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
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
