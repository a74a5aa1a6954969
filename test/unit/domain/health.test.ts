import { describe, expect, it } from 'vitest';
import {
  evaluateHealth,
  healthWindowStart,
  missedSlots,
  overallHealth,
  type HealthInput,
  type HealthJob,
} from '../../../shared/domain/health';
import { parseRepeatingInterval } from '../../../shared/domain/schedule';
import type { Schedule } from '../../../shared/domain/types';

// Sundays 02:00 UTC. With "now" on Tuesday 2026-03-10 the latest slots are 03-08, 03-01 and 02-22.
function weekly(): Schedule {
  const parsed = parseRepeatingInterval('R/2024-01-07T02:00:00+00:00/P1W');
  if (!parsed.ok) throw new Error(parsed.message);
  return { timeZone: 'UTC', timeZoneAsWritten: 'UTC', intervals: [parsed.value] };
}
const NOW = '2026-03-10T12:00:00.000Z';
const S0 = '2026-03-08T02:00:00.000Z';
const S1 = '2026-03-01T02:00:00.000Z';
const S2 = '2026-02-22T02:00:00.000Z';
const plus = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

function input(over: Partial<HealthInput> = {}): HealthInput {
  return {
    nowUtc: NOW,
    protection: 'Protected',
    protectedSince: '2026-01-01T00:00:00.000Z',
    schedule: weekly(),
    newestAvailablePoint: undefined,
    jobs: [],
    graceMs: 30 * 60_000,
    ...over,
  };
}
const point = (time: string) => ({ id: `p-${time}`, time });
function backupJob(over: Partial<HealthJob> & { startTime: string }): HealthJob {
  return { id: `job-${over.startTime}`, operation: 'Backup', status: 'Succeeded', ...over };
}
const codes = (h: { reasons: readonly { code: string }[] }) => h.reasons.map((r) => r.code);

describe('evaluateHealth', () => {
  it('warns DatasourceMissing while discovery no longer finds the database, on top of the slot verdict', () => {
    const h = evaluateHealth(
      input({ newestAvailablePoint: point(plus(S0, 5)), datasourceMissingSince: '2026-03-09T00:00:00.000Z' }),
    );
    expect(h.status).toBe('Warning');
    expect(h.reasons.map((r) => r.code)).toEqual(['DatasourceMissing']);
    expect(h.reasons[0]?.message).toContain('2026-03-09T00:00:00.000Z');
  });

  it('is Healthy when the latest slot produced an available point', () => {
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S0, 1)) }));
    expect(h).toEqual({ status: 'Healthy', reasons: [], evaluatedAt: NOW });
  });

  it('is Warning when the latest slot was missed but a point of the slot before exists', () => {
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S1, 1)) }));
    expect(h.status).toBe('Warning');
    expect(codes(h)).toEqual(['BackupMissed']);
    expect(h.reasons[0]?.message).toContain(S0);
  });

  it('names the failed job and its error code when the latest slot failed', () => {
    const failed = backupJob({
      startTime: plus(S0, 1),
      scheduledSlot: S0,
      status: 'Failed',
      error: { code: 'SystemErrorDumpFailed', message: 'pg_dump: error: out of memory' },
    });
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S1, 1)), jobs: [failed] }));
    expect(h.status).toBe('Warning');
    expect(codes(h)).toEqual(['BackupFailed']);
    expect(h.reasons[0]?.message).toContain('SystemErrorDumpFailed');
    expect(h.reasons[0]?.message).toContain(failed.id);
  });

  it('counts a slot the watchdog recorded as missed as missed, not failed', () => {
    const missed = backupJob({
      startTime: plus(S0, 31),
      scheduledSlot: S0,
      status: 'Failed',
      error: { code: 'UserErrorBackupMissed', message: 'no backup started' },
    });
    expect(codes(evaluateHealth(input({ newestAvailablePoint: point(plus(S1, 1)), jobs: [missed] })))).toEqual([
      'BackupMissed',
    ]);
  });

  it('stays Warning while the newest point is within two intervals of the missed slot, Critical beyond', () => {
    expect(evaluateHealth(input({ newestAvailablePoint: point(plus(S2, 1)) })).status).toBe('Warning');
    const old = evaluateHealth(input({ newestAvailablePoint: point(plus(S2, -1)) }));
    expect(old.status).toBe('Critical');
    expect(codes(old)).toEqual(['BackupMissed', 'NoRecentRecoveryPoint']);
  });

  it('is Critical when no recovery point exists and a slot was missed', () => {
    const h = evaluateHealth(input());
    expect(h.status).toBe('Critical');
    expect(h.reasons.find((r) => r.code === 'NoRecentRecoveryPoint')?.message).toBe(
      'there is no available recovery point',
    );
  });

  it('is Unknown before the first owed slot is due', () => {
    const h = evaluateHealth(input({ protectedSince: plus(S0, 5) }));
    expect(h.status).toBe('Unknown');
    expect(codes(h)).toEqual(['FirstBackupNotDue']);
  });

  it('judges the slot before while the latest slot is still running', () => {
    const running = backupJob({ startTime: plus(S0, 1), scheduledSlot: S0, status: 'InProgress' });
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S1, 1)), jobs: [running] }));
    expect(h.status).toBe('Healthy');
  });

  it('judges the slot before while the latest slot is within the grace without a job', () => {
    const early = { nowUtc: plus(S0, 10), newestAvailablePoint: point(plus(S1, 1)) };
    expect(evaluateHealth(input(early)).status).toBe('Healthy');
    expect(evaluateHealth(input({ ...early, nowUtc: plus(S0, 30) })).status).toBe('Warning');
  });

  it('raises no alarm when protection is stopped', () => {
    const h = evaluateHealth(input({ protection: 'Stopped' }));
    expect(h.status).toBe('Unknown');
    expect(codes(h)).toEqual(['ProtectionStopped']);
  });

  it('is Critical when the newest backup failed a readiness check that will not pass by itself', () => {
    const authFailed = backupJob({
      startTime: plus(NOW, -60),
      status: 'Failed',
      error: { code: 'UserErrorDBUserAuthFailed', message: 'password authentication failed for user "keeper"' },
    });
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S0, 1)), jobs: [authFailed] }));
    expect(h.status).toBe('Critical');
    expect(codes(h)).toEqual(['ReadinessFailed']);
  });

  it('treats an unreachable server as a failed backup, not a readiness alarm', () => {
    const unreachable = backupJob({
      startTime: plus(S0, 1),
      scheduledSlot: S0,
      status: 'Failed',
      error: { code: 'UserErrorMissingNetworkSecurityPermissions', message: 'connection refused' },
    });
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S1, 1)), jobs: [unreachable] }));
    expect(h.status).toBe('Warning');
    expect(codes(h)).toEqual(['BackupFailed']);
  });

  it('forgets a readiness failure once a later backup succeeded', () => {
    const failed = backupJob({
      startTime: plus(S0, 1),
      scheduledSlot: S0,
      status: 'Failed',
      error: { code: 'UserErrorDBUserAuthFailed', message: 'password authentication failed' },
    });
    const later = backupJob({ startTime: plus(S0, 90), status: 'Succeeded' });
    const h = evaluateHealth(input({ newestAvailablePoint: point(plus(S0, 91)), jobs: [later, failed] }));
    expect(h.status).toBe('Healthy');
  });

  it('is Critical when the newest available point failed its integrity check', () => {
    const p = point(plus(S0, 1));
    const restore: HealthJob = {
      id: 'r1',
      operation: 'Restore',
      status: 'Failed',
      startTime: plus(S0, 120),
      recoveryPointId: p.id,
      error: { code: 'SystemErrorIntegrityCheckFailed', message: 'sha256 mismatch' },
    };
    const h = evaluateHealth(input({ newestAvailablePoint: p, jobs: [restore] }));
    expect(h.status).toBe('Critical');
    expect(codes(h)).toEqual(['IntegrityCheckFailed']);
  });

  it('is Critical while the newest restore test failed, and healthy again once a later one passed', () => {
    const p = point(plus(S0, 1));
    const test = (id: string, minutes: number, status: string): HealthJob => ({
      id,
      operation: 'RestoreTest',
      status,
      startTime: plus(S0, minutes),
      recoveryPointId: p.id,
      ...(status === 'Failed'
        ? { error: { code: 'SystemErrorRestoreTestFailed', message: 'public.orders differs (Checksum)' } }
        : {}),
    });
    const failed = evaluateHealth(input({ newestAvailablePoint: p, jobs: [test('t1', 120, 'Failed')] }));
    expect(failed.status).toBe('Critical');
    expect(codes(failed)).toEqual(['RestoreTestFailed']);
    expect(failed.reasons[0]?.message).toContain('public.orders differs');
    const running = evaluateHealth(
      input({ newestAvailablePoint: p, jobs: [test('t2', 200, 'InProgress'), test('t1', 120, 'Failed')] }),
    );
    expect(running.status).toBe('Critical');
    const passed = evaluateHealth(
      input({ newestAvailablePoint: p, jobs: [test('t2', 200, 'Succeeded'), test('t1', 120, 'Failed')] }),
    );
    expect(passed.status).toBe('Healthy');
  });

  it('is Critical when the policy is missing or invalid', () => {
    expect(evaluateHealth(input({ schedule: undefined })).status).toBe('Critical');
  });
});

describe('healthWindowStart', () => {
  it('reaches back to the slot before the latest one, and at least a week', () => {
    expect(healthWindowStart(weekly(), NOW)).toBe(S1);
    expect(healthWindowStart(undefined, NOW)).toBe('2026-03-03T12:00:00.000Z');
  });
});

describe('overallHealth', () => {
  it('is the worst status, with Healthy above Unknown', () => {
    expect(overallHealth([])).toBe('Unknown');
    expect(overallHealth(['Unknown', 'Healthy'])).toBe('Healthy');
    expect(overallHealth(['Healthy', 'Warning', 'Unknown'])).toBe('Warning');
    expect(overallHealth(['Warning', 'Critical'])).toBe('Critical');
  });
});

describe('missedSlots', () => {
  const base = { schedule: weekly(), graceMs: 30 * 60_000, protectedSince: '2026-01-01T00:00:00.000Z' };

  it('finds the latest slot past the grace that the scheduler never started, with how many were missed', () => {
    expect(missedSlots({ ...base, nowUtc: plus(S0, 31), lastScheduledSlot: S1 })).toEqual({ latest: S0, count: 1 });
    expect(missedSlots({ ...base, nowUtc: plus(S0, 31), lastScheduledSlot: S2 })).toEqual({ latest: S0, count: 2 });
  });

  it('finds nothing within the grace, for a started slot, or before protection started', () => {
    expect(missedSlots({ ...base, nowUtc: plus(S0, 29), lastScheduledSlot: S1 })).toBeUndefined();
    expect(missedSlots({ ...base, nowUtc: plus(S0, 31), lastScheduledSlot: S0 })).toBeUndefined();
    expect(
      missedSlots({ ...base, nowUtc: plus(S0, 31), lastScheduledSlot: undefined, protectedSince: plus(S0, 1) }),
    ).toBeUndefined();
  });

  it('counts from protection start when no slot was ever started', () => {
    expect(
      missedSlots({ ...base, nowUtc: plus(S0, 31), lastScheduledSlot: undefined, protectedSince: plus(S2, -1) }),
    ).toEqual({
      latest: S0,
      count: 3,
    });
  });
});
