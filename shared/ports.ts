// The interfaces activities depend on (design §2 "Ports and adapters"). Each port's contract is written on it, with
// the adapters/ folder that implements it; test/contract/ runs one suite per port against the real thing (Azurite,
// PostgreSQL) and against any fake.

import type { JobOperation, JobStatus, JobTrigger } from './contracts/jobs';
import type { ProtectionState, SecretReference } from './contracts/instances';
import type { RecoveryPointTrigger } from './contracts/recovery-points';
import type { ChannelKind, DeliveryStatus } from './contracts/notifications';

// The records' vocabulary is the API's (contracts/): one declaration serves the wire and the stores.
export type {
  ChannelKind,
  DeliveryStatus,
  JobOperation,
  JobStatus,
  JobTrigger,
  ProtectionState,
  RecoveryPointTrigger,
  SecretReference,
};

// --- secrets and connections ---

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/**
 * A parsed PostgreSQL connection. `password` is a secret: never log, never put in argv or errors.
 * Parsed from a secret's connection string by adapters/postgres/connection-string.ts.
 */
export interface PgConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslMode: SslMode;
}

/**
 * Resolves a secret reference to its value. Implemented in adapters/azure/secrets.ts (app settings, Key Vault).
 * Contract: throws PgkeepError UserErrorInvalidSecret when it does not exist, UserErrorMissingPermissionsOnSecretStore
 * when access is denied; never includes the value in an error.
 */
export interface SecretResolver {
  resolve(ref: SecretReference, options?: { abortSignal?: AbortSignal }): Promise<string>;
}

// --- PostgreSQL tools ---

/**
 * One installed client tool set: pg_dump and pg_restore of the same major in one directory. Found by
 * adapters/postgres/pg-binaries.ts.
 */
export interface PgClientTools {
  readonly major: number;
  /** As `pg_dump --version` prints it, e.g. "15.18". */
  readonly version: string;
  readonly binDir: string;
  readonly pgDump: string;
  readonly pgRestore: string;
}

export type ReadinessStatus = 'Succeeded' | 'Failed' | 'NotApplicable';

/**
 * One line of the readiness report (design §8). Pure data: safe to return over HTTP, never holds a secret.
 * Made by adapters/postgres/pg-readiness.ts (the database) and adapters/azure/arm-access.ts (ARM).
 */
export interface ReadinessCheck {
  readonly name: string;
  readonly status: ReadinessStatus;
  readonly code?: import('./errors').ErrorCode;
  readonly message: string;
  /** What to do about a failure, e.g. the generated GRANT script. */
  readonly remediation?: string;
  /** One entry per offending object, e.g. each table the user cannot SELECT. */
  readonly details?: readonly import('./errors').ErrorDetail[];
}

export interface DbReadinessReport {
  readonly checks: readonly ReadinessCheck[];
  /** Undefined when the server could not be reached or logged into. */
  readonly serverVersion?: string;
  readonly serverMajor?: number;
}

// --- blob storage ---

/**
 * Where a dump's bytes go: a block blob written as staged blocks and made visible by one commit.
 * Implemented in adapters/storage/staged-blocks.ts (blockBlobSink over the SDK's BlockBlobClient).
 * Contract: nothing is visible until commitBlocks; staging an id again replaces that block (so a retried attempt
 * overwrites its own partial upload); commitBlocks makes the blob exactly the listed blocks in order and discards
 * staged blocks it does not list. stageBlock must not keep `data` once its promise resolves: the writer reuses the
 * buffer for a later block.
 */
export interface BlockBlobSink {
  stageBlock(blockId: string, data: Buffer, options?: { abortSignal?: AbortSignal }): Promise<void>;
  commitBlocks(
    blockIds: readonly string[],
    options?: { abortSignal?: AbortSignal; metadata?: Record<string, string> },
  ): Promise<void>;
}

// --- state stores (Table Storage) ---
// Implemented in adapters/storage/tables/, one file per store, built together by adapters/storage/stores.ts.
// Naming follows the Azure SDK: create* fails with a PgkeepError if it exists, get* returns undefined when missing,
// list* is an async iterable, delete* succeeds when absent. update* takes the etag read earlier and fails with
// `ConcurrencyError` when the row changed meanwhile (optimistic concurrency, so two workers never both win).

/** Thrown by update and create when another writer got there first; callers re-read and decide. */
export class ConcurrencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConcurrencyError';
  }
}

export interface Stored<T> {
  readonly value: T;
  readonly etag: string;
}

export interface PolicyRecord {
  readonly name: string;
  /** The Azure BackupPolicy JSON, bare (not wrapped in properties), exactly as accepted. */
  readonly document: Record<string, unknown>;
  readonly createdAt: string;
}

export interface PolicyStore {
  /** Throws ConcurrencyError if a policy of that name exists. */
  create(policy: PolicyRecord): Promise<void>;
  get(name: string): Promise<PolicyRecord | undefined>;
  list(): AsyncIterable<PolicyRecord>;
  delete(name: string): Promise<void>;
}

export interface DataSourceInfo {
  readonly resourceID: string;
  readonly resourceName: string;
  readonly resourceLocation?: string;
  readonly datasourceType: string;
  readonly objectType: string;
}

export interface InstanceRecord {
  readonly name: string;
  readonly friendlyName: string;
  readonly dataSource: DataSourceInfo;
  readonly policyName: string;
  readonly secret: SecretReference;
  readonly protectionState: ProtectionState;
  /** Set by stopProtection: whether expiry deletes every point (true) or keeps them until their own expiry. */
  readonly deleteBackupDataOnStop?: boolean;
  /** The job id of the backup running now; the one-backup-at-a-time lock (taken with the row's etag). */
  readonly activeBackupJobId?: string;
  /** The latest scheduled slot (ISO UTC) a backup was started for: the scheduler never starts a slot twice. */
  readonly lastScheduledSlot?: string;
  /**
   * The slot a scheduler tick (or the watchdog) marked before starting its orchestration (`markSlotsPending`). Equal
   * to a due slot, it means a start may have happened without being recorded: ask whether the orchestration exists.
   * Read only: `update` does not write it.
   */
  readonly pendingSlot?: string;
  /**
   * Set by DELETE of a stopped instance: hidden from the API, its name and datasource stay reserved, and expiry
   * removes the row (releasing the claim) once no recovery point of it remains (docs/decisions.md, expiry).
   */
  readonly deletedAt?: string;
  /** When protection last started (creation or resumeProtection): slots before it are not owed (health, watchdog). */
  readonly protectedSince?: string;
  /** The server resource (servers/{name}) the instance was protected from, by bulk or auto-protect (issue 15). */
  readonly serverName?: string;
  /**
   * Set by a discovery run that no longer finds the database on its server (cleared when it is back): health reports
   * DatasourceMissing. Nothing is deleted.
   */
  readonly datasourceMissingSince?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface InstanceStore {
  /**
   * Creates the instance and claims its datasource atomically (one Table transaction).
   * Throws ConcurrencyError if the name exists, PgkeepError UserErrorDatasourceAlreadyProtected if another instance
   * protects the same resourceID.
   */
  create(instance: InstanceRecord): Promise<void>;
  get(name: string): Promise<Stored<InstanceRecord> | undefined>;
  list(): AsyncIterable<Stored<InstanceRecord>>;
  /** Replaces the row if its etag still matches; throws ConcurrencyError otherwise. resourceID cannot change. */
  update(instance: InstanceRecord, etag: string): Promise<string>;
  /** Deletes the instance and releases its datasource claim. */
  delete(name: string): Promise<void>;
  /**
   * Marks `slot` as about to be started for each instance (`pendingSlot`), in bulk, before the starts: a start that
   * is not followed by `recordSlots` (a crash) is then recognised. Returns the names whose mark failed: do not start
   * those now.
   */
  markSlotsPending(entries: readonly SlotRecord[]): Promise<string[]>;
  /**
   * Records that the scheduler started `slot` for each instance (its bookkeeping after a tick's starts), in bulk:
   * `lastScheduledSlot` as read afterwards is the later of this record and the one `update` writes, and nothing else
   * of the instance changes (not its etag, not `updatedAt`). Returns the names whose record failed, to be recorded one
   * by one with `update`. A record is not conditional: a stale one is harmless, since a slot still marked pending
   * is only started after asking whether its orchestration exists.
   */
  recordSlots(entries: readonly SlotRecord[]): Promise<string[]>;
}

/** One row of `InstanceStore.recordSlots`. */
export interface SlotRecord {
  readonly name: string;
  readonly slot: string;
}

export interface RecoveryPointRecord {
  readonly instanceName: string;
  /** Sortable and unique within the instance: made by `recoveryPointId(time, suffix)` (newest sorts first). */
  readonly id: string;
  /** The backup's time (ISO UTC): tagging and lifetimes count from it. */
  readonly time: string;
  readonly tag: import('./domain/types').TagName;
  readonly trigger: RecoveryPointTrigger;
  readonly dataStore: import('./domain/types').DataStore;
  readonly status: import('./domain/types').RecoveryPointStatus;
  readonly policyName: string;
  readonly jobId: string;
  readonly blobName: string;
  readonly manifestBlobName: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Expiry dates computed from the policy when the point was committed (lifecycleOf). */
  readonly vaultUntil: string;
  readonly movesToArchive: boolean;
  readonly deleteAt: string;
  readonly archivedAt?: string;
  readonly rehydratedBlobName?: string;
  readonly rehydratedUntil?: string;
  readonly inUseUntil?: string;
  /** Small manifest summary for listings; the full manifest is the blob. */
  readonly serverVersion: string;
  readonly pgDumpVersion: string;
  readonly databaseName: string;
  /**
   * The full id (with version) of the KEK that wraps the dump's data key, as the manifest records it (kept in step by
   * a rewrap); absent when the dump is not encrypted. Lets a rewrap find the points a key version still guards.
   */
  readonly encryptionKeyId?: string;
  readonly createdAt: string;
  /** The evidence of the latest restore test of this point (issue 17), lists capped. */
  readonly restoreTest?: import('./contracts/restore-tests').RestoreTestResult;
}

/** Largest epoch milliseconds a recovery point id can encode (year 2286). */
const MAX_ID_MS = 9_999_999_999_999;

/**
 * The id of the recovery point taken at `time`: `<13-digit inverted epoch ms>-<suffix>`, so ids sort newest first
 * and the store can point-read and range-filter by time from the id alone. `suffix` ([A-Za-z0-9]{1,32}) makes it
 * unique within the instance; derive it from the job id so a retried commit produces the same id. Pure: usable in
 * orchestrators.
 */
export function recoveryPointId(time: string | Date, suffix: string): string {
  const ms = typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_ID_MS) throw new RangeError('recovery point time out of range');
  if (!/^[A-Za-z0-9]{1,32}$/.test(suffix)) throw new RangeError('recovery point id suffix must be [A-Za-z0-9]{1,32}');
  return `${String(MAX_ID_MS - ms).padStart(13, '0')}-${suffix}`;
}

/** The epoch milliseconds a recovery point id encodes, or undefined when it is not one. */
export function recoveryPointIdTime(id: string): number | undefined {
  const m = /^(\d{13})-[A-Za-z0-9]{1,32}$/.exec(id);
  return m ? MAX_ID_MS - Number(m[1]) : undefined;
}

export interface RecoveryPointListOptions {
  readonly from?: string;
  readonly to?: string;
  readonly afterId?: string;
  readonly limit?: number;
}

export interface RecoveryPointStore {
  /** The completion marker of a backup: written only after the blob is committed and checked. */
  create(point: RecoveryPointRecord): Promise<void>;
  get(instanceName: string, id: string): Promise<Stored<RecoveryPointRecord> | undefined>;
  /**
   * Newest first; `from`/`to` bound `time` (inclusive from, exclusive to); `afterId` continues a listing after that
   * point (ids sort newest first, so: only points older than it); `limit` yields at most that many (and reads no
   * more rows than that from storage).
   */
  list(instanceName: string, options?: RecoveryPointListOptions): AsyncIterable<Stored<RecoveryPointRecord>>;
  /** Every point of every instance, in no particular order: one scan, for totals over the whole vault. */
  listAll(): AsyncIterable<Stored<RecoveryPointRecord>>;
  update(point: RecoveryPointRecord, etag: string): Promise<string>;
  delete(instanceName: string, id: string): Promise<void>;
  /** The newest point (with that status, when given), reading one row: health and listings call it per instance. */
  newest(
    instanceName: string,
    options?: { status?: import('./domain/types').RecoveryPointStatus },
  ): Promise<RecoveryPointRecord | undefined>;
}

export interface JobError {
  readonly code: import('./errors').ErrorCode;
  readonly message: string;
  readonly hint: string;
}

export interface JobRecord {
  readonly id: string;
  readonly operation: JobOperation;
  readonly backupInstance: string;
  readonly status: JobStatus;
  readonly trigger: JobTrigger;
  readonly startTime: string;
  readonly endTime?: string;
  readonly progress: { readonly bytes: number; readonly percent?: number };
  readonly recoveryPointId?: string;
  readonly error?: JobError;
  /** Non-fatal findings, e.g. restore warnings or per-point expiry failures. */
  readonly warnings?: readonly { readonly code: string; readonly message: string }[];
  /** The Durable orchestration instance that runs the job. */
  readonly orchestrationId?: string;
  /** Operation-specific extras (restore target, retention tag, rule name…), small JSON. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface JobFilter {
  readonly backupInstance?: string;
  readonly operation?: JobOperation;
  readonly status?: JobStatus;
  /** startTime >= from */
  readonly from?: string;
  /** startTime < to */
  readonly to?: string;
}

export interface JobStore {
  create(job: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Merges the given fields into the job (last writer wins per field; progress writes are frequent). */
  patch(
    id: string,
    fields: Partial<Omit<JobRecord, 'id' | 'operation' | 'backupInstance' | 'startTime'>>,
  ): Promise<void>;
  /** Newest first. */
  list(filter: JobFilter): AsyncIterable<JobRecord>;
}

// --- clock ---

/** The only source of "now" outside orchestrators (which use context.df.currentUtcDateTime). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// --- vault blob store ---

export type BlobTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

export interface VaultBlobInfo {
  readonly name: string;
  readonly bytes: number;
  readonly tier?: BlobTier;
  /** Azure's x-ms-archive-status while a tier change out of Archive is pending, e.g. `rehydrate-pending-to-hot`. */
  readonly archiveStatus?: string;
  /** Set on the target of a copy: `pending` until a rehydrating copy has finished, then `success`. */
  readonly copyStatus?: string;
  readonly createdOn: string;
  readonly lastModified: string;
  readonly metadata: Record<string, string>;
}

/**
 * The vault's blob container (BACKUP_CONTAINER): dumps, manifests, rehydrated copies. Implemented in
 * adapters/storage/vault-blobs.ts.
 * Contract: names are relative to the container; getJson and info return undefined when the blob is missing; delete succeeds
 * when it is absent; reading an archived blob throws PgkeepError UserErrorRecoveryPointArchived; deleting or
 * overwriting a blob that the container's immutability policy (or a legal hold) still protects throws PgkeepError
 * UserErrorBlobImmutable naming the blob, changing nothing.
 */
export interface VaultBlobStore {
  /** `<instance>/<pointId>/dump.pgdump.zst` */
  dumpBlobName(instanceName: string, pointId: string): string;
  /** `<instance>/<pointId>/manifest.json` */
  manifestBlobName(instanceName: string, pointId: string): string;
  /** The dump pipeline writes through it (staged blocks); call ensureContainer first, the client cannot. */
  blockBlobClient(name: string): import('@azure/storage-blob').BlockBlobClient;
  /** Creates the container if missing (once per process); every other method does it by itself. */
  ensureContainer(): Promise<void>;
  putJson(name: string, value: unknown): Promise<void>;
  /** A small blob written whole in one request (a globals script); same immutability rule as putJson. */
  putBytes(name: string, body: Buffer, contentType: string): Promise<void>;
  getJson<T>(name: string): Promise<T | undefined>;
  info(name: string): Promise<VaultBlobInfo | undefined>;
  setTier(name: string, tier: BlobTier): Promise<void>;
  /**
   * Starts a rehydrating copy of an archived blob into `target` (Hot), Azure's copy-with-rehydrate-priority, and
   * returns without waiting: poll `info(target)` until `copyStatus` is `success` (hours in Azure, at once in Azurite).
   */
  startRehydrateCopy(source: string, target: string, priority: 'Standard' | 'High'): Promise<void>;
  openRead(name: string, options?: { abortSignal?: AbortSignal }): Promise<NodeJS.ReadableStream>;
  /** Succeeds when absent; deletes the blob's snapshots too. */
  delete(name: string): Promise<void>;
  /** Every blob under `prefix` (all when omitted), for orphan detection. */
  list(prefix?: string): AsyncIterable<VaultBlobInfo>;
}

// --- keys: envelope encryption (design §14 "Trust", docs/decisions.md "Keys and trust") ---

export type KeyProvider = 'keyring' | 'azureKeyVault';

/**
 * A backup's data key wrapped by a key-encryption key (KEK): what the point's manifest records, never the data key.
 * `keyId` is the KEK's full id: a keyring entry's name, or a Key Vault key id with its version.
 */
export interface WrappedDataKey {
  readonly keyProvider: KeyProvider;
  readonly keyId: string;
  /** JWA name of the wrapping: A256KW (keyring, Managed HSM AES keys) or RSA-OAEP-256 (Key Vault RSA keys). */
  readonly keyWrapAlgorithm: string;
  /** base64 of the wrapped bytes. */
  readonly wrappedKey: string;
}

/**
 * One source of KEKs. Implemented by adapters/crypto/keyring.ts (BACKUP_KEYRING, and the legacy
 * BACKUP_ENCRYPTION_KEY as a keyring of one) and adapters/azure/keyvault-keys.ts (Key Vault / Managed HSM).
 * Contract: `wrap` uses the provider's *current* KEK (version) and names it in the result; `unwrap` uses exactly the
 * version the record names. A version that is disabled or expired throws PgkeepError UserErrorEncryptionKeyDisabled,
 * one that does not exist UserErrorEncryptionKeyNotFound, missing access UserErrorMissingPermissionsOnKey — each
 * naming the key and version; no error or log line ever contains key material.
 */
export interface KekProvider {
  readonly provider: KeyProvider;
  /** The current KEK's full id (for Key Vault: the current version, read now). */
  currentKeyId(): Promise<string>;
  wrap(dataKey: Buffer): Promise<WrappedDataKey>;
  unwrap(wrapped: WrappedDataKey): Promise<Buffer>;
}

/**
 * The vault's KEKs as backups and restores see them: the provider new backups use (undefined = encryption off) and
 * the way back for any provider a manifest names. Built by adapters/crypto/envelope.ts (createKeyEncryptionKeys).
 */
export interface KeyEncryptionKeys {
  /** Wraps new backups' data keys; undefined when no KEK is configured (backups are then not encrypted). */
  readonly current: KekProvider | undefined;
  /** Unwraps with the provider and version the record names. */
  unwrap(wrapped: WrappedDataKey): Promise<Buffer>;
  /**
   * The raw key of a point written before envelope encryption (its manifest has a keyId and no wrappedKey): the
   * keyring entry of that name. Throws UserErrorEncryptionKeyNotFound when the keyring has none.
   */
  rawKey(keyId: string): Promise<Buffer>;
}

// --- audit log ---

/** Who made a call: an App Service Authentication principal, a function key, the restore queue, or nobody known. */
export type AuditPrincipalKind = (typeof import('./contracts/audit').auditPrincipalKinds)[number];

/**
 * One state-changing call or restore, as the audit log keeps it. Holds no request body, query string or header value
 * beyond those named here, so nothing secret (SAS tokens, connection strings) can reach it.
 */
export interface AuditEntry {
  /** Unique; sortable newest first together with `time`. */
  readonly id: string;
  /** ISO UTC. */
  readonly time: string;
  /** The principal's name, or "function key", "queue", "anonymous". */
  readonly principal: string;
  readonly principalKind: AuditPrincipalKind;
  /** The operation: the route's function name (putInstance, restoreHttp, rewrapRecoveryPoint…) or restoreQueue. */
  readonly action: string;
  /** e.g. POST /api/backupInstances/orders/restore (path only, never the query). */
  readonly target: string;
  /** The client's address from x-forwarded-for (its first hop), or "" when unknown (queue, local calls). */
  readonly clientIp: string;
  readonly outcome: 'Succeeded' | 'Failed';
  /** The HTTP status answered (0 for a queue message). */
  readonly status: number;
  readonly errorCode?: import('./errors').ErrorCode;
  /** The job the call started or ran, when there is one. */
  readonly jobId?: string;
}

/**
 * The audit log (table `auditLog`), append-only. Implemented in adapters/storage/tables/audit.ts.
 * Contract: append never overwrites (a second entry with an existing id throws ConcurrencyError); list is newest
 * first within [from, to) (default: the last 7 days) and filters by exact principal.
 */
export interface AuditLogStore {
  append(entry: AuditEntry): Promise<void>;
  list(filter: {
    readonly from?: string;
    readonly to?: string;
    readonly principal?: string;
  }): AsyncIterable<AuditEntry>;
}

// --- events, notification channels and health (issue 13; shared/events/) ---
// Implemented in adapters/storage/tables/ (notifications.ts, channels.ts, health.ts) and adapters/http/.

/** One raised event, as the outbox keeps it and the formats render it (CloudEvents attributes + data). */
export interface EventRecord {
  /** Unique per event and the same on every retry and every channel: derived from what raised it. */
  readonly id: string;
  readonly name: import('./contracts/events').EventName;
  /** The CloudEvents type, e.g. pgkeep.backup.failed. */
  readonly type: string;
  /** The CloudEvents source: the vault's id. */
  readonly source: string;
  /** The backup instance, or `*` for vault-wide events (expiry). */
  readonly subject: string;
  readonly time: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** One event on its way to one channel. */
export interface DeliveryRecord {
  /** `<event id>.<channel>` */
  readonly id: string;
  readonly event: EventRecord;
  readonly channel: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: string;
  /** Pending only: not before this. */
  readonly nextAttemptAt: string;
  /** Pending only: a worker is sending it until then; others leave it alone. */
  readonly leaseUntil?: string;
  readonly lastAttemptAt?: string;
  readonly lastHttpStatus?: number;
  /** Never a URL's path or query, never a secret. */
  readonly lastError?: string;
  readonly finishedAt?: string;
}

/**
 * The outbox (Table `notifications`). Contract: `add` records an event with one Pending delivery per channel in ONE
 * transaction and is idempotent by event id (a second add of the same id writes nothing and returns false, even
 * after its deliveries finished); `update` and `finish` take the etag read from `listPending` and throw
 * ConcurrencyError when another worker changed the delivery meanwhile; `finish` moves a delivery out of the pending
 * set atomically.
 */
export interface OutboxStore {
  add(event: EventRecord, channels: readonly string[], createdAt: string): Promise<boolean>;
  getEvent(id: string): Promise<EventRecord | undefined>;
  listPending(): AsyncIterable<Stored<DeliveryRecord>>;
  /** Finished deliveries, newest first. */
  listFinished(options?: { status?: 'Delivered' | 'Failed' }): AsyncIterable<DeliveryRecord>;
  update(delivery: DeliveryRecord, etag: string): Promise<string>;
  finish(
    delivery: DeliveryRecord & { status: 'Delivered' | 'Failed'; finishedAt: string },
    etag: string,
  ): Promise<void>;
  /** Removes finished deliveries and event records older than `beforeIso`; returns how many rows went. */
  prune(beforeIso: string): Promise<number>;
}

export interface ChannelRecord {
  readonly name: string;
  readonly kind: ChannelKind;
  /** Where to post: a secret reference (documented) or a plain URL (stored; never returned by GET). */
  readonly endpoint: { readonly secret: SecretReference } | { readonly url: string };
  readonly signingSecret?: SecretReference;
  readonly events: readonly import('./contracts/events').EventName[];
  /** Undefined: every instance. */
  readonly backupInstances?: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ChannelStore {
  /** Creates or replaces. */
  put(channel: ChannelRecord): Promise<void>;
  get(name: string): Promise<ChannelRecord | undefined>;
  list(): AsyncIterable<ChannelRecord>;
  delete(name: string): Promise<void>;
}

/** The health the watchdog last recorded for an instance: a change from it raises HealthChanged once. */
export interface HealthRecord {
  readonly instanceName: string;
  readonly health: import('./domain/health').InstanceHealth;
  /** When the status became what it is. */
  readonly since: string;
  /** How many changes were recorded: the next HealthChanged event's id derives from it. */
  readonly changes: number;
}

export type RunKind = 'scheduler' | 'expiry' | 'watchdog' | 'notifications';

/** Table `instanceHealth`. put without etag creates (ConcurrencyError if present); with one, replaces if unchanged. */
export interface HealthStore {
  get(instanceName: string): Promise<Stored<HealthRecord> | undefined>;
  list(): AsyncIterable<Stored<HealthRecord>>;
  put(record: HealthRecord, etag?: string): Promise<void>;
  delete(instanceName: string): Promise<void>;
  /** Heartbeats of the timers: GET /api/health shows when each last ran. */
  recordRun(kind: RunKind, atIso: string): Promise<void>;
  lastRuns(): Promise<Partial<Record<RunKind, string>>>;
}

/** One POST to a notification endpoint. */
export interface OutboundPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export type OutboundResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: 'error'; readonly message: string };

/**
 * Posts a notification (adapters/http/outbound-http.ts). Never follows redirects (a redirect could lead past the URL
 * checks); a timeout or connection failure is `kind: 'error'` with a message that holds no URL.
 */
export interface NotificationSender {
  post(request: OutboundPost): Promise<OutboundResult>;
}

// --- restore tests (issue 17) ---
// Implemented in adapters/storage/tables/restore-test-plans.ts and restore-tests.ts.

export interface RestoreTestPlanRecord {
  readonly name: string;
  /** The validated plan, defaults applied (contracts/restore-tests.ts). */
  readonly properties: import('./contracts/restore-tests').RestoreTestPlanProperties;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The latest schedule slot (ISO UTC) the scheduler started runs for: a slot is never started twice. */
  readonly lastScheduledSlot?: string;
}

export interface RestoreTestPlanStore {
  /** Throws ConcurrencyError if a plan of that name exists. */
  create(plan: RestoreTestPlanRecord): Promise<void>;
  get(name: string): Promise<Stored<RestoreTestPlanRecord> | undefined>;
  list(): AsyncIterable<Stored<RestoreTestPlanRecord>>;
  /** Replaces the row if its etag still matches; throws ConcurrencyError otherwise. */
  update(plan: RestoreTestPlanRecord, etag: string): Promise<string>;
  delete(name: string): Promise<void>;
}

/** The history of restore tests per instance: one entry per test job, newest first. */
export interface RestoreTestHistoryStore {
  /** Writes the entry of `result.jobId` (again: a retried finish replaces its own entry). */
  put(instanceName: string, result: import('./contracts/restore-tests').RestoreTestResult): Promise<void>;
  /** Newest first. */
  list(instanceName: string): AsyncIterable<import('./contracts/restore-tests').RestoreTestResult>;
}

// --- fleets: servers, discovery and backup slots (issue 15) ---
// Implemented in adapters/storage/tables/servers.ts and tables/backup-slots.ts; fakes in test/support/fake-stores.ts.

/** Auto-protect rule of a server: every discovered database matching include and not exclude is protected. */
export interface AutoProtectRule {
  readonly policyName: string;
  /** Globs (`*`, `?`) on the database name; empty or absent = every protectable database. */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

/** A PostgreSQL server pgkeep discovers databases on (servers/{name}). */
export interface ServerRecord {
  readonly name: string;
  /** The flexible server's ARM id, or any stable id outside Azure; its databases get `<resourceID>/databases/<db>`. */
  readonly resourceID: string;
  /** A login that can list databases; the connection string's database is where discovery connects. */
  readonly secret: SecretReference;
  /** Backups of this server's databases running at once; absent = SERVER_MAX_CONCURRENT_BACKUPS. */
  readonly maxConcurrentBackups?: number;
  readonly autoProtect?: AutoProtectRule;
  /** How often discovery backs up the server's globals (roles); absent = GLOBALS_BACKUP_HOURS, 0 = never. */
  readonly globalsEveryHours?: number;
  /** `host:port` of the connection string when the server was last saved: the key its backups queue under. */
  readonly slotKey?: string;
  readonly lastDiscoveryAt?: string;
  readonly lastGlobalsAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Same verbs and etag rules as InstanceStore (create: ConcurrencyError if the name exists). */
export interface ServerStore {
  create(server: ServerRecord): Promise<void>;
  get(name: string): Promise<Stored<ServerRecord> | undefined>;
  list(): AsyncIterable<Stored<ServerRecord>>;
  update(server: ServerRecord, etag: string): Promise<string>;
  delete(name: string): Promise<void>;
}

/** One backup holding or waiting for a slot. */
export interface SlotEntry {
  readonly jobId: string;
  /** When it took the slot or joined the queue: the queue's order. */
  readonly since: string;
  /** On the host row: the server key the backup belongs to. */
  readonly server?: string;
  /** A waiter's last attempt (see domain/fleet.ts silentWaiters). */
  readonly seen?: string;
}

/** A semaphore: the backups holding a slot and those waiting, in order. */
export interface SlotRow {
  readonly holders: readonly SlotEntry[];
  readonly queue: readonly SlotEntry[];
  /** A server's own limit (its servers/{name} maxConcurrentBackups); absent = the setting. */
  readonly limit?: number;
}

/**
 * The durable semaphores of backups (table backupSlots): one row per server key and one for the host, in one
 * partition so that a slot of both is taken in ONE transaction. Contract: `read` returns each row with its etag
 * (undefined when never written); `write` replaces both rows if their etags still match (creates a row whose etag
 * is undefined) and throws ConcurrencyError otherwise, writing nothing.
 */
export interface SlotStore {
  read(serverKey: string): Promise<{ server?: Stored<SlotRow>; host?: Stored<SlotRow> }>;
  write(
    serverKey: string,
    server: { row: SlotRow; etag?: string },
    host: { row: SlotRow; etag?: string },
  ): Promise<void>;
  /** Sets (or with undefined clears) a server key's own limit, keeping its holders and queue. */
  setLimit(serverKey: string, limit: number | undefined): Promise<void>;
}
