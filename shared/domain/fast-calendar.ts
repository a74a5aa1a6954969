// addDuration's exact result at a fraction of its cost, for the retention planner's hot loop over 100,000 points.
// A per-zone table of UTC-offset transitions replaces the polyfill's per-call zone lookups; anything unusual (near a
// transition, outside the table) is handed to addDuration itself, which stays the one definition of the arithmetic.
import { Temporal } from 'temporal-polyfill';
import { addDuration } from './duration';
import type { IsoDuration } from './types';

interface OffsetTable {
  /** Epoch ms at which each offset starts; ascending. */
  readonly starts: readonly number[];
  readonly offsetsMs: readonly number[];
}

const tableFrom = Date.UTC(2000, 0, 1);
const tableTo = Date.UTC(2200, 0, 1);
const dayMs = 86_400_000;
// UTC offsets stay within ±14 h: a wall time's instants all lie within this reach of it read as UTC.
const offsetReachMs = 15 * 3_600_000;
const tables = new Map<string, OffsetTable>();

function tableOf(zone: string): OffsetTable {
  let table = tables.get(zone);
  if (table === undefined) {
    const starts: number[] = [tableFrom];
    let at = Temporal.Instant.fromEpochMilliseconds(tableFrom).toZonedDateTimeISO(zone);
    const offsetsMs: number[] = [at.offsetNanoseconds / 1e6];
    for (;;) {
      const next = at.getTimeZoneTransition('next');
      if (next === null || next.epochMilliseconds >= tableTo) break;
      starts.push(next.epochMilliseconds);
      offsetsMs.push(next.offsetNanoseconds / 1e6);
      at = next;
    }
    table = { starts, offsetsMs };
    tables.set(zone, table);
  }
  return table;
}

function offsetAt(table: OffsetTable, ms: number): number {
  return table.offsetsMs[indexAt(table, ms)]!;
}

/** Index of the offset period containing `ms`. */
function indexAt(table: OffsetTable, ms: number): number {
  let lo = 0;
  let hi = table.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table.starts[mid]! <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/** Same contract and result as addDuration(instantUtc, d, timeZone); ISO UTC with milliseconds. */
export function fastAddDuration(instantUtc: string, d: IsoDuration, timeZone: string): string {
  const ms = Date.parse(instantUtc);
  if (!(ms >= tableFrom && ms < tableTo - 20 * 366 * dayMs)) return addDuration(instantUtc, d, timeZone);
  const table = tableOf(timeZone);
  const local = new Date(ms + offsetAt(table, ms));
  // Date parts on the local calendar: years and months first with the day constrained to the month, then days.
  const monthCount = local.getUTCFullYear() * 12 + local.getUTCMonth() + d.years * 12 + d.months;
  const year = Math.floor(monthCount / 12);
  const monthIndex = monthCount % 12;
  const day = Math.min(local.getUTCDate(), daysInMonth(year, monthIndex));
  const wall = Date.UTC(
    year,
    monthIndex,
    day + d.weeks * 7 + d.days,
    local.getUTCHours(),
    local.getUTCMinutes(),
    local.getUTCSeconds(),
    local.getUTCMilliseconds(),
  );
  // Far from any transition the wall time has exactly one instant; gaps and overlaps are addDuration's business.
  const period = indexAt(table, wall - offsetReachMs);
  if (period !== indexAt(table, wall + offsetReachMs) || wall >= tableTo) return addDuration(instantUtc, d, timeZone);
  const exact = d.hours * 3_600_000 + d.minutes * 60_000 + d.seconds * 1000;
  return new Date(wall - table.offsetsMs[period]! + exact).toISOString();
}
