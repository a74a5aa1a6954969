// Notification channel routes over the fake stores: every bad field answered 400 by its JSON path, secrets resolved
// at PUT, nothing of an endpoint URL but its origin (nor any secret) in any answer, the test route, the delivery list.
import { describe, expect, it } from 'vitest';
import { apiWithInstance, createApi, targets, VAULT } from './api-support';
import type { EventRecord } from '../../../shared/ports';

const HOOK = 'https://hooks.example.net/workflows/abc/triggers/manual/paths/invoke?sig=TOPSECRETSIG';

function body(properties: Record<string, unknown>) {
  return {
    properties: {
      kind: 'Webhook',
      endpoint: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_URL' } },
      ...properties,
    },
  };
}

async function api() {
  const a = await apiWithInstance();
  a.state.settings = { ALERTS_URL: HOOK, ALERTS_KEY: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5' };
  return a;
}

describe('PUT /notificationChannels/{name}', () => {
  it('creates a channel with 201, defaulting to the failure events and every instance', async () => {
    const a = await api();
    const res = await a.call('PUT', 'notificationChannels/ops', body({}));
    expect(res.status).toBe(201);
    expect(res.jsonBody).toMatchObject({
      id: `${VAULT}/notificationChannels/ops`,
      name: 'ops',
      type: 'pgkeep/backupVaults/notificationChannels',
      properties: {
        kind: 'Webhook',
        endpoint: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_URL' } },
        events: [
          'BackupFailed',
          'BackupMissed',
          'RestoreFailed',
          'RestoreTestFailed',
          'ExpiryFailed',
          'ReadinessFailed',
          'HealthChanged',
        ],
      },
    });
    expect(res.jsonBody).not.toHaveProperty('properties.backupInstances');
    const again = await a.call('PUT', 'notificationChannels/ops', body({ events: ['BackupSucceeded'] }));
    expect(again.status).toBe(200);
    expect((await a.alertStores.channels.get('ops'))?.events).toEqual(['BackupSucceeded']);
  });

  it('names each bad field: unknown kind, unknown event, signing a non-webhook, both endpoint forms', async () => {
    const a = await api();
    const kind = await a.call('PUT', 'notificationChannels/ops', body({ kind: 'Email' }));
    expect(kind.status).toBe(400);
    expect(targets(kind.error)).toEqual(['$.properties.kind']);
    const event = await a.call('PUT', 'notificationChannels/ops', body({ events: ['BackupFailed', 'DiskFull'] }));
    expect(targets(event.error)).toEqual(['$.properties.events[1]']);
    const signed = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({
        kind: 'Slack',
        signingSecret: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_KEY' } },
      }),
    );
    expect(targets(signed.error)).toEqual(['$.properties.signingSecret']);
    const both = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({ endpoint: { url: HOOK, secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://X' } } }),
    );
    expect(targets(both.error)).toEqual(['$.properties.endpoint']);
    expect(await a.alertStores.channels.get('ops')).toBeUndefined();
  });

  it('refuses an unknown backup instance in the filter by its index', async () => {
    const a = await api();
    const res = await a.call('PUT', 'notificationChannels/ops', body({ backupInstances: ['orders', 'nope'] }));
    expect(res.status).toBe(400);
    expect(res.error.details).toEqual([
      expect.objectContaining({ code: 'UserErrorNotFound', target: '$.properties.backupInstances[1]' }),
    ]);
  });

  it('refuses a plain-http URL other than loopback, and loopback http unless allowed, without echoing the URL', async () => {
    const a = await api();
    const plain = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({ endpoint: { url: 'http://hooks.example.net/x?sig=S3CRET' } }),
    );
    expect(plain.status).toBe(400);
    expect(plain.error.target).toBe('$.properties.endpoint.url');
    expect(JSON.stringify(plain.jsonBody)).not.toContain('S3CRET');
    const loopback = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({ endpoint: { url: 'http://127.0.0.1:9/x' } }),
    );
    expect(loopback.status).toBe(400);
    expect(loopback.error.message).toContain('ALLOW_HTTP_LOOPBACK_URLS');
  });

  it('refuses a URL from a secret that is not https, naming the secret field and not the URL', async () => {
    const a = await api();
    a.state.settings.ALERTS_URL = 'ftp://files.example.net/drop?key=S3CRET';
    const res = await a.call('PUT', 'notificationChannels/ops', body({}));
    expect(res.status).toBe(400);
    expect(res.error.target).toBe('$.properties.endpoint.secretStoreResource.uri');
    expect(JSON.stringify(res.jsonBody)).not.toContain('S3CRET');
  });

  it('resolves the endpoint and signing secrets at PUT and refuses one that does not resolve, by its field', async () => {
    const a = await api();
    const missing = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({ endpoint: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://NOT_SET' } } }),
    );
    expect(missing.status).toBe(400);
    expect(missing.error).toMatchObject({
      code: 'UserErrorInvalidSecret',
      target: '$.properties.endpoint.secretStoreResource.uri',
    });
    const key = await a.call(
      'PUT',
      'notificationChannels/ops',
      body({ signingSecret: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://NO_KEY' } } }),
    );
    expect(key.status).toBe(400);
    expect(key.error.target).toBe('$.properties.signingSecret.secretStoreResource.uri');
  });
});

describe('GET /notificationChannels[/{name}]', () => {
  it('shows a plain URL by its origin only, and secret references but never their values', async () => {
    const a = await api();
    await a.call('PUT', 'notificationChannels/teams', body({ kind: 'Teams', endpoint: { url: HOOK } }));
    await a.call(
      'PUT',
      'notificationChannels/ops',
      body({
        signingSecret: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_KEY' } },
      }),
    );
    const one = await a.call('GET', 'notificationChannels/teams');
    expect(one.jsonBody).toMatchObject({ properties: { endpoint: { origin: 'https://hooks.example.net' } } });
    const list = await a.call('GET', 'notificationChannels');
    const text = JSON.stringify(list.jsonBody);
    expect((list.jsonBody as { value: { name: string }[] }).value.map((c) => c.name)).toEqual(['ops', 'teams']);
    for (const leak of ['TOPSECRETSIG', '/workflows/', 'whsec_', 'c2VjcmV0']) expect(text).not.toContain(leak);
    expect((await a.call('GET', 'notificationChannels/nope')).status).toBe(404);
  });
});

describe('DELETE and POST …/test', () => {
  it('sends a test to an existing channel and answers its outcome; 404 for a missing one', async () => {
    const a = await api();
    await a.call('PUT', 'notificationChannels/ops', body({}));
    const res = await a.call('POST', 'notificationChannels/ops/test');
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ status: 'Delivered', eventType: 'pgkeep.notification.test' });
    expect(a.state.tested.map((c) => c.name)).toEqual(['ops']);
    expect((await a.call('POST', 'notificationChannels/nope/test')).status).toBe(404);
    expect((await a.call('DELETE', 'notificationChannels/ops')).status).toBe(200);
    expect((await a.call('DELETE', 'notificationChannels/ops')).status).toBe(204);
  });
});

describe('GET /notifications', () => {
  const event = (id: string): EventRecord => ({
    id,
    name: 'BackupFailed',
    type: 'pgkeep.backup.failed',
    source: VAULT,
    subject: 'orders',
    time: '2026-03-10T12:00:00.000Z',
    data: {},
  });

  it('lists deliveries with attempts and last error, filtered by status', async () => {
    const a = createApi();
    const { outbox } = a.alertStores;
    await outbox.add(event('e1'), ['ops'], '2026-03-10T12:00:00.000Z');
    await outbox.add(event('e2'), ['ops'], '2026-03-10T12:01:00.000Z');
    const rows = [];
    for await (const r of outbox.listPending()) rows.push(r);
    const e1 = rows.find((r) => r.value.id === 'e1.ops')!;
    await outbox.finish(
      {
        ...e1.value,
        status: 'Failed',
        attempts: 1,
        lastHttpStatus: 404,
        lastError: 'the endpoint answered HTTP 404',
        finishedAt: '2026-03-10T12:02:00.000Z',
      },
      e1.etag,
    );
    const all = await a.call('GET', 'notifications');
    expect((all.jsonBody as { value: { name: string }[] }).value.map((d) => d.name)).toEqual(['e2.ops', 'e1.ops']);
    const failed = await a.call('GET', 'notifications?status=Failed');
    expect(failed.jsonBody).toEqual({
      value: [
        expect.objectContaining({
          name: 'e1.ops',
          type: 'pgkeep/backupVaults/notifications',
          // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- an asymmetric matcher
          properties: expect.objectContaining({
            eventId: 'e1',
            eventType: 'pgkeep.backup.failed',
            channel: 'ops',
            status: 'Failed',
            attempts: 1,
            lastHttpStatus: 404,
            lastError: 'the endpoint answered HTTP 404',
          }),
        }),
      ],
    });
    const pending = await a.call('GET', 'notifications?status=Pending');
    expect((pending.jsonBody as { value: { name: string }[] }).value.map((d) => d.name)).toEqual(['e2.ops']);
    const bad = await a.call('GET', 'notifications?status=Lost');
    expect(bad.status).toBe(400);
    expect(targets(bad.error)).toEqual(['$.status']);
  });
});
