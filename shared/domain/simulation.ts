// What a policy keeps: every scheduled backup in a window assumed successful, tagged in order, and retention applied
// as expiry would at the window's end. Backs `pgkeep policy simulate`; the same tagging and planner as production.
import { epochMs } from './instants';
import { planRetention } from './retention';
import { occurrences } from './schedule';
import { tagForBackup, type TaggedPoint } from './tagging';
import type { DataStore, Policy, PointView, TagName } from './types';

export interface SimulatedPoint {
  readonly time: string;
  readonly tag: TagName;
  readonly dataStore: DataStore;
}

// Tagging only looks at the new point's ISO week, month and year: a year and a week back covers all of them.
const taggingLookbackMs = 380 * 86_400_000;

/**
 * The recovery points that exist at `toUtc`, oldest first, if every scheduled backup in [fromUtc, toUtc) succeeded at
 * its scheduled time and expiry ran (protection Protected, so the floor holds). Because lifetimes depend only on
 * (policy, time, tag), one plan at `toUtc` ends where daily expiry runs would.
 */
export function simulateRetention(policy: Policy, fromUtc: string, toUtc: string): SimulatedPoint[] {
  const tagged: TaggedPoint[] = [];
  let windowStart = 0;
  const points: PointView[] = [];
  for (const time of occurrences(policy.schedule, fromUtc, toUtc)) {
    const ms = epochMs(time);
    while (windowStart < tagged.length && epochMs(tagged[windowStart]!.time) < ms - taggingLookbackMs) windowStart++;
    const tag = tagForBackup(policy, time, tagged.slice(windowStart), 'Scheduled');
    tagged.push({ time, tag, trigger: 'Scheduled' });
    points.push({ id: time, time, tag, dataStore: 'VaultStore', status: 'Available' });
  }

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
