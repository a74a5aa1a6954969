import { describe, expect, it } from 'vitest';
import {
  defaultEventNames,
  eventNames,
  eventsRaisedByJob,
  eventTypes,
  subscribableEventNames,
} from '../../../shared/contracts/events';
import { jobEvents, apiLinks, eventId } from '../../../shared/events/records';
import type { JobRecord } from '../../../shared/ports';

const failed = (operation: string, code: string) => ({ operation, status: 'Failed', error: { code } });

describe('eventsRaisedByJob', () => {
  it('raises BackupFailed for a failed backup, and ReadinessFailed beside it for a lasting readiness failure', () => {
    expect(eventsRaisedByJob(failed('Backup', 'SystemErrorDumpFailed'))).toEqual(['BackupFailed']);
    expect(eventsRaisedByJob(failed('Backup', 'UserErrorMissingNetworkSecurityPermissions'))).toEqual(['BackupFailed']);
    expect(eventsRaisedByJob(failed('Backup', 'UserErrorDBUserAuthFailed'))).toEqual([
      'BackupFailed',
      'ReadinessFailed',
    ]);
  });

  it('raises BackupMissed, not BackupFailed, for a slot the watchdog recorded as missed', () => {
    expect(eventsRaisedByJob(failed('Backup', 'UserErrorBackupMissed'))).toEqual(['BackupMissed']);
  });

  it('raises one event per other outcome and none for jobs that have not ended or expiry runs that succeeded', () => {
    expect(eventsRaisedByJob({ operation: 'Backup', status: 'Succeeded' })).toEqual(['BackupSucceeded']);
    expect(eventsRaisedByJob({ operation: 'Restore', status: 'Succeeded' })).toEqual(['RestoreSucceeded']);
    expect(eventsRaisedByJob(failed('Restore', 'SystemErrorRestoreFailed'))).toEqual(['RestoreFailed']);
    expect(eventsRaisedByJob(failed('Expiry', 'SystemErrorInternal'))).toEqual(['ExpiryFailed']);
    expect(eventsRaisedByJob(failed('RestoreTest', 'SystemErrorRestoreTestFailed'))).toEqual(['RestoreTestFailed']);
    expect(eventsRaisedByJob({ operation: 'RestoreTest', status: 'Succeeded' })).toEqual([]);
    expect(eventsRaisedByJob({ operation: 'Expiry', status: 'Succeeded' })).toEqual([]);
    expect(eventsRaisedByJob({ operation: 'Backup', status: 'InProgress' })).toEqual([]);
    expect(eventsRaisedByJob({ operation: 'Rehydrate', status: 'Failed' })).toEqual([]);
  });
});

describe('eventTypes', () => {
  it('gives every event a unique pgkeep.<noun>.<verb> CloudEvents type', () => {
    const types = eventNames.map((n) => eventTypes[n].type);
    expect(new Set(types).size).toBe(types.length);
    for (const t of types) expect(t).toMatch(/^pgkeep\.[a-z]+\.[a-z]+$/);
  });

  it('subscribes channels by default to the failure events, and never to the test event', () => {
    expect(defaultEventNames).toEqual([
      'BackupFailed',
      'BackupMissed',
      'RestoreFailed',
      'RestoreTestFailed',
      'ExpiryFailed',
      'ReadinessFailed',
      'HealthChanged',
    ]);
    expect(subscribableEventNames).not.toContain('NotificationTest');
    expect(subscribableEventNames).toHaveLength(eventNames.length - 1);
  });
});

describe('jobEvents', () => {
  const job: JobRecord = {
    id: 'job-7',
    operation: 'Backup',
    backupInstance: 'orders',
    status: 'Failed',
    trigger: 'Scheduled',
    startTime: '2026-03-10T12:00:00.000Z',
    endTime: '2026-03-10T12:01:30.500Z',
    progress: { bytes: 0 },
    error: { code: 'UserErrorDBUserAuthFailed', message: 'password authentication failed', hint: 'check the user' },
    extra: { scheduledSlot: '2026-03-10T12:00:00.000Z' },
  };

  it('builds each event with an id derived from the job and the event name, and a payload its schema accepts', () => {
    const events = jobEvents(job, 'vault', apiLinks('https://app.example.net/'), '2026-03-10T13:00:00.000Z');
    expect(events.map((e) => [e.name, e.type, e.id])).toEqual([
      ['BackupFailed', 'pgkeep.backup.failed', eventId('job:job-7:BackupFailed')],
      ['ReadinessFailed', 'pgkeep.readiness.failed', eventId('job:job-7:ReadinessFailed')],
    ]);
    const [first] = events;
    expect(first).toMatchObject({ source: 'vault', subject: 'orders', time: job.endTime });
    expect(first?.data).toEqual({
      jobId: 'job-7',
      backupInstance: 'orders',
      operation: 'Backup',
      status: 'Failed',
      trigger: 'Scheduled',
      startTime: job.startTime,
      endTime: job.endTime,
      durationSeconds: 90.5,
      scheduledSlot: '2026-03-10T12:00:00.000Z',
      error: {
        code: 'UserErrorDBUserAuthFailed',
        message: 'password authentication failed',
        recommendedAction: 'check the user',
      },
      jobUrl: 'https://app.example.net/api/backupJobs/job-7',
    });
    for (const e of events) expect(eventTypes[e.name].data.safeParse(e.data).success).toBe(true);
  });

  it('makes ids that look like UUIDs and differ per key', () => {
    expect(eventId('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventId('a')).toBe(eventId('a'));
    expect(eventId('a')).not.toBe(eventId('b'));
  });
});
