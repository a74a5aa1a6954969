// The one composition root: builds every adapter from the settings once per process and hands ports to the API,
// the activities and the scheduler. functions/ calls into it; tests build their own deps from fakes or Azurite.

import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { DurableClient } from 'durable-functions';
import { readAppSetting, type Config } from './config';
import { PgkeepError } from './errors';
import { systemClock, type Clock, type PgClientTools, type ReadinessCheck } from './ports';
import type { ApiDeps } from './api/deps';
import { checkReaderOnServer, ARM_CHECK_NAME } from './adapters/arm-access';
import { discoverPgTools, parsePgBinDirs } from './adapters/pg-binaries';
import { createSecretResolver } from './adapters/secrets';
import { createStores, type Stores } from './adapters/stores';
import { describeDatabase } from './adapters/pg-manifest';
import { createBackupActivities } from './activities/backup';
import { createExpiryActivities } from './activities/expiry';
import type { ReadinessDeps } from './activities/readiness';
import { checkInstanceReadiness } from './activities/readiness';
import type { OrchestrationStarter } from './activities/scheduler';
import { orchestrators, type BackupOrchestratorInput } from './workflows/names';

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
    readManifest: async (instanceName, pointId) => {
      const point = await stores.recoveryPoints.get(instanceName, pointId);
      return point ? stores.blobs.getJson(point.value.manifestBlobName) : undefined;
    },
  };
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
      ...(config.BACKUP_ENCRYPTION_KEY_ID ? { encryptionKeyId: config.BACKUP_ENCRYPTION_KEY_ID } : {}),
    },
    log: rt.log,
  });
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
    settings: { orphanGraceHours: rt.config.ORPHAN_GRACE_HOURS },
    log: rt.log,
  });
}
