// Health over the API with the fake stores: properties.health on instances (read with one jobs query for any number
// of instances), and GET /api/health — 503 when something is Critical, details for Readers only.
import { describe, expect, it } from 'vitest';
import { samplePoint } from '../../contract/stores.contract';
import { apiWithInstance, instanceBody, NOW } from './api-support';

// default-weekly: Sundays 02:00 UTC; NOW is Tuesday 2026-03-10 12:00, so the latest slot was 2026-03-08 02:00.
const SLOT_POINT = '2026-03-08T02:01:00.000Z'; // a minute after the slot of 2026-03-08 02:00
const reader = {
  'x-ms-client-principal': Buffer.from(JSON.stringify({ claims: [{ typ: 'roles', val: 'Reader' }] })).toString(
    'base64',
  ),
};

/** The instance `orders`, protected since February: its slot of 2026-03-08 is owed. */
async function owedApi() {
  const api = await apiWithInstance();
  const stored = await api.stores.instances.get('orders');
  await api.stores.instances.update(
    { ...stored!.value, protectedSince: '2026-02-01T00:00:00.000Z', lastScheduledSlot: '2026-02-01T00:00:00.000Z' },
    stored!.etag,
  );
  return api;
}

describe('properties.health of backup instances', () => {
  it('is Unknown for a new instance whose first slot is not due', async () => {
    const api = await apiWithInstance();
    const res = await api.call('GET', 'backupInstances/orders');
    expect(res.jsonBody).toMatchObject({
      properties: { health: { status: 'Unknown', reasons: [{ code: 'FirstBackupNotDue' }], evaluatedAt: NOW } },
    });
  });

  it('is Critical when an owed slot passed with no recovery point at all, Healthy once the slot produced one', async () => {
    const api = await owedApi();
    const critical = await api.call('GET', 'backupInstances');
    expect(critical.jsonBody).toMatchObject({
      value: [{ name: 'orders', properties: { health: { status: 'Critical' } } }],
    });
    await api.stores.recoveryPoints.create(samplePoint('orders', SLOT_POINT));
    const healthy = await api.call('GET', 'backupInstances/orders');
    expect(healthy.jsonBody).toMatchObject({ properties: { health: { status: 'Healthy', reasons: [] } } });
  });

  it('reads the jobs once for the whole list, however many instances there are', async () => {
    const api = await apiWithInstance();
    for (let i = 0; i < 30; i++) {
      const res = await api.call(
        'PUT',
        `backupInstances/db${i}`,
        instanceBody({ resourceID: `local/db${i}`, resourceName: `db${i}` }),
      );
      expect(res.status).toBe(201);
    }
    let queries = 0;
    const list = api.deps.jobs.list.bind(api.deps.jobs);
    Object.assign(api.deps.jobs, { list: (f: Parameters<typeof list>[0]) => (queries++, list(f)) });
    const res = await api.call('GET', 'backupInstances');
    expect((res.jsonBody as { value: unknown[] }).value).toHaveLength(31);
    expect(queries).toBe(1);
  });
});

describe('GET /health', () => {
  it('answers 503 with the overall status only to an anonymous caller when roles are enforced', async () => {
    const api = await owedApi();
    api.state.enforceCallerRoles = true;
    const res = await api.call('GET', 'health');
    expect(res.status).toBe(503);
    expect(res.jsonBody).toEqual({ status: 'Critical', time: NOW });
  });

  it('shows a Reader the counts, the instances that are not Healthy and the last timer runs', async () => {
    const api = await owedApi();
    api.state.enforceCallerRoles = true;
    await api.alertStores.health.recordRun('scheduler', '2026-03-10T11:55:00.000Z');
    const res = await api.call('GET', 'health', undefined, { headers: reader });
    expect(res.status).toBe(503);
    expect(res.jsonBody).toMatchObject({
      status: 'Critical',
      time: NOW,
      counts: { Healthy: 0, Warning: 0, Critical: 1, Unknown: 0 },
      instances: [{ name: 'orders', health: { status: 'Critical' } }],
      lastSchedulerRun: '2026-03-10T11:55:00.000Z',
      lastExpiryRun: null,
    });
  });

  it('answers 200 when nothing is Critical, listing no Healthy instance', async () => {
    const api = await owedApi();
    await api.stores.recoveryPoints.create(samplePoint('orders', SLOT_POINT));
    const res = await api.call('GET', 'health');
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ status: 'Healthy', counts: { Healthy: 1 }, instances: [] });
  });

  it('keeps liveness apart: always 200', async () => {
    const api = await owedApi();
    const res = await api.call('GET', 'health/live');
    expect(res.status).toBe(200);
    expect(res.jsonBody).toEqual({ status: 'Alive', time: NOW });
  });
});
