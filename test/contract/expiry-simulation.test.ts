// Ten years of the GFS fixture under a fixed clock: every scheduled backup written as a real row and tiny real blobs
// in Azurite, the expiry activity applied every simulated week; at each yearly checkpoint the surviving points, their
// tags and tiers equal what `pgkeep policy simulate` (simulateRetention) says for the same window.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateStores } from '../../shared/adapters/storage/stores';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import { occurrences } from '../../shared/domain/schedule';
import { simulateRetention } from '../../shared/domain/simulation';
import { tagForBackup, type TaggedPoint } from '../../shared/domain/tagging';
import { loadConfig } from '../../shared/config';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { sampleInstance } from './stores.contract';
import {
  activitiesOver,
  expiryDeps,
  fixtureDocument,
  fixturePolicy,
  manualClock,
  rowsOf,
  writePoint,
} from './expiry-support';

const weekMs = 7 * 86_400_000;
const from = '2024-01-01T00:00:00.000Z';
const weeks = 522; // ten years and a few days

let azurite: AzuriteInstance | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

describe('expiry over ten simulated years', () => {
  it('keeps exactly the points, tags and tiers `policy simulate` predicts, with no blob left dangling', async () => {
    if (!azurite) throw new Error('azurite did not start');
    const config = loadConfig({
      VAULT_STORAGE: azurite.connectionString,
      TABLE_PREFIX: `sim${randomBytes(4).toString('hex')}`,
    });
    const clock = manualClock(from);
    const stores = createStateStores(config, { clock });
    const blobs = createVaultBlobStore(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      `sim${randomBytes(4).toString('hex')}`,
    );
    const policy = fixturePolicy('gfs-ten-years.json');
    await stores.policies.create({ name: 'gfs', document: fixtureDocument('gfs-ten-years.json'), createdAt: from });
    await stores.instances.create(sampleInstance('orders', '/subscriptions/s/db/orders', { policyName: 'gfs' }));
    const expiry = activitiesOver(expiryDeps(stores, blobs, clock));

    let checkpoints = 0;
    for (let week = 0; week < weeks; week++) {
      const start = new Date(Date.parse(from) + week * weekMs).toISOString();
      const end = new Date(Date.parse(from) + (week + 1) * weekMs).toISOString();
      for (const time of occurrences(policy.schedule, start, end)) {
        clock.set(time);
        // Tagged as commitRecoveryPoint tags: against the rows that exist.
        const existing: TaggedPoint[] = (await rowsOf(stores.recoveryPoints, 'orders')).map((r) => ({
          time: r.time,
          tag: r.tag,
          trigger: r.trigger,
        }));
        const tag = tagForBackup(policy, time, existing, 'Scheduled');
        await writePoint(stores, blobs, { instanceName: 'orders', policy, policyName: 'gfs', time, tag });
      }
      clock.set(end);
      const result = await expiry.expireInstance({
        jobId: 'sim',
        instanceName: 'orders',
        nowUtc: end,
        sweepOrphans: true,
      });
      expect(result.failureCount, `failures in week ${week}`).toBe(0);
      expect(result.warningCount, `warnings in week ${week}`).toBe(0);

      if (week % 52 !== 51 && week !== weeks - 1) continue;
      checkpoints++;
      const rows = await rowsOf(stores.recoveryPoints, 'orders');
      expect(
        rows.map((r) => ({ time: r.time, tag: r.tag, dataStore: r.dataStore })),
        `checkpoint ${end}`,
      ).toEqual(simulateRetention(policy, from, end));
      expect(rows.every((r) => r.status === 'Available' && (r.dataStore === 'VaultStore') === !r.archivedAt)).toBe(
        true,
      );
      // Every blob belongs to a surviving row, every row has its blobs, and archived dumps are in the Archive tier.
      const tiers = new Map<string, string | undefined>();
      for await (const b of blobs.list('orders/')) tiers.set(b.name, b.tier);
      expect([...tiers.keys()].sort()).toEqual(rows.flatMap((r) => [r.blobName, r.manifestBlobName]).sort());
      for (const r of rows) {
        expect(tiers.get(r.blobName) === 'Archive', `tier of ${r.time}`).toBe(r.dataStore === 'ArchiveStore');
      }
    }
    expect(checkpoints).toBe(11);
    // Ten years on, the first backup of 2024 (Yearly: one year in the vault, nine in the archive) is still kept.
    const oldest = (await rowsOf(stores.recoveryPoints, 'orders'))[0];
    expect(oldest).toMatchObject({ tag: 'Yearly', dataStore: 'ArchiveStore' });
    expect(oldest?.time.startsWith('2024-01-0')).toBe(true);
  }, 180_000);
});
