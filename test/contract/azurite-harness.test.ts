import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '../support/azurite';

describe('startAzurite', () => {
  let azurite: AzuriteInstance;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('serves blob storage that round-trips a blob through the real SDK', async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('probe');
    await container.create();
    await container.getBlockBlobClient('a.txt').upload('hello', 5);
    const buf = await container.getBlockBlobClient('a.txt').downloadToBuffer();
    expect(buf.toString()).toBe('hello');
  });
});
