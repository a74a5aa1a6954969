// Following a job until it ends (`--wait`, `jobs watch`): polls GET backupJobs/{id}; on a terminal a progress bar
// (phase, bytes, rate, ETA), otherwise one plain line per phase change. Ctrl-C stops the watching, never the job.

import { setTimeout as delay } from 'node:timers/promises';
import { Format, SingleBar, type Options, type Params } from 'cli-progress';
import type { JobResource } from '../shared/contracts/jobs';
import { ApiUnreachableError, type ApiAnswer, type ApiClient } from './api-client';
import { CliError, exitCodes } from './exit-codes';
import { nowOf, type CliIo } from './io';
import { formatBytes, formatSeconds, localTime } from './print';

const pollIntervalMs = 1000;
/** Polls in a row that may find the API unreachable (a restart of the host) before watching gives up. */
const maxUnreachablePolls = 10;
const finishedStatuses = ['Succeeded', 'Failed', 'Cancelled'];

/** Whether a job has ended: a final status, or an end time (a status this CLI does not know yet). */
export function isFinished(job: JobResource): boolean {
  return finishedStatuses.includes(job.properties.status) || job.properties.endTime !== undefined;
}

/** Ctrl-C while watching: exit 130, and how to watch again. */
export class WatchInterrupted extends CliError {
  constructor(readonly jobId: string) {
    super(exitCodes.interrupted, `stopped watching job ${jobId}; the job goes on`);
  }

  override render(): string {
    return `pgkeep: ${this.message}\nwatch it again: pgkeep jobs watch ${this.jobId}\n`;
  }
}

/** What is shown about a running job at one moment. */
export interface ProgressSnapshot {
  /** The job's status, and its phase when the API reports one (`InProgress/dump`). Unknown ones as they are. */
  readonly phase: string;
  readonly bytes: number;
  readonly percent?: number;
  /** Bytes per second over the recent samples; undefined until two samples differ in time. */
  readonly bytesPerSecond?: number;
  /** Seconds left, from how fast `percent` moved; undefined while percent is unknown or still. */
  readonly etaSeconds?: number;
}

const rateWindowMs = 15_000;

/** Turns the job snapshots polled over time into phase, rate and ETA. */
export class ProgressMeter {
  private samples: { at: number; bytes: number; percent: number | undefined }[] = [];

  add(job: JobResource, at: number): ProgressSnapshot {
    const p = job.properties;
    const phase = typeof p.extendedInfo?.phase === 'string' ? `${p.status}/${p.extendedInfo.phase}` : p.status;
    const bytes = p.progress?.bytes ?? 0;
    const percent = p.progress?.percent;
    this.samples.push({ at, bytes, percent });
    this.samples = this.samples.filter((s) => s.at >= at - rateWindowMs);
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    const snapshot: { -readonly [K in keyof ProgressSnapshot]: ProgressSnapshot[K] } = { phase, bytes };
    if (percent !== undefined) snapshot.percent = percent;
    if (seconds > 0) snapshot.bytesPerSecond = Math.max(0, (bytes - first.bytes) / seconds);
    if (seconds > 0 && percent !== undefined && first.percent !== undefined && percent > first.percent) {
      snapshot.etaSeconds = ((100 - percent) * seconds) / (percent - first.percent);
    }
    return snapshot;
  }
}

/** `InProgress  8.0 MiB  2.1 MiB/s  42%  ETA 1m05s`: what is known, nothing made up. */
export function describeProgress(s: ProgressSnapshot): string {
  const parts = [s.phase, formatBytes(s.bytes)];
  if (s.bytesPerSecond !== undefined) parts.push(`${formatBytes(s.bytesPerSecond)}/s`);
  if (s.percent !== undefined) parts.push(`${Math.round(s.percent)}%`);
  if (s.etaSeconds !== undefined) parts.push(`ETA ${formatSeconds(s.etaSeconds)}`);
  return parts.join('  ');
}

interface ProgressView {
  show(jobId: string, s: ProgressSnapshot, at: number): void;
  stop(): void;
}

/** A progress bar redrawn in place on a terminal; its bar fills only when the job reports a percentage. */
class BarView implements ProgressView {
  private bar: SingleBar | undefined;

  constructor(private readonly terminal: NodeJS.WritableStream) {}

  show(jobId: string, s: ProgressSnapshot): void {
    const value = s.percent ?? 0;
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: this.terminal,
        hideCursor: true,
        clearOnComplete: false,
        format: (options: Options, params: Params, payload: { snapshot: ProgressSnapshot }) =>
          `job ${jobId}  ${payload.snapshot.percent === undefined ? '' : `${Format.BarFormat(params.progress, options)}  `}` +
          describeProgress(payload.snapshot),
      });
      this.bar.start(100, value, { snapshot: s });
    } else {
      this.bar.update(value, { snapshot: s });
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** One line per phase change, for logs and pipes. */
class LineView implements ProgressView {
  private lastPhase: string | undefined;

  constructor(private readonly write: (text: string) => void) {}

  show(jobId: string, s: ProgressSnapshot, at: number): void {
    if (s.phase === this.lastPhase) return;
    this.lastPhase = s.phase;
    this.write(`${localTime(new Date(at).toISOString())}  job ${jobId}  ${describeProgress(s)}\n`);
  }

  stop(): void {}
}

/**
 * Follows a job from its first answer until it ends and returns the last answer. Progress goes to stderr (the bar
 * to io.terminal), so stdout keeps only the result. Ctrl-C throws WatchInterrupted; the job is never touched.
 */
export async function watchJob(
  io: CliIo,
  client: ApiClient,
  first: ApiAnswer<JobResource>,
  options: { intervalMs?: number } = {},
): Promise<ApiAnswer<JobResource>> {
  const jobId = first.body.name;
  const meter = new ProgressMeter();
  const view: ProgressView = io.terminal ? new BarView(io.terminal) : new LineView((t) => io.stderr(t));
  const stop = new AbortController();
  const off = io.onInterrupt?.(() => stop.abort()) ?? (() => undefined);
  let answer = first;
  let unreachable = 0;
  try {
    for (;;) {
      const at = nowOf(io);
      view.show(jobId, meter.add(answer.body, at), at);
      if (isFinished(answer.body)) return answer;
      await delay(options.intervalMs ?? pollIntervalMs, undefined, { signal: stop.signal });
      try {
        answer = await client.call<JobResource>('GET', `backupJobs/${encodeURIComponent(jobId)}`, {
          signal: stop.signal,
        });
        unreachable = 0;
      } catch (err) {
        // A host restart is not the end of a job: keep polling for a while.
        if (!(err instanceof ApiUnreachableError) || ++unreachable >= maxUnreachablePolls) throw err;
      }
    }
  } catch (err) {
    if (stop.signal.aborted) throw new WatchInterrupted(jobId);
    throw err;
  } finally {
    view.stop();
    off();
  }
}
