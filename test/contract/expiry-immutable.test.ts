// Expiry against blobs the container's immutability policy still protects. Azurite 3.35 has no immutability ("Blob
// Immutability Policy and Legal Hold" and "Version Level Worm" are on its unsupported list), so a local stand-in sits
// in front of it: a proxy that answers a write or delete of a protected blob exactly as Azure does (409, error code
// BlobImmutableDueToPolicy, XML body) and forwards everything else to Azurite. The real SDK client, the real vault
// blob store and the real expiry activities run against it.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import type { InstanceRecord, VaultBlobStore } from '../../shared/ports';
import { createFakeStores } from '../support/fake-stores';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../support/azurite';
import { failureOf } from '../support/failures';
import { sampleInstance } from './stores.contract';
import {
  activitiesOver,
  blobNames,
  expiryDeps,
  fixtureDocument,
  fixturePolicy,
  manualClock,
  rowsOf,
  writePoint,
} from './expiry-support';

const policy = fixturePolicy('gfs-ten-years.json');
const t0 = '2025-01-06T00:30:00.000Z';
const now = '2025-04-20T00:00:00.000Z';

/** The immutability stand-in: blob names (container-relative) that Azure would refuse to delete or overwrite. */
let protectedBlobs: Set<string>;
let proxy: http.Server;
let azurite: AzuriteInstance;
let connectionString: string;

beforeAll(async () => {
  azurite = await startAzurite();
  protectedBlobs = new Set();
  proxy = http.createServer((req, res) => {
    // Path-style: /devstoreaccount1/<container>/<blob>
    const parts = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).split('/');
    const blob = parts.slice(3).join('/');
    const isBlobWrite = req.method === 'DELETE' || (req.method === 'PUT' && !/comp=|restype=/.test(req.url ?? ''));
    if (isBlobWrite && protectedBlobs.has(blob)) {
      req.resume();
      const body =
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobImmutableDueToPolicy</Code><Message>This operation is not permitted as the blob is immutable due to a policy.\nRequestId:00000000-0000-0000-0000-000000000000\nTime:2025-04-20T00:00:00.0000000Z</Message></Error>';
      res.writeHead(409, {
        'content-type': 'application/xml',
        'x-ms-error-code': 'BlobImmutableDueToPolicy',
        'x-ms-request-id': '00000000-0000-0000-0000-000000000000',
      });
      res.end(body);
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: azurite.blobPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  connectionString = azuriteConnectionString(port, azurite.queuePort, azurite.tablePort);
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await azurite?.stop();
});

function blobStore(): VaultBlobStore {
  return createVaultBlobStore({ kind: 'connectionString', connectionString }, `c${randomBytes(5).toString('hex')}`);
}

async function world() {
  const stores = createFakeStores();
  const blobs = blobStore();
  const clock = manualClock(now);
  await stores.policies.create({ name: 'gfs', document: fixtureDocument('gfs-ten-years.json'), createdAt: t0 });
  const instance: InstanceRecord = sampleInstance('orders', `/subscriptions/x/db/${randomBytes(4).toString('hex')}`, {
    policyName: 'gfs',
  });
  await stores.instances.create(instance);
  const base = { instanceName: 'orders', policy, policyName: 'gfs' };
  // An expired Default point and the newest one (the floor keeps the newest).
  const expired = await writePoint(stores, blobs, { ...base, time: t0, tag: 'Default' });
  await writePoint(stores, blobs, { ...base, time: '2025-04-19T23:30:00.000Z', tag: 'Default' });
  const expire = (sweepOrphans = false) =>
    activitiesOver(expiryDeps(stores, blobs, clock)).expireInstance({
      jobId: 'j',
      instanceName: 'orders',
      nowUtc: now,
      sweepOrphans,
    });
  return { stores, blobs, expired, expire };
}

describe('VaultBlobStore under an immutability policy', () => {
  it('refuses to delete or overwrite a protected blob with UserErrorBlobImmutable, naming it, and changes nothing', async () => {
    const blobs = blobStore();
    await blobs.putJson('orders/p/manifest.json', { v: 1 });
    protectedBlobs.add('orders/p/manifest.json');
    try {
      const deleting = await failureOf(blobs.delete('orders/p/manifest.json'));
      expect(deleting.code).toBe('UserErrorBlobImmutable');
      expect(deleting.message).toContain('orders/p/manifest.json');
      expect((await failureOf(blobs.putJson('orders/p/manifest.json', { v: 2 }))).code).toBe('UserErrorBlobImmutable');
      expect(await blobs.getJson('orders/p/manifest.json')).toEqual({ v: 1 });
    } finally {
      protectedBlobs.delete('orders/p/manifest.json');
    }
  });
});

describe('expireInstance with immutable blobs', () => {
  it('keeps a due point whose blobs are still immutable, restorable and listed as a warning, and deletes it once they are not', async () => {
    const w = await world();
    protectedBlobs.add(w.expired.blobName).add(w.expired.manifestBlobName);
    try {
      const first = await w.expire();
      expect(first).toMatchObject({ deleted: 0, failureCount: 0, warningCount: 1 });
      expect(first.warnings[0]).toMatchObject({ code: 'BlobImmutable', pointId: w.expired.id });
      expect(first.warnings[0]?.message).toContain('retried on a later run');
      const row = (await rowsOf(w.stores.recoveryPoints, 'orders')).find((p) => p.id === w.expired.id);
      // Nothing was deleted, so the mark was taken back: the point is whole and a restore may still read it.
      expect(row?.status).toBe('Available');
      expect(await w.blobs.info(w.expired.blobName)).toBeDefined();
    } finally {
      protectedBlobs.delete(w.expired.blobName);
      protectedBlobs.delete(w.expired.manifestBlobName);
    }
    // The retention period ended: the next run deletes it.
    expect(await w.expire()).toMatchObject({ deleted: 1, failureCount: 0, warningCount: 0 });
    expect((await rowsOf(w.stores.recoveryPoints, 'orders')).map((p) => p.id)).not.toContain(w.expired.id);
    expect(await blobNames(w.blobs, `orders/${w.expired.jobId}`)).toEqual([]);
  });

  it('keeps a half-deleted point marked Deleting (never a row without its blob reported as whole) and finishes it later', async () => {
    const w = await world();
    // The manifest was rewritten later than the dump (a rewrap): its retention ends later.
    protectedBlobs.add(w.expired.manifestBlobName);
    try {
      const first = await w.expire();
      expect(first).toMatchObject({ deleted: 0, failureCount: 0, warningCount: 1 });
      const row = (await rowsOf(w.stores.recoveryPoints, 'orders')).find((p) => p.id === w.expired.id);
      expect(row?.status).toBe('Deleting');
      expect(await w.blobs.info(w.expired.blobName)).toBeUndefined();
      expect(await w.blobs.info(w.expired.manifestBlobName)).toBeDefined();
      // Still protected on the next run: still kept, still tracked.
      expect(await w.expire()).toMatchObject({ deleted: 0, failureCount: 0, warningCount: 1 });
    } finally {
      protectedBlobs.delete(w.expired.manifestBlobName);
    }
    expect(await w.expire()).toMatchObject({ deleted: 1, failureCount: 0 });
    expect((await rowsOf(w.stores.recoveryPoints, 'orders')).map((p) => p.id)).not.toContain(w.expired.id);
  });

  it('leaves an immutable orphan to a later sweep as a warning, not a failure', async () => {
    const w = await world();
    const orphan = 'orders/crashed-job/dump.pgdump.zst';
    await w.blobs.putJson(orphan, {});
    protectedBlobs.add(orphan);
    // The orphan grace counts on the wall clock from the blob's real lastModified: three days on.
    const clock = manualClock(new Date(Date.now() + 72 * 3_600_000).toISOString());
    const sweep = () =>
      activitiesOver(expiryDeps(w.stores, w.blobs, clock)).expireInstance({
        jobId: 'j',
        instanceName: 'orders',
        nowUtc: now,
        sweepOrphans: true,
      });
    try {
      const result = await sweep();
      expect(result.failureCount).toBe(0);
      expect(result.warnings.map((f) => f.code)).toContain('BlobImmutable');
      expect(await w.blobs.info(orphan)).toBeDefined();
    } finally {
      protectedBlobs.delete(orphan);
    }
    expect((await sweep()).orphansDeleted).toBe(1);
  });
});
