// Timer triggers under devhost: runOnStartup, past-due detection from the schedule monitor, the admin "run now"
// endpoint, and a 1-second schedule whose slow runs must never overlap.
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { startDevhost, type DevhostInstance } from '../support/devhost';

const appRoot = path.resolve(__dirname, '../devhost-app');
let azurite: AzuriteInstance;
let host: DevhostInstance;
let runsQueue: QueueClient;

interface Run {
  name: string;
  isPastDue: boolean;
  startedAt: number;
  endedAt: number;
  retryCount?: number;
  maxRetryCount?: number;
}
const seen: Run[] = [];

/** Reads timer-runs into `seen` until the predicate holds for it, or fails at the deadline. */
async function runsUntil(pred: (runs: Run[]) => boolean, timeoutMs = 15_000): Promise<Run[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { receivedMessageItems } = await runsQueue.receiveMessages({ numberOfMessages: 32 });
    for (const m of receivedMessageItems) {
      seen.push(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Run);
      await runsQueue.deleteMessage(m.messageId, m.popReceipt);
    }
    if (pred(seen)) return seen;
    if (Date.now() > until) throw new Error(`timer runs so far: ${JSON.stringify(seen)}\n${host.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  azurite = await startAzurite();
  // A monitor status whose Next is long past, as if the host had been down over an occurrence.
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    'azure-webjobs-hosts',
  );
  await container.createIfNotExists();
  const status = JSON.stringify({
    Last: '2020-01-01T00:00:00.000Z',
    Next: '2021-01-01T00:00:00.000Z',
    LastUpdated: '2020-01-01T00:00:00.000Z',
  });
  await container.getBlockBlobClient('timers/devhost/tickManual/status').upload(status, status.length);
  runsQueue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('timer-runs');
  await runsQueue.createIfNotExists();
  host = await startDevhost({
    appRoot,
    storageConnectionString: azurite.connectionString,
    // Real environment wins over local.settings.json, which disables tickFast for the other test files.
    env: { 'AzureWebJobs.tickFast.Disabled': 'false' },
  });
});
afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

describe('timer trigger', () => {
  it('runs a runOnStartup timer once when the host starts', async () => {
    const runs = await runsUntil((r) => r.some((x) => x.name === 'tickStartup'));
    expect(runs.filter((x) => x.name === 'tickStartup')).toHaveLength(1);
  });

  it('runs a monitored timer at start with isPastDue when its recorded Next has passed', async () => {
    const runs = await runsUntil((r) => r.some((x) => x.name === 'tickManual'));
    expect(runs.find((x) => x.name === 'tickManual')?.isPastDue).toBe(true);
  });

  it('runs a timer now through POST /admin/functions/{name}, not past due', async () => {
    await runsUntil((r) => r.some((x) => x.name === 'tickManual'));
    const res = await fetch(`${host.baseUrl}/admin/functions/tickManual`, { method: 'POST', body: '{"input":""}' });
    expect(res.status).toBe(202);
    const runs = await runsUntil((r) => r.filter((x) => x.name === 'tickManual').length >= 2);
    expect(runs.filter((x) => x.name === 'tickManual').map((x) => x.isPastDue)).toEqual([true, false]);
  });

  it('runs a %Setting% 1-second schedule repeatedly but never starts a run before the previous one ended', async () => {
    const runs = await runsUntil((r) => r.filter((x) => x.name === 'tickFast').length >= 3, 20_000);
    const fast = runs.filter((x) => x.name === 'tickFast').sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < fast.length; i++) {
      expect(fast[i]!.startedAt).toBeGreaterThanOrEqual(fast[i - 1]!.endedAt);
    }
    // Each run takes 1.5 s, so a schedule that ignored running invocations would have overlapped.
    expect(fast.every((x) => x.endedAt - x.startedAt >= 1400)).toBe(true);
  });

  it('retries a failing timer per its function-level retry policy, passing retryContext', async () => {
    const res = await fetch(`${host.baseUrl}/admin/functions/tickRetry`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(202);
    const runs = await runsUntil((r) => r.some((x) => x.name === 'tickRetry'));
    expect(runs.find((x) => x.name === 'tickRetry')).toMatchObject({ retryCount: 2, maxRetryCount: 2 });
    expect(host.logs().match(/Executed 'Functions\.tickRetry' \(Failed/g)).toHaveLength(2);
  });

  it('writes the schedule monitor status after a run', async () => {
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient('azure-webjobs-hosts')
      .getBlockBlobClient('timers/devhost/tickManual/status');
    const status = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as { Next: string };
    expect(Date.parse(status.Next)).toBeGreaterThan(Date.now());
  });
});
