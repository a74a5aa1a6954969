// Scenario matrix for devhost's Durable engine, driven over HTTP against a devhost child process (protocol §2, §3).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { durableClient } from '../support/durable-client';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;
let df: ReturnType<typeof durableClient>;

beforeAll(async () => {
  host = await startDevhost({ appRoot });
  df = durableClient(host.baseUrl);
});
afterAll(async () => {
  await host?.stop();
});

describe('durable engine scenarios', () => {
  it('runs a sequence of activities and a timer, with string inputs decoded and undefined results as null', async () => {
    const id = await df.start('durSequence');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual(['Hello Tokyo', 'Hello {"city":"Seattle"}', null]);
    expect(s.customStatus).toEqual({ step: 'done' });
    expect(s.input).toBe(''); // startNew without input posts "" (protocol §2.4 quirk)
  });

  it('fans out with Task.all and fans in the results', async () => {
    const id = await df.start('durFanOut', 12);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toBe(2 * ((12 * 13) / 2));
  });

  it('fails the instance when an activity error is not caught, with the activity message in the output', async () => {
    const id = await df.start('durFailUncaught');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Failed');
    expect(s.output).toContain("Orchestrator function 'durFailUncaught' failed:");
    expect(s.output).toContain("Activity function 'durFail' failed: activity boom");
  });

  it('surfaces an activity error as a TaskFailedError carrying the error code from the properties provider', async () => {
    const id = await df.start('durFailCaught');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({
      isTaskFailedError: true,
      message: 'CodedError: no space left',
      code: 'PGK_TEST_CODE',
      retryable: false,
      errorType: 'CodedError',
    });
  });

  it('retries a failing activity with exponential backoff until it succeeds', async () => {
    const id = await df.start('durRetry', { key: 'retry-ok', succeedOn: 3, maxAttempts: 4 });
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    const out = s.output as { attempts: number; times: number[] };
    expect(out.attempts).toBe(3);
    const [t1, t2, t3] = out.times as [number, number, number];
    expect(t2 - t1).toBeGreaterThanOrEqual(400); // first retry interval
    expect(t3 - t2).toBeGreaterThanOrEqual(800); // × backoffCoefficient 2
  });

  it('surfaces the last error once the retry attempts are exhausted', async () => {
    const id = await df.start('durRetry', { key: 'retry-exhausted', succeedOn: 99, maxAttempts: 2 });
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toMatchObject({ exhausted: true });
    expect((s.output as { message: string }).message).toContain('flaky attempt 2');
  });

  it('interleaves host retry ids with the orchestrator ids inside Task.all and Task.any', async () => {
    const id = await df.start('durFanOutRetry', `interleave-${Date.now()}`);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ first: 2, attempts: 3, third: 6, after: 20, anyAttempts: 2 });
  });

  it('retries a failing sub-orchestration as a new child run', async () => {
    const id = await df.start('durSubRetry', `subretry-${Date.now()}`);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toMatchObject({ childAttempt: 3 });
  });

  it('fires a short timer when no event arrives (Task.any timeout branch)', async () => {
    const id = await df.start('durApproval', { timeoutSeconds: 1 });
    const s = await df.waitFor(id);
    expect(s.output).toBe('timed out');
  });

  it('lets an event beat a long (7-day) timer and cancels the timer', async () => {
    const id = await df.start('durApproval', { timeoutSeconds: 7 * 24 * 3600 });
    await df.waitFor(id, (x) => x.runtimeStatus === 'Running');
    expect(await df.raise(id, 'Approve', { by: 'ops' })).toBe(202);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ approved: { by: 'ops' } });
  });

  it('buffers an external event that arrives before the orchestrator waits for it', async () => {
    const id = await df.start('durEarlyEvent');
    expect(await df.raise(id, 'Go', 'early')).toBe(202);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ slept: 'slept 1500', go: 'early' });
  });

  it('runs sub-orchestrations with generated and explicit ids and reports a failing child to the parent', async () => {
    const id = await df.start('durParent', undefined, `parent-${Date.now()}`);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    const out = s.output as { auto: { child: string; parent: string }; explicit: { child: string }; failure: string };
    expect(out.auto).toEqual({ child: `${id}:0`, parent: id, doubled: 2 });
    expect(out.explicit).toEqual({ child: `${id}-explicit`, parent: id, doubled: 4 });
    expect(out.failure).toContain('child 3 failed');
    const child = await df.status(`${id}-explicit`);
    expect(child.body.runtimeStatus).toBe('Completed');
  });

  it('continues as new with the new input until the last generation completes', async () => {
    const id = await df.start('durCounter', 0);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ generation: 3, doubled: 6 });
    expect(s.input).toBe(3);
  });

  it('reports custom status, terminates on request and answers 410 to events afterwards', async () => {
    const id = await df.start('durWaitForever');
    const running = await df.waitFor(id, (x) => x.customStatus === 'waiting for Never');
    expect(running.runtimeStatus).toBe('Running');
    const res = await fetch(`${df.api}/instances/${id}/terminate?reason=enough`, { method: 'POST' });
    expect(res.status).toBe(202);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Terminated');
    expect(s.output).toBe('enough');
    expect(await df.raise(id, 'Never', 1)).toBe(410);
  });

  it('holds events while suspended and applies them after resume', async () => {
    const id = await df.start('durApproval', { timeoutSeconds: 3600 });
    await df.waitFor(id, (x) => x.runtimeStatus === 'Running');
    expect((await fetch(`${df.api}/instances/${id}/suspend?reason=pause`, { method: 'POST' })).status).toBe(202);
    await df.waitFor(id, (x) => x.runtimeStatus === 'Suspended');
    expect(await df.raise(id, 'Approve', 'while suspended')).toBe(202);
    const held = await df.status(id);
    expect(held.body.runtimeStatus).toBe('Suspended');
    expect((await fetch(`${df.api}/instances/${id}/resume?reason=go`, { method: 'POST' })).status).toBe(202);
    const s = await df.waitFor(id);
    expect(s.output).toEqual({ approved: 'while suspended' });
  });

  it('refuses callHttp by failing the instance with a clear message instead of hanging', async () => {
    const id = await df.start('durCallHttp');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Failed');
    expect(s.output).toContain('devhost does not support callHttp');
  });

  it('refuses entity calls by failing the instance with a clear message instead of hanging', async () => {
    const id = await df.start('durCallEntity');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Failed');
    expect(s.output).toContain('devhost does not support callEntity');
  });

  it('refuses to start an id that is running (409) and restarts a completed id', async () => {
    const id = `fixed-${Date.now()}`;
    await df.start('durWaitForever', undefined, id);
    await df.waitFor(id, (x) => x.runtimeStatus === 'Running');
    const dup = await fetch(`${df.api}/orchestrators/durWaitForever/${id}`, { method: 'POST', body: '' });
    expect(dup.status).toBe(409);
    await fetch(`${df.api}/instances/${id}/terminate?reason=x`, { method: 'POST' });
    await df.waitFor(id);
    await df.start('durFanOut', 2, id);
    const s = await df.waitFor(id, (x) => x.runtimeStatus === 'Completed');
    expect(s.output).toBe(6);
  });
});

describe('durable HTTP API', () => {
  it('answers 202 while running and 200 when done, with input/output present and .NET time format', async () => {
    const id = await df.start('durWaitForever');
    const running = await df.status(id);
    expect(running.code).toBe(202);
    expect(running.body).toHaveProperty('output', null);
    expect(running.body.createdTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    await fetch(`${df.api}/instances/${id}/terminate`, { method: 'POST' });
    await df.waitFor(id);
    expect((await df.status(id)).code).toBe(200);
    expect((await df.status('no-such-instance')).code).toBe(404);
    expect(await df.raise('no-such-instance', 'x', 1)).toBe(404);
  });

  it('lists instances by status without a continuation header, and reads status through df.getClient', async () => {
    const id = await df.start('durFanOut', 1);
    await df.waitFor(id);
    const res = await fetch(`${df.api}/instances/?runtimeStatus=Completed&createdTimeFrom=2000-01-01T00:00:00Z`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ms-continuation-token')).toBeNull();
    const list = (await res.json()) as { instanceId: string; runtimeStatus: string }[];
    expect(list.some((x) => x.instanceId === id)).toBe(true);
    expect(list.every((x) => x.runtimeStatus === 'Completed')).toBe(true);
    const viaClient = await fetch(`${host.baseUrl}/api/durable/status/${id}`);
    expect(await viaClient.json()).toMatchObject({ instanceId: id, runtimeStatus: 'Completed', output: 2, input: 1 });
  });

  it('shows history with named event types on request', async () => {
    const id = await df.start('durFanOut', 1);
    await df.waitFor(id);
    const s = await df.status(id, '?showHistory=true');
    const types = s.body.historyEvents?.map((e) => e.EventType) ?? [];
    expect(types).toContain('ExecutionStarted');
    expect(types).toContain('TaskScheduled');
    expect(types).toContain('TaskCompleted');
    expect(types).toContain('ExecutionCompleted');
  });
});
