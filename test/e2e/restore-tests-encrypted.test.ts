// Restore tests and verify of an envelope-encrypted point under devhost (issues 16 and 17): the manifest of contents
// is computed on the plain pg_dump stream before zstd and encryption, a restore test decrypts through the vault's
// keyring and compares table by table, verify decrypts to read the archive's TOC, and the integrity evidence says
// that its SHA-256 covers the stored (compressed, then encrypted) bytes; a point whose key left the keyring fails both
// with the key's error and leaves no scratch database.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument -- response bodies are checked by the assertions, not by types */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEnded } from './backup-support';
import { startRestoreTestEnv, type RestoreTestEnv } from './restore-test-e2e-support';

let env: RestoreTestEnv;
let pointId: string;
const keyring = { current: 'k1', keys: { k1: randomBytes(32).toString('base64') } };

beforeAll(async () => {
  env = await startRestoreTestEnv({ rows: 3_000, env: { BACKUP_KEYRING: JSON.stringify(keyring) } });
  pointId = await env.backup('orders');
}, 300_000);

afterAll(async () => {
  await env?.stop();
});

const pointOf = async (id: string) =>
  (await env.api.call('GET', `backupInstances/orders/recoveryPoints/${id}`)).body.properties;

/** The stored blob of the point, and the SHA-256 this test computes of it on its own. */
async function storedBlob(point: { manifest: { jobId: string } }) {
  const bytes = await env.blobs.getBlockBlobClient(`orders/${point.manifest.jobId}/dump.pgdump.zst`).downloadToBuffer();
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('an encrypted recovery point', () => {
  it('is stored encrypted, with a manifest of contents of its plain archive', async () => {
    const point = await pointOf(pointId);
    expect(point.encryptionKeyId).toBe('k1');
    const blob = await storedBlob(point);
    expect(blob.bytes.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
    // The GET of one point carries its manifest as stored.
    const manifest = point.manifest;
    expect(manifest.sha256).toBe(blob.sha256);
    expect(manifest.sha256Covers).toBe('StoredBlob');
    expect(manifest.encryption).toMatchObject({ algorithm: 'AES-256-GCM', format: 'PGKEEPE1' });
    // Read from the archive as pg_dump wrote it: the encrypted bytes have no tables to find.
    expect(manifest.contents?.tables?.length).toBe(4);
  });

  it('passes a restore test: decrypted through the keyring, restored, compared table by table', async () => {
    const put = await env.putPlan('encrypted', {
      backupInstances: ['orders'],
      assertions: { orders: ['SELECT count(*) > 0 FROM events'] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const [job] = await env.run('encrypted');
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const point = await pointOf(pointId);
    const blob = await storedBlob(point);
    expect(point.restoreTest).toMatchObject({
      status: 'Passed',
      contentsChecked: true,
      tables: 4,
      mismatches: [],
      assertions: [{ passed: true }],
      integrity: {
        sha256: blob.sha256,
        bytes: blob.bytes.length,
        covers: 'StoredBlob',
        storedAs: 'zstd+AES-256-GCM',
        encryptionKeyId: 'k1',
      },
    });
    expect(point.restoreTest.rowsCompared).toBeGreaterThan(3_000);
    expect(await env.scratchDatabases()).toEqual([]);
  });

  it('passes verify: SHA-256 of the stored bytes, then the TOC of the decrypted archive', async () => {
    const r = await env.api.call('POST', `backupInstances/orders/recoveryPoints/${pointId}/verify`);
    expect(r.status, r.text).toBe(202);
    const job = (await jobEnded(env.api, r.body.name as string)).body;
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const point = await pointOf(pointId);
    expect(job.properties.extendedInfo.tocEntries).toBe(point.manifest.tocEntries);
    expect(job.properties.extendedInfo.integrity).toEqual({
      sha256: (await storedBlob(point)).sha256,
      bytes: point.sizeInBytes,
      covers: 'StoredBlob',
      storedAs: 'zstd+AES-256-GCM',
      encryptionKeyId: 'k1',
    });
  });

  it('fails the test and verify with UserErrorEncryptionKeyNotFound when its key left the keyring, leaving nothing', async () => {
    const point = await pointOf(pointId);
    const manifestBlob = env.blobs.getBlockBlobClient(`orders/${point.manifest.jobId}/manifest.json`);
    const original = (await manifestBlob.downloadToBuffer()).toString('utf8');
    // As if the entry that wrapped its data key had been retired without a rewrap.
    const retired = JSON.parse(original);
    retired.encryption.keyId = 'k0';
    await manifestBlob.upload(JSON.stringify(retired), Buffer.byteLength(JSON.stringify(retired)));
    try {
      const [job] = await env.run('encrypted');
      expect(job.properties.status).toBe('Failed');
      expect(job.properties.error.code).toBe('UserErrorEncryptionKeyNotFound');
      expect(job.properties.error.message).toContain('k0');
      expect((await pointOf(pointId)).restoreTest).toMatchObject({
        status: 'Failed',
        error: { code: 'UserErrorEncryptionKeyNotFound' },
      });
      expect(await env.scratchDatabases()).toEqual([]);
      const r = await env.api.call('POST', `backupInstances/orders/recoveryPoints/${pointId}/verify`);
      const verified = (await jobEnded(env.api, r.body.name as string)).body;
      expect(verified.properties.status).toBe('Failed');
      expect(verified.properties.error.code).toBe('UserErrorEncryptionKeyNotFound');
      expect(JSON.stringify(verified)).not.toContain(keyring.keys.k1);
    } finally {
      await manifestBlob.upload(original, Buffer.byteLength(original));
    }
  });
});
