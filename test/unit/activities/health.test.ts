// assessInstances' shortcut: the newest available point of a protected instance taken from its newest succeeded
// backup job, only while that point cannot have gone.
import { describe, expect, it } from 'vitest';
import { pointOfJob } from '../../../shared/activities/health';
import { recoveryPointId, type JobRecord } from '../../../shared/ports';

const NOW = '2026-03-10T12:00:00.000Z';
const daysAgo = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();

function backupJob(time: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'j1',
    operation: 'Backup',
    backupInstance: 'orders',
    status: 'Succeeded',
    trigger: 'Scheduled',
    startTime: time,
    progress: { bytes: 4096, percent: 100 },
    recoveryPointId: recoveryPointId(time, 'j1'),
    extra: { retentionTag: 'Weekly' },
    ...overrides,
  };
}

describe('pointOfJob', () => {
  it('names the point, its time, tag and size from a succeeded backup job of the last week', () => {
    const time = daysAgo(2);
    expect(pointOfJob(backupJob(time), daysAgo(30), NOW)).toEqual({
      id: recoveryPointId(time, 'j1'),
      time,
      tag: 'Weekly',
      bytes: 4096,
      dataStore: 'VaultStore',
    });
  });

  it('trusts no point older than the shortest retention (7 days) or taken before protection last started', () => {
    expect(pointOfJob(backupJob(daysAgo(8)), daysAgo(30), NOW)).toBeUndefined();
    expect(pointOfJob(backupJob(daysAgo(2)), daysAgo(1), NOW)).toBeUndefined();
  });

  it('knows nothing from a failed job, another operation, or a job without its point or tag', () => {
    const t = daysAgo(1);
    expect(pointOfJob(backupJob(t, { status: 'Failed' }), daysAgo(30), NOW)).toBeUndefined();
    expect(pointOfJob(backupJob(t, { operation: 'Restore' }), daysAgo(30), NOW)).toBeUndefined();
    expect(pointOfJob(backupJob(t, { recoveryPointId: undefined }), daysAgo(30), NOW)).toBeUndefined();
    expect(pointOfJob(backupJob(t, { extra: {} }), daysAgo(30), NOW)).toBeUndefined();
    expect(pointOfJob(backupJob(t, { extra: { retentionTag: 'Hourly' } }), daysAgo(30), NOW)).toBeUndefined();
  });
});
