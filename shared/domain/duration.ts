// ISO 8601 durations as policies write them (P7D, P3M, P1Y6M, PT12H): parsing, local-calendar addition, and the
// conservative comparison used to check retention limits (docs/decisions.md, "Mixed-unit durations").
import { Temporal } from 'temporal-polyfill';
import type { IsoDuration } from './types';

const durationPattern = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Parses `P…` with whole-number parts; undefined for anything else (negatives, fractions, `P`, `PT`, lowercase). */
export function parseDuration(text: string): IsoDuration | undefined {
  const m = durationPattern.exec(text);
  if (!m || text === 'P') return undefined;
  const parts = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  if (parts.some((n) => !Number.isSafeInteger(n))) return undefined;
  const [years = 0, months = 0, weeks = 0, days = 0, hours = 0, minutes = 0, seconds = 0] = parts;
  return { text, years, months, weeks, days, hours, minutes, seconds };
}

/** Builds an IsoDuration from parts; `text` is the canonical spelling. */
export function durationOf(parts: Partial<Omit<IsoDuration, 'text'>>): IsoDuration {
  const d = {
    years: parts.years ?? 0,
    months: parts.months ?? 0,
    weeks: parts.weeks ?? 0,
    days: parts.days ?? 0,
    hours: parts.hours ?? 0,
    minutes: parts.minutes ?? 0,
    seconds: parts.seconds ?? 0,
  };
  return { text: formatDuration({ text: '', ...d }), ...d };
}

/** The canonical ISO spelling of the parts (`P1Y6M`, `PT30M`, `P0D` for zero); units are not normalised. */
export function formatDuration(d: IsoDuration): string {
  const date = part(d.years, 'Y') + part(d.months, 'M') + part(d.weeks, 'W') + part(d.days, 'D');
  const time = part(d.hours, 'H') + part(d.minutes, 'M') + part(d.seconds, 'S');
  if (date === '' && time === '') return 'P0D';
  return `P${date}${time === '' ? '' : `T${time}`}`;
}

function part(n: number, unit: string): string {
  return n === 0 ? '' : `${n}${unit}`;
}

/** Words for messages: "7 days", "1 year 6 months". */
export function describeDuration(d: IsoDuration): string {
  const words: string[] = [];
  const add = (n: number, unit: string): void => {
    if (n !== 0) words.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  };
  add(d.years, 'year');
  add(d.months, 'month');
  add(d.weeks, 'week');
  add(d.days, 'day');
  add(d.hours, 'hour');
  add(d.minutes, 'minute');
  add(d.seconds, 'second');
  return words.length === 0 ? '0 days' : words.join(' ');
}

/**
 * Adds `d` on the local calendar of `timeZone`: date parts keep the local time of day (month ends constrained,
 * gaps resolved 'compatible'), time parts are exact elapsed time. Returns ISO UTC with milliseconds.
 */
export function addDuration(instantUtc: string, d: IsoDuration, timeZone: string): string {
  const start = Temporal.Instant.from(instantUtc).toZonedDateTimeISO(timeZone);
  const end = start.add(
    {
      years: d.years,
      months: d.months,
      weeks: d.weeks,
      days: d.days,
      hours: d.hours,
      minutes: d.minutes,
      seconds: d.seconds,
    },
    { overflow: 'constrain' },
  );
  return toUtcString(end.toInstant());
}

/** ISO UTC with exactly three fraction digits: the one spelling of instants across pgkeep. */
export function toUtcString(instant: Temporal.Instant): string {
  return instant.toString({ fractionalSecondDigits: 3 });
}

const secondsPerDay = 86_400;
const nonLeapMonthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leapMonthDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Shortest / longest run of `n` consecutive calendar months, in days (years counted as 365 / 366 days). */
function monthsSpanInDays(n: number, extreme: 'shortest' | 'longest'): number {
  const wholeYears = Math.floor(n / 12);
  const rest = n % 12;
  const lengths = extreme === 'shortest' ? nonLeapMonthDays : leapMonthDays;
  let best = extreme === 'shortest' ? Infinity : 0;
  for (let first = 0; first < 12; first++) {
    let sum = 0;
    for (let i = 0; i < rest; i++) sum += lengths[(first + i) % 12] ?? 0;
    best = extreme === 'shortest' ? Math.min(best, sum) : Math.max(best, sum);
  }
  return wholeYears * (extreme === 'shortest' ? 365 : 366) + best;
}

function calendarMonths(d: IsoDuration): number {
  return d.years * 12 + d.months;
}

function exactSeconds(d: IsoDuration): number {
  return ((d.weeks * 7 + d.days) * 24 + d.hours) * 3600 + d.minutes * 60 + d.seconds;
}

/**
 * Whether `a` is at least `b` from every possible start date. Same-kind units compare exactly (P24M = P2Y,
 * P2W = P14D); when the difference mixes months with days, months count at their shortest against `a` and at
 * their longest against `b`, so P26W is not at least P6M (a 6-month span can be 184 days) but P27W is.
 */
export function isAtLeast(a: IsoDuration, b: IsoDuration): boolean {
  const months = calendarMonths(a) - calendarMonths(b);
  const seconds = exactSeconds(a) - exactSeconds(b);
  if (months >= 0 && seconds >= 0) return true;
  if (months <= 0 && seconds <= 0) return false;
  if (months > 0) return monthsSpanInDays(months, 'shortest') * secondsPerDay + seconds >= 0;
  return seconds - monthsSpanInDays(-months, 'longest') * secondsPerDay >= 0;
}
