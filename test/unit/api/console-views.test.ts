// The API fields and routes the console's views read, over the fake stores: instance summaries (last successful
// backup, next slot, readiness), paged recovery points and their timeline, the overview, GET /me, the policy in words,
// the ten-year simulation and the vault-level readiness check.
import { describe, expect, it } from 'vitest';
import { sampleJob, samplePoint } from '../../contract/stores.contract';
import type { BackupInstanceResource } from '../../../shared/contracts/instances';
import type { PolicyResource, PolicySimulation } from '../../../shared/contracts/policies';
import type { RecoveryPointResource, RecoveryPointTimeline } from '../../../shared/contracts/recovery-points';
import type { List } from '../../../shared/contracts/resources';
import { apiWithInstance, createApi, failedCheck, fixture, instanceBody, NOW, targets } from './api-support';

const daysAgo = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();
type Instance = BackupInstanceResource;
type Points = List<RecoveryPointResource>;
type Policies = List<PolicyResource>;

describe('instance summaries', () => {
  it('shows the newest Available point with its size as the last successful backup, skipping one being deleted', async () => {
    const api = await apiWithInstance();
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(8), 'p1', { bytes: 10 }));
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(1), 'p2', { bytes: 2048 }));
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(0.5), 'p3', { status: 'Deleting' }));
    const { properties } = (await api.call('GET', 'backupInstances/orders')).jsonBody as Instance;
    expect(properties.lastRecoveryPoint).toEqual({
      recoveryPointId: samplePoint('orders', daysAgo(1), 'p2').id,
      recoveryPointTime: daysAgo(1),
      retentionTagName: 'Default',
      sizeInBytes: 2048,
      dataStore: 'VaultStore',
    });
  });

  it('takes the last successful backup from the newest succeeded backup job, which names its point, tag and size', async () => {
    const api = await apiWithInstance();
    const stored = (await api.stores.instances.get('orders'))!;
    await api.stores.instances.update(
      { ...stored.value, createdAt: daysAgo(2), protectedSince: daysAgo(2) },
      stored.etag,
    );
    // No point row read: the job alone says what the backup committed.
    const point = samplePoint('orders', daysAgo(0.5), 'p9', { bytes: 777, tag: 'Monthly' });
    await api.stores.jobs.create(
      sampleJob('b1', daysAgo(0.5), {
        status: 'Succeeded',
        recoveryPointId: point.id,
        progress: { bytes: 777, percent: 100 },
        extra: { retentionTag: 'Monthly' },
      }),
    );
    const listed = (await api.call('GET', 'backupInstances')).jsonBody as List<Instance>;
    expect(listed.value[0]?.properties.lastRecoveryPoint).toEqual({
      recoveryPointId: point.id,
      recoveryPointTime: daysAgo(0.5),
      retentionTagName: 'Monthly',
      sizeInBytes: 777,
      dataStore: 'VaultStore',
    });
  });

  it('reads the point row instead when the job names a point taken before protection resumed (it may be deleted)', async () => {
    const api = await apiWithInstance();
    const stored = (await api.stores.instances.get('orders'))!;
    // Resumed a day ago after a stop that deleted the backup data: the job of two days ago names a deleted point.
    await api.stores.instances.update(
      { ...stored.value, createdAt: daysAgo(30), protectedSince: daysAgo(1) },
      stored.etag,
    );
    const kept = samplePoint('orders', daysAgo(3), 'kept', { bytes: 5 });
    await api.stores.recoveryPoints.create(kept);
    await api.stores.jobs.create(
      sampleJob('b-gone', daysAgo(2), {
        status: 'Succeeded',
        recoveryPointId: samplePoint('orders', daysAgo(2), 'gone').id,
        progress: { bytes: 9, percent: 100 },
        extra: { retentionTag: 'Default' },
      }),
    );
    const { properties } = (await api.call('GET', 'backupInstances/orders')).jsonBody as Instance;
    expect(properties.lastRecoveryPoint?.recoveryPointId).toBe(kept.id);
  });

  it('gives the next slot of the policy schedule while protected, and none once protection is stopped', async () => {
    const api = await apiWithInstance();
    // default-weekly fires on Sundays at 02:00 UTC; NOW is Tuesday 2026-03-10.
    const listed = (await api.call('GET', 'backupInstances')).jsonBody as List<Instance>;
    expect(listed.value[0]?.properties.nextScheduledBackup).toBe('2026-03-15T02:00:00.000Z');
    await api.call('POST', 'backupInstances/orders/stopProtection', {});
    const stopped = (await api.call('GET', 'backupInstances/orders')).jsonBody as Instance;
    expect(stopped.properties).not.toHaveProperty('nextScheduledBackup');
  });

  it('says NotReady with the code when the newest backup failed a readiness check, Ready after one succeeds', async () => {
    const api = await apiWithInstance();
    // Configured a day ago: jobs from before that belong to an earlier instance of the same name and say nothing.
    const stored = (await api.stores.instances.get('orders'))!;
    await api.stores.instances.update({ ...stored.value, createdAt: daysAgo(1) }, stored.etag);
    await api.stores.jobs.create(
      sampleJob('before', daysAgo(2), {
        status: 'Failed',
        error: { code: 'UserErrorDBUserAuthFailed', message: 'x', hint: 'y' },
      }),
    );
    await api.stores.jobs.create(sampleJob('ok', daysAgo(0.3), { status: 'Succeeded' }));
    await api.stores.jobs.create(
      sampleJob('denied', daysAgo(0.2), {
        status: 'Failed',
        error: { code: 'UserErrorMissingDBPermissions', message: 'no SELECT on public.ledger', hint: 'grant' },
      }),
    );
    // A restore that failed later says nothing about readiness for backup.
    await api.stores.jobs.create(
      sampleJob('restore', daysAgo(0.1), {
        operation: 'Restore',
        status: 'Failed',
        error: { code: 'UserErrorDBUserAuthFailed', message: 'target login failed', hint: 'x' },
      }),
    );
    const get = async () => ((await api.call('GET', 'backupInstances/orders')).jsonBody as Instance).properties;
    expect((await get()).readiness).toEqual({
      status: 'NotReady',
      checkedAt: daysAgo(0.2),
      code: 'UserErrorMissingDBPermissions',
      message: 'no SELECT on public.ledger',
    });
    expect((await get()).lastJob?.jobId).toBe('restore');
    await api.stores.jobs.create(sampleJob('fixed', daysAgo(0.05), { status: 'Succeeded' }));
    expect((await get()).readiness).toEqual({ status: 'Ready', checkedAt: daysAgo(0.05) });
    // Before any backup: the checks that configuring it passed.
    const fresh = await apiWithInstance();
    const props = ((await fresh.call('GET', 'backupInstances/orders')).jsonBody as Instance).properties;
    expect(props.readiness).toEqual({ status: 'Ready', checkedAt: NOW });
  });
});

describe('GET …/recoveryPoints paged', () => {
  it('returns $top points and a nextLink whose $skipToken continues where the page ended', async () => {
    const api = await apiWithInstance();
    for (let d = 1; d <= 5; d++) await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(d), `p${d}`));
    const seen: string[] = [];
    let url: string | undefined = 'backupInstances/orders/recoveryPoints?$top=2';
    let pages = 0;
    while (url) {
      const res = await api.call('GET', url);
      expect(res.status).toBe(200);
      const body = res.jsonBody as Points;
      seen.push(...body.value.map((v) => v.properties.recoveryPointTime));
      url = body.nextLink
        ? new URL(body.nextLink).pathname.replace(/^\/api\//, '') + new URL(body.nextLink).search
        : undefined;
      pages++;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5].map(daysAgo));
    expect(pages).toBe(3);
  });

  it('names a bad $top or $skipToken by JSON path', async () => {
    const api = await apiWithInstance();
    const res = await api.call('GET', 'backupInstances/orders/recoveryPoints?$top=0&$skipToken=../x');
    expect(res.status).toBe(400);
    expect(targets(res.error).sort()).toEqual(['$.$skipToken', '$.$top']);
  });
});

describe('GET …/recoveryPointTimeline', () => {
  it('counts Available points and bytes per tier in daily buckets up to now, with totals', async () => {
    const api = await apiWithInstance();
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(3), 'a', { bytes: 100 }));
    await api.stores.recoveryPoints.create(
      samplePoint('orders', daysAgo(3), 'b', { bytes: 50, dataStore: 'ArchiveStore' }),
    );
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(1), 'c', { bytes: 7 }));
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(2), 'd', { status: 'Deleted' }));
    const body = (await api.call('GET', 'backupInstances/orders/recoveryPointTimeline'))
      .jsonBody as RecoveryPointTimeline;
    expect(body.bucket).toBe('day');
    // Fourteen days up to today, though the oldest point is three days old.
    expect(body.value.map((b) => b.start)).toHaveLength(14);
    expect(body.value[0]?.start).toBe('2026-02-25T00:00:00.000Z');
    expect(body.value.at(-1)?.start).toBe('2026-03-10T00:00:00.000Z');
    expect(body.value[10]).toEqual({
      start: '2026-03-07T00:00:00.000Z',
      points: { VaultStore: 1, ArchiveStore: 1 },
      bytes: { VaultStore: 100, ArchiveStore: 50 },
    });
    expect(body.value[11]?.points).toEqual({ VaultStore: 0, ArchiveStore: 0 });
    expect(body.totals).toEqual({
      points: { VaultStore: 2, ArchiveStore: 1 },
      bytes: { VaultStore: 107, ArchiveStore: 50 },
    });
    expect(body.oldest).toBe(daysAgo(3));
  });

  it('uses weeks from Monday beyond two months and months beyond two years', async () => {
    const api = await apiWithInstance();
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(100), 'a'));
    const weekly = (await api.call('GET', 'backupInstances/orders/recoveryPointTimeline'))
      .jsonBody as RecoveryPointTimeline;
    expect(weekly.bucket).toBe('week');
    expect(new Date(weekly.value[0]!.start).getUTCDay()).toBe(1);
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(800), 'b'));
    const monthly = (await api.call('GET', 'backupInstances/orders/recoveryPointTimeline'))
      .jsonBody as RecoveryPointTimeline;
    expect(monthly.bucket).toBe('month');
    expect(monthly.value.every((b) => b.start.slice(8) === '01T00:00:00.000Z')).toBe(true);
    expect(monthly.totals.points.VaultStore).toBe(2);
  });
});

describe('GET /overview', () => {
  it('counts instances, jobs of 24 hours and 7 days by status, stored bytes per tier and the next backups', async () => {
    const api = await apiWithInstance();
    await api.call(
      'PUT',
      'backupInstances/billing',
      instanceBody({ resourceID: 'local/billing', resourceName: 'billing' }),
    );
    await api.call('POST', 'backupInstances/billing/stopProtection', {});
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(1), 'a', { bytes: 1000 }));
    await api.stores.recoveryPoints.create(
      samplePoint('billing', daysAgo(40), 'b', { bytes: 5, dataStore: 'ArchiveStore' }),
    );
    await api.stores.jobs.create(sampleJob('j1', daysAgo(0.5), { status: 'Succeeded' }));
    await api.stores.jobs.create(
      sampleJob('j2', daysAgo(0.2), {
        status: 'Failed',
        error: { code: 'SystemErrorDumpFailed', message: 'pg_dump failed', hint: 'retry' },
      }),
    );
    await api.stores.jobs.create(sampleJob('j3', daysAgo(3), { status: 'Succeeded' }));
    const res = await api.call('GET', 'overview');
    expect(res.status).toBe(200);
    expect(res.jsonBody).toEqual({
      time: NOW,
      instances: { total: 2, protected: 1, stopped: 1 },
      jobs: { last24Hours: { Succeeded: 1, Failed: 1 }, last7Days: { Succeeded: 2, Failed: 1 } },
      nextScheduledBackups: [{ backupInstance: 'orders', policyName: 'weekly', time: '2026-03-15T02:00:00.000Z' }],
      recentFailures: [
        {
          jobId: 'j2',
          backupInstance: 'orders',
          operation: 'Backup',
          startTime: daysAgo(0.2),
          code: 'SystemErrorDumpFailed',
          message: 'pg_dump failed',
        },
      ],
    });
  });
});

describe('GET /overview/storage', () => {
  it('sums the Available points and their bytes per tier over every instance', async () => {
    const api = await apiWithInstance();
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(1), 'a', { bytes: 1000 }));
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(2), 'b', { bytes: 24 }));
    await api.stores.recoveryPoints.create(
      samplePoint('gone', daysAgo(40), 'c', { bytes: 5, dataStore: 'ArchiveStore' }),
    );
    await api.stores.recoveryPoints.create(samplePoint('orders', daysAgo(3), 'd', { bytes: 7, status: 'Deleted' }));
    const res = await api.call('GET', 'overview/storage');
    expect(res.jsonBody).toEqual({
      time: NOW,
      VaultStore: { points: 2, bytes: 1024 },
      ArchiveStore: { points: 1, bytes: 5 },
    });
  });
});

describe('GET /me', () => {
  const principal = (name: string, ...roles: string[]) => ({
    'x-ms-client-principal': Buffer.from(
      JSON.stringify({ claims: [{ typ: 'name', val: name }, ...roles.map((val) => ({ typ: 'roles', val }))] }),
    ).toString('base64'),
  });

  it('grants the roles of the sign-in when roles are enforced', async () => {
    const api = createApi({ enforceCallerRoles: true });
    const res = await api.call('GET', 'me', undefined, { headers: principal('ana@example.com', 'Reader') });
    expect(res.jsonBody).toEqual({
      principal: 'ana@example.com',
      roles: ['Reader'],
      authenticated: true,
      rolesEnforced: true,
    });
  });

  it('grants every role to every caller when roles are not enforced (local use)', async () => {
    const res = await createApi().call('GET', 'me');
    expect(res.jsonBody).toEqual({
      principal: null,
      roles: ['Reader', 'Operator', 'Admin'],
      authenticated: false,
      rolesEnforced: false,
    });
  });
});

describe('policies in words', () => {
  it('adds the summary next to the properties with $expand=summary, and leaves the Azure resource alone without', async () => {
    const api = createApi();
    await api.call('PUT', 'backupPolicies/gfs', fixture('gfs-ten-years.json'));
    const plain = (await api.call('GET', 'backupPolicies')).jsonBody as Policies;
    expect(plain.value[0]).not.toHaveProperty('summary');
    const expanded = (await api.call('GET', 'backupPolicies?$expand=summary')).jsonBody as Policies;
    expect(expanded.value[0]?.summary).toMatchObject({
      backupRuleName: 'BackupWeekly',
      schedule: 'Every Wednesday and Sunday at 01:30, Europe/Berlin (W. Europe Standard Time)',
      retention: [{ tag: 'Yearly' }, { tag: 'Monthly' }, { tag: 'Weekly' }, { tag: 'Default' }],
    });
    const one = (await api.call('GET', 'backupPolicies/gfs?$expand=summary')).jsonBody as PolicyResource;
    expect(one.summary?.timeZone).toBe('Europe/Berlin');
    expect((await api.call('GET', 'backupPolicies?$expand=everything')).status).toBe(400);
  });
});

describe('POST /backupPolicies/simulate', () => {
  it('samples ten years month by month, ending with what the planner keeps', async () => {
    const api = createApi();
    const res = await api.call('POST', 'backupPolicies/simulate', {
      policy: fixture('gfs-ten-years.json'),
      from: '2024-01-01T00:00:00Z',
    });
    expect(res.status).toBe(200);
    const body = res.jsonBody as PolicySimulation;
    expect(body.from).toBe('2024-01-01T00:00:00.000Z');
    expect(body.to).toBe('2034-01-01T00:00:00.000Z');
    expect(body.samples).toHaveLength(120);
    expect(body.samples[0]?.at).toBe('2024-02-01T00:00:00.000Z');
    // The README's `pgkeep policy simulate` output for the same window: 10 Yearly (1 vault, 9 archive), 25 Monthly
    // (3 vault, 22 archive), 8 Weekly, 2 Default.
    expect(body.samples.at(-1)?.counts).toEqual({
      Yearly: { VaultStore: 1, ArchiveStore: 9 },
      Monthly: { VaultStore: 3, ArchiveStore: 22 },
      Weekly: { VaultStore: 8, ArchiveStore: 0 },
      Default: { VaultStore: 2, ArchiveStore: 0 },
    });
    expect(body.summary.backupRuleName).toBe('BackupWeekly');
  });

  it('answers 400 naming each problem of the draft by its path under $.policy, and a bad request by its field', async () => {
    const api = createApi();
    const draft = fixture('default-weekly.json');
    delete draft.policyRules;
    const res = await api.call('POST', 'backupPolicies/simulate', { policy: { properties: draft }, years: 3 });
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('UserErrorInvalidPolicy');
    expect(targets(res.error)).toEqual(['$.policy.properties.policyRules']);
    const bad = await api.call('POST', 'backupPolicies/simulate', { policy: [], years: 11 });
    expect(targets(bad.error).sort()).toEqual(['$.policy', '$.years']);
  });
});

describe('POST /validateForBackup', () => {
  it('reports every check of an instance that does not exist yet, without storing anything', async () => {
    const api = createApi();
    await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
    api.state.readiness = {
      checks: [
        { name: 'serverReachable', status: 'Succeeded', message: 'ok' },
        failedCheck('privileges', 'UserErrorMissingDBPermissions'),
      ],
    };
    const res = await api.call('POST', 'validateForBackup', { backupInstance: instanceBody().properties });
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({
      objectType: 'ValidateForBackupResult',
      status: 'Failed',
      checks: [
        { name: 'serverReachable', status: 'Succeeded' },
        { name: 'privileges', status: 'Failed', remediation: 'do this' },
      ],
    });
    expect(await api.stores.instances.get('orders')).toBeUndefined();
  });

  it('answers 404 for an unknown policy and 400 naming bad fields under $.backupInstance', async () => {
    const api = createApi();
    const missing = await api.call('POST', 'validateForBackup', { backupInstance: instanceBody().properties });
    expect(missing.status).toBe(404);
    expect(missing.error.target).toBe('$.backupInstance.policyInfo.policyId');
    const body = instanceBody().properties;
    const bad = await api.call('POST', 'validateForBackup', {
      backupInstance: { ...body, dataSourceInfo: { ...body.dataSourceInfo, resourceName: 'template1' } },
    });
    expect(targets(bad.error)).toEqual(['$.backupInstance.dataSourceInfo.resourceName']);
  });
});
