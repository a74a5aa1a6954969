// Restore-test routes over the fake stores: plan validation naming each bad field, create/replace/read/delete,
// refusal of a scratch target that is not ready, runs (202 with one job per instance), verify, history, and the
// evidence shown on recovery points.
import { describe, expect, it } from 'vitest';
import { PgkeepError } from '../../../shared/errors';
import type { RestoreTestResult } from '../../../shared/contracts/restore-tests';
import { samplePoint } from '../../contract/stores.contract';
import { apiWithInstance, createApi, instanceBody, NOW, targets, VAULT } from './api-support';

const target = {
  datasourceAuthCredentials: {
    objectType: 'SecretStoreBasedAuthCredentials',
    secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://SCRATCH_DB' },
  },
};
const plan = (properties: Record<string, unknown> = {}) => ({
  properties: { backupInstances: ['orders'], target, ...properties },
});

const result = (over: Partial<RestoreTestResult> = {}): RestoreTestResult => ({
  jobId: 't1',
  planName: 'nightly',
  recoveryPointId: 'p',
  time: NOW,
  status: 'Passed',
  durationMs: 1200,
  contentsChecked: true,
  tables: 4,
  rowsCompared: 100,
  mismatches: [],
  mismatchCount: 0,
  assertions: [],
  targetServerVersion: '17.2',
  scratchDatabase: 'pgkeep_verify_t1',
  ...over,
});

describe('PUT /restoreTestPlans/{name}', () => {
  it('creates a plan with its defaults (201), replaces it keeping its creation time (200), and reads it back', async () => {
    const api = createApi();
    const created = await api.call('PUT', 'restoreTestPlans/nightly', plan({ schedule: '0 0 3 * * *' }));
    expect(created.status).toBe(201);
    expect(created.jsonBody).toMatchObject({
      id: `${VAULT}/restoreTestPlans/nightly`,
      name: 'nightly',
      properties: {
        mode: 'Restore',
        point: 'latest',
        timeZone: 'UTC',
        timeLimit: 'PT2H',
        enabled: true,
        assertions: {},
        rehydrationPriority: 'Standard',
        target: { allowSourceServer: false },
        createdAt: NOW,
        nextScheduledRun: '2026-03-11T03:00:00.000Z',
      },
    });
    const replaced = await api.call('PUT', 'restoreTestPlans/nightly', plan({ point: { random: { window: 'P6M' } } }));
    expect(replaced.status).toBe(200);
    const got = await api.call('GET', 'restoreTestPlans/nightly');
    expect(got.jsonBody).toMatchObject({ properties: { point: { random: { window: 'P6M' } }, createdAt: NOW } });
    expect((got.jsonBody as { properties: object }).properties).not.toHaveProperty('nextScheduledRun');
    const list = await api.call('GET', 'restoreTestPlans');
    expect((list.jsonBody as { value: { name: string }[] }).value.map((p) => p.name)).toEqual(['nightly']);
  });

  it('names every invalid field by JSON path', async () => {
    const api = createApi();
    const res = await api.call('PUT', 'restoreTestPlans/bad', {
      properties: {
        schedule: 'every night',
        timeZone: 'Mars/Olympus',
        point: 'oldest',
        timeLimit: 'P2D',
        assertions: { inventory: [''] },
        backupInstances: ['orders'],
        extra: 1,
      },
    });
    expect(res.status).toBe(400);
    expect(targets(res.error).sort()).toEqual(
      [
        '$.properties',
        '$.properties.assertions.inventory[0]',
        '$.properties.point',
        '$.properties.schedule',
        '$.properties.timeLimit',
        '$.properties.timeZone',
      ].sort(),
    );
  });

  it('needs exactly one of backupInstances, policy or server, a target to restore into, assertions only for listed instances and none in Verify mode', async () => {
    const api = createApi();
    const noTarget = await api.call('PUT', 'restoreTestPlans/x', { properties: { backupInstances: ['orders'] } });
    expect(targets(noTarget.error)).toEqual(['$.properties.target']);
    const unlisted = await api.call('PUT', 'restoreTestPlans/x', plan({ assertions: { inventory: ['SELECT true'] } }));
    expect(targets(unlisted.error)).toEqual(['$.properties.assertions.inventory']);
    const none = await api.call('PUT', 'restoreTestPlans/x', { properties: { target } });
    expect(targets(none.error)).toEqual(['$.properties.backupInstances']);
    const two = await api.call('PUT', 'restoreTestPlans/x', plan({ policy: 'weekly' }));
    expect(targets(two.error)).toEqual(['$.properties.backupInstances']);
    const verify = await api.call('PUT', 'restoreTestPlans/x', {
      properties: { mode: 'Verify', policy: 'weekly', assertions: { orders: ['SELECT true'] } },
    });
    expect(targets(verify.error)).toEqual(['$.properties.assertions']);
    expect(
      (await api.call('PUT', 'restoreTestPlans/x', { properties: { mode: 'Verify', policy: 'weekly' } })).status,
    ).toBe(201);
  });

  it('refuses a scratch target that is not ready with its code, storing nothing', async () => {
    const api = createApi();
    Object.assign(api.restoreTests, {
      checkScratchTarget: () =>
        Promise.reject(new PgkeepError('UserErrorRestoreTestTargetNotReady', 'user "x" has no CREATEDB right')),
    });
    const res = await api.call('PUT', 'restoreTestPlans/nightly', plan());
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('UserErrorRestoreTestTargetNotReady');
    expect((await api.call('GET', 'restoreTestPlans/nightly')).status).toBe(404);
  });
});

describe('DELETE /restoreTestPlans/{name}', () => {
  it('deletes a plan (204) and succeeds when it is absent', async () => {
    const api = createApi();
    await api.call('PUT', 'restoreTestPlans/nightly', plan());
    expect((await api.call('DELETE', 'restoreTestPlans/nightly')).status).toBe(204);
    expect((await api.call('DELETE', 'restoreTestPlans/nightly')).status).toBe(204);
    expect((await api.call('GET', 'restoreTestPlans/nightly')).status).toBe(404);
  });
});

describe('POST /restoreTestPlans/{name}/run', () => {
  it('answers 202 with one NotStarted RestoreTest job per selected instance and Location of the first', async () => {
    const api = await apiWithInstance();
    await api.call(
      'PUT',
      'backupInstances/billing',
      instanceBody({ resourceID: '/s/x/flexibleServers/pg1/databases/billing', resourceName: 'billing' }),
    );
    await api.call('PUT', 'restoreTestPlans/all-weekly', { properties: { policy: 'weekly', target } });
    const res = await api.call('POST', 'restoreTestPlans/all-weekly/run');
    expect(res.status).toBe(202);
    const jobs = (res.jsonBody as { value: { name: string; properties: Record<string, unknown> }[] }).value;
    expect(jobs.map((j) => [j.properties.backupInstance, j.properties.operation, j.properties.status])).toEqual([
      ['billing', 'RestoreTest', 'NotStarted'],
      ['orders', 'RestoreTest', 'NotStarted'],
    ]);
    expect(res.headers?.Location).toBe(`/api/backupJobs/${jobs[0]!.name}`);
    expect(
      api.restoreTests.started.restoreTests.map((s) => [s.input.instanceName, s.input.planName, s.input.trigger]),
    ).toEqual([
      ['billing', 'all-weekly', 'OnDemand'],
      ['orders', 'all-weekly', 'OnDemand'],
    ]);
    expect((await api.stores.jobs.get(jobs[1]!.name))?.extra).toEqual({ planName: 'all-weekly' });
  });

  it('starts Verify jobs for a plan in Verify mode', async () => {
    const api = await apiWithInstance();
    await api.call('PUT', 'restoreTestPlans/v', { properties: { mode: 'Verify', backupInstances: ['orders'] } });
    const res = await api.call('POST', 'restoreTestPlans/v/run');
    expect(res.status).toBe(202);
    expect(api.restoreTests.started.verifies.map((s) => s.input)).toEqual([
      expect.objectContaining({ instanceName: 'orders', trigger: 'OnDemand', point: 'latest', planName: 'v' }),
    ]);
  });

  it('answers 404 for an unknown plan and for a plan that selects no instance', async () => {
    const api = createApi();
    expect((await api.call('POST', 'restoreTestPlans/none/run')).status).toBe(404);
    await api.call('PUT', 'restoreTestPlans/empty', { properties: { policy: 'nobody', target } });
    const res = await api.call('POST', 'restoreTestPlans/empty/run');
    expect(res.status).toBe(404);
    expect(res.error.message).toContain('selects no backup instance');
  });
});

describe('POST …/recoveryPoints/{id}/verify', () => {
  it('answers 202 with a Verify job of the point, and 404 for an unknown point', async () => {
    const api = await apiWithInstance();
    const p = samplePoint('orders', '2026-03-09T02:00:00.000Z', 'j1');
    await api.stores.recoveryPoints.create(p);
    const res = await api.call('POST', `backupInstances/orders/recoveryPoints/${p.id}/verify`);
    expect(res.status).toBe(202);
    expect(res.jsonBody).toMatchObject({
      properties: { operation: 'Verify', recoveryPointId: p.id, status: 'NotStarted' },
    });
    expect(api.restoreTests.started.verifies[0]?.input).toMatchObject({
      recoveryPointId: p.id,
      instanceName: 'orders',
    });
    expect((await api.call('POST', 'backupInstances/orders/recoveryPoints/nope/verify')).status).toBe(404);
  });
});

describe('restore-test evidence', () => {
  it('shows the latest test on the recovery point (get and list) and every test in the instance history', async () => {
    const api = await apiWithInstance();
    const p = samplePoint('orders', '2026-03-09T02:00:00.000Z', 'j1');
    await api.stores.recoveryPoints.create({ ...p, restoreTest: result({ recoveryPointId: p.id }) });
    await api.restoreTests.history.put(
      'orders',
      result({ jobId: 'older', time: '2026-03-01T00:00:00.000Z', status: 'Failed' }),
    );
    await api.restoreTests.history.put('orders', result({ recoveryPointId: p.id }));
    const got = await api.call('GET', `backupInstances/orders/recoveryPoints/${p.id}`);
    expect(got.jsonBody).toMatchObject({ properties: { restoreTest: { status: 'Passed', tables: 4 } } });
    const list = await api.call('GET', 'backupInstances/orders/recoveryPoints');
    expect(list.jsonBody).toMatchObject({ value: [{ properties: { restoreTest: { jobId: 't1' } } }] });
    const history = await api.call('GET', 'backupInstances/orders/restoreTests');
    expect((history.jsonBody as { value: { name: string }[] }).value.map((v) => v.name)).toEqual(['t1', 'older']);
    expect((await api.call('GET', 'backupInstances/nobody/restoreTests')).status).toBe(404);
  });
});
