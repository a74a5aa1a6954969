// The backup activities (design §5): start the job, check readiness, dump into the vault, commit the recovery
// point (the completion marker, written last), or fail the job and remove what a failed attempt left.

import type { BlockBlobClient } from '@azure/storage-blob';
import { PgkeepError } from '../errors';
import { lifecycleOf } from '../domain/lifecycle';
import { parsePolicy } from '../domain/policy';
import { tagForBackup, type TaggedPoint } from '../domain/tagging';
import type { Policy } from '../domain/types';
import {
  recoveryPointId,
  type Clock,
  type InstanceRecord,
  type InstanceStore,
  type JobRecord,
  type KeyEncryptionKeys,
  type JobStore,
  type PgClientTools,
  type PgConnection,
  type PolicyStore,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type SlotStore,
} from '../ports';
import { blockBlobSink } from '../adapters/storage/staged-blocks';
import { pickPgDump } from '../adapters/postgres/pg-binaries';
import { assertReady } from '../adapters/postgres/pg-readiness';
import { runDump as runDumpPipeline, type DumpResult as DumpOutcome } from '../adapters/postgres/dump-pipeline';
import type { ContentsResult } from '../adapters/postgres/dump-contents';
import { newDataKey, type EncryptionManifest } from '../adapters/crypto/envelope';
import { acquireBackupLock, releaseBackupLock } from './backup-lock';
import { acquireBackupSlot, releaseBackupSlot } from './backup-slots';
import { checkInstanceReadiness, resolveConnection, type ReadinessDeps } from './readiness';
import type {
  CommitRecoveryPointInput,
  CommitRecoveryPointResult,
  DumpResult,
  FailBackupJobInput,
  JobStepInput,
  ReadinessResult,
  RunDumpInput,
  StartBackupJobInput,
  StartBackupJobResult,
} from '../workflows/names';

/** The part of the vault blob store the backup needs. */
export interface BackupBlobs {
  dumpBlobName(instanceName: string, backupId: string): string;
  manifestBlobName(instanceName: string, backupId: string): string;
  blockBlobClient(name: string): BlockBlobClient;
  /** Creates the container if missing; blockBlobClient cannot. */
  ensureContainer(): Promise<void>;
  putJson(name: string, value: unknown): Promise<void>;
  info(name: string): Promise<{ bytes: number } | undefined>;
  delete(name: string): Promise<void>;
}

/** What the manifest records about the database itself (design §5.3), read before the dump. */
export interface DatabaseFacts {
  readonly databaseSizeBytes: number;
  readonly [key: string]: unknown;
}

export interface BackupActivityDeps {
  readonly instances: InstanceStore;
  readonly policies: PolicyStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly blobs: BackupBlobs;
  readonly readiness: ReadinessDeps;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  readonly describeDatabase: (conn: PgConnection) => Promise<DatabaseFacts>;
  readonly clock: Clock;
  /** The durable semaphores of backups (issue 15) and their limits. */
  readonly slots: SlotStore;
  /** The vault's key-encryption keys; without a current KEK (or without keys) dumps are not encrypted. */
  readonly keys?: KeyEncryptionKeys;
  readonly settings: {
    readonly serverMaxConcurrentBackups: number;
    readonly hostMaxConcurrentBackups: number;
    readonly slotPollSeconds: number;
    readonly zstdLevel: number;
    readonly stallTimeoutMs: number;
    /** CONTENTS_MANIFEST: compute the manifest of contents from the dump stream (default true). */
    readonly contentsManifest?: boolean;
  };
  readonly log: (message: string) => void;
}

/** A recovery point's id, from its time and its job, so that a retried commit finds its own row. */
export function recoveryPointIdFor(jobId: string, time: string): string {
  return recoveryPointId(time, jobId.replace(/[^A-Za-z0-9]/g, '').slice(0, 32));
}

async function loadInstance(deps: BackupActivityDeps, name: string): Promise<InstanceRecord> {
  const stored = await deps.instances.get(name);
  if (!stored) throw new PgkeepError('UserErrorNotFound', `backup instance '${name}' was not found`, { target: name });
  return stored.value;
}

async function loadPolicy(deps: BackupActivityDeps, name: string): Promise<Policy> {
  const record = await deps.policies.get(name);
  if (!record) throw new PgkeepError('UserErrorNotFound', `backup policy '${name}' was not found`, { target: name });
  const parsed = parsePolicy(record.document);
  if (!parsed.ok) throw new PgkeepError('UserErrorInvalidPolicy', `stored policy '${name}' no longer validates`);
  return parsed.value;
}

/**
 * describeDatabase waits for table locks (sizes take one): a lock held longer than DUMP_STALL_TIMEOUT fails the run
 * as a silent pg_dump would, instead of hanging before the pipeline's own stall timer starts.
 */
async function describeWithin(deps: BackupActivityDeps, conn: PgConnection): Promise<DatabaseFacts> {
  const ms = deps.settings.stallTimeoutMs;
  const described = deps.describeDatabase(conn);
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PgkeepError(
            'SystemErrorDumpStalled',
            `reading the catalog of database '${conn.database}' waited more than ${Math.round(ms / 1000)} s, probably for a table lock`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([described, stalled]);
  } finally {
    clearTimeout(timer);
    // The query finishes (or fails) once the lock is gone; nobody waits for it any more.
    described.catch(() => undefined);
  }
}

const nowIso = (deps: BackupActivityDeps) => deps.clock.now().toISOString();

/** What the manifest records about the dump itself (design §5.3), after what it records about the database. */
function dumpFacts(result: DumpOutcome, encryption: EncryptionManifest | null) {
  return {
    pgDumpVersion: result.pgDumpVersion,
    dumpFormat: 'custom',
    tocEntries: result.tocEntries,
    compression: result.compression,
    // Algorithms, the wrapped data key and the full id (with version) of the KEK that wrapped it. Never the key.
    encryption,
    uncompressedBytes: result.uncompressedBytes,
    bytes: result.bytes,
    sha256: result.sha256,
    // The SHA-256 is of the blob as stored (zstd, then encryption when set); `contents` covers the plain archive.
    sha256Covers: 'StoredBlob',
    blockSize: result.blockSize,
    blockCount: result.blockCount,
  };
}

/**
 * The manifest of contents (issue 17): `contents` when the dump's archive was read as it passed, else
 * `contents: null` with the reason. Its absence never fails a backup: the SHA-256 still guards the bytes.
 */
function contentsFacts(result: ContentsResult | undefined, log: (reason: string) => void) {
  if (result === undefined) return { contents: null };
  if (result.ok) return { contents: result.contents };
  log(result.reason);
  return { contents: null, contentsError: result.reason };
}

/** The backup lock (backup-lock.ts) over this run's stores and clock. */
const lockDepsOf = (deps: BackupActivityDeps) => ({
  instances: deps.instances,
  jobs: deps.jobs,
  nowIso: () => nowIso(deps),
});

/** Creates the job (once per job id) and takes the instance's backup lock; a refusal fails the job, not the run. */
async function startBackupJob(deps: BackupActivityDeps, input: StartBackupJobInput): Promise<StartBackupJobResult> {
  const existing = await deps.jobs.get(input.jobId);
  if (!existing) {
    const job: JobRecord = {
      id: input.jobId,
      operation: 'Backup',
      backupInstance: input.instanceName,
      status: 'NotStarted',
      trigger: input.trigger,
      startTime: nowIso(deps),
      progress: { bytes: 0 },
      orchestrationId: input.orchestrationId,
      ...(input.scheduledSlot ? { extra: { scheduledSlot: input.scheduledSlot } } : {}),
    };
    await deps.jobs.create(job);
  } else if (!['NotStarted', 'Queued', 'InProgress'].includes(existing.status)) {
    // A replayed start of a job that already ended: report what happened, do nothing again.
    return existing.error ? { started: false, error: existing.error } : { started: true };
  }
  try {
    const instance = await loadInstance(deps, input.instanceName);
    if (input.trigger === 'Scheduled' && instance.protectionState !== 'ProtectionConfigured') {
      throw new PgkeepError('UserErrorProtectionStopped', `protection of '${input.instanceName}' is stopped`);
    }
    await acquireBackupLock(lockDepsOf(deps), input.instanceName, input.jobId);
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const error = { code: err.code, message: err.message, hint: err.hint };
    await deps.jobs.patch(input.jobId, { status: 'Failed', endTime: nowIso(deps), error });
    return { started: false, error };
  }
  await deps.jobs.patch(input.jobId, { status: 'InProgress' });
  return { started: true };
}

/** The readiness checks of design §8, failing with the first failed check's code. */
async function checkBackupReadiness(deps: BackupActivityDeps, input: JobStepInput): Promise<ReadinessResult> {
  const instance = await loadInstance(deps, input.instanceName);
  const report = await checkInstanceReadiness(deps.readiness, instance);
  assertReady(report);
  return { serverMajor: report.serverMajor ?? 0, serverVersion: report.serverVersion ?? 'unknown' };
}

/** Dumps the database into the vault (staged blocks, committed on success), then writes its manifest. */
async function runDump(deps: BackupActivityDeps, input: RunDumpInput): Promise<DumpResult> {
  const instance = await loadInstance(deps, input.instanceName);
  const conn = await resolveConnection(deps.readiness.secrets, instance);
  const tools = pickPgDump(input.serverMajor, await deps.discoverTools());
  const facts = await describeWithin(deps, conn);
  // A fresh data key per backup, wrapped before the dump starts: an unusable KEK fails the job before any load.
  const envelope = deps.keys?.current ? await newDataKey(deps.keys.current) : undefined;
  const time = nowIso(deps);
  await deps.blobs.ensureContainer();
  const blobName = deps.blobs.dumpBlobName(instance.name, input.jobId);
  const manifestBlobName = deps.blobs.manifestBlobName(instance.name, input.jobId);
  let lastWrite = Promise.resolve();
  const result = await runDumpPipeline({
    conn,
    tools,
    sink: blockBlobSink(deps.blobs.blockBlobClient(blobName)),
    zstdLevel: deps.settings.zstdLevel,
    stallTimeoutMs: deps.settings.stallTimeoutMs,
    expectedSizeBytes: facts.databaseSizeBytes,
    metadata: { jobid: input.jobId, instance: instance.name },
    ...(envelope ? { encryption: { key: envelope.dataKey, keyId: envelope.encryption.keyId } } : {}),
    contents: deps.settings.contentsManifest !== false,
    onProgress: (_dumped, stored) => {
      // Progress is advisory: a failed write must not fail the dump, and writes stay in order.
      lastWrite = lastWrite
        .then(() => deps.jobs.patch(input.jobId, { progress: { bytes: stored } }))
        .catch((err: unknown) => deps.log(`progress write for job ${input.jobId} failed: ${String(err)}`));
    },
  });
  await lastWrite;
  await deps.blobs.putJson(manifestBlobName, {
    formatVersion: 1,
    backupInstance: instance.name,
    jobId: input.jobId,
    time,
    database: conn.database,
    ...facts,
    ...dumpFacts(result, envelope?.encryption ?? null),
    ...contentsFacts(result.contents, (reason) =>
      deps.log(`backup job ${input.jobId}: no manifest of contents: ${reason}`),
    ),
  });
  return {
    blobName,
    manifestBlobName,
    time,
    bytes: result.bytes,
    sha256: result.sha256,
    serverVersion: typeof facts.serverVersion === 'string' ? facts.serverVersion : String(input.serverMajor),
    pgDumpVersion: result.pgDumpVersion,
    databaseName: conn.database,
    ...(envelope ? { encryptionKeyId: envelope.encryption.keyId } : {}),
  };
}

/** The recovery point row of a verified dump: tagged against the instance's points, dated by its policy. */
async function newRecoveryPoint(
  deps: BackupActivityDeps,
  input: CommitRecoveryPointInput,
  id: string,
): Promise<RecoveryPointRecord> {
  const instance = await loadInstance(deps, input.instanceName);
  const policy = await loadPolicy(deps, instance.policyName);
  const existing: TaggedPoint[] = [];
  for await (const { value } of deps.recoveryPoints.list(input.instanceName)) {
    if (value.status === 'Available') existing.push({ time: value.time, tag: value.tag, trigger: value.trigger });
  }
  const tag = tagForBackup(policy, input.dump.time, existing, input.trigger, input.retentionTagOverride);
  const life = lifecycleOf(policy, input.dump.time, tag);
  return {
    instanceName: input.instanceName,
    id,
    time: input.dump.time,
    tag,
    trigger: input.trigger,
    dataStore: 'VaultStore',
    status: 'Available',
    policyName: instance.policyName,
    jobId: input.jobId,
    blobName: input.dump.blobName,
    manifestBlobName: input.dump.manifestBlobName,
    bytes: input.dump.bytes,
    sha256: input.dump.sha256,
    vaultUntil: life.vaultUntil,
    movesToArchive: life.movesToArchive,
    deleteAt: life.deleteAt,
    serverVersion: input.dump.serverVersion,
    pgDumpVersion: input.dump.pgDumpVersion,
    databaseName: input.dump.databaseName,
    ...(input.dump.encryptionKeyId !== undefined ? { encryptionKeyId: input.dump.encryptionKeyId } : {}),
    createdAt: nowIso(deps),
  };
}

/** Checks the stored dump and writes its recovery point row, the completion marker; idempotent per job. */
async function commitRecoveryPoint(
  deps: BackupActivityDeps,
  input: CommitRecoveryPointInput,
): Promise<CommitRecoveryPointResult> {
  const id = recoveryPointIdFor(input.jobId, input.dump.time);
  const already = await deps.recoveryPoints.get(input.instanceName, id);
  let point = already?.value;
  if (!point) {
    const stored = await deps.blobs.info(input.dump.blobName);
    if (!stored || stored.bytes !== input.dump.bytes) {
      throw new PgkeepError(
        'SystemErrorDumpFailed',
        `the stored dump of job ${input.jobId} is ${stored ? `${stored.bytes} bytes, expected ${input.dump.bytes}` : 'missing'}`,
      );
    }
    point = await newRecoveryPoint(deps, input, id);
    await deps.recoveryPoints.create(point);
  }
  await finishSucceeded(deps, input, point);
  return { recoveryPointId: point.id, tag: point.tag };
}

async function finishSucceeded(
  deps: BackupActivityDeps,
  input: JobStepInput,
  point: RecoveryPointRecord,
): Promise<void> {
  // A patch replaces `extra` whole: keep what the start recorded (scheduled slot, requested tag).
  const job = await deps.jobs.get(input.jobId);
  await deps.jobs.patch(input.jobId, {
    status: 'Succeeded',
    endTime: nowIso(deps),
    recoveryPointId: point.id,
    progress: { bytes: point.bytes, percent: 100 },
    extra: { ...job?.extra, retentionTag: point.tag },
  });
  await releaseBackupSlot(deps, input.jobId);
  await releaseBackupLock(lockDepsOf(deps), input.instanceName, input.jobId);
}

/** Fails the job and removes what the attempt left, unless its row was committed (then it succeeded). */
async function failBackupJob(deps: BackupActivityDeps, input: FailBackupJobInput): Promise<void> {
  // Only a run whose dump finished can have committed a row; its id is derived from the dump's time.
  const committed =
    input.dumpTime === undefined
      ? undefined
      : await deps.recoveryPoints.get(input.instanceName, recoveryPointIdFor(input.jobId, input.dumpTime));
  if (committed) {
    // The row is the completion marker: the backup completed even though a later step failed.
    await finishSucceeded(deps, input, committed.value);
    return;
  }
  for (const blob of [
    deps.blobs.dumpBlobName(input.instanceName, input.jobId),
    deps.blobs.manifestBlobName(input.instanceName, input.jobId),
  ]) {
    try {
      await deps.blobs.delete(blob);
    } catch (err) {
      if (!(err instanceof PgkeepError && err.code === 'UserErrorBlobImmutable')) throw err;
      // Committed before the failure and now under the immutability policy: no row names it, so expiry's orphan
      // sweep deletes it once the policy allows.
      deps.log(`backup job ${input.jobId}: ${err.message}; left to the orphan sweep`);
    }
  }
  // A scheduled run whose start step never wrote the job has no row to fail; the lock is still released.
  if (await deps.jobs.get(input.jobId)) {
    await deps.jobs.patch(input.jobId, { status: 'Failed', endTime: nowIso(deps), error: input.error });
  }
  await releaseBackupSlot(deps, input.jobId);
  await releaseBackupLock(lockDepsOf(deps), input.instanceName, input.jobId);
}

/** The backup activities over their dependencies: one function per activity, each given the same deps. */
export function createBackupActivities(deps: BackupActivityDeps) {
  return {
    startBackupJob: (input: StartBackupJobInput) => startBackupJob(deps, input),
    checkBackupReadiness: (input: JobStepInput) => checkBackupReadiness(deps, input),
    runDump: (input: RunDumpInput) => runDump(deps, input),
    commitRecoveryPoint: (input: CommitRecoveryPointInput) => commitRecoveryPoint(deps, input),
    failBackupJob: (input: FailBackupJobInput) => failBackupJob(deps, input),
    acquireBackupSlot: (input: JobStepInput) =>
      acquireBackupSlot(
        {
          ...deps,
          secrets: deps.readiness.secrets,
          limits: { server: deps.settings.serverMaxConcurrentBackups, host: deps.settings.hostMaxConcurrentBackups },
          silentAfterMs: Math.max(10 * 60_000, 20 * deps.settings.slotPollSeconds * 1000),
        },
        input,
      ),
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
