// The retention preview and the expiry timer under devhost: the preview announces what is due, the timer's
// expiry orchestration (the real Durable engine, the real activities) does exactly that, and the Expiry job says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateStores } from '../../shared/adapters/storage/stores';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import { loadConfig } from '../../shared/config';
import { parsePolicy } from '../../shared/domain/policy';
import type { StateStores } from '../../shared/adapters/storage/stores';
import type { VaultBlobStore } from '../../shared/ports';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { writePoint } from '../contract/expiry-support';
import { sampleInstance } from '../contract/stores.contract';
import { apiClient, BACKUP_CONTAINER, fixturePolicy, pollUntil, repoRoot, type ApiClient } from './backup-support';

const dayMs = 86_400_000;

interface PreviewEntry {
  recoveryPointId: string;
  dataStore: string;
  floorProtected: boolean;
  actionsAtAsOf: { kind: string }[];
}
interface ExpiryJob {
  properties: { status: string; extendedInfo?: { deleted?: number } };
}
const listOf = <T>(body: unknown): T[] => (body as { value?: T[] } | undefined)?.value ?? [];
let dh: DevhostInstance | undefined;
let api: ApiClient;
let stores: StateStores;
let blobs: VaultBlobStore;

beforeAll(async () => {
  // A schedule that will not fire during the test (noon on 1 January): the run is started through the admin
  // endpoint once the points exist, so a tick cannot land between writing them and reading the preview.
  dh = await startDevhost({ appRoot: repoRoot, env: { EXPIRY_SCHEDULE: '0 0 12 1 1 *' } });
  api = apiClient(dh);
  const config = loadConfig({ VAULT_STORAGE: dh.storage.connectionString });
  stores = createStateStores(config);
  blobs = createVaultBlobStore(
    { kind: 'connectionString', connectionString: dh.storage.connectionString },
    BACKUP_CONTAINER,
  );
}, 180_000);

afterAll(async () => {
  await dh?.stop();
});

describe('retentionPreview and the expiry timer under devhost', () => {
  it('previews what is due, and the timer-started expiry run then does exactly that', async () => {
    const document = fixturePolicy('gfs-ten-years.json');
    expect((await api.call('PUT', 'backupPolicies/gfs', document)).status).toBe(201);
    const parsed = parsePolicy({ ...document, name: 'gfs' });
    if (!parsed.ok) throw new Error('fixture does not parse');
    // Points as backups would have committed them; the instance row as PUT would have (readiness is not the subject).
    await stores.instances.create(sampleInstance('orders', '/subscriptions/e2e/db/orders', { policyName: 'gfs' }));
    const base = { instanceName: 'orders', policy: parsed.value, policyName: 'gfs' };
    const ago = (days: number) => new Date(Date.now() - days * dayMs).toISOString();
    const expired = await writePoint(stores, blobs, { ...base, time: ago(20), tag: 'Default' });
    const monthly = await writePoint(stores, blobs, { ...base, time: ago(120), tag: 'Monthly' });
    const recent = await writePoint(stores, blobs, { ...base, time: ago(1), tag: 'Default' });

    const asOf = new Date(Date.now() + 60_000).toISOString();
    const preview = await api.call('GET', `backupInstances/orders/retentionPreview?asOf=${asOf}`);
    expect(preview.status).toBe(200);
    const byId = new Map(listOf<PreviewEntry>(preview.body).map((v) => [v.recoveryPointId, v]));
    expect(byId.get(expired.id)?.actionsAtAsOf.map((a) => a.kind)).toEqual(['delete']);
    expect(byId.get(monthly.id)?.actionsAtAsOf.map((a) => a.kind)).toEqual(['moveToArchive']);
    expect(byId.get(recent.id)).toMatchObject({ floorProtected: true, actionsAtAsOf: [] });

    const bad = await api.call('GET', 'backupInstances/orders/retentionPreview?asOf=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('asOf');

    // Fire the expiry timer now, as the host's admin API does; then wait for the run to end.
    const fired = await fetch(`${dh!.baseUrl}/admin/functions/expiryTimer`, { method: 'POST', body: '{"input":""}' });
    expect(fired.status).toBe(202);
    const job = await pollUntil(
      async () => listOf<ExpiryJob>((await api.call('GET', 'backupJobs?operation=Expiry')).body),
      (jobs) => jobs.some((j) => j.properties.status !== 'InProgress' && j.properties.extendedInfo?.deleted === 1),
      60_000,
      'an Expiry job that deleted the expired point',
    );
    const done = job.find((j) => j.properties.extendedInfo?.deleted === 1)!;
    expect(done.properties).toMatchObject({
      status: 'Succeeded',
      backupInstance: '*',
      extendedInfo: { deleted: 1, moved: 1, failures: 0 },
    });

    const after = await api.call('GET', `backupInstances/orders/retentionPreview?asOf=${asOf}`);
    expect(
      listOf<PreviewEntry>(after.body).map((v) => [v.recoveryPointId, v.dataStore, v.actionsAtAsOf.length]),
    ).toEqual([
      [recent.id, 'VaultStore', 0],
      [monthly.id, 'ArchiveStore', 0],
    ]);
    expect(await blobs.info(expired.blobName)).toBeUndefined();
    expect((await blobs.info(monthly.blobName))?.tier).toBe('Archive');
  }, 120_000);
});
