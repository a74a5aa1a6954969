// What a policy keeps: every scheduled backup in a window assumed successful, tagged in order, and retention applied
// as expiry would at the window's end. Backs `pgkeep policy simulate` and the console's ten-year chart; the same
// tagging, lifecycles and planner as production.
import { epochMs } from './instants';
import { lifecycleOf } from './lifecycle';
import { planRetention } from './retention';
import { occurrences } from './schedule';
import { tagForBackup, type TaggedPoint } from './tagging';
import { dataStores, tagNames, type DataStore, type Policy, type PointView, type TagName } from './types';

export interface SimulatedPoint {
  readonly time: string;
  readonly tag: TagName;
  readonly dataStore: DataStore;
}

// Tagging only looks at the new point's ISO week, month and year: a year and a week back covers all of them.
const taggingLookbackMs = 380 * 86_400_000;

/** Every scheduled backup in [fromUtc, toUtc), oldest first, tagged as the backups would be. */
function scheduledBackups(policy: Policy, fromUtc: string, toUtc: string): TaggedPoint[] {
  const tagged: TaggedPoint[] = [];
  let windowStart = 0;
  for (const time of occurrences(policy.schedule, fromUtc, toUtc)) {
    const ms = epochMs(time);
    while (windowStart < tagged.length && epochMs(tagged[windowStart]!.time) < ms - taggingLookbackMs) windowStart++;
    const tag = tagForBackup(policy, time, tagged.slice(windowStart), 'Scheduled');
    tagged.push({ time, tag, trigger: 'Scheduled' });
  }
  return tagged;
}

/**
 * The recovery points that exist at `toUtc`, oldest first, if every scheduled backup in [fromUtc, toUtc) succeeded at
 * its scheduled time and expiry ran (protection Protected, so the floor holds). Because lifetimes depend only on
 * (policy, time, tag), one plan at `toUtc` ends where daily expiry runs would.
 */
export function simulateRetention(policy: Policy, fromUtc: string, toUtc: string): SimulatedPoint[] {
  const points: PointView[] = scheduledBackups(policy, fromUtc, toUtc).map(({ time, tag }) => ({
    id: time,
    time,
    tag,
    dataStore: 'VaultStore',
    status: 'Available',
  }));
  const moved = new Set<string>();
  const deleted = new Set<string>();
  for (const action of planRetention(points, policy, toUtc, 'Protected')) {
    if (action.kind === 'moveToArchive') moved.add(action.pointId);
    else if (action.kind === 'delete') deleted.add(action.pointId);
  }
  return points
    .filter((p) => !deleted.has(p.id))
    .map((p) => ({ time: p.time, tag: p.tag, dataStore: moved.has(p.id) ? 'ArchiveStore' : p.dataStore }));
}

export type PointCounts = Record<TagName, Record<DataStore, number>>;

export interface RetentionSample {
  readonly at: string;
  readonly counts: PointCounts;
}

export function emptyCounts(): PointCounts {
  const counts = {} as PointCounts;
  for (const tag of tagNames) {
    counts[tag] = {} as Record<DataStore, number>;
    for (const store of dataStores) counts[tag][store] = 0;
  }
  return counts;
}

/**
 * How many points of each tag each tier holds at each of `samplesUtc` (within (fromUtc, toUtc]), for the same
 * scheduled backups as simulateRetention: a sample at t counts exactly what simulateRetention(policy, fromUtc, t)
 * returns (tested), but the backups are tagged once and each point's dates computed once, so a ten-year chart with
 * monthly samples costs one simulation instead of 120.
 */
export function simulateRetentionOverTime(
  policy: Policy,
  fromUtc: string,
  toUtc: string,
  samplesUtc: readonly string[],
): RetentionSample[] {
  const points = scheduledBackups(policy, fromUtc, toUtc).map(({ time, tag }) => {
    const dates = lifecycleOf(policy, time, tag);
    const movesAt = dates.movesToArchive ? epochMs(dates.vaultUntil) : Infinity;
    return { ms: epochMs(time), tag, deleteAt: epochMs(dates.deleteAt), movesAt };
  });
  return samplesUtc.map((at) => {
    const now = epochMs(at);
    const counts = emptyCounts();
    let newest = -1;
    for (let i = 0; i < points.length && points[i]!.ms < now; i++) newest = i;
    for (let i = 0; i <= newest; i++) {
      const p = points[i]!;
      // The newest point is the floor: never deleted while protection holds.
      if (now >= p.deleteAt && i !== newest) continue;
      counts[p.tag][now >= p.movesAt ? 'ArchiveStore' : 'VaultStore']++;
    }
    return { at, counts };
  });
}
