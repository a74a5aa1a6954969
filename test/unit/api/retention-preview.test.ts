// The retention preview route and the DELETE of a stopped instance, over the fake stores.
import { describe, expect, it } from 'vitest';
import { runHandler } from '../../../shared/api/http';
import type { ApiRequest } from '../../../shared/contracts/http';
import type { ApiDeps } from '../../../shared/api/deps';
import { instanceRoutes } from '../../../shared/api/instances';
import { recoveryPointRoutes } from '../../../shared/api/recovery-points';
import { retentionPreviewRoutes } from '../../../shared/api/retention-preview';
import { planRetention } from '../../../shared/domain/retention';
import { protectionOf, toPointView } from '../../../shared/activities/expiry';
import { createFakeStores } from '../../support/fake-stores';
import { fixtureDocument, fixturePolicy } from '../../contract/expiry-support';
import { sampleInstance, samplePoint } from '../../contract/stores.contract';

const now = '2025-04-20T00:00:00.000Z';

function request(params: Record<string, string>, query = ''): ApiRequest {
  return {
    method: 'GET',
    params,
    query: new URLSearchParams(query),
    headers: { get: () => null },
    url: `http://localhost/api/x?${query}`,
  };
}

async function setup(instanceExtra = {}) {
  const stores = createFakeStores();
  const deps = {
    vaultId: '/vault',
    ...stores,
    clock: { now: () => new Date(now) },
    newId: () => 'id1',
    alerts: { missedSlotGraceMs: 30 * 60_000 },
  } as unknown as ApiDeps;
  await stores.policies.create({ name: 'gfs', document: fixtureDocument('gfs-ten-years.json'), createdAt: now });
  const instance = sampleInstance('orders', '/subscriptions/x/db/orders', { policyName: 'gfs', ...instanceExtra });
  await stores.instances.create(instance);
  const points = [
    samplePoint('orders', '2025-01-05T00:30:00.000Z', 'm1', { tag: 'Monthly' }),
    samplePoint('orders', '2025-01-06T00:30:00.000Z', 'd1'),
    samplePoint('orders', '2025-04-19T23:30:00.000Z', 'd2'),
  ].map((p) => ({ ...p, policyName: 'gfs' }));
  for (const p of points) await stores.recoveryPoints.create(p);
  return { stores, deps, points };
}

const call = (run: () => Promise<{ status: number; jsonBody?: unknown }>) =>
  runHandler(() => run(), request({}), { error: () => undefined });

describe('retentionPreview', () => {
  it('shows each point with its tag, tier, dates and what expiry would do at asOf, newest first', async () => {
    const { deps, points } = await setup();
    const res = await call(() => retentionPreviewRoutes(deps).preview(request({ name: 'orders' }, `asOf=${now}`)));
    expect(res.status).toBe(200);
    const body = res.jsonBody as { asOf: string; value: Record<string, unknown>[] };
    expect(body.asOf).toBe(now);
    expect(body.value.map((v) => v.recoveryPointId)).toEqual([points[2]!.id, points[1]!.id, points[0]!.id]);
    // Months are added on the policy's local calendar (W. Europe): 01:30 CET in January is 01:30 CEST in April.
    expect(body.value[2]).toMatchObject({
      retentionTagName: 'Monthly',
      dataStore: 'VaultStore',
      movesToArchiveAt: '2025-04-04T23:30:00.000Z',
      deleteAt: '2027-04-04T23:30:00.000Z',
      floorProtected: false,
      actionsAtAsOf: [{ kind: 'moveToArchive', due: '2025-04-04T23:30:00.000Z' }],
    });
    expect(body.value[1]).toMatchObject({
      retentionTagName: 'Default',
      deleteAt: '2025-01-20T00:30:00.000Z',
      actionsAtAsOf: [{ kind: 'delete', due: '2025-01-20T00:30:00.000Z', reason: 'expired' }],
    });
    expect(body.value[0]).toMatchObject({ floorProtected: true, actionsAtAsOf: [] });
    expect(body.value[1]).not.toHaveProperty('movesToArchiveAt');
  });

  it('announces exactly the actions the expiry planner takes at the same instant', async () => {
    const { deps, stores } = await setup();
    const asOf = '2025-06-01T00:00:00.000Z';
    const res = await call(() => retentionPreviewRoutes(deps).preview(request({ name: 'orders' }, `asOf=${asOf}`)));
    const previewed = (
      res.jsonBody as { value: { actionsAtAsOf: { kind: string }[]; recoveryPointId: string }[] }
    ).value
      .flatMap((v) => v.actionsAtAsOf.map((a) => `${a.kind}:${v.recoveryPointId}`))
      .sort();
    const rows = [];
    for await (const { value } of stores.recoveryPoints.list('orders')) rows.push(toPointView(value));
    const instance = (await stores.instances.get('orders'))!.value;
    const planned = planRetention(rows, fixturePolicy('gfs-ten-years.json'), asOf, protectionOf(instance))
      .map((a) => `${a.kind}:${a.pointId}`)
      .sort();
    expect(previewed).toEqual(planned);
    expect(previewed.length).toBeGreaterThan(0);
  });

  it('answers 400 naming asOf when it is not an ISO 8601 instant with a zone', async () => {
    const { deps } = await setup();
    const res = await call(() =>
      retentionPreviewRoutes(deps).preview(request({ name: 'orders' }, 'asOf=2025-13-01T00:00:00')),
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.jsonBody)).toContain('asOf');
  });

  it('answers 404 for an unknown instance', async () => {
    const { deps } = await setup();
    const res = await call(() => retentionPreviewRoutes(deps).preview(request({ name: 'nope' })));
    expect(res.status).toBe(404);
  });
});

describe('DELETE backupInstances/{name}', () => {
  it('refuses a protected instance', async () => {
    const { deps } = await setup();
    const res = await call(() => instanceRoutes(deps).remove(request({ name: 'orders' })));
    expect(res.status).toBe(409);
  });

  it('marks a stopped instance deleted: hidden from get and list, name reserved, points still listed and previewed', async () => {
    const { deps, stores } = await setup({ protectionState: 'ProtectionStopped', deleteBackupDataOnStop: false });
    expect((await call(() => instanceRoutes(deps).remove(request({ name: 'orders' })))).status).toBe(200);
    expect((await stores.instances.get('orders'))?.value.deletedAt).toBe(now);
    expect((await call(() => instanceRoutes(deps).get(request({ name: 'orders' })))).status).toBe(404);
    const list = await call(() => instanceRoutes(deps).list());
    expect((list.jsonBody as { value: unknown[] }).value).toEqual([]);
    const put = await call(() =>
      instanceRoutes(deps).put({
        ...request({ name: 'orders' }),
        method: 'PUT',
        body: JSON.stringify({
          properties: {
            dataSourceInfo: {
              objectType: 'Datasource',
              datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
              resourceID: '/subscriptions/x/db/orders',
              resourceName: 'orders',
            },
            policyInfo: { policyId: 'gfs' },
            datasourceAuthCredentials: {
              objectType: 'SecretStoreBasedAuthCredentials',
              secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
            },
          },
        }),
      }),
    );
    expect(put.status).toBe(409);
    const points = await call(() => recoveryPointRoutes(deps).list(request({ name: 'orders' })));
    expect((points.jsonBody as { value: unknown[] }).value).toHaveLength(3);
    const preview = await call(() => retentionPreviewRoutes(deps).preview(request({ name: 'orders' })));
    expect(preview.jsonBody).toMatchObject({ protection: 'Stopped' });
    // A second DELETE is a no-op.
    expect((await call(() => instanceRoutes(deps).remove(request({ name: 'orders' })))).status).toBe(204);
  });
});
