// Expands a policy's weekly schedule (`R/<start>/P1W` entries in a time zone) into backup instants (design §4,
// "Time, precisely"): each entry keeps its start's local weekday and time of day in the policy's zone.
import { Temporal } from 'temporal-polyfill';
import { parseDuration, toUtcString } from './duration';
import type { RepeatingInterval, Schedule } from './types';

export type IntervalParse = { ok: true; value: RepeatingInterval } | { ok: false; message: string };

/**
 * Parses `R/<start>/P1W`. The start needs an offset or `Z`. A repetition count (`R5/…`) is refused: a backup
 * schedule that silently stops after n weeks is a hazard, and Azure writes `R/` (docs/decisions.md).
 */
export function parseRepeatingInterval(text: string): IntervalParse {
  const parts = text.split('/');
  if (parts.length !== 3) {
    return fail(`'${text}' is not a repeating interval: expected R/<start>/P1W, e.g. R/2024-01-07T01:30:00+01:00/P1W`);
  }
  const [repeat = '', start = '', periodText = ''] = parts;
  if (/^R\d+$/.test(repeat)) {
    return fail(`'${text}' has a repetition count (${repeat}): only unbounded R/<start>/P1W is supported`);
  }
  if (repeat !== 'R') return fail(`'${text}' must start with R/: expected R/<start>/P1W`);
  const startInstant = parseStart(start);
  if (typeof startInstant === 'string') return fail(`'${text}': ${startInstant}`);
  const period = parseDuration(periodText);
  if (period === undefined) return fail(`'${text}': period '${periodText}' is not an ISO 8601 duration`);
  if (periodText !== 'P1W') {
    return fail(`'${text}': period ${periodText} is not supported: only weekly (P1W) schedules are supported`);
  }
  return { ok: true, value: { text, start, startUtc: toUtcString(startInstant), period } };
}

function fail(message: string): IntervalParse {
  return { ok: false, message };
}

function parseStart(start: string): Temporal.Instant | string {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(start)) return `start '${start}' is not an ISO 8601 date-time`;
  try {
    return Temporal.Instant.from(start);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    try {
      Temporal.PlainDateTime.from(start);
      return `start '${start}' needs a UTC offset or Z (e.g. 2024-01-07T01:30:00+01:00)`;
    } catch {
      return `start '${start}' is not an ISO 8601 date-time`;
    }
  }
}

/** One entry of the schedule, resolved in the policy's zone. */
interface Series {
  readonly start: Temporal.Instant;
  /** The start's local wall time: every occurrence is this plus k periods, on the local calendar. */
  readonly local: Temporal.PlainDateTime;
  readonly timeZone: string;
  readonly stepDays: number;
}

function seriesOf(schedule: Schedule): Series[] {
  return schedule.intervals.map((interval) => {
    const start = Temporal.Instant.from(interval.startUtc);
    const p = interval.period;
    return {
      start,
      local: start.toZonedDateTimeISO(schedule.timeZone).toPlainDateTime(),
      timeZone: schedule.timeZone,
      stepDays: p.weeks * 7 + p.days,
    };
  });
}

/** The k-th slot: gaps move forward by their length, overlaps take the earlier instant ('compatible'). */
function slot(series: Series, k: number): Temporal.Instant {
  return series.local
    .add({ days: series.stepDays * k })
    .toZonedDateTime(series.timeZone, { disambiguation: 'compatible' })
    .toInstant();
}

const msPerDay = 86_400_000;

/** A slot index at or below the first slot at `at`; local-vs-exact drift is hours, so one step back is enough. */
function indexNear(series: Series, at: Temporal.Instant): number {
  const elapsedMs = at.epochMilliseconds - series.start.epochMilliseconds;
  return Math.max(0, Math.floor(elapsedMs / (series.stepDays * msPerDay)) - 1);
}

/** Every scheduled instant in [fromUtc, toUtc), sorted, each as ISO UTC with milliseconds. */
export function occurrences(schedule: Schedule, fromUtc: string, toUtc: string): string[] {
  const from = Temporal.Instant.from(fromUtc);
  const to = Temporal.Instant.from(toUtc);
  const found = new Map<number, Temporal.Instant>();
  for (const series of seriesOf(schedule)) {
    if (series.stepDays <= 0) continue;
    for (let k = indexNear(series, from); ; k++) {
      const at = slot(series, k);
      if (Temporal.Instant.compare(at, to) >= 0) break;
      if (Temporal.Instant.compare(at, from) >= 0 && Temporal.Instant.compare(at, series.start) >= 0) {
        found.set(at.epochMilliseconds, at);
      }
    }
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, at]) => toUtcString(at));
}

/** The latest scheduled instant ≤ atUtc, or undefined if the schedule has not started by then. */
export function lastOccurrenceAtOrBefore(schedule: Schedule, atUtc: string): string | undefined {
  const at = Temporal.Instant.from(atUtc);
  let latest: Temporal.Instant | undefined;
  for (const series of seriesOf(schedule)) {
    if (series.stepDays <= 0 || Temporal.Instant.compare(at, series.start) < 0) continue;
    for (let k = indexNear(series, at) + 3; k >= 0; k--) {
      const candidate = slot(series, k);
      if (Temporal.Instant.compare(candidate, at) > 0) continue;
      if (Temporal.Instant.compare(candidate, series.start) < 0) break;
      if (latest === undefined || Temporal.Instant.compare(candidate, latest) > 0) latest = candidate;
      break;
    }
  }
  return latest === undefined ? undefined : toUtcString(latest);
}

/** The local weekday (1 = Monday) and time of day an entry fires at: two entries with the same one overlap. */
export function localSlotOf(interval: RepeatingInterval, timeZone: string): { dayOfWeek: number; time: string } {
  const local = Temporal.Instant.from(interval.startUtc).toZonedDateTimeISO(timeZone);
  return { dayOfWeek: local.dayOfWeek, time: local.toPlainTime().toString() };
}
