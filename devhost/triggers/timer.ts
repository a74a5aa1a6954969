// Timer triggers as the host runs them: 6-field NCRONTAB (or hh:mm:ss) in WEBSITE_TIME_ZONE, runOnStartup, the
// schedule monitor in a blob (IsPastDue after downtime), function retries, and never two runs of one timer at once.
import { Cron } from 'croner';
import { resolveTimeZone } from '../../shared/domain/timezone';
import type { RegisteredFunction } from '../core-shim';
import { runFunction, type HostRuntime } from '../run';
import { resolveSettingRefs } from '../settings';
import { blobService } from '../storage';

/** IANA zone for WEBSITE_TIME_ZONE: IANA names as is, Windows names through CLDR's table (shared/domain). */
export function resolveTimerZone(name: string | undefined): string {
  if (!name || name.trim() === '') return 'UTC';
  const zone = resolveTimeZone(name);
  if (!zone) throw new Error(`WEBSITE_TIME_ZONE "${name.trim()}" is neither an IANA zone nor a Windows zone name`);
  return zone;
}

export interface Schedule {
  next(after: Date): Date | undefined;
  /** Sub-minute schedules are not monitored by default, as in the host. */
  intervalMs(): number;
  describe(): string;
}

export function parseSchedule(expression: string, timeZone: string): Schedule {
  const span = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(expression.trim());
  if (span) {
    const ms = (Number(span[1]) * 3600 + Number(span[2]) * 60 + Number(span[3])) * 1000;
    if (ms <= 0) throw new Error(`timer schedule "${expression}" must be positive`);
    return {
      next: (after) => new Date(after.getTime() + ms),
      intervalMs: () => ms,
      describe: () => `every ${expression}`,
    };
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `timer schedule "${expression}" is not a 6-field NCRONTAB expression (second minute hour day month weekday)`,
    );
  }
  // NCRONTAB requires both day-of-month and day-of-week to match, unlike classic cron's OR.
  const cron = new Cron(expression.trim(), { timezone: timeZone, domAndDow: true, paused: true });
  return {
    next: (after) => cron.nextRun(after) ?? undefined,
    intervalMs() {
      const [a, b] = cron.nextRuns(2);
      return a && b ? b.getTime() - a.getTime() : Number.POSITIVE_INFINITY;
    },
    describe: () => `${expression} (${timeZone})`,
  };
}

interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

interface RetryOptions {
  retryStrategy?: string;
  maxRetryCount?: number;
  delayInterval?: { seconds?: number | string };
  minimumInterval?: { seconds?: number | string };
  maximumInterval?: { seconds?: number | string };
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const secs = (d: { seconds?: number | string } | undefined): number => Number(d?.seconds ?? 0) * 1000;

export class TimerTrigger {
  readonly schedule: Schedule;
  private readonly monitored: boolean;
  private readonly runOnStartup: boolean;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private nextDue: Date | undefined;

  constructor(
    private readonly rt: HostRuntime,
    private readonly fn: RegisteredFunction,
    binding: Record<string, unknown>,
    timeZone: string,
  ) {
    this.schedule = parseSchedule(resolveSettingRefs(String(binding.schedule)), timeZone);
    this.runOnStartup = binding.runOnStartup === true;
    this.monitored =
      typeof binding.useMonitor === 'boolean' ? binding.useMonitor : this.schedule.intervalMs() >= 60_000;
  }

  describe(): string {
    return `timerTrigger ${this.schedule.describe()}${this.runOnStartup ? ', runOnStartup' : ''}`;
  }

  async start(): Promise<void> {
    const status = this.monitored ? await this.readStatus() : undefined;
    if (status && Date.now() > Date.parse(status.Next)) {
      void this.enqueue(`Timer was past due (Next=${status.Next})`, true, status);
    } else if (this.runOnStartup) {
      void this.enqueue('Timer fired at startup (runOnStartup)', false, status);
    }
    this.armAfterChain();
  }

  /** Runs now (admin endpoint); waits behind a run that is in progress rather than overlapping it. */
  runNow(reason: string): Promise<void> {
    return this.enqueue(reason, false, undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.chain;
  }

  private enqueue(reason: string, isPastDue: boolean, status: ScheduleStatus | undefined): Promise<void> {
    const run = this.chain.then(() => this.invoke(reason, isPastDue, status));
    this.chain = run.catch(() => undefined);
    return this.chain;
  }

  private armAfterChain(): void {
    void this.chain.then(() => this.arm());
  }

  /** The next occurrence is computed after the previous run finished, so a slow run skips, never piles up. */
  private arm(): void {
    if (this.stopped) return;
    const next = this.schedule.next(new Date());
    this.nextDue = next;
    if (!next) return;
    const wait = Math.min(Math.max(0, next.getTime() - Date.now()), MAX_TIMEOUT_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      if (Date.now() < next.getTime()) return this.arm();
      void this.enqueue(`Timer fired at ${new Date().toISOString()}`, false, undefined);
      this.armAfterChain();
    }, wait);
  }

  private async invoke(reason: string, isPastDue: boolean, known: ScheduleStatus | undefined): Promise<void> {
    if (this.stopped) return;
    const status = this.monitored ? (known ?? (await this.readStatus())) : undefined;
    const payload = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: status ?? null,
      IsPastDue: isPastDue,
    };
    const retry = this.fn.retryOptions as RetryOptions | undefined;
    const maxRetryCount = retry?.maxRetryCount ?? 0;
    for (let attempt = 0; ; attempt++) {
      const result = await runFunction(this.rt, this.fn, {
        reason,
        triggerData: { json: JSON.stringify(payload) },
        ...(retry ? { retryContext: { retryCount: attempt, maxRetryCount } } : {}),
      });
      if (!result.error || attempt >= maxRetryCount || this.stopped) break;
      await new Promise((r) => setTimeout(r, this.retryDelayMs(retry!, attempt)));
    }
    if (this.monitored) await this.writeStatus();
  }

  private retryDelayMs(retry: RetryOptions, attempt: number): number {
    if (retry.retryStrategy === 'exponentialBackoff') {
      const min = secs(retry.minimumInterval);
      const max = secs(retry.maximumInterval) || Number.POSITIVE_INFINITY;
      return Math.min(max, min * 2 ** attempt);
    }
    return secs(retry.delayInterval);
  }

  private statusContainer() {
    return blobService(undefined).getContainerClient('azure-webjobs-hosts');
  }

  private statusBlob() {
    return this.statusContainer().getBlockBlobClient(`timers/devhost/${this.fn.name}/status`);
  }

  private async readStatus(): Promise<ScheduleStatus | undefined> {
    try {
      const buf = await this.statusBlob().downloadToBuffer();
      return JSON.parse(buf.toString('utf8')) as ScheduleStatus;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      this.rt.log(`timer ${this.fn.name}: cannot read schedule status: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async writeStatus(): Promise<void> {
    const now = new Date();
    const next = this.schedule.next(now) ?? now;
    const status: ScheduleStatus = {
      Last: (this.nextDue && this.nextDue <= now ? this.nextDue : now).toISOString(),
      Next: next.toISOString(),
      LastUpdated: now.toISOString(),
    };
    try {
      const blob = this.statusBlob();
      await this.statusContainer().createIfNotExists();
      const body = JSON.stringify(status);
      await blob.upload(body, Buffer.byteLength(body));
    } catch (err) {
      this.rt.log(`timer ${this.fn.name}: cannot write schedule status: ${(err as Error).message}`);
    }
  }
}
