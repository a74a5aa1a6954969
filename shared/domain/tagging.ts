// Retention tagging (design §4): which one tag a new recovery point gets, from the policy's tagging criteria and
// the successful points that already exist. Pure: calendar questions are answered in the policy's time zone.
import { Temporal } from 'temporal-polyfill';
import { PgkeepError } from '../errors';
import { epochMs } from './instants';
import type { AbsoluteCriterion, Policy, TagName } from './types';

/** A recovery point as tagging sees it. Only successful points belong here: a failed backup never takes a slot. */
export interface TaggedPoint {
  readonly time: string;
  readonly tag: TagName;
  readonly trigger: 'Scheduled' | 'OnDemand';
}

/** Half-open [start, end) in epoch milliseconds. */
interface Period {
  readonly start: number;
  readonly end: number;
}

/**
 * The tag of a new recovery point taken at `newPointTimeUtc`.
 *
 * Scheduled points: the winning tag (lowest priority number) among the policy's tags whose criterion the point
 * meets; `FirstOfWeek/Month/Year` is met when no other *scheduled* point of `existing` falls in the same ISO week /
 * calendar month / calendar year of the policy's zone. On-demand points take `override` (or Default) and never
 * consume a first-of slot (docs/decisions.md). `override` is ignored for scheduled points: the policy decides.
 * `existing` need not be sorted; points far outside the new point's year cost one number comparison each.
 */
export function tagForBackup(
  policy: Policy,
  newPointTimeUtc: string,
  existing: readonly TaggedPoint[],
  trigger: 'Scheduled' | 'OnDemand',
  override?: TagName,
): TagName {
  if (trigger === 'OnDemand') {
    const tag = override ?? 'Default';
    if (policy.retention[tag] === undefined) {
      throw new PgkeepError(
        'UserErrorInvalidRequest',
        `policy '${policy.name}' has no retention rule for tag '${tag}'`,
        {
          target: 'backupRuleOptions.triggerOption.retentionTagOverride',
          hint: `use one of: ${policy.tags.map((t) => t.tag).join(', ')}`,
        },
      );
    }
    return tag;
  }

  const zone = policy.schedule.timeZone;
  const local = Temporal.Instant.from(newPointTimeUtc).toZonedDateTimeISO(zone).toPlainDate();
  const periods = periodsOf(local, zone);
  // The earliest instant any relevant period starts at: an ISO week can begin in the previous December.
  const horizon = Math.min(periods.FirstOfWeek.start, periods.FirstOfYear.start);
  const taken = { FirstOfWeek: false, FirstOfMonth: false, FirstOfYear: false };
  for (const point of existing) {
    if (point.trigger !== 'Scheduled') continue;
    const t = epochMs(point.time);
    if (t < horizon) continue;
    for (const criterion of criteria) {
      const p = periods[criterion];
      if (t >= p.start && t < p.end) taken[criterion] = true;
    }
  }

  for (const candidate of policy.tags) {
    if (candidate.isDefault || candidate.criterion === undefined) return candidate.tag;
    if (!taken[candidate.criterion]) return candidate.tag;
  }
  return 'Default';
}

const criteria: readonly AbsoluteCriterion[] = ['FirstOfWeek', 'FirstOfMonth', 'FirstOfYear'];

/** The ISO week, month and year containing `date`, as instants in `zone` (each starts at local start of day). */
function periodsOf(date: Temporal.PlainDate, zone: string): Record<AbsoluteCriterion, Period> {
  const weekStart = date.subtract({ days: date.dayOfWeek - 1 });
  const monthStart = date.with({ day: 1 });
  const yearStart = date.with({ month: 1, day: 1 });
  return {
    FirstOfWeek: span(weekStart, weekStart.add({ weeks: 1 }), zone),
    FirstOfMonth: span(monthStart, monthStart.add({ months: 1 }), zone),
    FirstOfYear: span(yearStart, yearStart.add({ years: 1 }), zone),
  };
}

function span(from: Temporal.PlainDate, to: Temporal.PlainDate, zone: string): Period {
  return { start: startOfDay(from, zone), end: startOfDay(to, zone) };
}

/** Local midnight, or the first instant of the day where a DST change skips midnight. */
function startOfDay(date: Temporal.PlainDate, zone: string): number {
  return date.toZonedDateTime({ timeZone: zone }).epochMilliseconds;
}
