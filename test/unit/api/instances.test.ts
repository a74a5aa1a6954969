// Backup instance routes over the fake stores: configure behind the readiness checks, change policy, backup now
// with its lock, stop/resume/delete, and every 400/404/409 with its code and JSON paths.
import { describe, expect, it } from 'vitest';
import {
  apiWithInstance,
  changeAfterRead,
  createApi,
  failedCheck,
  fixture,
  instanceBody,
  NOW,
  targets,
  VAULT,
} from './api-support';

describe('PUT /backupInstances/{name}', () => {
  it('configures protection with 201 once every readiness check passes, owing no earlier slot', async () => {
    const api = createApi();
    await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody());
    expect(res.status).toBe(201);
    expect(res.jsonBody).toMatchObject({
      id: `${VAULT}/backupInstances/orders`,
      type: 'Microsoft.DataProtection/backupVaults/backupInstances',
      properties: {
        objectType: 'BackupInstance',
        protectionStatus: { status: 'ProtectionConfigured' },
        policyInfo: { policyId: `${VAULT}/backupPolicies/weekly` },
        datasourceAuthCredentials: {
          secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
        },
      },
    });
    expect((await api.stores.instances.get('orders'))?.value.lastScheduledSlot).toBe(NOW);
  });

  it('accepts a policy id in ARM form and changes the policy on a re-put with 200', async () => {
    const api = await apiWithInstance();
    await api.call('PUT', 'backupPolicies/gfs', fixture('gfs-ten-years.json'));
    const res = await api.call(
      'PUT',
      'backupInstances/orders',
      instanceBody({ policyId: `${VAULT}/backupPolicies/gfs` }),
    );
    expect(res.status).toBe(200);
    expect((await api.stores.instances.get('orders'))?.value.policyName).toBe('gfs');
  });

  it('changes the policy over a backup that took its lock between the read and the write, keeping the lock', async () => {
    const api = await apiWithInstance();
    await api.call('PUT', 'backupPolicies/gfs', fixture('gfs-ten-years.json'));
    const get = changeAfterRead(api.stores.instances, (v) => ({ ...v, activeBackupJobId: 'job-running' }));
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody({ policyId: 'gfs' }));
    expect(res.status).toBe(200);
    expect((await get('orders'))?.value).toMatchObject({ policyName: 'gfs', activeBackupJobId: 'job-running' });
  });

  it('refuses with 409 and writes nothing when the instance was deleted between the read and the write', async () => {
    const api = await apiWithInstance();
    await api.call('PUT', 'backupPolicies/gfs', fixture('gfs-ten-years.json'));
    const get = changeAfterRead(api.stores.instances, (v) => ({ ...v, deletedAt: NOW }));
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody({ policyId: 'gfs' }));
    expect(res.status).toBe(409);
    expect(res.error.message).toMatch(/was deleted/);
    expect((await get('orders'))?.value).toMatchObject({ deletedAt: NOW, policyName: 'weekly' });
  });

  it('refuses with 400 listing every failed readiness check with its own code, and stores nothing', async () => {
    const api = createApi();
    await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
    api.state.readiness = {
      checks: [
        { name: 'serverReachable', status: 'Succeeded', message: 'ok' },
        failedCheck('privileges', 'UserErrorMissingDBPermissions', [
          { code: 'UserErrorMissingDBPermissions', message: 'no SELECT on public.ledger', target: 'public.ledger' },
        ]),
        failedCheck('pgDumpVersion', 'UserErrorPgDumpVersionMismatch'),
      ],
    };
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody());
    expect(res.status).toBe(400);
    expect(res.error.details).toEqual([
      expect.objectContaining({ code: 'UserErrorMissingDBPermissions', target: 'privileges', remediation: 'do this' }),
      expect.objectContaining({ code: 'UserErrorMissingDBPermissions', target: 'public.ledger' }),
      expect.objectContaining({ code: 'UserErrorPgDumpVersionMismatch', target: 'pgDumpVersion' }),
    ]);
    expect(await api.stores.instances.get('orders')).toBeUndefined();
  });

  it('names each schema violation by JSON path', async () => {
    const api = createApi();
    const body = instanceBody();
    const props: Partial<typeof body.properties> = body.properties;
    body.properties.dataSourceInfo.datasourceType = 'Microsoft.Sql/servers/databases';
    body.properties.datasourceAuthCredentials.secretStoreResource.uri = 'https://x';
    delete props.policyInfo;
    const res = await api.call('PUT', 'backupInstances/orders', body);
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('UserErrorInvalidRequest');
    expect(targets(res.error).sort()).toEqual([
      '$.properties.dataSourceInfo.datasourceType',
      '$.properties.datasourceAuthCredentials.secretStoreResource.uri',
      '$.properties.policyInfo',
    ]);
  });

  it('refuses system databases at $.properties.dataSourceInfo.resourceName', async () => {
    const api = createApi();
    for (const db of ['template0', 'template1', 'azure_maintenance', 'AZURE_SYS']) {
      const res = await api.call('PUT', 'backupInstances/sys', instanceBody({ resourceName: db }));
      expect(res.status).toBe(400);
      expect(targets(res.error)).toEqual(['$.properties.dataSourceInfo.resourceName']);
    }
  });

  it('answers an unknown policy with 404 at the policyId', async () => {
    const api = createApi();
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody({ policyId: 'missing' }));
    expect(res.status).toBe(404);
    expect(res.error).toMatchObject({ code: 'UserErrorNotFound', target: '$.properties.policyInfo.policyId' });
  });

  it('refuses to protect the same datasource twice with 409 UserErrorDatasourceAlreadyProtected', async () => {
    const api = await apiWithInstance();
    const res = await api.call('PUT', 'backupInstances/orders2', instanceBody());
    expect(res.status).toBe(409);
    expect(res.error.code).toBe('UserErrorDatasourceAlreadyProtected');
  });

  it('refuses to point an existing instance at another datasource', async () => {
    const api = await apiWithInstance();
    const res = await api.call('PUT', 'backupInstances/orders', instanceBody({ resourceID: 'local/other' }));
    expect(res.status).toBe(400);
    expect(res.error.target).toBe('$.properties.dataSourceInfo.resourceID');
  });
});

describe('GET /backupInstances', () => {
  it('answers an unknown instance with 404, and lists instances with their last job', async () => {
    const api = await apiWithInstance();
    expect((await api.call('GET', 'backupInstances/nope')).status).toBe(404);
    await api.call('POST', 'backupInstances/orders/backup');
    const list = await api.call('GET', 'backupInstances');
    expect(list.status).toBe(200);
    expect(list.jsonBody).toMatchObject({
      value: [
        { name: 'orders', properties: { lastJob: { jobId: 'job1', operation: 'Backup', status: 'NotStarted' } } },
      ],
    });
  });
});

describe('POST /backupInstances/{name}/validateForBackup', () => {
  it('reports every check with 200 and an overall status, changing nothing', async () => {
    const api = await apiWithInstance();
    api.state.readiness = { checks: [failedCheck('userCanLogIn', 'UserErrorDBUserAuthFailed')] };
    const res = await api.call('POST', 'backupInstances/orders/validateForBackup');
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({
      status: 'Failed',
      checks: [{ name: 'userCanLogIn', code: 'UserErrorDBUserAuthFailed' }],
    });
    expect((await api.call('POST', 'backupInstances/nope/validateForBackup')).status).toBe(404);
  });
});

describe('POST /backupInstances/{name}/backup', () => {
  it('starts a backup with 202, the job in the body and its Location, under the instance lock', async () => {
    const api = await apiWithInstance();
    const res = await api.call('POST', 'backupInstances/orders/backup', {
      backupRuleOptions: { ruleName: 'BackupWeekly', triggerOption: { retentionTagOverride: 'Default' } },
    });
    expect(res.status).toBe(202);
    expect(res.headers).toEqual({ Location: '/api/backupJobs/job1' });
    expect(res.jsonBody).toMatchObject({
      name: 'job1',
      type: 'Microsoft.DataProtection/backupVaults/backupJobs',
      properties: { operation: 'Backup', status: 'NotStarted', trigger: 'OnDemand', backupInstance: 'orders' },
    });
    expect(api.started).toEqual([
      {
        id: 'backup-orders-ondemand-job1',
        input: { jobId: 'job1', instanceName: 'orders', trigger: 'OnDemand', retentionTagOverride: 'Default' },
      },
    ]);
    expect((await api.stores.instances.get('orders'))?.value.activeBackupJobId).toBe('job1');
  });

  it('answers a second backup while one runs with 409 UserErrorBackupInProgress naming the running job', async () => {
    const api = await apiWithInstance();
    await api.call('POST', 'backupInstances/orders/backup');
    const res = await api.call('POST', 'backupInstances/orders/backup');
    expect(res.status).toBe(409);
    expect(res.error.code).toBe('UserErrorBackupInProgress');
    expect(res.error.message).toContain('job1');
    expect(api.started).toHaveLength(1);
    // Once the running job has ended, the lock is stale and a new backup may start.
    await api.stores.jobs.patch('job1', { status: 'Failed', endTime: NOW });
    expect((await api.call('POST', 'backupInstances/orders/backup')).status).toBe(202);
  });

  it('refuses a rule or retention tag the policy does not have, naming the field', async () => {
    const api = await apiWithInstance();
    const rule = await api.call('POST', 'backupInstances/orders/backup', { backupRuleOptions: { ruleName: 'Nope' } });
    expect(rule.status).toBe(400);
    expect(rule.error.target).toBe('$.backupRuleOptions.ruleName');
    const tag = await api.call('POST', 'backupInstances/orders/backup', {
      backupRuleOptions: { triggerOption: { retentionTagOverride: 'Monthly' } },
    });
    expect(tag.status).toBe(400);
    expect(tag.error.target).toBe('$.backupRuleOptions.triggerOption.retentionTagOverride');
    const schema = await api.call('POST', 'backupInstances/orders/backup', {
      backupRuleOptions: { triggerOption: { retentionTagOverride: 'Hourly' } },
    });
    expect(targets(schema.error)).toEqual(['$.backupRuleOptions.triggerOption.retentionTagOverride']);
    expect(api.started).toEqual([]);
  });

  it('fails the job and releases the lock when the orchestration cannot be started', async () => {
    const api = await apiWithInstance();
    api.state.startFails = true;
    const res = await api.call('POST', 'backupInstances/orders/backup');
    expect(res.status).toBe(500);
    expect(res.error.code).toBe('SystemErrorInternal');
    expect(JSON.stringify(res.jsonBody)).not.toContain('task hub');
    expect(await api.stores.jobs.get('job1')).toMatchObject({
      status: 'Failed',
      error: { code: 'SystemErrorInternal' },
    });
    expect((await api.stores.instances.get('orders'))?.value.activeBackupJobId).toBeUndefined();
  });

  it('answers 404 for an unknown instance and 409 UserErrorProtectionStopped when protection is stopped', async () => {
    const api = await apiWithInstance();
    expect((await api.call('POST', 'backupInstances/nope/backup')).status).toBe(404);
    await api.call('POST', 'backupInstances/orders/stopProtection');
    const res = await api.call('POST', 'backupInstances/orders/backup');
    expect(res.status).toBe(409);
    expect(res.error.code).toBe('UserErrorProtectionStopped');
  });
});

describe('stopProtection, resumeProtection and DELETE', () => {
  it('records whether stopping deletes the data, and resumes owing no slot missed while stopped', async () => {
    const api = await apiWithInstance();
    const stopped = await api.call('POST', 'backupInstances/orders/stopProtection', { deleteBackupData: true });
    expect(stopped.status).toBe(200);
    expect(stopped.jsonBody).toMatchObject({
      properties: { protectionStatus: { status: 'ProtectionStopped' }, deleteBackupDataOnStop: true },
    });
    const bad = await api.call('POST', 'backupInstances/orders/stopProtection', { deleteBackupData: 'yes' });
    expect(targets(bad.error)).toEqual(['$.deleteBackupData']);
    const resumed = await api.call('POST', 'backupInstances/orders/resumeProtection');
    expect(resumed.status).toBe(200);
    const row = (await api.stores.instances.get('orders'))?.value;
    expect(row).toMatchObject({ protectionState: 'ProtectionConfigured', lastScheduledSlot: NOW });
    expect(row?.deleteBackupDataOnStop).toBeUndefined();
  });

  it('refuses to delete a protected instance with 409, deletes a stopped one, and a missing one is 204', async () => {
    const api = await apiWithInstance();
    const res = await api.call('DELETE', 'backupInstances/orders');
    expect(res.status).toBe(409);
    expect(res.error.message).toContain('stop protection first');
    await api.call('POST', 'backupInstances/orders/stopProtection');
    expect((await api.call('DELETE', 'backupInstances/orders')).status).toBe(200);
    expect((await api.call('GET', 'backupInstances/orders')).status).toBe(404);
    expect((await api.call('DELETE', 'backupInstances/never')).status).toBe(204);
  });
});
