import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../shared/domain/policy';
import { planRetention } from '../../../shared/domain/retention';
import { occurrences } from '../../../shared/domain/schedule';
import { emptyCounts, simulateRetention, simulateRetentionOverTime } from '../../../shared/domain/simulation';
import { tagForBackup, type TaggedPoint } from '../../../shared/domain/tagging';
import type { Policy, PointView } from '../../../shared/domain/types';

const fixtures = path.resolve(__dirname, '../../../../shared/fixtures/policies');

function fixture(name: string): Policy {
  const result = parsePolicy(JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')));
  if (!result.ok) throw new Error(`fixture ${name} does not parse: ${JSON.stringify(result.errors)}`);
  return result.value;
}

/** Production's loop, day by day: take the day's backups, tag each, then run expiry at the end of the day. */
function dailyExpiry(policy: Policy, fromUtc: string, toUtc: string): PointView[] {
  let points: PointView[] = [];
  const history: TaggedPoint[] = [];
  const dayMs = 86_400_000;
  for (let t = Date.parse(fromUtc); t < Date.parse(toUtc); t += dayMs) {
    const dayEnd = new Date(Math.min(t + dayMs, Date.parse(toUtc))).toISOString();
    for (const time of occurrences(policy.schedule, new Date(t).toISOString(), dayEnd)) {
      const tag = tagForBackup(policy, time, history, 'Scheduled');
      history.push({ time, tag, trigger: 'Scheduled' });
      points.push({ id: time, time, tag, dataStore: 'VaultStore', status: 'Available' });
    }
    const actions = planRetention(points, policy, dayEnd, 'Protected');
    const deleted = new Set(actions.filter((a) => a.kind === 'delete').map((a) => a.pointId));
    const moved = new Set(actions.filter((a) => a.kind === 'moveToArchive').map((a) => a.pointId));
    points = points
      .filter((p) => !deleted.has(p.id))
      .map((p) => (moved.has(p.id) ? { ...p, dataStore: 'ArchiveStore' } : p));
  }
  return points;
}

describe('simulateRetention', () => {
  it.each([
    ['three-days-monthly-archive.json', '2021-08-01T00:00:00.000Z', '2024-09-15T00:00:00.000Z'],
    ['gfs-ten-years.json', '2024-01-01T00:00:00.000Z', '2027-03-01T00:00:00.000Z'],
  ])('ends where daily expiry runs end (%s)', (name, from, to) => {
    const policy = fixture(name);
    const expected = dailyExpiry(policy, from, to).map(({ time, tag, dataStore }) => ({ time, tag, dataStore }));
    expect(expected.length).toBeGreaterThan(10);
    expect(simulateRetention(policy, from, to)).toEqual(expected);
  });

  it('returns nothing when no backup is scheduled in the window', () => {
    const policy = fixture('default-weekly.json');
    expect(simulateRetention(policy, '2021-08-23T00:00:00.000Z', '2021-08-28T00:00:00.000Z')).toEqual([]);
  });
});

describe('simulateRetentionOverTime', () => {
  const countsOf = (
    points: { tag: keyof ReturnType<typeof emptyCounts>; dataStore: 'VaultStore' | 'ArchiveStore' }[],
  ) => {
    const counts = emptyCounts();
    for (const p of points) counts[p.tag][p.dataStore]++;
    return counts;
  };

  it.each(['gfs-ten-years.json', 'three-days-monthly-archive.json', 'default-weekly.json'])(
    'counts at each sample what simulateRetention keeps at that instant (%s)',
    (name) => {
      const policy = fixture(name);
      const from = '2024-01-01T00:00:00.000Z';
      const to = '2034-01-01T00:00:00.000Z';
      const samples = ['2024-01-20T00:00:00.000Z', '2024-06-30T12:00:00.000Z', '2026-02-01T00:00:00.000Z', to];
      const overTime = simulateRetentionOverTime(policy, from, to, samples);
      expect(overTime.map((s) => s.at)).toEqual(samples);
      for (const sample of overTime) {
        expect(sample.counts, sample.at).toEqual(countsOf(simulateRetention(policy, from, sample.at)));
      }
    },
  );

  it('counts nothing before the first scheduled backup', () => {
    const [sample] = simulateRetentionOverTime(
      fixture('gfs-ten-years.json'),
      '2024-01-01T00:00:00.000Z',
      '2024-02-01T00:00:00.000Z',
      ['2024-01-02T00:00:00.000Z'],
    );
    expect(sample!.counts).toEqual(emptyCounts());
  });
});
