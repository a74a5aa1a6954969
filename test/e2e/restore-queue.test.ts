// The restore-requests queue contract under devhost (design §6): a valid request restores and answers on replyTo,
// a malformed one with a readable requestId gets a Failed result, an unreadable one lands in the poison queue with
// its text intact, and a duplicate requestId starts no second restore.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- messages are checked by the assertions, not by types */
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../support/table-checksums';
import { databaseRequest, startRestoreEnv, type RestoreEnv } from './restore-e2e-support';

let env: RestoreEnv;
let pointId: string;
let queues: QueueServiceClient;

beforeAll(async () => {
  // Poison after two attempts without a delay between them, so the poison test takes seconds, not a minute.
  env = await startRestoreEnv({
    AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '2',
    AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:00',
  });
  pointId = await env.backup();
  queues = QueueServiceClient.fromConnectionString(env.dh.storage.connectionString);
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');

async function send(message: unknown): Promise<void> {
  const q = queues.getQueueClient('restore-requests');
  await q.createIfNotExists();
  await q.sendMessage(encode(typeof message === 'string' ? message : JSON.stringify(message)));
}

/** Receives (and deletes) messages until one matches, or fails at the deadline. */
async function receive(queue: QueueClient, match: (m: any) => boolean, timeoutMs = 60_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  await queue.createIfNotExists();
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
    for (const item of receivedMessageItems) {
      await queue.deleteMessage(item.messageId, item.popReceipt);
      const text = Buffer.from(item.messageText, 'base64').toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // poison messages may be plain text
      }
      if (match(parsed)) return parsed;
    }
    if (Date.now() > until) throw new Error(`no matching message on ${queue.name}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function restoreJobs(): Promise<any[]> {
  const r = await env.call('GET', '/backupJobs?operation=Restore');
  return r.body.value;
}

describe('restoreQueue', () => {
  it('restores a valid request and posts Succeeded with the job id to replyTo', async () => {
    await send({
      requestId: 'req-1',
      backupInstance: 'orders',
      replyTo: 'my-results',
      request: databaseRequest(pointId, 'queued_copy', env),
    });
    const result = await receive(queues.getQueueClient('my-results'), (m) => m?.requestId === 'req-1');
    expect(result).toMatchObject({ requestId: 'req-1', status: 'Succeeded', result: 'Succeeded' });
    const job = await env.call('GET', `/backupJobs/${result.jobId}`);
    expect(job.body.properties).toMatchObject({ operation: 'Restore', trigger: 'Queue', status: 'Succeeded' });
    expect(await tableChecksums(env.pg.connectionFor('queued_copy'))).toEqual(
      await tableChecksums(env.pg.connectionFor('orders')),
    );
  });

  it('posts Failed with the error code to restore-results when the restore fails', async () => {
    await send({ requestId: 'req-exists', backupInstance: 'orders', request: databaseRequest(pointId, 'orders', env) });
    const result = await receive(queues.getQueueClient('restore-results'), (m) => m?.requestId === 'req-exists');
    expect(result).toMatchObject({ status: 'Failed', error: { code: 'UserErrorDatabaseNameAlreadyInUse' } });
    expect(typeof result.jobId).toBe('string');
  });

  it('answers a malformed request whose requestId is readable with a Failed result naming the bad fields', async () => {
    await send({ requestId: 'req-bad', backupInstance: 'orders', request: { objectType: 'Nope' } });
    const result = await receive(queues.getQueueClient('restore-results'), (m) => m?.requestId === 'req-bad');
    expect(result.status).toBe('Failed');
    expect(result.error.code).toBe('UserErrorInvalidRequest');
    expect(result.error.message).toContain('$.request.objectType');
  });

  it('moves a message without a readable requestId to restore-requests-poison with its text intact', async () => {
    const text = 'this is not json {';
    await send(text);
    const poisoned = await receive(queues.getQueueClient('restore-requests-poison'), (m) => m === text);
    expect(poisoned).toBe(text);
  });

  it('does not start a second restore for a duplicate requestId', async () => {
    const message = {
      requestId: 'req-dup',
      backupInstance: 'orders',
      request: databaseRequest(pointId, 'dup_copy', env),
    };
    await send(message);
    const first = await receive(queues.getQueueClient('restore-results'), (m) => m?.requestId === 'req-dup');
    expect(first.status).toBe('Succeeded');
    const before = (await restoreJobs()).length;
    await send(message);
    await env.dh.waitForLog(/restore request req-dup is a duplicate/);
    expect((await restoreJobs()).length).toBe(before);
  });
});
