// devhost as a whole process: settings reach the app (real env winning), disabled functions, key auth when enabled,
// and devhost starting and stopping its own Azurite.
import { QueueServiceClient } from '@azure/storage-queue';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';

const appRoot = path.resolve(__dirname, '../devhost-app');
const MASTER = 'local-master-key-for-tests';
const FUNCTION = 'local-function-key-for-tests';
let host: DevhostInstance;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  host = await startDevhost({
    appRoot,
    azuriteBy: 'devhost',
    args: ['--enable-auth'],
    env: {
      OVERRIDDEN: 'env-value',
      DEVHOST_MASTER_KEY: MASTER,
      DEVHOST_FUNCTION_KEY: FUNCTION,
      AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:02',
    },
  });
});
afterAll(async () => {
  await host?.stop();
});

describe('devhost process', () => {
  it('exposes local.settings.json values as environment variables, the real environment winning', async () => {
    const res = await fetch(`${host.baseUrl}/api/env`);
    expect(await res.json()).toEqual({
      FROM_FILE: 'file-value',
      OVERRIDDEN: 'env-value',
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      WEBSITE_HOSTNAME: `localhost:${host.port}`,
    });
  });

  it('answers 404 for a function disabled with AzureWebJobs.<Name>.Disabled', async () => {
    expect((await fetch(`${host.baseUrl}/api/disabledHttp`)).status).toBe(404);
  });

  it('with --enable-auth, requires a function key for function-level routes (header or ?code=)', async () => {
    expect((await fetch(`${host.baseUrl}/api/secured`)).status).toBe(401);
    expect((await fetch(`${host.baseUrl}/api/secured?code=wrong`)).status).toBe(401);
    expect((await fetch(`${host.baseUrl}/api/secured?code=${FUNCTION}`)).status).toBe(200);
    expect((await fetch(`${host.baseUrl}/api/secured`, { headers: { 'x-functions-key': MASTER } })).status).toBe(200);
    expect((await fetch(`${host.baseUrl}/api/created`)).status).toBe(201);
  });

  it('with --enable-auth, accepts only the master key for admin-level routes and the admin API', async () => {
    expect((await fetch(`${host.baseUrl}/api/adminOnly?code=${FUNCTION}`)).status).toBe(401);
    expect((await fetch(`${host.baseUrl}/api/adminOnly?code=${MASTER}`)).status).toBe(200);
    const run = (key?: string) =>
      fetch(`${host.baseUrl}/admin/functions/tickManual`, {
        method: 'POST',
        headers: key ? { 'x-functions-key': key } : {},
        body: '{}',
      });
    expect((await run()).status).toBe(401);
    expect((await run(MASTER)).status).toBe(202);
  });

  it('makes a failed queue message visible again only after visibilityTimeout (set through an env override)', async () => {
    const q = QueueServiceClient.fromConnectionString(host.storage.connectionString).getQueueClient('work-items');
    await q.createIfNotExists();
    await q.sendMessage(Buffer.from(JSON.stringify({ key: 'vis-1', fail: true })).toString('base64'));
    const attemptsAfter = async (n: number): Promise<number> => {
      const until = Date.now() + 15_000;
      for (;;) {
        const res = await fetch(`${host.baseUrl}/api/attempts/vis-1`);
        if (((await res.json()) as { attempts: number }).attempts >= n) return Date.now();
        if (Date.now() > until) throw new Error(`attempt ${n} never came:\n${host.logs()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const first = await attemptsAfter(1);
    const second = await attemptsAfter(2);
    expect(second - first).toBeGreaterThanOrEqual(1500);
  });

  it('never prints the configured keys', () => {
    expect(host.logs()).not.toContain(MASTER);
    expect(host.logs()).not.toContain(FUNCTION);
  });

  it('starts Azurite itself for UseDevelopmentStorage=true and stops it on exit', async () => {
    const queuePort = Number(/:(\d+)\//.exec(host.storage.queueUrl)![1]);
    expect(await portOpen(queuePort)).toBe(true);
    expect(host.logs()).toMatch(/storage: Azurite blob :\d+, queue :\d+, table :\d+ \(data in memory\)/);
    await host.stop();
    const until = Date.now() + 10_000;
    while ((await portOpen(queuePort)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await portOpen(queuePort)).toBe(false);
  });
});
