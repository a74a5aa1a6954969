// Runs the state-store contract against the Table Storage adapters on Azurite and against the in-memory fakes, and
// the vault blob store contract against Azurite.
import { createHash, randomBytes } from 'node:crypto';
import { createHttpHeaders, type PipelineRequest } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config';
import { createStores, tableStateStores, vaultConnection } from '../../shared/adapters/storage/stores';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { createSlotLedger } from '../../shared/adapters/storage/tables/scheduled-slots';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import { createFakeStores } from '../support/fake-stores';
import { azuriteConnectionString, startAzurite, type AzuriteInstance } from '../support/azurite';
import { describeStateStoreContract, describeVaultBlobContract, sampleInstance, samplePolicy } from './stores.contract';

/** A fresh name per test, so every test starts from empty tables / an empty container. */
const unique = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

describe('on Azurite', () => {
  let azurite: AzuriteInstance | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  const connection = () => {
    if (!azurite) throw new Error('azurite did not start');
    return { kind: 'connectionString', connectionString: azurite.connectionString } as const;
  };

  describeStateStoreContract('Table Storage', (clock) => {
    const tables = createTableProvider(connection(), unique('t'));
    return Promise.resolve(tableStateStores(tables, clock));
  });

  describeVaultBlobContract('Blob Storage', () => Promise.resolve(createVaultBlobStore(connection(), unique('c'))));

  describe("the scheduler's slot ledger", () => {
    it('records more rows than one transaction holds in one partition, and spreads names over partitions', async () => {
      const tables = createTableProvider(connection(), unique('t'));
      const ledger = createSlotLedger(tables);
      // 250 names whose SHA-256 starts with a byte ≡ 0 (mod 16): all in one bucket, so three transactions there.
      const sameBucket: string[] = [];
      for (let i = 0; sameBucket.length < 250; i++) {
        if (createHash('sha256').update(`db${i}`).digest()[0]! % 16 === 0) sameBucket.push(`db${i}`);
      }
      const others = Array.from({ length: 50 }, (_, i) => `other-${i}`);
      const slot = '2026-01-04T02:00:00.000Z';
      expect(
        await ledger.record(
          'slot',
          [...sameBucket, ...others].map((name) => ({ name, slot })),
        ),
      ).toEqual([]);
      const all = await ledger.all();
      expect(all.size).toBe(300);
      expect([...all.values()].every((e) => e.slot === slot && e.pending === undefined)).toBe(true);
      const table = await tables.table('scheduledSlots');
      const partitions = new Set<string>();
      for await (const row of table.listEntities()) partitions.add(row.partitionKey!);
      expect(partitions.size).toBeGreaterThan(8);
    });
  });

  describe('createStores', () => {
    it('builds every store on VAULT_STORAGE, with tables named by TABLE_PREFIX and blobs in BACKUP_CONTAINER', async () => {
      const { connectionString } = connection();
      const prefix = unique('p');
      const container = unique('c');
      const stores = createStores(
        loadConfig({ VAULT_STORAGE: connectionString, TABLE_PREFIX: prefix, BACKUP_CONTAINER: container }),
      );
      await stores.policies.create(samplePolicy('weekly'));
      await stores.blobs.putJson('orders/p1/manifest.json', { ok: true });
      const table = TableClient.fromConnectionString(connectionString, `${prefix}backupPolicies`, {
        allowInsecureConnection: true,
      });
      expect((await table.getEntity('policy', 'weekly'))['name']).toBe('weekly');
      const blob = BlobServiceClient.fromConnectionString(connectionString)
        .getContainerClient(container)
        .getBlobClient('orders/p1/manifest.json');
      expect(await blob.exists()).toBe(true);
    });
  });
});

describe('vaultConnection', () => {
  const none = { VAULT_STORAGE: '', VAULT_STORAGE__accountName: '', AzureWebJobsStorage: '' };

  it('prefers VAULT_STORAGE, then VAULT_STORAGE__accountName, then AzureWebJobsStorage', () => {
    const all = { VAULT_STORAGE: 'vault-cs', VAULT_STORAGE__accountName: 'vaultacct', AzureWebJobsStorage: 'host-cs' };
    expect(vaultConnection(all)).toEqual({ kind: 'connectionString', connectionString: 'vault-cs' });
    expect(vaultConnection({ ...all, VAULT_STORAGE: '' })).toEqual({ kind: 'identity', accountName: 'vaultacct' });
    expect(vaultConnection({ ...none, AzureWebJobsStorage: 'host-cs' })).toEqual({
      kind: 'connectionString',
      connectionString: 'host-cs',
    });
  });

  it('refuses to build stores without any storage setting, naming VAULT_STORAGE', () => {
    expect(() => vaultConnection(none)).toThrow(
      expect.objectContaining({ code: 'UserErrorInvalidRequest', target: 'VAULT_STORAGE' }),
    );
  });
});

describe('Table store error mapping', () => {
  /** The real TableClient over an httpClient that creates tables but answers every other request with `status`. */
  function failingStores(status: number) {
    const httpClient = {
      sendRequest: (request: PipelineRequest) =>
        Promise.resolve({
          request,
          status: request.method === 'POST' && /\/Tables$/.test(new URL(request.url).pathname) ? 204 : status,
          headers: createHttpHeaders({ 'content-type': 'application/json;odata=minimalmetadata' }),
          bodyAsText: JSON.stringify({ 'odata.error': { code: 'ServerBusy', message: { value: 'busy' } } }),
        }),
    };
    const tables = createTableProvider(
      { kind: 'connectionString', connectionString: azuriteConnectionString(1, 2, 3) },
      unique('e'),
      { httpClient, retryOptions: { maxRetries: 0 } },
    );
    const { policies, instances } = tableStateStores(tables);
    return { policies, instances };
  }

  it('rethrows service errors other than the expected 404 and 409 instead of reporting absence or conflict', async () => {
    const { policies, instances } = failingStores(503);
    await expect(policies.get('weekly')).rejects.toMatchObject({ statusCode: 503 });
    await expect(policies.delete('weekly')).rejects.toMatchObject({ statusCode: 503 });
    await expect(policies.create(samplePolicy('weekly'))).rejects.toMatchObject({ statusCode: 503 });
    await expect(instances.create(sampleInstance('orders', 'rid'))).rejects.toMatchObject({ statusCode: 503 });
  });

  it('treats 404 on get and delete as absence', async () => {
    const { policies } = failingStores(404);
    expect(await policies.get('weekly')).toBeUndefined();
    await policies.delete('weekly');
  });
});

describeStateStoreContract('in-memory fakes', (clock) => Promise.resolve(createFakeStores(clock)));
