// Health and alerts end to end under devhost (issue 13), with a local webhook receiver: a backup that fails because
// the server is down delivers a signed pgkeep.backup.failed; a receiver answering 503 gets the event later, same id,
// once; a host killed between the failed job and its delivery delivers after restart; slots that pass while the
// timers are stopped (the app's clock moved ahead across restarts, TEST_CLOCK_OFFSET_SECONDS) yield BackupMissed and
// health Warning then Critical, and /api/health flips to 503. Every event raised is delivered, none twice.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions, not by types */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { startPostgres, type TestPostgres } from '../support/postgres';
import type { NotificationResource } from '../../shared/contracts/notifications';
import type { InstanceHealthResource } from '../../shared/contracts/health';
import { cloudEvent, startReceiver, verifiesBySpec, type Receiver } from './alerts-support';
import {
  adoNet,
  apiClient,
  fixturePolicy,
  instanceBody,
  jobEnded,
  pollUntil,
  repoRoot,
  startPgProxy,
  type ApiClient,
  type PgProxy,
} from './backup-support';

const PASSWORD = 'Kx4-alerts-PANGOLIN-5521-meridian';
const SIGNING_KEY = `whsec_${randomBytes(32).toString('base64')}`;
const NEVER = '0 0 0 1 1 *'; // the timers are "stopped": they fire once a year
const MINUTE = 60;

let pg15: TestPostgres;
let proxy: PgProxy;
let azurite: AzuriteInstance;
let receiver: Receiver;
let dh: DevhostInstance | undefined;
let api: ApiClient;
/** The slot of the `soon` policy: an hour after the test started, so none is due until the clock moves. */
let slot: Date;
/** What every earlier run of the host printed (the secret scan reads them). */
const hostLogs: string[] = [];

/** Starts (or restarts) the app on the test's storage with the common settings plus `extra`. */
async function phase(extra: Record<string, string> = {}): Promise<void> {
  if (dh) hostLogs.push(dh.logs());
  await dh?.stop();
  dh = await startDevhost({
    appRoot: repoRoot,
    storageConnectionString: azurite.connectionString,
    env: {
      SHOP_DB: adoNet('127.0.0.1', proxy.port, 'shop', 'keeper', PASSWORD),
      LEDGER_DB: adoNet(pg15.host, pg15.port, 'shop', 'keeper', PASSWORD),
      ALERTS_URL: `${receiver.url}/ops?token=receiver-secret-token`,
      ALERTS_KEY: SIGNING_KEY,
      ALLOW_HTTP_LOOPBACK_URLS: 'true',
      SCHEDULER_SCHEDULE: NEVER,
      EXPIRY_SCHEDULE: NEVER,
      WATCHDOG_SCHEDULE: NEVER,
      NOTIFICATION_SCHEDULE: '*/1 * * * * *',
      NOTIFICATION_RETRY_BASE_SECONDS: '1',
      NOTIFICATION_RETRY_MAX_SECONDS: '2',
      NOTIFICATION_TIMEOUT_SECONDS: '5',
      NOTIFICATION_LEASE_SECONDS: '10',
      ...extra,
    },
  });
  api = apiClient(dh);
}

async function runWatchdog(): Promise<void> {
  if (!dh) throw new Error('no host');
  const res = await fetch(`${dh.baseUrl}/admin/functions/healthWatchdog`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  expect(res.status).toBe(202);
}

async function failingBackup(name: string): Promise<string> {
  const res = await api.call('POST', `backupInstances/${name}/backup`);
  expect(res.status, res.text).toBe(202);
  const job = (await jobEnded(api, res.body.name as string)).body.properties;
  expect(job.status).toBe('Failed');
  return job.id as string;
}

/** Requests to the ops channel that carry a real event (not the test event). */
type Notification = NotificationResource;

const opsEvents = () =>
  receiver.requests.filter((r) => r.path.startsWith('/ops') && cloudEvent(r).type !== 'pgkeep.notification.test');
const deliveredOf =
  (type: string, match: (data: Record<string, unknown>) => boolean) =>
  (rs = opsEvents()) =>
    rs.some((r) => r.status === 200 && cloudEvent(r).type === type && match(cloudEvent(r).data));

beforeAll(async () => {
  pg15 = await startPostgres({ major: 15 });
  await pg15.query(`CREATE ROLE keeper LOGIN PASSWORD '${PASSWORD}'`);
  await pg15.query('CREATE DATABASE shop');
  await pg15.query(
    `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
     INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
     GRANT SELECT ON ALL TABLES IN SCHEMA public TO keeper;`,
    'shop',
  );
  proxy = await startPgProxy({ host: pg15.host, port: pg15.port });
  [azurite, receiver] = await Promise.all([startAzurite(), startReceiver()]);
  const now = Date.now();
  slot = new Date(Math.ceil(now / 60_000) * 60_000 + 3600_000);
  await phase();
}, 240_000);

afterAll(async () => {
  await dh?.stop();
  await Promise.all([proxy?.close(), receiver?.close()]);
  await azurite?.stop();
  await pg15?.stop();
});

describe('health and alerts end to end', { timeout: 240_000 }, () => {
  it('delivers pgkeep.backup.failed, signed per Standard Webhooks, when a backup fails because the server is down', async () => {
    const channel = await api.call('PUT', 'notificationChannels/ops', {
      properties: {
        kind: 'Webhook',
        endpoint: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_URL' } },
        signingSecret: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ALERTS_KEY' } },
        events: ['BackupFailed', 'BackupMissed', 'HealthChanged'],
      },
    });
    expect(channel.status, channel.text).toBe(201);
    expect(channel.text).not.toContain('receiver-secret-token');
    const test = await api.call('POST', 'notificationChannels/ops/test');
    expect(test.body).toMatchObject({ status: 'Delivered', httpStatus: 200, eventType: 'pgkeep.notification.test' });

    expect((await api.call('PUT', 'backupPolicies/weekly', fixturePolicy('default-weekly.json'))).status).toBe(201);
    const shop = await api.call(
      'PUT',
      'backupInstances/shop',
      instanceBody({ resourceID: 'local/shop', database: 'shop', setting: 'SHOP_DB', policy: 'weekly' }),
    );
    expect(shop.status, shop.text).toBe(201);
    await proxy.refuse();
    const jobId = await failingBackup('shop');
    const [delivered] = (
      await receiver.waitFor(
        deliveredOf('pgkeep.backup.failed', (d) => d.jobId === jobId),
        60_000,
        'backup.failed',
      )
    ).filter((r) => r.status === 200 && cloudEvent(r).data.jobId === jobId);
    const event = cloudEvent(delivered!);
    expect(delivered!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'pgkeep.backup.failed',
      subject: 'shop',
      data: {
        jobId,
        backupInstance: 'shop',
        operation: 'Backup',
        status: 'Failed',
        error: { code: 'UserErrorMissingNetworkSecurityPermissions' },
      },
    });
    expect(event.data.jobUrl).toMatch(new RegExp(`/api/backupJobs/${jobId}$`));
    expect(delivered!.headers['webhook-id']).toBe(event.id);
    // Verified twice, independently of pgkeep's code: by the standardwebhooks library and by the spec.
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(delivered!.headers[h])]),
    );
    expect(new Webhook(SIGNING_KEY).verify(delivered!.body, headers)).toEqual(event);
    expect(verifiesBySpec(SIGNING_KEY, delivered!)).toBe(true);
    expect(verifiesBySpec(`whsec_${randomBytes(32).toString('base64')}`, delivered!)).toBe(false);
  });

  it('retries a receiver answering 503 and delivers the event later, with the same id, once', async () => {
    receiver.respond = ({ path, attempt }) => (path.startsWith('/ops') && attempt <= 2 ? 503 : 200);
    try {
      const jobId = await failingBackup('shop');
      await receiver.waitFor(
        deliveredOf('pgkeep.backup.failed', (d) => d.jobId === jobId),
        60_000,
        'retried delivery',
      );
      const attempts = opsEvents().filter((r) => cloudEvent(r).data.jobId === jobId);
      expect(attempts.map((r) => r.status)).toEqual([503, 503, 200]);
      expect(new Set(attempts.map((r) => r.id)).size).toBe(1);
      expect(attempts.every((r) => verifiesBySpec(SIGNING_KEY, r))).toBe(true);
      // The receiver answered before the worker recorded it: wait for the record.
      const list = await pollUntil(
        () => api.call('GET', 'notifications?status=Delivered'),
        (r) => ((r.body?.value ?? []) as Notification[]).some((n) => n.properties.eventId === attempts[0]!.id),
        30_000,
        'the delivery record',
      );
      const record = (list.body.value as Notification[]).find((n) => n.properties.eventId === attempts[0]!.id);
      expect(record?.properties).toMatchObject({ status: 'Delivered', attempts: 3, lastHttpStatus: 200 });
    } finally {
      receiver.respond = () => 200;
    }
  });

  it('delivers after a restart an event whose host was killed after the job failed and before delivery', async () => {
    // The worker is off in this run: the kill certainly comes before any delivery attempt.
    await phase({ 'AzureWebJobs.notificationDelivery.Disabled': 'true' });
    const jobId = await failingBackup('shop');
    const pending = await api.call('GET', 'notifications?status=Pending');
    const waiting = (pending.body.value as Notification[]).filter((n) => n.properties.subject === 'shop');
    expect(waiting).toHaveLength(1);
    expect(opsEvents().some((r) => cloudEvent(r).data.jobId === jobId)).toBe(false);
    hostLogs.push(dh!.logs());
    await dh!.kill();
    dh = undefined;
    await phase();
    await receiver.waitFor(
      deliveredOf('pgkeep.backup.failed', (d) => d.jobId === jobId),
      60_000,
      'delivery after restart',
    );
    expect(opsEvents().filter((r) => cloudEvent(r).data.jobId === jobId)).toHaveLength(1);
  });

  it('records a slot that passed with the timers stopped as BackupMissed, health Warning, then Critical and 503', async () => {
    expect((await api.call('POST', 'backupInstances/shop/stopProtection', { deleteBackupData: false })).status).toBe(
      200,
    );
    // The fixture with its one schedule entry moved to `slot`.
    const soon = JSON.parse(
      JSON.stringify(fixturePolicy('default-weekly.json')).replace(
        'R/2021-08-22T02:00:00+00:00/P1W',
        `R/${slot.toISOString().replace('.000Z', 'Z')}/P1W`,
      ),
    ) as Record<string, unknown>;
    expect((await api.call('PUT', 'backupPolicies/soon', soon)).status).toBe(201);
    const ledger = await api.call(
      'PUT',
      'backupInstances/ledger',
      instanceBody({ resourceID: 'local/ledger', database: 'shop', setting: 'LEDGER_DB', policy: 'soon' }),
    );
    expect(ledger.status, ledger.text).toBe(201);
    const backup = await api.call('POST', 'backupInstances/ledger/backup');
    expect((await jobEnded(api, backup.body.name as string)).body.properties.status).toBe('Succeeded');
    expect((await api.call('GET', 'backupInstances/ledger')).body.properties.health.status).toBe('Unknown');

    // The host "comes back" 1 h 35 min later: the slot (+1 h) is past its 30 min grace with no backup.
    await phase({ TEST_CLOCK_OFFSET_SECONDS: String(95 * MINUTE) });
    await runWatchdog();
    const slotIso = slot.toISOString();
    await receiver.waitFor(
      (rs) =>
        deliveredOf(
          'pgkeep.backup.missed',
          (d) => d.scheduledSlot === slotIso,
        )(rs.filter((r) => r.path.startsWith('/ops'))) &&
        deliveredOf(
          'pgkeep.health.changed',
          (d) => d.backupInstance === 'ledger' && d.status === 'Warning',
        )(rs.filter((r) => r.path.startsWith('/ops'))),
      60_000,
      'BackupMissed and HealthChanged to Warning',
    );
    const missed = await pollUntil(
      () => api.call('GET', 'backupJobs?backupInstance=ledger&status=Failed'),
      (r) => r.body?.value?.length === 1,
      30_000,
      'the missed job',
    );
    expect(missed.body.value[0].properties).toMatchObject({
      operation: 'Backup',
      status: 'Failed',
      error: { code: 'UserErrorBackupMissed' },
      extendedInfo: { scheduledSlot: slotIso, missedSlots: 1 },
    });
    const warning = (await api.call('GET', 'backupInstances/ledger')).body.properties.health;
    expect(warning).toMatchObject({ status: 'Warning', reasons: [{ code: 'BackupMissed' }] });
    const summary = await api.call('GET', 'health');
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({ status: 'Warning', counts: { Warning: 1, Critical: 0 } });

    // Two weeks later, two more slots missed: the last good point is older than two intervals.
    await phase({ TEST_CLOCK_OFFSET_SECONDS: String(14 * 24 * 60 * MINUTE + 95 * MINUTE) });
    await runWatchdog();
    await receiver.waitFor(
      deliveredOf('pgkeep.health.changed', (d) => d.backupInstance === 'ledger' && d.status === 'Critical'),
      60_000,
      'HealthChanged to Critical',
    );
    const critical = (await api.call('GET', 'backupInstances/ledger')).body.properties.health as InstanceHealthResource;
    expect(critical.status).toBe('Critical');
    expect(critical.reasons.map((r) => r.code)).toEqual(['BackupMissed', 'NoRecentRecoveryPoint']);
    const down = await api.call('GET', 'health');
    expect(down.status).toBe(503);
    // Every instance that is not Healthy is listed: ledger Critical, shop Unknown (stopped).
    expect(down.body).toMatchObject({ status: 'Critical', counts: { Critical: 1, Unknown: 1 } });
    expect(
      (down.body.instances as { name: string; health: { status: string } }[]).map((i) => [i.name, i.health.status]),
    ).toEqual([
      ['ledger', 'Critical'],
      ['shop', 'Unknown'],
    ]);
    const missedTwice = opsEvents().filter((r) => r.status === 200 && cloudEvent(r).type === 'pgkeep.backup.missed');
    expect(missedTwice).toHaveLength(2);
    expect(cloudEvent(missedTwice[1]!).data).toMatchObject({ error: { code: 'UserErrorBackupMissed' } });
    expect(opsEvents().every((r) => verifiesBySpec(SIGNING_KEY, r))).toBe(true);
  });

  it('delivered every event it raised, none twice', async () => {
    const raised = (await api.call('GET', 'notifications')).body.value as Notification[];
    await receiver.waitFor(
      () => raised.every((n) => opsEvents().some((r) => r.id === n.properties.eventId && r.status === 200)),
      30_000,
      'every raised event delivered',
    );
    const acknowledged = opsEvents().filter((r) => r.status === 200);
    const distinct = new Set(acknowledged.map((r) => r.id));
    const duplicates = acknowledged.length - distinct.size;
    console.log(
      `alerts e2e: ${raised.length} events raised, ${distinct.size} delivered (${Math.round((100 * distinct.size) / raised.length)} %), ${duplicates} duplicates seen by the receiver, ${opsEvents().length} requests in all`,
    );
    expect(raised.length).toBe(7);
    expect(raised.every((n) => n.properties.status === 'Delivered')).toBe(true);
    expect(distinct.size).toBe(raised.length);
    expect(duplicates).toBe(0);
    // The endpoint URL's token and the signing key appear in no answer and no line any run of the host printed.
    const everything = [...api.seen, ...hostLogs, dh?.logs() ?? ''].join('\n');
    expect(everything).not.toContain('receiver-secret-token');
    expect(everything).not.toContain(SIGNING_KEY.slice('whsec_'.length, 'whsec_'.length + 16));
  });
});
