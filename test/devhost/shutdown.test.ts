// How devhost stops (issues 11 and 18): the listener closes at once and the host never answers Running while it
// stops; running work gets a few seconds, then is abandoned and redone by the next start; a second signal stops the
// wait for running work; Azurite stops last, with its data written, so the next start finds every instance.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { durableClient } from '../support/durable-client';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;
let df: ReturnType<typeof durableClient>;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-shutdown-'));
  // devhost's own Azurite, its data on disk: what a stop must keep is what the next start reads back.
  host = await startDevhost({ appRoot, azuriteBy: 'devhost', dataDir });
  df = durableClient(host.baseUrl);
});
afterAll(async () => {
  await host?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** What the sample activity durSlowCount recorded for a key. */
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

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET /admin/host/status over `agent` (a kept-alive connection): the state, or 'refused' once nothing listens. */
function hostState(agent: http.Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(`${host.baseUrl}/admin/host/status`, { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve((JSON.parse(body) as { state: string }).state));
      res.on('error', () => resolve('refused'));
    });
    req.on('error', () => resolve('refused'));
  });
}

async function terminate(id: string): Promise<void> {
  const url = `${host.baseUrl}/runtime/webhooks/durabletask/instances/${id}/terminate?reason=test%20done`;
  expect((await fetch(url, { method: 'POST' })).status).toBe(202);
}

/** Starts an orchestration whose activity sleeps `ms` and waits until the activity has begun. */
async function startSlowActivity(ms: number): Promise<{ id: string; key: string }> {
  const key = `shutdown-${Date.now()}`;
  const id = await df.start('durResume', { key, timerSeconds: 0, activityMs: ms });
  await until('the activity to start', async () => (await sideEffects(key)).started === 1);
  return { id, key };
}

describe('devhost stopping', () => {
  it('closes its listener at once, never answers Running, and abandons an activity still running after 5 s; the next start redoes it', async () => {
    const { id, key } = await startSlowActivity(60_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect(await hostState(agent)).toBe('Running');

    const signalled = Date.now();
    host.signal('SIGTERM', 'devhost');
    // The state changes in the same tick as this line is logged; before it, the signal may still be in flight.
    await host.waitForLog(/devhost: stopping \(SIGTERM\)/);
    const seen = new Set<string>();
    const watching = (async () => {
      for (let state = ''; state !== 'refused';) {
        state = await hostState(agent);
        seen.add(state);
      }
    })();
    const { ms } = await host.waitStopped(30_000);
    await watching;
    agent.destroy();

    expect([...seen].filter((s) => s !== 'Stopping' && s !== 'refused')).toEqual([]);
    // 5 s for the activity, then Azurite; generous for a loaded machine, far below the minute it would have run.
    expect(Date.now() - signalled).toBeLessThan(20_000);
    expect(ms).toBeLessThan(20_000);
    expect(host.logs()).toMatch(/devhost: stopping \(SIGTERM\)/);
    expect(host.logs()).toMatch(/abandoned 1 running function/);
    expect(host.logs()).toMatch(/Azurite stopped; its data is written/);

    await host.restart();
    // The abandoned activity left its work item in storage: the next start runs it again.
    await until('the activity to run again', async () => (await sideEffects(key)).started === 2);
    expect(await sideEffects(key)).toEqual({ started: 2, completed: 0 });
    await terminate(id);
  }, 90_000);

  it('a second signal stops the wait for running work, and the instance it started survives the stop', async () => {
    const { id } = await startSlowActivity(60_000);
    const signalled = Date.now();
    host.signal('SIGINT', 'group');
    await host.waitForLog(/devhost: stopping \(SIGINT\)/);
    // Further apart than the window in which a forwarded copy of the same Ctrl-C counts as one.
    await new Promise((r) => setTimeout(r, 700));
    host.signal('SIGINT', 'group');
    await host.waitStopped(20_000);
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(host.logs()).toMatch(/not waiting for running functions/);
    expect(host.logs()).toMatch(/Azurite stopped; its data is written/);

    await host.restart();
    expect((await df.status(id)).body.runtimeStatus).toBe('Running');
    await terminate(id);
  }, 90_000);
});
