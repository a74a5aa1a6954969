import type * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { backupOrchestrator } from '../../../shared/workflows/backup';
import {
  activities,
  slotPollsPerHistory,
  type BackupOrchestratorInput,
  type DumpResult,
} from '../../../shared/workflows/names';
import { decodeTaskError, encodeWireError } from '../../../shared/workflows/task-errors';

interface Call {
  name: string;
  input: unknown;
  retry?: boolean;
}

/** A context whose callActivity records the call and returns it as the yielded "task". */
function fakeContext(
  input: BackupOrchestratorInput,
  now = '2026-01-01T00:00:00.000Z',
  continued: unknown[] = [],
): df.OrchestrationContext {
  return {
    df: {
      instanceId: 'backup-orders-20260101T000000Z',
      currentUtcDateTime: new Date(now),
      getInput: () => input,
      createTimer: (at: Date): Call => ({ name: 'timer', input: at.toISOString() }),
      continueAsNew: (next: unknown) => continued.push(next),
      newGuid: (seed: string) => `guid(${seed})`,
      callActivity: (name: string, activityInput: unknown): Call => ({ name, input: activityInput }),
      callActivityWithRetry: (name: string, _retry: unknown, activityInput: unknown): Call => ({
        name,
        input: activityInput,
        retry: true,
      }),
    },
  } as unknown as df.OrchestrationContext;
}

const dump: DumpResult = {
  blobName: 'orders/j1/dump.pgdump.zst',
  manifestBlobName: 'orders/j1/manifest.json',
  time: '2026-01-01T00:00:01.000Z',
  bytes: 1234,
  sha256: 'ab'.repeat(32),
  serverVersion: '15.8',
  pgDumpVersion: '15.8',
  databaseName: 'orders',
};

const granted = { granted: true, serverKey: 'db:5432' };
const queued = { granted: false, serverKey: 'db:5432', waitingFor: 'server', position: 3 };

describe('backupOrchestrator', () => {
  it('runs start, readiness, dump and commit in order, the commit last', () => {
    const gen = backupOrchestrator(fakeContext({ jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand' }));
    const calls: Call[] = [];
    let r = gen.next();
    calls.push(r.value as unknown as Call);
    r = gen.next({ started: true });
    calls.push(r.value as unknown as Call);
    r = gen.next(granted);
    calls.push(r.value as unknown as Call);
    r = gen.next({ serverMajor: 15, serverVersion: '15.8' });
    calls.push(r.value as unknown as Call);
    r = gen.next(dump);
    calls.push(r.value as unknown as Call);
    r = gen.next({ recoveryPointId: 'rp1', tag: 'Default' });
    expect(calls.map((c) => c.name)).toEqual([
      activities.startBackupJob,
      activities.acquireBackupSlot,
      activities.checkBackupReadiness,
      activities.runDump,
      activities.commitRecoveryPoint,
    ]);
    expect((calls[3]!.input as { serverMajor: number }).serverMajor).toBe(15);
    expect((calls[4]!.input as { dump: DumpResult }).dump).toEqual(dump);
    expect(r).toEqual({ done: true, value: { jobId: 'j1', status: 'Succeeded', recoveryPointId: 'rp1' } });
  });

  it('derives the job id deterministically from the orchestration id for scheduled backups', () => {
    const gen = backupOrchestrator(fakeContext({ instanceName: 'orders', trigger: 'Scheduled', scheduledSlot: 'x' }));
    const first = gen.next().value as unknown as Call;
    expect((first.input as { jobId: string }).jobId).toBe('guid(backup-orders-20260101T000000Z:job)');
    expect((first.input as { scheduledSlot: string }).scheduledSlot).toBe('x');
  });

  it('fails the job with the activity error code and never commits when the dump fails', () => {
    const gen = backupOrchestrator(fakeContext({ jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand' }));
    gen.next();
    gen.next({ started: true });
    gen.next(granted);
    gen.next({ serverMajor: 15, serverVersion: '15.8' });
    const failure = new Error(
      `Activity function 'runDump' failed: ${encodeWireError({ code: 'SystemErrorDumpStalled', message: 'no bytes for 5s', hint: 'h' })} \n stack`,
    );
    const failCall = gen.throw(failure).value as unknown as Call;
    expect(failCall.name).toBe(activities.failBackupJob);
    expect((failCall.input as { error: { code: string } }).error.code).toBe('SystemErrorDumpStalled');
    const end = gen.next();
    expect(end.done).toBe(true);
    expect(end.value).toMatchObject({ status: 'Failed', error: { code: 'SystemErrorDumpStalled' } });
  });

  it('stops without a dump when the job cannot start (another backup holds the lock)', () => {
    const gen = backupOrchestrator(fakeContext({ instanceName: 'orders', trigger: 'Scheduled' }));
    gen.next();
    const error = { code: 'UserErrorBackupInProgress' as const, message: 'busy', hint: 'wait' };
    const end = gen.next({ started: false, error });
    expect(end).toMatchObject({ done: true, value: { status: 'Failed', error } });
  });

  it('retries the idempotent bookkeeping steps (start, commit, fail) but not readiness or the dump', () => {
    const gen = backupOrchestrator(fakeContext({ jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand' }));
    const calls = [gen.next().value, gen.next({ started: true }).value] as unknown as Call[];
    calls.push(gen.next(granted).value as unknown as Call);
    calls.push(gen.next({ serverMajor: 15, serverVersion: '15.8' }).value as unknown as Call);
    calls.push(gen.next(dump).value as unknown as Call);
    expect(calls.map((c) => [c.name, c.retry === true])).toEqual([
      [activities.startBackupJob, true],
      [activities.acquireBackupSlot, true],
      [activities.checkBackupReadiness, false],
      [activities.runDump, false],
      [activities.commitRecoveryPoint, true],
    ]);
    const fail = gen.throw(new Error('commit gave up')).value as unknown as Call;
    expect([fail.name, fail.retry]).toEqual([activities.failBackupJob, true]);
    expect((fail.input as { dumpTime: string }).dumpTime).toBe(dump.time);
  });

  it('fails the job (releasing its lock) when the start step itself keeps failing', () => {
    const gen = backupOrchestrator(fakeContext({ jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand' }));
    gen.next();
    const fail = gen.throw(new Error('table storage unavailable')).value as unknown as Call;
    expect(fail.name).toBe(activities.failBackupJob);
    expect((fail.input as { error: { code: string } }).error.code).toBe('SystemErrorInternal');
    expect(gen.next()).toMatchObject({ done: true, value: { status: 'Failed' } });
  });

  it('waits Queued on durable timers of the poll interval until its slot is granted, then dumps', () => {
    const input = { jobId: 'j1', instanceName: 'orders', trigger: 'OnDemand', slotPollSeconds: 7 } as const;
    const gen = backupOrchestrator(fakeContext(input));
    gen.next();
    expect((gen.next({ started: true }).value as unknown as Call).name).toBe(activities.acquireBackupSlot);
    const timer = gen.next(queued).value as unknown as Call;
    expect(timer).toEqual({ name: 'timer', input: '2026-01-01T00:00:07.000Z' });
    expect((gen.next().value as unknown as Call).name).toBe(activities.acquireBackupSlot);
    expect((gen.next(queued).value as unknown as Call).name).toBe('timer');
    gen.next();
    expect((gen.next(granted).value as unknown as Call).name).toBe(activities.checkBackupReadiness);
  });

  it('continues as new with the same job after many polls, so a long wait keeps a short history', () => {
    const continued: unknown[] = [];
    const input = {
      instanceName: 'orders',
      trigger: 'Scheduled',
      scheduledSlot: 's',
      notBefore: '2025-12-31T00:00:00Z',
    } as const;
    const gen = backupOrchestrator(fakeContext(input, undefined, continued));
    gen.next();
    let r = gen.next({ started: true });
    for (let i = 0; i < slotPollsPerHistory; i++) {
      expect((gen.next(queued).value as unknown as Call).name).toBe('timer');
      r = gen.next();
    }
    expect((r.value as unknown as Call).name).toBe(activities.acquireBackupSlot);
    expect(gen.next(queued)).toMatchObject({ done: true, value: { status: 'Queued' } });
    expect(continued).toEqual([
      {
        instanceName: 'orders',
        trigger: 'Scheduled',
        scheduledSlot: 's',
        jobId: 'guid(backup-orders-20260101T000000Z:job)',
      },
    ]);
  });

  it('waits for its jittered start before the job starts', () => {
    const input = {
      instanceName: 'orders',
      trigger: 'Scheduled',
      scheduledSlot: 's',
      notBefore: '2026-01-01T00:04:10.000Z',
    } as const;
    const gen = backupOrchestrator(fakeContext(input));
    expect(gen.next().value as unknown as Call).toEqual({ name: 'timer', input: '2026-01-01T00:04:10.000Z' });
    expect((gen.next().value as unknown as Call).name).toBe(activities.startBackupJob);
  });

  it('rejects an input without an instance name with a precise message', () => {
    const gen = backupOrchestrator(fakeContext({ trigger: 'OnDemand' } as unknown as BackupOrchestratorInput));
    expect(() => gen.next()).toThrow('input.instanceName must be a non-empty string');
  });
});

describe('decodeTaskError', () => {
  it('reads the code from the marker even when the host appends details with braces', () => {
    const msg = `Activity function 'x' failed: boom ${encodeWireError({ code: 'UserErrorDBUserAuthFailed', message: 'a "quoted" {x}', hint: 'h' })} \n {"$type":"System.Exception"}`;
    expect(decodeTaskError(new Error(msg))).toEqual({
      code: 'UserErrorDBUserAuthFailed',
      message: 'a "quoted" {x}',
      hint: 'h',
    });
  });

  it('prefers failure details properties when the host propagates them', () => {
    const err = Object.assign(new Error('x'), {
      failureDetails: { properties: { pgkeepError: { code: 'SystemErrorDumpFailed', message: 'm', hint: 'h' } } },
    });
    expect(decodeTaskError(err).code).toBe('SystemErrorDumpFailed');
  });

  it('treats unknown failures as internal without repeating their text', () => {
    const decoded = decodeTaskError(new Error('password=hunter2'));
    expect(decoded.code).toBe('SystemErrorInternal');
    expect(JSON.stringify(decoded)).not.toContain('hunter2');
  });

  it('ignores a marker carrying an unknown code', () => {
    expect(decodeTaskError(new Error('pgkeep-error:{"code":"Nope","message":"m"}')).code).toBe('SystemErrorInternal');
  });
});
