// The pure rules of restore tests (issue 17): which point of each instance a test restores, when a plan's schedule is
// due, how a scratch database is named and marked, and which scratch databases are leftovers to clean.

import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { addDuration, parseDuration } from './duration';
import { resolveTimeZone } from './timezone';
import type { DataStore, RecoveryPointStatus } from './types';

export interface SelectablePoint {
  readonly id: string;
  readonly time: string;
  readonly status: RecoveryPointStatus;
  readonly dataStore: DataStore;
}

export type PointChoice = 'latest' | { readonly random: { readonly window: string } };

/**
 * The point a test restores: the newest Available one, or one drawn among the Available points no older than the
 * window. The draw is a hash of `seed` (the job id), so a retried step draws the same point. Undefined when none.
 */
export function selectPoint(
  points: readonly SelectablePoint[],
  choice: PointChoice,
  nowUtc: string,
  seed: string,
): SelectablePoint | undefined {
  const available = points
    .filter((p) => p.status === 'Available')
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  if (choice === 'latest') return available[0];
  const window = parseDuration(choice.random.window);
  if (window === undefined) return undefined;
  // The window back from now: "now minus P6M" on the UTC calendar, by adding the negated parts.
  const from = addDuration(
    nowUtc,
    {
      text: '',
      years: -window.years,
      months: -window.months,
      weeks: -window.weeks,
      days: -window.days,
      hours: -window.hours,
      minutes: -window.minutes,
      seconds: -window.seconds,
    },
    'UTC',
  );
  const inWindow = available.filter((p) => Date.parse(p.time) >= Date.parse(from));
  if (inWindow.length === 0) return undefined;
  const draw = createHash('sha256').update(seed).digest().readUInt32BE(0);
  return inWindow[draw % inWindow.length];
}

/**
 * The latest slot of a 6-field NCRONTAB schedule at or before `nowUtc` in `timeZone` (IANA or Windows name), as ISO
 * UTC; undefined when it has none yet.
 */
export function lastSlot(schedule: string, timeZone: string, nowUtc: string): string | undefined {
  const cron = new Cron(schedule.trim(), {
    timezone: resolveTimeZone(timeZone) ?? 'UTC',
    domAndDow: true,
    paused: true,
  });
  const [last] = cron.previousRuns(1, new Date(Date.parse(nowUtc) + 1));
  return last?.toISOString();
}

/** The next slot after `nowUtc`, for display. */
export function nextSlot(schedule: string, timeZone: string, nowUtc: string): string | undefined {
  const cron = new Cron(schedule.trim(), {
    timezone: resolveTimeZone(timeZone) ?? 'UTC',
    domAndDow: true,
    paused: true,
  });
  return cron.nextRun(new Date(nowUtc))?.toISOString();
}

/**
 * Whether a plan's schedule owes a run: its latest slot is newer than the last one started (and, for a new plan,
 * not older than the plan itself). Returns that slot.
 */
export function dueSlot(
  plan: {
    readonly schedule?: string;
    readonly timeZone: string;
    readonly enabled: boolean;
    readonly createdAt: string;
  },
  lastScheduledSlot: string | undefined,
  nowUtc: string,
): string | undefined {
  if (!plan.enabled || plan.schedule === undefined) return undefined;
  const slot = lastSlot(plan.schedule, plan.timeZone, nowUtc);
  if (slot === undefined) return undefined;
  const since = lastScheduledSlot ?? plan.createdAt;
  return Date.parse(slot) > Date.parse(since) ? slot : undefined;
}

export const SCRATCH_PREFIX = 'pgkeep_verify_';
const COMMENT_PREFIX = 'pgkeep restore test';

/** `pgkeep_verify_<job id, alphanumerics lower-cased>`: at most 63 bytes, unique per test. */
export function scratchDatabaseName(jobId: string): string {
  return `${SCRATCH_PREFIX}${jobId
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase()
    .slice(0, 48)}`;
}

export interface ScratchMark {
  readonly jobId: string;
  readonly instanceName: string;
  /** When the test's time limit ends: after it, a database of a job still marked running is a leftover. */
  readonly deadline: string;
}

/** The COMMENT ON DATABASE a test sets on its scratch database, the second half of how it is recognised. */
export function scratchComment(mark: ScratchMark): string {
  return `${COMMENT_PREFIX} job=${mark.jobId} instance=${mark.instanceName} deadline=${mark.deadline}`;
}

export function parseScratchComment(text: string | null | undefined): ScratchMark | undefined {
  const m = /^pgkeep restore test job=(\S+) instance=(\S+) deadline=(\S+)$/.exec(text ?? '');
  if (!m) return undefined;
  const [, jobId, instanceName, deadline] = m;
  if (
    jobId === undefined ||
    instanceName === undefined ||
    deadline === undefined ||
    Number.isNaN(Date.parse(deadline))
  ) {
    return undefined;
  }
  return { jobId, instanceName, deadline };
}

/** A scratch database is ours only when its name and its comment agree on the job: nothing else is ever dropped. */
export function ownedScratch(name: string, comment: string | null | undefined): ScratchMark | undefined {
  const mark = parseScratchComment(comment);
  return mark !== undefined && name.startsWith(SCRATCH_PREFIX) && scratchDatabaseName(mark.jobId) === name
    ? mark
    : undefined;
}

/** How long past its deadline a running test's scratch database is left alone (its job may still be finishing). */
export const LEFTOVER_GRACE_MS = 3600_000;

/**
 * Whether an owned scratch database is a leftover to drop: its job ended (or is unknown), or it is running past its
 * deadline and the grace (a host lost mid-test whose orchestration never came back).
 */
export function isLeftover(mark: ScratchMark, jobStatus: string | undefined, nowUtc: string): boolean {
  if (jobStatus === undefined || !['NotStarted', 'InProgress', 'Queued'].includes(jobStatus)) return true;
  return Date.parse(nowUtc) > Date.parse(mark.deadline) + LEFTOVER_GRACE_MS;
}
