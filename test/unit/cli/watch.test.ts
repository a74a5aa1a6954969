// Following a job: phase, rate and ETA from the polled snapshots; plain lines per phase change; unknown statuses
// shown as they are; Ctrl-C stops the watching (exit 130), never the job. Polls a scripted API over real HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/api-client';
import { ProgressMeter, WatchInterrupted, describeProgress, isFinished, watchJob } from '../../../cli/watch';
import type { JobResource } from '../../../shared/contracts/jobs';
import { captureIo, startScriptedApi, type ScriptedApi } from './cli-support';

function job(status: string, progress: { bytes: number; percent?: number }, extra: object = {}): JobResource {
  return {
    id: '/v/backupJobs/j1',
    name: 'j1',
    type: 'Microsoft.DataProtection/backupVaults/backupJobs',
    properties: {
      id: 'j1',
      operation: 'Backup',
      operationCategory: 'Backup',
      backupInstance: 'orders',
      backupInstanceId: '/v/backupInstances/orders',
      status,
      trigger: 'OnDemand',
      isUserTriggered: true,
      startTime: '2026-03-10T12:00:00.000Z',
      duration: 'PT1S',
      progress,
      ...extra,
    },
  } as JobResource;
}

describe('isFinished', () => {
  it('ends on Succeeded, Failed and Cancelled, and on any status that comes with an end time', () => {
    for (const s of ['Succeeded', 'Failed', 'Cancelled']) expect(isFinished(job(s, { bytes: 0 }))).toBe(true);
    for (const s of ['NotStarted', 'InProgress', 'Queued']) expect(isFinished(job(s, { bytes: 0 }))).toBe(false);
    expect(isFinished(job('CompletedWithWarnings', { bytes: 0 }, { endTime: '2026-03-10T12:01:00.000Z' }))).toBe(true);
  });
});

describe('ProgressMeter.add', () => {
  it('computes the rate over the recent samples and the ETA from how fast the percentage moves', () => {
    const meter = new ProgressMeter();
    expect(meter.add(job('InProgress', { bytes: 0, percent: 0 }), 0)).toEqual({
      phase: 'InProgress',
      bytes: 0,
      percent: 0,
    });
    const s = meter.add(job('InProgress', { bytes: 4 * 1024 * 1024, percent: 40 }), 2000);
    expect(s.bytesPerSecond).toBe(2 * 1024 * 1024);
    expect(s.etaSeconds).toBe(3);
    expect(describeProgress(s)).toBe('InProgress  4.0 MiB  2.0 MiB/s  40%  ETA 3s');
  });

  it('gives no percentage and no ETA when the job reports none (backups report bytes only)', () => {
    const meter = new ProgressMeter();
    meter.add(job('InProgress', { bytes: 0 }), 0);
    const s = meter.add(job('InProgress', { bytes: 1024 }), 1000);
    expect(s).toEqual({ phase: 'InProgress', bytes: 1024, bytesPerSecond: 1024 });
    expect(describeProgress(s)).toBe('InProgress  1.0 KiB  1.0 KiB/s');
  });

  it('shows a reported phase after the status, and unknown statuses as they are', () => {
    const meter = new ProgressMeter();
    expect(meter.add(job('Queued', { bytes: 0 }, { extendedInfo: { phase: 'position 3' } }), 0).phase).toBe(
      'Queued/position 3',
    );
  });
});

describe('watchJob', () => {
  let api: ScriptedApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('prints one plain line per phase change and returns the final answer', async () => {
    const sequence = [
      job('Queued', { bytes: 0 }),
      job('InProgress', { bytes: 1024 }),
      job('InProgress', { bytes: 2048 }),
      job('Succeeded', { bytes: 4096, percent: 100 }, { endTime: '2026-03-10T12:00:05.000Z' }),
    ];
    let polls = 0;
    api = await startScriptedApi(() => ({ status: 200, body: sequence[Math.min(polls++, sequence.length - 1)] }));
    const io = captureIo();
    const first = job('NotStarted', { bytes: 0 });
    const final = await watchJob(
      io,
      new ApiClient({ baseUrl: api.url }),
      { status: 202, text: '', body: first },
      {
        intervalMs: 1,
      },
    );
    expect(final.body.properties.status).toBe('Succeeded');
    expect(api.seen.every((r) => r.url.pathname === '/api/backupJobs/j1')).toBe(true);
    const phases = io
      .err()
      .trimEnd()
      .split('\n')
      .map((l) => /job j1 {2}(\S+)/.exec(l)?.[1]);
    expect(phases).toEqual(['NotStarted', 'Queued', 'InProgress', 'Succeeded']);
    expect(io.out()).toBe('');
  });

  it('stops on Ctrl-C with WatchInterrupted (exit 130) saying how to watch again, without touching the job', async () => {
    api = await startScriptedApi(() => ({ status: 200, body: job('InProgress', { bytes: 1 }) }));
    const io = captureIo();
    const watching = watchJob(io, new ApiClient({ baseUrl: api.url }), {
      status: 200,
      text: '',
      body: job('InProgress', { bytes: 0 }),
    });
    io.interrupt();
    const err = await watching.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WatchInterrupted);
    expect((err as WatchInterrupted).exitCode).toBe(130);
    expect((err as WatchInterrupted).render()).toContain('watch it again: pgkeep jobs watch j1');
    expect(api.seen.every((r) => r.method === 'GET')).toBe(true);
  });
});
