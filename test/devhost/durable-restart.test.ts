// Durable state lives in Azurite: a devhost killed mid-orchestration resumes every instance on restart, and a
// replay that no longer matches its history fails the instance as non-deterministic.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { durableClient, type DurableStatus } from '../support/durable-client';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;
let df: ReturnType<typeof durableClient>;
let tmp: string;

beforeAll(async () => {
  host = await startDevhost({ appRoot });
  df = durableClient(host.baseUrl);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-restart-'));
});
afterAll(async () => {
  await host?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Side effects the sample activity durSlowCount recorded for a key. */
async function sideEffects(key: string): Promise<{ started: number; completed: number }> {
  const table = TableClient.fromConnectionString(host.storage.connectionString, 'durableSideEffects', {
    allowInsecureConnection: true,
  });
  const counts = { started: 0, completed: 0 };
  try {
    for await (const e of table.listEntities<{ what: string }>({
      queryOptions: { filter: `PartitionKey eq '${key}'` },
    })) {
      if (e.what === 'started') counts.started++;
      if (e.what === 'completed') counts.completed++;
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  return counts;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function count(s: DurableStatus, type: string): number {
  return (s.historyEvents ?? []).filter((e) => e.EventType === type).length;
}

describe('restart resume', () => {
  it('re-runs an activity that was cut off by a crash and completes the orchestration exactly once', async () => {
    const key = `slow-${Date.now()}`;
    const id = await df.start('durResume', { key, timerSeconds: 0, activityMs: 2500 });
    await until('the activity to start', async () => (await sideEffects(key)).started === 1);
    await host.kill();
    await host.restart();
    const s = await df.waitFor(id, undefined, 20_000, '?showHistory=true');
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual({ slept: 'slept 2500' });
    expect(await sideEffects(key)).toEqual({ started: 2, completed: 1 });
    expect(count(s, 'TaskCompleted')).toBe(1);
    expect(count(s, 'ExecutionCompleted')).toBe(1);
  });

  it('re-arms a pending timer after a crash and fires it once', async () => {
    const key = `timer-${Date.now()}`;
    const id = await df.start('durResume', { key, timerSeconds: 2, activityMs: 10 });
    await df.waitFor(id, (s) => count(s, 'TimerCreated') === 1, 10_000, '?showHistory=true');
    await host.kill();
    await host.restart();
    const s = await df.waitFor(id, undefined, 20_000, '?showHistory=true');
    expect(s.runtimeStatus).toBe('Completed');
    expect(count(s, 'TimerFired')).toBe(1);
    expect(await sideEffects(key)).toEqual({ started: 1, completed: 1 });
  });
});

describe('non-determinism', () => {
  it('fails the instance when a replay schedules a different action than its history', async () => {
    const flag = path.join(tmp, 'flag');
    fs.writeFileSync(flag, 'A');
    const id = await df.start('durNonDeterministic', flag);
    await df.waitFor(id, (s) => count(s, 'TaskCompleted') === 1, 10_000, '?showHistory=true');
    fs.writeFileSync(flag, 'B');
    expect(await df.raise(id, 'Continue', true)).toBe(202);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Failed');
    expect(s.output).toContain('Non-Deterministic workflow detected');
    expect(s.output).toContain("CallActivity 'durHello'");
  });

  it('completes the same orchestrator when the replay stays the same', async () => {
    const flag = path.join(tmp, 'flag-same');
    fs.writeFileSync(flag, 'A');
    const id = await df.start('durNonDeterministic', flag);
    await df.waitFor(id, (s) => count(s, 'TaskCompleted') === 1, 10_000, '?showHistory=true');
    expect(await df.raise(id, 'Continue', true)).toBe(202);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toBe('A');
  });
});
