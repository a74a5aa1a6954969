import { describe, expect, it } from 'vitest';
import { createDeliveryWorker, retryDelayMs, type DeliveryDeps } from '../../../shared/events/delivery';
import type { DeliveryRecord, EventRecord } from '../../../shared/ports';
import { createFakeAlertStores } from '../../support/fake-alert-stores';
import {
  channel,
  ManualClock,
  mapSecrets,
  scriptedSender,
  settings,
  status,
  type ScriptedSender,
} from './events-support';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const SECRET_URL = 'https://hooks.example.net/services/T000/B000/very-secret-path?sig=topsecret';
const HOUR = 3_600_000;

const event: EventRecord = {
  id: 'evt-1',
  name: 'BackupFailed',
  type: 'pgkeep.backup.failed',
  source: 'vault',
  subject: 'orders',
  time: new Date(T0).toISOString(),
  data: { jobId: 'job-1', backupInstance: 'orders' },
};

async function setup(sender: ScriptedSender, opts: { url?: string; channels?: string[] } = {}) {
  const stores = createFakeAlertStores();
  const clock = new ManualClock(T0);
  for (const name of opts.channels ?? ['ops']) await stores.channels.put(channel(name));
  await stores.outbox.add(event, opts.channels ?? ['ops'], clock.now().toISOString());
  const deps: DeliveryDeps = {
    outbox: stores.outbox,
    channels: stores.channels,
    secrets: mapSecrets({ HOOK_URL: opts.url ?? SECRET_URL }),
    sender,
    clock,
    settings,
    log: () => undefined,
  };
  return { stores, clock, deps, worker: createDeliveryWorker(deps) };
}

async function finished(stores: ReturnType<typeof createFakeAlertStores>): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  for await (const d of stores.outbox.listFinished()) out.push(d);
  return out;
}
async function pending(stores: ReturnType<typeof createFakeAlertStores>): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  for await (const d of stores.outbox.listPending()) out.push(d.value);
  return out;
}

describe('delivery worker', () => {
  it('delivers on 2xx with the event id as webhook-id, once', async () => {
    const sender = scriptedSender(status(204));
    const { stores, worker } = await setup(sender);
    expect(await worker.run()).toMatchObject({ delivered: 1, failed: 0, retried: 0 });
    expect(await worker.run()).toMatchObject({ delivered: 0 });
    expect(sender.requests).toHaveLength(1);
    expect(sender.requests[0]).toMatchObject({ url: SECRET_URL, timeoutMs: settings.timeoutMs });
    expect(sender.requests[0]?.headers['webhook-id']).toBe('evt-1');
    expect(await finished(stores)).toMatchObject([
      { id: 'evt-1.ops', status: 'Delivered', attempts: 1, lastHttpStatus: 204 },
    ]);
    expect(await pending(stores)).toEqual([]);
  });

  it('retries 503 with doubling waits and the same id, and sends nothing before the next attempt is due', async () => {
    const sender = scriptedSender(status(503), status(503), status(200));
    const { stores, clock, worker } = await setup(sender);
    await worker.run();
    expect((await pending(stores))[0]).toMatchObject({ attempts: 1, lastHttpStatus: 503 });
    expect((await pending(stores))[0]?.nextAttemptAt).toBe(new Date(T0 + 30_000).toISOString());
    clock.advance(29_000);
    await worker.run();
    expect(sender.requests).toHaveLength(1);
    clock.advance(1_000);
    await worker.run();
    expect((await pending(stores))[0]?.nextAttemptAt).toBe(new Date(T0 + 30_000 + 60_000).toISOString());
    clock.advance(60_000);
    await worker.run();
    expect(sender.requests.map((r) => r.headers['webhook-id'])).toEqual(['evt-1', 'evt-1', 'evt-1']);
    expect(await finished(stores)).toMatchObject([{ status: 'Delivered', attempts: 3 }]);
  });

  it('retries 408, 429 (waiting as long as Retry-After asks) and connection errors', async () => {
    const sender = scriptedSender(
      status(408),
      status(429, 600),
      { kind: 'error', message: 'connection failed (ECONNREFUSED)' },
      status(200),
    );
    const { stores, clock, worker } = await setup(sender);
    await worker.run();
    clock.advance(30_000);
    await worker.run();
    expect((await pending(stores))[0]?.nextAttemptAt).toBe(new Date(T0 + 30_000 + 600_000).toISOString());
    clock.advance(600_000);
    await worker.run();
    expect((await pending(stores))[0]?.lastError).toBe('connection failed (ECONNREFUSED)');
    clock.advance(HOUR);
    await worker.run();
    expect(await finished(stores)).toMatchObject([{ status: 'Delivered', attempts: 4 }]);
  });

  it('fails permanently on any other 4xx and on a redirect, after one attempt', async () => {
    for (const code of [400, 401, 404, 410, 302]) {
      const sender = scriptedSender(status(code));
      const { stores, clock, worker } = await setup(sender);
      await worker.run();
      clock.advance(HOUR);
      await worker.run();
      expect(sender.requests, String(code)).toHaveLength(1);
      expect(await finished(stores)).toMatchObject([{ status: 'Failed', attempts: 1, lastHttpStatus: code }]);
    }
  });

  it('keeps retrying for 24 hours, then gives up with the reason', async () => {
    const sender = scriptedSender(status(500));
    const { stores, clock, worker } = await setup(sender);
    let lastAttemptMs = T0;
    while ((await pending(stores)).length > 0) {
      await worker.run();
      const next = (await pending(stores))[0];
      if (next) {
        lastAttemptMs = Date.parse(next.lastAttemptAt ?? '');
        clock.advance(Date.parse(next.nextAttemptAt) - clock.now().getTime());
      }
    }
    const [done] = await finished(stores);
    expect(done?.status).toBe('Failed');
    expect(done?.lastError).toMatch(/^gave up after \d+ attempts: the endpoint answered HTTP 500$/);
    expect(Date.parse(done?.finishedAt ?? '') - T0).toBeGreaterThanOrEqual(24 * HOUR);
    expect(lastAttemptMs - T0).toBeLessThan(24 * HOUR);
    // Capped backoff: no wait longer than NOTIFICATION_RETRY_MAX_SECONDS.
    expect(sender.requests.length).toBeGreaterThan(24);
  });

  it('sends a due delivery once when two workers run the same tick (the lease decides)', async () => {
    const sender = scriptedSender(status(200));
    const { stores, deps } = await setup(sender);
    const [a, b] = [createDeliveryWorker(deps), createDeliveryWorker(deps)];
    const [ra, rb] = await Promise.all([a.run(), b.run()]);
    expect(sender.requests).toHaveLength(1);
    expect(ra.delivered + rb.delivered).toBe(1);
    expect(ra.skipped + rb.skipped).toBe(1);
    expect(await finished(stores)).toHaveLength(1);
  });

  it('takes over a delivery whose worker died mid-send once its lease has run out', async () => {
    const sender = scriptedSender(status(200));
    const { stores, clock, worker } = await setup(sender);
    const [row] = await (async () => {
      const rows = [];
      for await (const r of stores.outbox.listPending()) rows.push(r);
      return rows;
    })();
    // A worker claimed it and died: the lease stands, nothing was recorded.
    await stores.outbox.update({ ...row!.value, leaseUntil: new Date(T0 + 120_000).toISOString() }, row!.etag);
    await worker.run();
    expect(sender.requests).toHaveLength(0);
    clock.advance(120_000);
    await worker.run();
    expect(sender.requests).toHaveLength(1);
    expect(await finished(stores)).toMatchObject([{ status: 'Delivered', attempts: 1 }]);
  });

  it('fails a delivery whose channel was deleted, and refuses a plain-http endpoint without sending', async () => {
    const sender = scriptedSender(status(200));
    const gone = await setup(sender);
    await gone.stores.channels.delete('ops');
    await gone.worker.run();
    expect(await finished(gone.stores)).toMatchObject([
      { status: 'Failed', lastError: "channel 'ops' no longer exists" },
    ]);
    const plain = await setup(sender, { url: 'http://hooks.example.net/x?token=topsecret' });
    await plain.worker.run();
    const [failed] = await finished(plain.stores);
    expect(failed?.status).toBe('Failed');
    expect(failed?.lastError).toContain('must be https');
    expect(sender.requests).toHaveLength(0);
  });

  it('retries while the endpoint secret does not resolve, and records why without the URL', async () => {
    const sender = scriptedSender(status(200));
    const { stores, deps, clock } = await setup(sender);
    const worker = createDeliveryWorker({ ...deps, secrets: mapSecrets({}) });
    await worker.run();
    const [waiting] = await pending(stores);
    expect(waiting).toMatchObject({ attempts: 1 });
    expect(waiting?.lastError).toMatch(/^UserErrorInvalidSecret: the endpoint of channel 'ops' does not resolve/);
    clock.advance(30_000);
    await createDeliveryWorker(deps).run();
    expect(await finished(stores)).toMatchObject([{ status: 'Delivered', attempts: 2 }]);
  });

  it('never records the URL path, query or any secret', async () => {
    const sender = scriptedSender(status(503), { kind: 'error', message: 'no answer within 5 s' }, status(404));
    const { stores, clock, worker } = await setup(sender);
    for (let i = 0; i < 3; i++) {
      await worker.run();
      clock.advance(HOUR);
    }
    const text = JSON.stringify([...(await pending(stores)), ...(await finished(stores))]);
    expect(text).not.toContain('very-secret-path');
    expect(text).not.toContain('topsecret');
  });

  it('completes a finish that stopped half way without sending again', async () => {
    const sender = scriptedSender(status(200));
    const { stores, worker } = await setup(sender);
    const rows = [];
    for await (const r of stores.outbox.listPending()) rows.push(r);
    // The final status was written on the pending row; the move to the finished set did not happen.
    await stores.outbox.update(
      { ...rows[0]!.value, status: 'Delivered', attempts: 1, finishedAt: new Date(T0).toISOString() },
      rows[0]!.etag,
    );
    await worker.run();
    expect(sender.requests).toHaveLength(0);
    expect(await finished(stores)).toMatchObject([{ status: 'Delivered', attempts: 1 }]);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap, and waits as long as Retry-After asks within the cap', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(settings, n))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(settings, 30)).toBe(HOUR);
    expect(retryDelayMs(settings, 1, 600)).toBe(600_000);
    expect(retryDelayMs(settings, 1, 86_400)).toBe(HOUR);
  });
});
