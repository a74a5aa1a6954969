// End to end over HTTP under devhost with a real PostgreSQL 15: policies and instances from the fixtures, an
// on-demand backup of a varied database down to a pg_restore-readable blob, bad input answered with its code and
// nothing created, and the scheduler timer starting exactly one backup for a slot.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- response bodies are checked by the assertions, not by types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { durableClient } from '../support/durable-client';
import { scheduledOrchestrationId } from '../../shared/activities/scheduler';
import {
  adoNet,
  apiClient,
  blobsUnder,
  fixturePolicy,
  instanceBody,
  jobEnded,
  pgRestoreList,
  pollUntil,
  repoRoot,
  sha256Hex,
  vaultContainer,
  type ApiClient,
} from './backup-support';

let pg: TestPostgres;
let dh: DevhostInstance;
let api: ApiClient;

beforeAll(async () => {
  pg = await startPostgres({ major: 15 });
  await seedVariedDatabase(pg, 'orders');
  await pg.query('CREATE DATABASE sched');
  await pg.query('CREATE TABLE ticks (id int PRIMARY KEY); INSERT INTO ticks VALUES (1), (2)', 'sched');
  dh = await startDevhost({
    appRoot: repoRoot,
    env: {
      ORDERS_DB: adoNet(pg.host, pg.port, 'orders', pg.superuser, pg.password),
      // The libpq URI form; the database comes from the instance's resourceName.
      SCHED_DB: `postgresql://${pg.superuser}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/?sslmode=disable`,
      SCHEDULER_SCHEDULE: '*/1 * * * * *',
    },
  });
  api = apiClient(dh);
}, 180_000);

afterAll(async () => {
  await dh?.stop();
  await pg?.stop();
});

const ordersInstance = instanceBody({
  resourceID: 'local/pg15/orders',
  database: 'orders',
  setting: 'ORDERS_DB',
  policy: 'weekly',
});

describe('backup over HTTP', () => {
  it('backs up a varied database on demand into a recovery point whose dump pg_restore can read', async () => {
    const policy = fixturePolicy('default-weekly.json');
    const created = await api.call('PUT', 'backupPolicies/weekly', policy);
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      name: 'weekly',
      type: 'Microsoft.DataProtection/backupVaults/backupPolicies',
    });
    expect((await api.call('PUT', 'backupPolicies/weekly', policy)).status).toBe(200);

    const inst = await api.call('PUT', 'backupInstances/orders', ordersInstance);
    expect(inst.status, inst.text).toBe(201);
    expect(inst.body.properties).toMatchObject({
      protectionStatus: { status: 'ProtectionConfigured' },
      dataSourceInfo: { resourceName: 'orders' },
    });

    const started = await api.call('POST', 'backupInstances/orders/backup', {
      backupRuleOptions: { ruleName: 'BackupWeekly', triggerOption: { retentionTagOverride: 'Default' } },
    });
    expect(started.status, started.text).toBe(202);
    const jobId = started.body.name as string;
    expect(started.headers.get('location')).toBe(`/api/backupJobs/${jobId}`);
    expect(started.body.properties).toMatchObject({ operation: 'Backup', trigger: 'OnDemand' });

    const job = (await jobEnded(api, jobId)).body.properties;
    expect(job.status, JSON.stringify(job)).toBe('Succeeded');
    expect(job.progress.bytes).toBeGreaterThan(0);
    const pointId = job.recoveryPointId as string;

    const list = await api.call('GET', 'backupInstances/orders/recoveryPoints');
    expect(list.status).toBe(200);
    expect(list.body.value.map((p: { name: string }) => p.name)).toEqual([pointId]);

    const point = await api.call('GET', `backupInstances/orders/recoveryPoints/${pointId}`);
    expect(point.status).toBe(200);
    const props = point.body.properties;
    expect(props).toMatchObject({ retentionTagName: 'Default', trigger: 'OnDemand', status: 'Available' });
    expect(props.sizeInBytes).toBe(job.progress.bytes);
    expect(props.sha256).toMatch(/^[0-9a-f]{64}$/);
    const manifest = props.manifest;
    expect(manifest).toMatchObject({ bytes: props.sizeInBytes, sha256: props.sha256, database: 'orders' });
    expect(manifest.tocEntries).toBeGreaterThan(10);
    expect(manifest.relations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ schema: 'public', name: 'events', rowEstimate: 100_000 }),
        expect.objectContaining({ schema: 'Sales Ops', name: 'Quarterly Targets' }),
      ]),
    );
    expect(manifest.largeObjects).toBe(1);

    // The stored bytes are what the row says, and pg_restore reads them after zstd.
    const blobs = await blobsUnder(dh, `orders/${jobId}/`);
    expect(blobs.sort()).toEqual([`orders/${jobId}/dump.pgdump.zst`, `orders/${jobId}/manifest.json`]);
    const dump = await vaultContainer(dh).getBlockBlobClient(`orders/${jobId}/dump.pgdump.zst`).downloadToBuffer();
    expect(dump.length).toBe(props.sizeInBytes);
    expect(await sha256Hex(dump)).toBe(props.sha256);
    const toc = await pgRestoreList(dump);
    expect(toc).toMatch(/TABLE DATA public events /);
    expect(toc).toMatch(/TABLE DATA public customers /);
    expect(toc).toMatch(/SCHEMA - "?Sales Ops"?/);
    expect(toc).toMatch(/TABLE DATA "?Sales Ops"? "?Quarterly Targets"?/);
    expect(toc).toMatch(/BLOB(S)? /);
    const rows = await pg.query<{ n: string }>('SELECT count(*) AS n FROM events', 'orders');
    expect(rows[0]?.n).toBe('100000');

    const got = await api.call('GET', 'backupInstances/orders');
    expect(got.body.properties).toMatchObject({
      lastRecoveryPoint: { recoveryPointId: pointId, retentionTagName: 'Default' },
      lastJob: { jobId, status: 'Succeeded' },
    });

    // Job filters and the default window.
    const ids = async (query: string) =>
      ((await api.call('GET', `backupJobs${query}`)).body.value as { name: string }[]).map((j) => j.name);
    expect(await ids('')).toContain(jobId);
    expect(await ids('?backupInstance=orders&operation=Backup&status=Succeeded')).toEqual([jobId]);
    expect(await ids('?backupInstance=orders&status=Failed')).toEqual([]);
    expect(await ids(`?from=${new Date(Date.now() + 3_600_000).toISOString()}`)).toEqual([]);
    const bad = await api.call('GET', 'backupJobs?status=Bogus&from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { target: string }) => d.target).sort()).toEqual(['$.from', '$.status']);
  });

  it('reports readiness, and stops and resumes protection', async () => {
    const report = await api.call('POST', 'backupInstances/orders/validateForBackup');
    expect(report.status).toBe(200);
    expect(report.body.status).toBe('Succeeded');
    expect(report.body.checks.filter((c: { status: string }) => c.status === 'Failed')).toEqual([]);

    const stopped = await api.call('POST', 'backupInstances/orders/stopProtection', { deleteBackupData: false });
    expect(stopped.status).toBe(200);
    expect(stopped.body.properties.protectionStatus.status).toBe('ProtectionStopped');
    const refused = await api.call('POST', 'backupInstances/orders/backup');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('UserErrorProtectionStopped');

    const resumed = await api.call('POST', 'backupInstances/orders/resumeProtection');
    expect(resumed.status).toBe(200);
    expect(resumed.body.properties.protectionStatus.status).toBe('ProtectionConfigured');
  });

  it('answers bad input with its code and the offending fields, and creates nothing', async () => {
    const before = (await api.call('GET', 'backupInstances')).body.value.length as number;

    const malformed = await api.call('PUT', 'backupPolicies/broken', undefined, { rawBody: '{"policyRules": [' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'UserErrorInvalidRequest', target: '$' });

    const invalid = fixturePolicy('default-weekly.json') as {
      policyRules: {
        trigger?: { schedule: { timeZone: string } };
        lifecycles?: { deleteAfter: { duration: string } }[];
      }[];
    };
    invalid.policyRules[0]!.trigger!.schedule.timeZone = 'Mars/Olympus_Mons';
    invalid.policyRules[1]!.lifecycles![0]!.deleteAfter.duration = 'P1D';
    const refused = await api.call('PUT', 'backupPolicies/broken', invalid);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('UserErrorInvalidPolicy');
    const targets = (refused.body.error.details as { target: string }[]).map((d) => d.target);
    expect(targets).toContain('$.policyRules[0].trigger.schedule.timeZone');
    expect(targets).toContain('$.policyRules[1].lifecycles[0].deleteAfter.duration');
    expect((await api.call('GET', 'backupPolicies/broken')).status).toBe(404);

    const unknownPolicy = await api.call(
      'PUT',
      'backupInstances/ghost',
      instanceBody({ resourceID: 'local/ghost', database: 'orders', setting: 'ORDERS_DB', policy: 'nope' }),
    );
    expect(unknownPolicy.status).toBe(404);
    expect(unknownPolicy.body.error).toMatchObject({
      code: 'UserErrorNotFound',
      target: '$.properties.policyInfo.policyId',
    });

    const unknownInstance = await api.call('GET', 'backupInstances/ghost');
    expect(unknownInstance.status).toBe(404);
    expect(unknownInstance.body.error.code).toBe('UserErrorNotFound');
    expect((await api.call('POST', 'backupInstances/ghost/backup')).body.error.code).toBe('UserErrorNotFound');
    expect((await api.call('GET', 'backupJobs/no-such-job')).status).toBe(404);

    const system = await api.call(
      'PUT',
      'backupInstances/tpl',
      instanceBody({ resourceID: 'local/tpl', database: 'template1', setting: 'ORDERS_DB', policy: 'weekly' }),
    );
    expect(system.status).toBe(400);
    expect(system.body.error.details).toEqual([
      expect.objectContaining({ target: '$.properties.dataSourceInfo.resourceName' }),
    ]);

    const twice = await api.call('PUT', 'backupInstances/orders-again', ordersInstance);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('UserErrorDatasourceAlreadyProtected');

    const schema = await api.call('PUT', 'backupInstances/x', { properties: { dataSourceInfo: {} } });
    expect(schema.status).toBe(400);
    expect((schema.body.error.details as { target: string }[]).map((d) => d.target)).toEqual(
      expect.arrayContaining([
        '$.properties.dataSourceInfo.datasourceType',
        '$.properties.dataSourceInfo.resourceID',
        '$.properties.policyInfo',
        '$.properties.datasourceAuthCredentials',
      ]),
    );

    const tooBig = await api.call('PUT', 'backupPolicies/huge', undefined, {
      rawBody: JSON.stringify({ pad: 'x'.repeat(1_100_000) }),
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.code).toBe('UserErrorInvalidRequest');

    const noRoute = await api.call('GET', 'nowhere/at/all');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body.error.code).toBe('UserErrorNotFound');

    expect((await api.call('GET', 'backupInstances')).body.value).toHaveLength(before);
    expect(await blobsUnder(dh, 'ghost/')).toEqual([]);
  });
});

describe('backupScheduler', () => {
  it('starts exactly one scheduled backup for a slot, under a deterministic orchestration id', async () => {
    // A weekly slot a few seconds from now (today's weekday), with the timer ticking every second.
    const slot = new Date(Math.ceil((Date.now() + 10_000) / 1000) * 1000);
    const policy = fixturePolicy('default-weekly.json') as {
      policyRules: { trigger?: { schedule: { repeatingTimeIntervals: string[] } } }[];
    };
    policy.policyRules[0]!.trigger!.schedule.repeatingTimeIntervals = [
      `R/${slot.toISOString().replace('.000Z', '+00:00')}/P1W`,
    ];
    expect((await api.call('PUT', 'backupPolicies/soon', policy)).status).toBe(201);
    const inst = await api.call(
      'PUT',
      'backupInstances/sched',
      instanceBody({ resourceID: 'local/pg15/sched', database: 'sched', setting: 'SCHED_DB', policy: 'soon' }),
    );
    expect(inst.status, inst.text).toBe(201);

    const scheduledJobs = async () =>
      ((await api.call('GET', 'backupJobs?backupInstance=sched')).body.value as { properties: Record<string, any> }[])
        .map((j) => j.properties)
        .filter((p) => p.trigger === 'Scheduled');
    const [job] = await pollUntil(scheduledJobs, (jobs) => jobs.length > 0, 30_000, 'a scheduled job');
    const ended = (await jobEnded(api, job!.id as string)).body.properties;
    expect(ended.status, JSON.stringify(ended)).toBe('Succeeded');
    expect(ended.extendedInfo).toMatchObject({ scheduledSlot: slot.toISOString() });

    // The job turns Succeeded inside the last activity; the orchestration completes one episode later.
    const orchestrationId = scheduledOrchestrationId('sched', slot.toISOString());
    const status = await durableClient(dh.baseUrl).waitFor(orchestrationId);
    expect(status.runtimeStatus).toBe('Completed');

    // Several more ticks pass; the slot is never run again.
    const ticks = () => dh.logs().split("Executed 'Functions.backupScheduler' (Succeeded").length;
    const seen = ticks();
    await pollUntil(
      () => Promise.resolve(ticks()),
      (n) => n >= seen + 3,
      15_000,
      'three more scheduler ticks',
    );
    expect(await scheduledJobs()).toHaveLength(1);
    expect((await api.call('GET', 'backupInstances/sched/recoveryPoints')).body.value).toHaveLength(1);
  });
});
