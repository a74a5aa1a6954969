// Job and recovery point routes over the fake stores: filters, the 7-day default window, progress, manifests.
import { describe, expect, it } from 'vitest';
import { sampleJob, samplePoint } from '../../contract/stores.contract';
import { apiWithInstance, createApi, NOW, targets, VAULT } from './api-support';

const daysAgo = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();
const names = (body: unknown) => (body as { value: { name: string }[] }).value.map((v) => v.name);

describe('GET /backupJobs', () => {
  it('lists the last 7 days by default, newest first', async () => {
    const api = createApi();
    await api.stores.jobs.create(sampleJob('old', daysAgo(8)));
    await api.stores.jobs.create(sampleJob('recent', daysAgo(6)));
    await api.stores.jobs.create(sampleJob('today', daysAgo(0.5)));
    const res = await api.call('GET', 'backupJobs');
    expect(res.status).toBe(200);
    expect(names(res.jsonBody)).toEqual(['today', 'recent']);
    expect(names((await api.call('GET', `backupJobs?from=${daysAgo(30)}`)).jsonBody)).toEqual([
      'today',
      'recent',
      'old',
    ]);
    // A window that ends in the past still spans 7 days back from its end.
    expect(names((await api.call('GET', `backupJobs?to=${daysAgo(7)}`)).jsonBody)).toEqual(['old']);
  });

  it('filters by instance, operation and status', async () => {
    const api = createApi();
    await api.stores.jobs.create(sampleJob('a', daysAgo(1), { status: 'Succeeded' }));
    await api.stores.jobs.create(sampleJob('b', daysAgo(2), { status: 'Failed', backupInstance: 'other' }));
    await api.stores.jobs.create(sampleJob('c', daysAgo(3), { status: 'Failed', operation: 'Restore' }));
    const q = async (query: string) => names((await api.call('GET', `backupJobs?${query}`)).jsonBody);
    expect(await q('backupInstance=orders')).toEqual(['a', 'c']);
    expect(await q('status=Failed')).toEqual(['b', 'c']);
    expect(await q('operation=Backup&status=Failed')).toEqual(['b']);
  });

  it('names each bad query parameter by JSON path', async () => {
    const res = await createApi().call('GET', 'backupJobs?operation=Dance&from=2026-01-01&status=Done');
    expect(res.status).toBe(400);
    expect(targets(res.error).sort()).toEqual(['$.from', '$.operation', '$.status']);
  });
});

describe('GET /backupJobs/{id}', () => {
  it('shows one job with progress, duration and error, and 404 for an unknown id', async () => {
    const api = createApi();
    await api.stores.jobs.create(
      sampleJob('j1', daysAgo(0.01), {
        status: 'Failed',
        endTime: NOW,
        progress: { bytes: 4096 },
        error: { code: 'SystemErrorDumpFailed', message: 'pg_dump failed', hint: 'retry' },
      }),
    );
    const res = await api.call('GET', 'backupJobs/j1');
    expect(res.jsonBody).toMatchObject({
      id: `${VAULT}/backupJobs/j1`,
      name: 'j1',
      properties: {
        status: 'Failed',
        progress: { bytes: 4096 },
        duration: 'PT14M24S',
        error: { code: 'SystemErrorDumpFailed' },
        isUserTriggered: false,
      },
    });
    const missing = await api.call('GET', 'backupJobs/nope');
    expect(missing.status).toBe(404);
    expect(missing.error.code).toBe('UserErrorNotFound');
  });
});

describe('recovery points', () => {
  it('lists Available points newest first, bounded by from/to', async () => {
    const api = await apiWithInstance();
    const old = samplePoint('orders', daysAgo(20), 'p1');
    const mid = samplePoint('orders', daysAgo(10), 'p2');
    const gone = samplePoint('orders', daysAgo(5), 'p3', { status: 'Deleted' });
    const recent = samplePoint('orders', daysAgo(1), 'p4');
    for (const p of [old, mid, gone, recent]) await api.stores.recoveryPoints.create(p);
    const list = await api.call('GET', 'backupInstances/orders/recoveryPoints');
    expect(names(list.jsonBody)).toEqual([recent.id, mid.id, old.id]);
    const bounded = await api.call('GET', `backupInstances/orders/recoveryPoints?from=${daysAgo(15)}&to=${daysAgo(2)}`);
    expect(names(bounded.jsonBody)).toEqual([mid.id]);
    expect((await api.call('GET', 'backupInstances/orders/recoveryPoints?from=soon')).status).toBe(400);
    expect((await api.call('GET', 'backupInstances/nope/recoveryPoints')).status).toBe(404);
  });

  it('gets one point with its size, SHA-256, tag and manifest; 404 for a missing or deleted one', async () => {
    const api = await apiWithInstance();
    const point = samplePoint('orders', daysAgo(1), 'p1', { tag: 'Weekly' });
    const gone = samplePoint('orders', daysAgo(2), 'p2', { status: 'Deleted' });
    await api.stores.recoveryPoints.create(point);
    await api.stores.recoveryPoints.create(gone);
    api.state.manifests.set(`orders/${point.id}`, { sha256: point.sha256, tocEntries: 42 });
    const res = await api.call('GET', `backupInstances/orders/recoveryPoints/${point.id}`);
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({
      name: point.id,
      type: 'Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints',
      properties: {
        objectType: 'AzureBackupDiscreteRecoveryPoint',
        retentionTagName: 'Weekly',
        sizeInBytes: point.bytes,
        sha256: point.sha256,
        manifest: { tocEntries: 42 },
        recoveryPointDataStoresDetails: [{ type: 'VaultStore' }],
      },
    });
    expect((await api.call('GET', `backupInstances/orders/recoveryPoints/${gone.id}`)).status).toBe(404);
    expect((await api.call('GET', 'backupInstances/orders/recoveryPoints/0000000000000-x')).status).toBe(404);
  });
});
