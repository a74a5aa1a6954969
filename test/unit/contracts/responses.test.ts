// The response schemas in contracts/ are the API's responses: every resource, list and error body the real handlers
// return parses with its schema and loses nothing (a field a builder adds without declaring it would be stripped).
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  backupInstanceListSchema,
  backupInstanceResourceSchema,
  validateForBackupResultSchema,
} from '../../../shared/contracts/instances';
import { meSchema } from '../../../shared/contracts/caller';
import { overviewSchema, storageSummarySchema } from '../../../shared/contracts/overview';
import { jobListSchema, jobResourceSchema } from '../../../shared/contracts/jobs';
import { policyListSchema, policyResourceSchema, policySimulationSchema } from '../../../shared/contracts/policies';
import {
  recoveryPointListSchema,
  recoveryPointResourceSchema,
  recoveryPointTimelineSchema,
} from '../../../shared/contracts/recovery-points';
import { errorBodySchema } from '../../../shared/contracts/resources';
import { healthSummarySchema } from '../../../shared/contracts/health';
import {
  channelListSchema,
  channelResourceSchema,
  channelTestResultSchema,
  notificationListSchema,
} from '../../../shared/contracts/notifications';
import { sampleJob, samplePoint } from '../../contract/stores.contract';
import { apiWithInstance, fixture, instanceBody, NOW } from '../api/api-support';

/** Parses with the schema and expects the result to be the body itself: nothing undeclared, nothing missing. */
function expectExactly(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(parsed.data).toStrictEqual(body);
}

const hoursAgo = (h: number) => new Date(Date.parse(NOW) - h * 3_600_000).toISOString();

async function apiWithHistory() {
  const api = await apiWithInstance();
  const point = samplePoint('orders', hoursAgo(2), 'p1', { tag: 'Weekly', movesToArchive: true });
  const archived = samplePoint('orders', hoursAgo(30), 'p2', {
    dataStore: 'ArchiveStore',
    archivedAt: hoursAgo(5),
    rehydratedUntil: hoursAgo(-5),
  });
  for (const p of [point, archived]) await api.stores.recoveryPoints.create(p);
  api.state.manifests.set(`orders/${point.id}`, { sha256: point.sha256 });
  await api.stores.jobs.create(
    sampleJob('done', hoursAgo(3), {
      status: 'Failed',
      endTime: hoursAgo(2),
      recoveryPointId: point.id,
      error: { code: 'SystemErrorInternal', message: 'failed', hint: 'retry' },
      warnings: [{ code: 'RestoreWarning', message: 'owner skipped' }],
      extra: { target: 'database copy' },
    }),
  );
  return { api, point };
}

describe('response schemas', () => {
  it('describe every policy resource and policy list exactly', async () => {
    const { api } = await apiWithHistory();
    expectExactly(policyResourceSchema, (await api.call('GET', 'backupPolicies/weekly')).jsonBody);
    expectExactly(policyListSchema, (await api.call('GET', 'backupPolicies')).jsonBody);
  });

  it('describe the console routes exactly: overview, storage, timeline, paged points, me, summaries, simulation', async () => {
    const { api } = await apiWithHistory();
    expectExactly(overviewSchema, (await api.call('GET', 'overview')).jsonBody);
    expectExactly(storageSummarySchema, (await api.call('GET', 'overview/storage')).jsonBody);
    expectExactly(
      recoveryPointTimelineSchema,
      (await api.call('GET', 'backupInstances/orders/recoveryPointTimeline')).jsonBody,
    );
    expectExactly(
      recoveryPointListSchema,
      (await api.call('GET', 'backupInstances/orders/recoveryPoints?$top=1')).jsonBody,
    );
    expectExactly(meSchema, (await api.call('GET', 'me')).jsonBody);
    expectExactly(policyListSchema, (await api.call('GET', 'backupPolicies?$expand=summary')).jsonBody);
    const simulation = await api.call('POST', 'backupPolicies/simulate', {
      policy: fixture('gfs-ten-years.json'),
      years: 2,
    });
    expectExactly(policySimulationSchema, simulation.jsonBody);
    const report = await api.call('POST', 'validateForBackup', { backupInstance: instanceBody().properties });
    expectExactly(validateForBackupResultSchema, report.jsonBody);
  });

  it('describe every backup instance resource and list exactly, with and without last point and job', async () => {
    const { api } = await apiWithHistory();
    expectExactly(backupInstanceResourceSchema, (await api.call('GET', 'backupInstances/orders')).jsonBody);
    expectExactly(backupInstanceListSchema, (await api.call('GET', 'backupInstances')).jsonBody);
    const stopped = await api.call('POST', 'backupInstances/orders/stopProtection', { deleteBackupData: true });
    expectExactly(backupInstanceResourceSchema, stopped.jsonBody);
  });

  it('describe every recovery point resource and list exactly, archived and rehydrated ones included', async () => {
    const { api, point } = await apiWithHistory();
    expectExactly(recoveryPointListSchema, (await api.call('GET', 'backupInstances/orders/recoveryPoints')).jsonBody);
    const one = await api.call('GET', `backupInstances/orders/recoveryPoints/${point.id}`);
    expectExactly(recoveryPointResourceSchema, one.jsonBody);
  });

  it('describe every job resource and list exactly, with error, warnings and extended info', async () => {
    const { api } = await apiWithHistory();
    const started = await api.call('POST', 'backupInstances/orders/backup', {});
    expect(started.status).toBe(202);
    expectExactly(jobResourceSchema, started.jsonBody);
    const list = await api.call('GET', 'backupJobs');
    expect((list.jsonBody as { value: unknown[] }).value).toHaveLength(2);
    expectExactly(jobListSchema, list.jsonBody);
    expectExactly(jobResourceSchema, (await api.call('GET', 'backupJobs/done')).jsonBody);
  });

  it('describe GET /health exactly, for a Reader and for an anonymous caller', async () => {
    const { api } = await apiWithHistory();
    expectExactly(healthSummarySchema, (await api.call('GET', 'health')).jsonBody);
    api.state.enforceCallerRoles = true;
    const anonymous = await api.call('GET', 'health');
    expect(Object.keys(anonymous.jsonBody as object).sort()).toEqual(['status', 'time']);
    expectExactly(healthSummarySchema, anonymous.jsonBody);
  });

  it('describe notification channels, their test result and the delivery list exactly', async () => {
    const { api } = await apiWithHistory();
    api.state.settings = { HOOK: 'https://hooks.example.net/x?sig=s', KEY: 'whsec_a2V5' };
    const secret = { secretStoreType: 'AppSetting', uri: 'appsetting://HOOK' };
    const put = await api.call('PUT', 'notificationChannels/ops', {
      properties: {
        kind: 'Webhook',
        endpoint: { secretStoreResource: secret },
        signingSecret: { secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://KEY' } },
        backupInstances: ['orders'],
      },
    });
    expect(put.status).toBe(201);
    expectExactly(channelResourceSchema, put.jsonBody);
    await api.call('PUT', 'notificationChannels/teams', {
      properties: { kind: 'Teams', endpoint: { url: 'https://hooks.example.net/teams?sig=s' } },
    });
    expectExactly(channelListSchema, (await api.call('GET', 'notificationChannels')).jsonBody);
    expectExactly(channelTestResultSchema, (await api.call('POST', 'notificationChannels/ops/test')).jsonBody);
    await api.alertStores.outbox.add(
      {
        id: 'e1',
        name: 'BackupFailed',
        type: 'pgkeep.backup.failed',
        source: 'v',
        subject: 'orders',
        time: NOW,
        data: {},
      },
      ['ops', 'teams'],
      NOW,
    );
    const rows = [];
    for await (const r of api.alertStores.outbox.listPending()) rows.push(r);
    await api.alertStores.outbox.finish(
      { ...rows[0]!.value, status: 'Failed', attempts: 1, lastHttpStatus: 410, lastError: 'gone', finishedAt: NOW },
      rows[0]!.etag,
    );
    const list = await api.call('GET', 'notifications');
    expect((list.jsonBody as { value: unknown[] }).value).toHaveLength(2);
    expectExactly(notificationListSchema, list.jsonBody);
  });

  it('describe the error body, with the details of a 400 and without them for a 404', async () => {
    const { api } = await apiWithHistory();
    const invalid = await api.call('PUT', 'backupInstances/other', { properties: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.error.details?.length).toBeGreaterThan(0);
    expectExactly(errorBodySchema, invalid.jsonBody);
    const missing = await api.call('GET', 'backupInstances/nope');
    expect(missing.status).toBe(404);
    expectExactly(errorBodySchema, missing.jsonBody);
  });
});
