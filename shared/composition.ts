// The one composition root: builds every adapter from the settings once per process and hands ports to the API,
// the activities and the scheduler. functions/ calls into it; tests build their own deps from fakes or Azurite.

import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { DurableClient } from 'durable-functions';
import { readAppSetting, type Config } from './config';
import { PgkeepError } from './errors';
import { systemClock, type Clock, type PgClientTools, type ReadinessCheck } from './ports';
import type { ApiDeps } from './api/deps';
import { checkReaderOnServer, ARM_CHECK_NAME } from './adapters/azure/arm-access';
import { discoverPgTools, parsePgBinDirs } from './adapters/postgres/pg-binaries';
import { createSecretResolver } from './adapters/azure/secrets';
import { createStores, type Stores } from './adapters/storage/stores';
import { describeDatabase } from './adapters/postgres/pg-manifest';
import { parseEncryptionKey } from './adapters/crypto/dump-encryption';
import { createBackupActivities } from './activities/backup';
import { createExpiryActivities } from './activities/expiry';
import type { ReadinessDeps } from './activities/readiness';
import { checkInstanceReadiness } from './activities/readiness';
import type { OrchestrationStarter } from './activities/scheduler';
import {
  orchestrators,
  type BackupOrchestratorInput,
  type RestoreTestOrchestratorInput,
  type VerifyOrchestratorInput,
} from './workflows/names';
import type { RestoreTestApiDeps } from './api/deps';
import { createRestoreTestActivities } from './activities/restore-tests';
import type { SchedulerDeps } from './activities/restore-test-runs';
import { probeScratchServer } from './adapters/postgres/scratch-databases';
import { parseConnectionString } from './adapters/postgres/connection-string';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { createRestoreActivities } from './activities/restore';
import type { RestoreQueueDeps } from './activities/restore-queue';

export interface Runtime {
  readonly config: Config;
  readonly stores: Stores;
  readonly clock: Clock;
  readonly readiness: ReadinessDeps;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  readonly log: (message: string) => void;
}

export function createRuntime(config: Config, log: (message: string) => void = (m) => console.log(m)): Runtime {
  let credential: TokenCredential | undefined;
  // Built on first use: a deployment that never references Key Vault or ARM ids never needs an identity.
  const lazyCredential = (): TokenCredential => (credential ??= new DefaultAzureCredential());
  const credentialProxy: TokenCredential = {
    getToken: (scopes, options) => lazyCredential().getToken(scopes, options),
  };
  let tools: Promise<PgClientTools[]> | undefined;
  const discoverTools = () => (tools ??= discoverPgTools({ extraDirs: parsePgBinDirs(config.PG_BIN_DIRS) }));
  const readiness: ReadinessDeps = {
    secrets: createSecretResolver({ readAppSetting, keyVault: { credential: credentialProxy } }),
    discoverTools,
    checkArmReader: async (resourceId): Promise<ReadinessCheck> => {
      try {
        return await checkReaderOnServer({ resourceId, credential: credentialProxy, endpoint: config.ARM_ENDPOINT });
      } catch (err) {
        if (!(err instanceof PgkeepError)) throw err;
        return { name: ARM_CHECK_NAME, status: 'Failed', code: err.code, message: err.message, remediation: err.hint };
      }
    },
  };
  return { config, stores: createStores(config), clock: systemClock, readiness, discoverTools, log };
}

let runtime: Runtime | undefined;
/** The process's runtime, built on first use from the validated settings. */
export function getRuntime(config: () => Config): Runtime {
  runtime ??= createRuntime(config());
  return runtime;
}

/** Starts orchestrations through the Durable client bound to the current invocation. */
export function orchestrationStarter(client: DurableClient): OrchestrationStarter {
  return {
    async exists(instanceId) {
      try {
        const status = await client.getStatus(instanceId);
        return status !== undefined && status !== null && typeof status.runtimeStatus === 'string';
      } catch {
        // The client throws on 404: no such instance.
        return false;
      }
    },
    async start(instanceId, input: BackupOrchestratorInput) {
      await client.startNew(orchestrators.backup, { instanceId, input });
    },
  };
}

export function apiDeps(rt: Runtime, client: DurableClient): ApiDeps {
  const { stores } = rt;
  const starter = orchestrationStarter(client);
  return {
    vaultId: rt.config.VAULT_RESOURCE_ID,
    policies: stores.policies,
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    clock: rt.clock,
    newId: () => randomUUID(),
    checkReadiness: (instance) => checkInstanceReadiness(rt.readiness, instance),
    startBackup: (id, input) => starter.start(id, input),
    checkRestore: (instanceName, request) => restoreActivities(rt).checkRestore(instanceName, request),
    startRestore: async (instanceId, input) => {
      await client.startNew(orchestrators.restore, { instanceId, input });
    },
    readManifest: async (instanceName, pointId) => {
      const point = await stores.recoveryPoints.get(instanceName, pointId);
      return point ? stores.blobs.getJson(point.value.manifestBlobName) : undefined;
    },
    restoreTests: restoreTestApiDeps(rt, client),
  };
}

// --- restore tests (issue 17) ---

/** Starting restore tests and verifies through the Durable client of the current invocation. */
function restoreTestStarters(client: DurableClient) {
  return {
    startRestoreTest: async (instanceId: string, input: RestoreTestOrchestratorInput) => {
      await client.startNew(orchestrators.restoreTest, { instanceId, input });
    },
    startVerify: async (instanceId: string, input: VerifyOrchestratorInput) => {
      await client.startNew(orchestrators.verify, { instanceId, input });
    },
  };
}

export function restoreTestApiDeps(rt: Runtime, client: DurableClient): RestoreTestApiDeps {
  return {
    plans: rt.stores.restoreTestPlans,
    history: rt.stores.restoreTestHistory,
    checkScratchTarget: async (secret) => {
      await probeScratchServer(parseConnectionString(await rt.readiness.secrets.resolve(secret)));
    },
    ...restoreTestStarters(client),
  };
}

/** What the restore-test timer needs, with the Durable client of its invocation. */
export function restoreTestSchedulerDeps(rt: Runtime, client: DurableClient): SchedulerDeps {
  const { stores } = rt;
  return {
    plans: stores.restoreTestPlans,
    instances: stores.instances,
    jobs: stores.jobs,
    clock: rt.clock,
    newId: () => randomUUID(),
    exists: (id) => orchestrationStarter(client).exists(id),
    ...restoreTestStarters(client),
    log: rt.log,
  };
}

export function restoreTestActivities(rt: Runtime) {
  const { stores } = rt;
  return createRestoreTestActivities({
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    history: stores.restoreTestHistory,
    blobs: stores.blobs,
    secrets: rt.readiness.secrets,
    discoverTools: rt.discoverTools,
    restore: restoreActivities(rt),
    clock: rt.clock,
    log: rt.log,
  });
}

export function backupActivities(rt: Runtime) {
  const { stores, config } = rt;
  return createBackupActivities({
    instances: stores.instances,
    policies: stores.policies,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    readiness: rt.readiness,
    discoverTools: rt.discoverTools,
    describeDatabase,
    clock: rt.clock,
    settings: {
      zstdLevel: config.ZSTD_LEVEL,
      stallTimeoutMs: config.DUMP_STALL_TIMEOUT_SECONDS * 1000,
      contentsManifest: config.CONTENTS_MANIFEST,
      ...(config.BACKUP_ENCRYPTION_KEY
        ? { encryption: parseEncryptionKey(config.BACKUP_ENCRYPTION_KEY, config.BACKUP_ENCRYPTION_KEY_ID || 'default') }
        : {}),
    },
    log: rt.log,
  });
}

let restoreCredential: TokenCredential | undefined;
const appCredential = (): TokenCredential => (restoreCredential ??= new DefaultAzureCredential());

/**
 * The target container of a restore as files. A URL with a SAS token is used as is; a container of the vault's own
 * storage account (e.g. Azurite) goes through the vault connection; any other URL uses the app's identity (it needs
 * Storage Blob Data Contributor on the container).
 */
export function restoreContainerClient(rt: Runtime, url: string): ContainerClient {
  const parsed = new URL(url);
  if (parsed.searchParams.has('sig')) return new ContainerClient(url);
  const cs = vaultConnectionString(rt.config);
  if (cs !== undefined) {
    const service = BlobServiceClient.fromConnectionString(cs);
    const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
    const name = decodeURIComponent(parsed.pathname.split('/').filter(Boolean).pop() ?? '');
    if (`${parsed.origin}${parsed.pathname}`.startsWith(base) && name !== '') return service.getContainerClient(name);
  }
  return new ContainerClient(url, appCredential());
}

function vaultConnectionString(config: Config): string | undefined {
  if (config.VAULT_STORAGE !== '') return config.VAULT_STORAGE;
  if (config.VAULT_STORAGE__accountName === '' && config.AzureWebJobsStorage !== '') return config.AzureWebJobsStorage;
  return undefined;
}

let queueService: QueueServiceClient | undefined;
const queuesCreated = new Map<string, Promise<unknown>>();

/** Sends a message to a queue of the host's storage (AzureWebJobsStorage), base64-encoded as the host expects. */
export function hostQueueSender(rt: Runtime): (queue: string, text: string) => Promise<void> {
  return async (queue, text) => {
    const { config } = rt;
    queueService ??=
      config.AzureWebJobsStorage !== ''
        ? QueueServiceClient.fromConnectionString(config.AzureWebJobsStorage)
        : new QueueServiceClient(
            `https://${config.AzureWebJobsStorage__accountName}.queue.core.windows.net`,
            appCredential(),
          );
    const client = queueService.getQueueClient(queue);
    let created = queuesCreated.get(queue);
    if (!created) {
      created = client.createIfNotExists().catch((err: unknown) => {
        queuesCreated.delete(queue);
        throw err;
      });
      queuesCreated.set(queue, created);
    }
    await created;
    await client.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
  };
}

export function restoreActivities(rt: Runtime) {
  const { stores, config } = rt;
  return createRestoreActivities({
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    secrets: rt.readiness.secrets,
    discoverTools: rt.discoverTools,
    containerClient: (url) => restoreContainerClient(rt, url),
    sendQueueMessage: hostQueueSender(rt),
    clock: rt.clock,
    settings: {
      ...(config.BACKUP_ENCRYPTION_KEY ? { encryptionKey: config.BACKUP_ENCRYPTION_KEY } : {}),
      ...(config.BACKUP_ENCRYPTION_KEY_ID ? { encryptionKeyId: config.BACKUP_ENCRYPTION_KEY_ID } : {}),
    },
    log: rt.log,
  });
}

/** What the restore-requests trigger needs, with the Durable client of its invocation. */
export function restoreQueueDeps(rt: Runtime, client: DurableClient): RestoreQueueDeps {
  const starter = orchestrationStarter(client);
  return {
    starter: {
      exists: (id) => starter.exists(id),
      start: async (instanceId, input) => {
        await client.startNew(orchestrators.restore, { instanceId, input });
      },
    },
    sendQueueMessage: hostQueueSender(rt),
    resultsQueue: rt.config.RESTORE_RESULTS_QUEUE,
    log: rt.log,
  };
}

export function expiryActivities(rt: Runtime) {
  const { stores } = rt;
  return createExpiryActivities({
    instances: stores.instances,
    policies: stores.policies,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    clock: rt.clock,
    settings: {
      orphanGraceHours: rt.config.ORPHAN_GRACE_HOURS,
      orphanSweepIntervalHours: rt.config.ORPHAN_SWEEP_INTERVAL_HOURS,
    },
    log: rt.log,
  });
}
