// VaultBlobStore on @azure/storage-blob: the BACKUP_CONTAINER of the vault account (dumps, manifests, rehydrated
// copies), created on first use once per process.
//
// Archive and rehydration: Azure cannot read an Archive blob; it is rehydrated either in place (set tier Hot) or by
// an asynchronous copy with x-ms-rehydrate-priority into a new Hot blob, which leaves the archived original (and its
// lower price) alone. startRehydrateCopy uses the copy. Azurite 3.35 (checked) accepts Archive as a tier, refuses
// to download an archived blob (409 BlobArchived, which we map to UserErrorRecoveryPointArchived), refuses a
// synchronous copy from it, and completes an asynchronous copy-with-rehydrate at once (target Hot, copyStatus
// success); so the adapter needs no fallback there and does not pretend one exists: if a service refuses the copy,
// the error propagates to the caller.

import {
  BlobServiceClient,
  RestError,
  type BlobItem,
  type BlobGetPropertiesResponse,
  type ContainerClient,
} from '@azure/storage-blob';
import type { StorageConnection } from './connection';
import { PgkeepError } from '../../errors';
import type { BlobTier, VaultBlobInfo, VaultBlobStore } from '../../ports';

const statusOf = (err: unknown) => (err instanceof RestError ? err.statusCode : undefined);

const created = new Map<string, Promise<unknown>>();

function archived(name: string, cause: unknown): PgkeepError {
  return new PgkeepError('UserErrorRecoveryPointArchived', `blob ${name} is in the archive tier`, { cause });
}

/**
 * Azure answers 409 BlobImmutableDueToPolicy (time-based retention) or a BlobImmutable… code for a legal hold when a
 * protected blob would be deleted or overwritten. Azurite has no immutability; the path is tested through the real
 * SDK against a stand-in (test/contract/vault-blobs-immutable.test.ts).
 */
function immutable(name: string, err: unknown): PgkeepError | undefined {
  if (!(err instanceof RestError) || err.statusCode !== 409 || !/^BlobImmutable/.test(err.code ?? '')) return undefined;
  return new PgkeepError('UserErrorBlobImmutable', `blob ${name} is protected by the immutability policy`, {
    cause: err,
  });
}

const tiers: readonly string[] = ['Hot', 'Cool', 'Cold', 'Archive'];
const asTier = (t: string | undefined): BlobTier | undefined => (t && tiers.includes(t) ? (t as BlobTier) : undefined);

function fromProperties(name: string, p: BlobGetPropertiesResponse): VaultBlobInfo {
  return {
    name,
    bytes: p.contentLength ?? 0,
    ...defined({ tier: asTier(p.accessTier), archiveStatus: p.archiveStatus, copyStatus: p.copyStatus }),
    createdOn: (p.createdOn ?? p.lastModified ?? new Date(0)).toISOString(),
    lastModified: (p.lastModified ?? new Date(0)).toISOString(),
    metadata: p.metadata ?? {},
  };
}

function fromItem(item: BlobItem): VaultBlobInfo {
  const p = item.properties;
  return {
    name: item.name,
    bytes: p.contentLength ?? 0,
    ...defined({ tier: asTier(p.accessTier), archiveStatus: p.archiveStatus, copyStatus: p.copyStatus }),
    createdOn: (p.createdOn ?? p.lastModified).toISOString(),
    lastModified: p.lastModified.toISOString(),
    metadata: item.metadata ?? {},
  };
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createVaultBlobStore(connection: StorageConnection, containerName: string): VaultBlobStore {
  const service =
    connection.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(connection.connectionString)
      : new BlobServiceClient(connection.endpoint, connection.credential);
  const container: ContainerClient = service.getContainerClient(containerName);

  const ready = async (): Promise<ContainerClient> => {
    let done = created.get(container.url);
    if (!done) {
      done = container.createIfNotExists().catch((err: unknown) => {
        created.delete(container.url);
        throw err;
      });
      created.set(container.url, done);
    }
    await done;
    return container;
  };

  const putBytes = async (name: string, body: Buffer, contentType: string): Promise<void> => {
    try {
      await (
        await ready()
      )
        .getBlockBlobClient(name)
        .upload(body, body.length, { blobHTTPHeaders: { blobContentType: contentType } });
    } catch (err) {
      throw immutable(name, err) ?? err;
    }
  };

  return {
    dumpBlobName: (instanceName, pointId) => `${instanceName}/${pointId}/dump.pgdump.zst`,
    manifestBlobName: (instanceName, pointId) => `${instanceName}/${pointId}/manifest.json`,

    blockBlobClient: (name) => container.getBlockBlobClient(name),

    async ensureContainer() {
      await ready();
    },

    putJson: (name, value) => putBytes(name, Buffer.from(JSON.stringify(value, null, 2)), 'application/json'),
    putBytes,

    async getJson<T>(name: string) {
      try {
        const buf = await (await ready()).getBlockBlobClient(name).downloadToBuffer();
        return JSON.parse(buf.toString('utf8')) as T;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        if (err instanceof RestError && err.code === 'BlobArchived') throw archived(name, err);
        throw err;
      }
    },

    async info(name) {
      try {
        return fromProperties(name, await (await ready()).getBlobClient(name).getProperties());
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },

    async setTier(name, tier) {
      await (await ready()).getBlobClient(name).setAccessTier(tier);
    },

    async startRehydrateCopy(source, target, priority) {
      const c = await ready();
      // beginCopyFromURL sends Copy Blob before it returns; the poller is dropped, callers poll info(target).
      await c
        .getBlobClient(target)
        .beginCopyFromURL(c.getBlobClient(source).url, { tier: 'Hot', rehydratePriority: priority });
    },

    async openRead(name, options = {}) {
      try {
        const res = await (
          await ready()
        )
          .getBlobClient(name)
          .download(0, undefined, { abortSignal: options.abortSignal, maxRetryRequests: 5 });
        if (!res.readableStreamBody) throw new Error('blob download without a body stream');
        return res.readableStreamBody;
      } catch (err) {
        if (err instanceof RestError && err.code === 'BlobArchived') throw archived(name, err);
        throw err;
      }
    },

    async delete(name) {
      try {
        await (await ready()).getBlobClient(name).deleteIfExists({ deleteSnapshots: 'include' });
      } catch (err) {
        throw immutable(name, err) ?? err;
      }
    },

    async *list(prefix) {
      const c = await ready();
      for await (const item of c.listBlobsFlat({ ...(prefix !== undefined && { prefix }), includeMetadata: true })) {
        yield fromItem(item);
      }
    },
  };
}
