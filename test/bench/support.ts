// Shared helpers of the benchmarks: timing, peak-RSS sampling of this (the host) process, statistics over repeats,
// plain-text tables and the "ratio vs target" verdict lines. No assertions: benchmarks report, they do not fail.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const execFileAsync = promisify(execFile);

/** Where the benchmark writes its report, one line per call. */
export type Out = (line: string) => void;

export const MiB = 1024 * 1024;

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

export interface Stats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly n: number;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new Error('stats of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted.at(-1)!, n: sorted.length };
}

export function formatMs(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${Math.round(ms)} ms`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Left-aligned columns, two spaces apart, with a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export interface RatioCheck {
  readonly label: string;
  readonly value: number;
  readonly op: '<=' | '>=';
  readonly target: number;
  /** How the value is printed: a ratio (1.12×) or mebibytes (180.3 MiB). */
  readonly unit: 'x' | 'MiB';
}

/** One `label  value  target ≤ t  PASS|MISS` line per check, aligned. The verdicts inform; nothing fails on them. */
export function ratioLines(checks: readonly RatioCheck[]): string[] {
  const width = Math.max(...checks.map((c) => c.label.length));
  return checks.map((check) => {
    const show = (v: number): string => (check.unit === 'x' ? `${v.toFixed(2)}×` : `${(v / MiB).toFixed(1)} MiB`);
    const pass = check.op === '<=' ? check.value <= check.target : check.value >= check.target;
    const op = check.op === '<=' ? '≤' : '≥';
    return `${check.label.padEnd(width)}  ${show(check.value).padStart(10)}   target ${op} ${show(check.target).padEnd(10)}  ${pass ? 'PASS' : 'MISS'}`;
  });
}

let gcFn: (() => void) | undefined;
/** A full garbage collection, so that one measured run does not inherit the garbage of the one before. */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    // --expose-gc can be turned on at run time; the gc function then appears in newly created contexts.
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

function statusKb(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface MemoryPeak {
  /** RSS when sampling started (after a full GC). */
  readonly startRss: number;
  /** The highest `process.memoryUsage().rss` seen, sampled every 50 ms. */
  readonly sampledPeak: number;
  /** The kernel's high-water mark (VmHWM) for the same window, when it could be reset at the start. */
  readonly kernelPeak: number | undefined;
  /** The larger of the two: what the report calls the peak. */
  readonly peak: number;
}

/**
 * Samples this process's RSS every `intervalMs` until stop(). The kernel's VmHWM is reset at start by writing 5 to
 * /proc/self/clear_refs (Linux ≥ 4.0), so it covers the same window and catches spikes between samples; where the
 * reset is not allowed, only the samples count.
 */
export function sampleRss(intervalMs = 50): { stop(): MemoryPeak } {
  collectGarbage();
  let hwmReset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    hwmReset = true;
  } catch {
    // Not Linux, or not permitted here.
  }
  const startRss = process.memoryUsage().rss;
  let sampledPeak = startRss;
  const timer = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
      const kernelPeak = hwmReset ? statusKb('VmHWM') : undefined;
      return { startRss, sampledPeak, kernelPeak, peak: Math.max(sampledPeak, kernelPeak ?? 0) };
    },
  };
}

async function firstLine(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { timeout: 10_000 });
    return (stdout || stderr).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'not found';
  }
}

/** One line about the machine: noise depends on it, so every report starts with it. */
export async function describeMachine(pgDump: string): Promise<string[]> {
  const cpuList = cpus();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return [
    `machine: ${cpuList.length} cores (${cpuList[0]?.model.trim() ?? 'unknown cpu'}), ${formatBytes(totalmem())} memory, load ${load}`,
    `tools: node ${process.version}; ${await firstLine(pgDump, ['--version'])}; ${await firstLine('zstd', ['--version'])}`,
  ];
}

/** Runs `fn` over `items` with at most `width` at once. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
