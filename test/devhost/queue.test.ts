// Storage queue triggers under devhost against Azurite: base64 messages, output bindings, poison after 5 attempts.
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;
let queues: QueueServiceClient;

beforeAll(async () => {
  host = await startDevhost({ appRoot });
  queues = QueueServiceClient.fromConnectionString(host.storage.connectionString);
});
afterAll(async () => {
  await host?.stop();
});

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

async function send(queue: string, text: string): Promise<void> {
  const q = queues.getQueueClient(queue);
  await q.createIfNotExists();
  await q.sendMessage(b64(text));
}

/** Receives messages until `count` arrived, or fails at the deadline; deletes what it read. */
async function drain(q: QueueClient, count: number, timeoutMs = 15_000): Promise<string[]> {
  const got: string[] = [];
  const until = Date.now() + timeoutMs;
  await q.createIfNotExists();
  while (got.length < count) {
    const { receivedMessageItems } = await q.receiveMessages({ numberOfMessages: 32 });
    for (const m of receivedMessageItems) {
      got.push(m.messageText);
      await q.deleteMessage(m.messageId, m.popReceipt);
    }
    if (got.length >= count) break;
    if (Date.now() > until) throw new Error(`only ${got.length}/${count} messages on ${q.name}:\n${host.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return got;
}

describe('queue trigger', () => {
  it('decodes a base64 message, passes trigger metadata, and writes an array output as one message per element', async () => {
    await send('work-items', JSON.stringify({ key: 'ok-1' }));
    const out = (await drain(queues.getQueueClient('work-done'), 2)).map(
      (t) => JSON.parse(unb64(t)) as Record<string, unknown>,
    );
    const first = out.find((o) => o.key === 'ok-1');
    expect(first).toMatchObject({ key: 'ok-1', dequeueCount: 1 });
    expect(typeof first?.id).toBe('string');
    expect(out.some((o) => o.key === 'ok-1-second')).toBe(true);
    // %SAMPLE_QUEUE% resolved to work-items, and the processed message is gone.
    const left = await queues.getQueueClient('work-items').peekMessages();
    expect(left.peekedMessageItems).toHaveLength(0);
  });

  it('writes the $return value of a queue function to its queue output', async () => {
    await send('return-in', JSON.stringify({ n: 1 }));
    const [msg] = await drain(queues.getQueueClient('return-out'), 1);
    expect(unb64(msg!)).toBe('echo:{"n":1}');
  });

  it('moves a message that always fails to <queue>-poison after exactly 5 attempts, content intact', async () => {
    const text = JSON.stringify({ key: 'poison-1', fail: true, payload: 'ünïcode ✓' });
    await send('work-items', text);
    const [poisoned] = await drain(queues.getQueueClient('work-items-poison'), 1, 20_000);
    expect(poisoned).toBe(b64(text));
    const res = await fetch(`${host.baseUrl}/api/attempts/poison-1`);
    expect(await res.json()).toEqual({ attempts: 5 });
    expect(host.logs().match(/Executed 'Functions\.queueWork' \(Failed/g)).toHaveLength(5);
  });

  it('runs a queue function now through POST /admin/functions/{name}', async () => {
    const res = await fetch(`${host.baseUrl}/admin/functions/queueWork`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: JSON.stringify({ key: 'admin-1' }) }),
    });
    expect(res.status).toBe(202);
    const out = (await drain(queues.getQueueClient('work-done'), 2)).map(
      (t) => JSON.parse(unb64(t)) as { key: string },
    );
    expect(out.map((o) => o.key).sort()).toEqual(['admin-1', 'admin-1-second']);
  });

  it('answers 404 from the admin endpoint for an unknown function', async () => {
    const res = await fetch(`${host.baseUrl}/admin/functions/nope`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });

  it('writes HTTP queue outputs base64-encoded to the %Setting%-named queue', async () => {
    const res = await fetch(`${host.baseUrl}/api/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'from-http' }),
    });
    expect(res.status).toBe(202);
    const out = (await drain(queues.getQueueClient('work-done'), 2)).map(
      (t) => JSON.parse(unb64(t)) as { key: string },
    );
    expect(out.map((o) => o.key).sort()).toEqual(['from-http', 'from-http-second']);
  });
});
