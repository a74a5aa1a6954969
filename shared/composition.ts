// The one composition root: builds every adapter from the settings once per process and hands ports to the API,
// the activities and the scheduler. functions/ calls into it; tests build their own deps from fakes or Azurite.

import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { DurableClient } from 'durable-functions';
import { platformHostName, readAppSetting, type Config } from './config';
import { PgkeepError } from './errors';
import {
  systemClock,
  type ChannelRecord,
  type Clock,
  type KeyEncryptionKeys,
  type PgClientTools,
  type ReadinessCheck,
} from './ports';
import type { ApiDeps } from './api/deps';
import { checkReaderOnServer, ARM_CHECK_NAME, objectIdFromToken } from './adapters/azure/arm-access';
import { assignRole } from './adapters/azure/role-assignments';
import { dumpGlobals, listDatabases } from './adapters/postgres/discovery';
import type { FleetDeps } from './activities/discovery';
import type { AssignRolesDeps } from './activities/assign-roles';
import { discoverPgTools, parsePgBinDirs } from './adapters/postgres/pg-binaries';
import { createSecretResolver } from './adapters/azure/secrets';
import { createStores, type Stores } from './adapters/storage/stores';
import { describeDatabase } from './adapters/postgres/pg-manifest';
import { keyEncryptionKeysFromSettings } from './adapters/crypto/envelope';
import { restoreContainerFactory } from './adapters/storage/restore-container';
import { vaultConnection } from './adapters/storage/stores';
import { parseHostList, type ContainerUrlSettings } from './domain/outbound-urls';
import { createRewrapActivities, rewrapPoint, type RewrapDeps } from './activities/rewrap';
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
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { createRestoreActivities } from './activities/restore';
import type { RestoreQueueDeps } from './activities/restore-queue';
import { runWatchdog, type WatchdogResult } from './activities/watchdog';
import type { OrchestrationStarter as BackupStarter } from './activities/scheduler';
import { createEventRaiser, type EventRaiser } from './events/outbox';
import { withOutcomeEvents } from './events/job-outcomes';
import { apiLinks, testEvent, type EventLinks } from './events/records';
import { attemptDelivery, createDeliveryWorker, type DeliveryDeps, type DeliveryWorker } from './events/delivery';
import type { ChannelTestResult } from './contracts/notifications';
import { createNotificationSender } from './adapters/http/notification-sender';
import { createTelemetry, type Telemetry } from './adapters/telemetry/telemetry';
import { startAzureMonitor } from './adapters/telemetry/azure-monitor';

export interface Runtime {
  readonly config: Config;
  /** The app's own identity (managed identity in Azure), built on first use. */
  readonly credential: TokenCredential;
  /** `jobs` raises the events of every job outcome into the outbox before it writes the outcome (events/). */
  readonly stores: Stores;
  readonly clock: Clock;
  readonly readiness: ReadinessDeps;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  /** The KEKs of BACKUP_ENCRYPTION_KEY_URI / BACKUP_KEYRING / BACKUP_ENCRYPTION_KEY (envelope encryption). */
  readonly keys: KeyEncryptionKeys;
  /** Where restores as files may write (no confused deputy). */
  readonly restoreTargets: ContainerUrlSettings;
  readonly log: (message: string) => void;
  readonly events: { readonly raiser: EventRaiser; readonly links: EventLinks };
  readonly telemetry: Telemetry;
}

/** The system clock moved ahead (TEST_CLOCK_OFFSET_SECONDS: tests only, refused outside Development by config.ts). */
function clockAhead(ms: number): Clock {
  return ms === 0 ? systemClock : { now: () => new Date(Date.now() + ms) };
}

/** Where links in notifications point: PUBLIC_BASE_URL, else the platform's host name (http for localhost). */
export function publicBaseUrl(config: Pick<Config, 'PUBLIC_BASE_URL'>, hostName = platformHostName()): string {
  if (config.PUBLIC_BASE_URL !== '') return config.PUBLIC_BASE_URL;
  if (hostName === undefined) return 'http://localhost:7071';
  return /^(localhost|127\.|\[::1\])/.test(hostName) ? `http://${hostName}` : `https://${hostName}`;
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
  const clock = clockAhead(config.TEST_CLOCK_OFFSET_SECONDS * 1000);
  if (
    startAzureMonitor({
      connectionString: config.APPLICATIONINSIGHTS_CONNECTION_STRING,
      authenticationString: config.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
    })
  ) {
    log('telemetry: exporting traces, logs and metrics to Application Insights');
  }
  const telemetry = createTelemetry();
  const raw = createStores(config, { clock });
  const raiser = createEventRaiser({ outbox: raw.alerts.outbox, channels: raw.alerts.channels, clock });
  const links = apiLinks(publicBaseUrl(config));
  const jobs = withOutcomeEvents(raw.jobs, {
    raiser,
    source: config.VAULT_RESOURCE_ID,
    links,
    nowIso: () => clock.now().toISOString(),
    onEnded: (job) => telemetry.jobEnded(job),
  });
  return {
    config,
    credential: credentialProxy,
    stores: { ...raw, jobs },
    clock,
    readiness,
    discoverTools,
    log,
    events: { raiser, links },
    telemetry,
    keys: keyEncryptionKeysFromSettings(config, { credential: credentialProxy }),
    restoreTargets: {
      allowHttpLoopback: config.ALLOW_HTTP_LOOPBACK_URLS,
      identityHosts: parseHostList(config.RESTORE_FILES_ALLOWED_ACCOUNTS),
    },
  };
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

/** Discovery, bulk protect and globals (issue 15) over the runtime's stores, secrets and PostgreSQL tools. */
export function fleetDeps(rt: Runtime): FleetDeps {
  const { stores, config } = rt;
  return {
    servers: stores.servers,
    instances: stores.instances,
    jobs: stores.jobs,
    blobs: stores.blobs,
    keys: rt.keys,
    secrets: rt.readiness.secrets,
    checkReadiness: (instance) => checkInstanceReadiness(rt.readiness, instance),
    listDatabases,
    dumpGlobals: async (conn) => {
      // The newest installed client: pg_dumpall refuses a server newer than itself, never an older one.
      const tools = [...(await rt.discoverTools())].sort((a, b) => b.major - a.major)[0];
      if (!tools) throw new PgkeepError('UserErrorPgDumpVersionMismatch', 'no PostgreSQL client tools are installed');
      return dumpGlobals(conn, tools);
    },
    clock: rt.clock,
    newId: () => randomUUID(),
    settings: {
      globalsBackupHours: config.GLOBALS_BACKUP_HOURS,
      globalsKeep: config.GLOBALS_KEEP,
      zstdLevel: config.ZSTD_LEVEL,
    },
    log: rt.log,
  };
}

/** Assign missing roles: the app's object id from its own ARM token; assignments with the caller's token. */
export function assignRolesDeps(rt: Runtime): AssignRolesDeps {
  const endpoint = rt.config.ARM_ENDPOINT;
  return {
    checkReadiness: (instance) => checkInstanceReadiness(rt.readiness, instance),
    appPrincipalId: async () => {
      const token = await rt.credential.getToken(`${endpoint}/.default`).catch(() => null);
      return token ? objectIdFromToken(token.token) : undefined;
    },
    assignRole: (o) => assignRole({ ...o, endpoint }),
  };
}

export function apiDeps(rt: Runtime, client: DurableClient): ApiDeps {
  const { stores } = rt;
  const starter = orchestrationStarter(client);
  return {
    vaultId: rt.config.VAULT_RESOURCE_ID,
    enforceCallerRoles: rt.config.ENFORCE_CALLER_ROLES,
    servers: stores.servers,
    slots: stores.slots,
    fleet: fleetDeps(rt),
    assignRoles: assignRolesDeps(rt),
    settings: { serverMaxConcurrentBackups: rt.config.SERVER_MAX_CONCURRENT_BACKUPS },
    policies: stores.policies,
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    clock: rt.clock,
    newId: () => randomUUID(),
    checkReadiness: (instance) => checkInstanceReadiness(rt.readiness, instance),
    startBackup: (id, input) => starter.start(id, { ...input, slotPollSeconds: rt.config.BACKUP_SLOT_POLL_SECONDS }),
    checkRestore: (instanceName, request) => restoreActivities(rt).checkRestore(instanceName, request),
    startRestore: async (instanceId, input) => {
      await client.startNew(orchestrators.restore, { instanceId, input });
    },
    readManifest: async (instanceName, pointId) => {
      const point = await stores.recoveryPoints.get(instanceName, pointId);
      return point ? stores.blobs.getJson(point.value.manifestBlobName) : undefined;
    },
    auditLog: stores.auditLog,
    restoreTargets: rt.restoreTargets,
    ...(rt.keys.current
      ? {
          rewrapPoint: (point) => rewrapPoint(rewrapDeps(rt), point),
          startRewrap: async (instanceId, input) => {
            await client.startNew(orchestrators.rewrap, { instanceId, input });
          },
        }
      : {}),
    alerts: {
      ...stores.alerts,
      secrets: rt.readiness.secrets,
      sendTest: (channel) => sendTestNotification(rt, channel),
      missedSlotGraceMs: rt.config.MISSED_SLOT_GRACE_MINUTES * 60_000,
      allowHttpLoopback: rt.config.ALLOW_HTTP_LOOPBACK_URLS,
    },
    restoreTests: restoreTestApiDeps(rt, client),
  };
}

function rewrapDeps(rt: Runtime): RewrapDeps {
  return {
    recoveryPoints: rt.stores.recoveryPoints,
    jobs: rt.stores.jobs,
    blobs: rt.stores.blobs,
    keys: rt.keys,
    clock: rt.clock,
    log: rt.log,
  };
}

export function rewrapActivities(rt: Runtime) {
  return createRewrapActivities(rewrapDeps(rt));
}

// --- health and alerts (issue 13) ---

function deliveryDeps(rt: Runtime): DeliveryDeps {
  const { config } = rt;
  return {
    outbox: rt.stores.alerts.outbox,
    channels: rt.stores.alerts.channels,
    secrets: rt.readiness.secrets,
    sender: createNotificationSender(),
    clock: rt.clock,
    settings: {
      timeoutMs: config.NOTIFICATION_TIMEOUT_SECONDS * 1000,
      retryBaseMs: config.NOTIFICATION_RETRY_BASE_SECONDS * 1000,
      retryMaxMs: config.NOTIFICATION_RETRY_MAX_SECONDS * 1000,
      retryForMs: config.NOTIFICATION_RETRY_HOURS * 3_600_000,
      leaseMs: config.NOTIFICATION_LEASE_SECONDS * 1000,
      retentionMs: config.NOTIFICATION_RETENTION_DAYS * 86_400_000,
      allowHttpLoopback: config.ALLOW_HTTP_LOOPBACK_URLS,
      concurrency: 8,
    },
    log: rt.log,
    onAttempt: (kind, outcome) => rt.telemetry.notificationAttempt(kind, outcome),
  };
}

let deliveryWorker: DeliveryWorker | undefined;
/** The process's notification worker (it remembers when it last pruned the outbox). */
export function notificationWorker(rt: Runtime): DeliveryWorker {
  deliveryWorker ??= createDeliveryWorker(deliveryDeps(rt));
  return deliveryWorker;
}

/** POST …/notificationChannels/{name}/test: one attempt of a fresh test event, not kept in the outbox. */
export async function sendTestNotification(rt: Runtime, channel: ChannelRecord): Promise<ChannelTestResult> {
  const event = testEvent(channel.name, rt.config.VAULT_RESOURCE_ID, rt.clock.now().toISOString(), randomUUID());
  const result = await attemptDelivery(deliveryDeps(rt), channel, event);
  rt.telemetry.notificationAttempt(channel.kind, result.outcome);
  return {
    eventId: event.id,
    eventType: event.type,
    status: result.outcome === 'delivered' ? 'Delivered' : 'Failed',
    retryable: result.outcome === 'retry',
    ...(result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
    ...(result.outcome !== 'delivered' ? { error: result.error } : {}),
  };
}

/** One watchdog run: missed slots, then health changes (activities/watchdog.ts). */
export function watchdogRun(rt: Runtime, starter: BackupStarter, log: (m: string) => void): Promise<WatchdogResult> {
  const { stores, config } = rt;
  return runWatchdog({
    instances: stores.instances,
    policies: stores.policies,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    health: stores.alerts.health,
    raiser: rt.events.raiser,
    clock: rt.clock,
    starter,
    graceMs: config.MISSED_SLOT_GRACE_MINUTES * 60_000,
    settings: { startLateBackup: config.MISSED_SLOT_START_LATE_BACKUP },
    source: config.VAULT_RESOURCE_ID,
    links: rt.events.links,
    log,
    onHealth: (counts) => rt.telemetry.healthCounts(counts),
  });
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
    slots: stores.slots,
    keys: rt.keys,
    settings: {
      serverMaxConcurrentBackups: config.SERVER_MAX_CONCURRENT_BACKUPS,
      hostMaxConcurrentBackups: config.HOST_MAX_CONCURRENT_BACKUPS,
      slotPollSeconds: config.BACKUP_SLOT_POLL_SECONDS,
      zstdLevel: config.ZSTD_LEVEL,
      stallTimeoutMs: config.DUMP_STALL_TIMEOUT_SECONDS * 1000,
      contentsManifest: config.CONTENTS_MANIFEST,
    },
    log: rt.log,
  });
}

let restoreCredential: TokenCredential | undefined;
const appCredential = (): TokenCredential => (restoreCredential ??= new DefaultAzureCredential());

/**
 * The target container of a restore as files (adapters/storage/restore-container.ts): a SAS URL with its SAS only,
 * the app's identity only for RESTORE_FILES_ALLOWED_ACCOUNTS (the vault's own account through the vault connection
 * when an operator lists it), anything else refused.
 */
export function restoreContainerClient(rt: Runtime): (url: string) => ContainerClient {
  const vault = vaultConnection(rt.config);
  return restoreContainerFactory({
    settings: rt.restoreTargets,
    credential: rt.credential,
    ...(vault.kind === 'connectionString'
      ? { vaultService: BlobServiceClient.fromConnectionString(vault.connectionString) }
      : {}),
  });
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
  const { stores } = rt;
  return createRestoreActivities({
    instances: stores.instances,
    servers: stores.servers,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    secrets: rt.readiness.secrets,
    discoverTools: rt.discoverTools,
    containerClient: restoreContainerClient(rt),
    sendQueueMessage: hostQueueSender(rt),
    clock: rt.clock,
    keys: rt.keys,
    settings: {},
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
    restoreTargets: rt.restoreTargets,
    auditLog: rt.stores.auditLog,
    clock: rt.clock,
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
