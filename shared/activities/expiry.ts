// The expiry activities (design §7): open the Expiry job, expire one instance (plan at the run's instant, then
// mark → change the blob → finalise the row, each point on its own), sweep orphans, and end the job.
// Every step is idempotent: a run that crashed anywhere is finished by the next one.

import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { planRetention, type ProtectionState } from '../domain/retention';
import type { Policy, PointView, RetentionAction } from '../domain/types';
import {
  ConcurrencyError,
  type BlobTier,
  type Clock,
  type InstanceRecord,
  type InstanceStore,
  type JobStore,
  type PolicyStore,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type Stored,
  type VaultBlobInfo,
} from '../ports';
import type {
  ExpireInstanceInput,
  ExpireInstanceResult,
  ExpiryFinding,
  FinishExpiryJobInput,
  StartExpiryJobInput,
  StartExpiryJobResult,
} from '../workflows/names';

/** The part of the vault blob store expiry needs. */
export interface ExpiryBlobs {
  setTier(name: string, tier: BlobTier): Promise<void>;
  /** Succeeds when absent. */
  delete(name: string): Promise<void>;
  list(prefix?: string): AsyncIterable<VaultBlobInfo>;
}

export interface ExpiryActivityDeps {
  readonly instances: InstanceStore;
  readonly policies: PolicyStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly blobs: ExpiryBlobs;
  /** Wall time: blob ages for the orphan grace, archivedAt, job times. Plans use the run's instant instead. */
  readonly clock: Clock;
  readonly settings: {
    readonly orphanGraceHours: number;
    /** A run lists the blobs when no finished run has within this many hours (0: every run). */
    readonly orphanSweepIntervalHours: number;
  };
  readonly log: (message: string) => void;
}

/** Findings an instance reports in full; beyond that only the counts grow (the orchestration history stays small). */
export const maxFindingsPerInstance = 50;

/** How expiry treats an instance's points (docs/decisions.md): deleted instances follow their stop choice too. */
export function protectionOf(instance: InstanceRecord): ProtectionState {
  if (instance.protectionState === 'ProtectionConfigured' && instance.deletedAt === undefined) return 'Protected';
  return instance.deleteBackupDataOnStop === true ? 'StoppedDeleteData' : 'Stopped';
}

export function toPointView(p: RecoveryPointRecord): PointView {
  return {
    id: p.id,
    time: p.time,
    tag: p.tag,
    dataStore: p.dataStore,
    status: p.status,
    ...(p.archivedAt !== undefined && { archivedAt: p.archivedAt }),
    ...(p.rehydratedUntil !== undefined && { rehydratedUntil: p.rehydratedUntil }),
    ...(p.inUseUntil !== undefined && { inUseUntil: p.inUseUntil }),
  };
}

/** Marked ArchiveStore but its blob not yet confirmed archived (archivedAt is the finalise step). */
export const isMovePending = (p: RecoveryPointRecord) =>
  p.status === 'Available' && p.dataStore === 'ArchiveStore' && p.archivedAt === undefined;

/** The rehydrated copy was withdrawn (rehydratedUntil cleared) but its blob not yet confirmed deleted. */
export const isCopyExpiryPending = (p: RecoveryPointRecord) =>
  p.status === 'Available' && p.rehydratedBlobName !== undefined && p.rehydratedUntil === undefined;

export async function loadPolicyRecord(policies: PolicyStore, name: string): Promise<Policy> {
  const record = await policies.get(name);
  if (!record) throw new PgkeepError('UserErrorNotFound', `backup policy '${name}' was not found`, { target: name });
  const parsed = parsePolicy(record.document);
  if (!parsed.ok) throw new PgkeepError('UserErrorInvalidPolicy', `stored policy '${name}' no longer validates`);
  return parsed.value;
}

/** A failure's text for the job: our own messages as they are, SDK errors reduced to status and code. */
function describe(err: unknown): { code: string; message: string } {
  if (err instanceof PgkeepError) return { code: err.code, message: err.message };
  const e = err as { statusCode?: unknown; code?: unknown; name?: unknown };
  if (typeof e?.statusCode === 'number') {
    return {
      code: 'StorageError',
      message: `storage answered ${e.statusCode}${typeof e.code === 'string' ? ` ${e.code}` : ''}`,
    };
  }
  return { code: 'SystemErrorInternal', message: typeof e?.name === 'string' ? e.name : 'internal error' };
}

/** The blob is protected by the container's immutability policy or a legal hold (ports.ts, VaultBlobStore). */
function isImmutable(err: unknown): err is PgkeepError {
  return err instanceof PgkeepError && err.code === 'UserErrorBlobImmutable';
}

async function hasAnyPoint(points: RecoveryPointStore, name: string): Promise<boolean> {
  for await (const _ of points.list(name)) return true;
  return false;
}

function without<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy = { ...value };
  for (const k of keys) delete copy[k];
  return copy;
}

const nowIso = (deps: ExpiryActivityDeps) => deps.clock.now().toISOString();

/**
 * Whether a run starting now lists the blobs: when no finished Expiry job of the last interval did. Listing
 * every instance's blobs is the expensive part of a run; orphans come only from interrupted backups and wait out
 * their grace anyway, so a weekly sweep finds them a few days later at a fraction of the daily cost.
 */
async function decideSweep(deps: ExpiryActivityDeps): Promise<boolean> {
  const hours = deps.settings.orphanSweepIntervalHours;
  if (hours === 0) return true;
  // Jobs carry wall-clock start times, so the window is on the wall clock too.
  const from = new Date(deps.clock.now().getTime() - hours * 3_600_000).toISOString();
  for await (const job of deps.jobs.list({ operation: 'Expiry', from })) {
    if (job.extra?.['sweepOrphans'] === true && (job.status === 'Succeeded' || job.status === 'Failed')) return false;
  }
  return true;
}

async function startExpiryJob(deps: ExpiryActivityDeps, input: StartExpiryJobInput): Promise<StartExpiryJobResult> {
  const existing = await deps.jobs.get(input.jobId);
  // A retried start keeps the first attempt's decision.
  const sweepOrphans = existing !== undefined ? existing.extra?.['sweepOrphans'] === true : await decideSweep(deps);
  if (!existing) {
    try {
      await deps.jobs.create({
        id: input.jobId,
        operation: 'Expiry',
        backupInstance: '*',
        status: 'InProgress',
        trigger: input.trigger,
        startTime: nowIso(deps),
        progress: { bytes: 0 },
        orchestrationId: input.orchestrationId,
        extra: { asOf: input.nowUtc, sweepOrphans },
      });
    } catch (err) {
      // A retried start whose first create landed.
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
  const instanceNames: string[] = [];
  for await (const { value } of deps.instances.list()) instanceNames.push(value.name);
  return { instanceNames, sweepOrphans };
}

async function expireInstance(deps: ExpiryActivityDeps, input: ExpireInstanceInput): Promise<ExpireInstanceResult> {
  const name = input.instanceName;
  const counts = { moved: 0, deleted: 0, rehydratedExpired: 0, orphansDeleted: 0 };
  const failures: ExpiryFinding[] = [];
  const warnings: ExpiryFinding[] = [];
  let failureCount = 0;
  let warningCount = 0;
  const warn = (code: string, message: string, pointId?: string) => {
    warningCount++;
    if (warnings.length < maxFindingsPerInstance) {
      warnings.push({ code, message, instanceName: name, ...(pointId !== undefined && { pointId }) });
    }
  };
  const result = (instanceRemoved: boolean): ExpireInstanceResult => ({
    instanceName: name,
    ...counts,
    instanceRemoved,
    failureCount,
    failures,
    warningCount,
    warnings,
  });

  const stored = await deps.instances.get(name);
  if (!stored) return result(false);
  const instance = stored.value;
  const policy = await loadPolicyRecord(deps.policies, instance.policyName);
  const rows = new Map<string, Stored<RecoveryPointRecord>>();
  for await (const row of deps.recoveryPoints.list(name)) rows.set(row.value.id, row);
  const now = Date.parse(input.nowUtc);
  const inUse = (p: RecoveryPointRecord) => p.inUseUntil !== undefined && Date.parse(p.inUseUntil) > now;

  /** Runs one point's step; a failure is counted and reported, and the other points go on. */
  async function isolated(pointId: string, what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (isImmutable(err)) {
        // Not a failure: the immutability policy still protects the blob. The row keeps track; a later run retries.
        warn(
          'BlobImmutable',
          `${what} ${pointId} is not possible yet: ${err.message}; kept, retried on a later run`,
          pointId,
        );
        return;
      }
      if (err instanceof ConcurrencyError) {
        // Someone (a restore taking its lease) changed the row since it was read: decide again next run.
        warn(
          'RecoveryPointChanged',
          `recovery point ${pointId} changed during expiry; ${what} left to the next run`,
          pointId,
        );
        return;
      }
      const d = describe(err);
      deps.log(`expiry: ${what} of ${name}/${pointId} failed: ${err instanceof Error ? err.message : String(err)}`);
      failureCount++;
      if (failures.length < maxFindingsPerInstance) {
        failures.push({ code: d.code, message: `${what} failed: ${d.message}`, instanceName: name, pointId });
      }
    }
  }

  /** Writes the row with the etag held; the map keeps the new etag for later steps of the same run. */
  async function write(next: RecoveryPointRecord, etag: string): Promise<string> {
    const newEtag = await deps.recoveryPoints.update(next, etag);
    rows.set(next.id, { value: next, etag: newEtag });
    return newEtag;
  }

  async function finishMove(row: Stored<RecoveryPointRecord>): Promise<void> {
    await deps.blobs.setTier(row.value.blobName, 'Archive');
    await write({ ...row.value, archivedAt: nowIso(deps) }, row.etag);
    counts.moved++;
  }

  async function finishCopyExpiry(row: Stored<RecoveryPointRecord>): Promise<void> {
    await deps.blobs.delete(row.value.rehydratedBlobName!);
    await write(without(row.value, 'rehydratedBlobName', 'rehydratedUntil'), row.etag);
    counts.rehydratedExpired++;
  }

  async function moveToArchive(row: Stored<RecoveryPointRecord>): Promise<void> {
    // Mark: the row stops offering the vault copy, so a restore starting now asks for rehydration.
    const etag = await write({ ...without(row.value, 'archivedAt'), dataStore: 'ArchiveStore' }, row.etag);
    await finishMove({ value: rows.get(row.value.id)!.value, etag });
  }

  async function expireRehydrated(row: Stored<RecoveryPointRecord>): Promise<void> {
    if (row.value.rehydratedBlobName === undefined) {
      await write(without(row.value, 'rehydratedUntil'), row.etag);
      counts.rehydratedExpired++;
      return;
    }
    const etag = await write(without(row.value, 'rehydratedUntil'), row.etag);
    await finishCopyExpiry({ value: rows.get(row.value.id)!.value, etag });
  }

  async function deletePoint(row: Stored<RecoveryPointRecord>): Promise<void> {
    let value = row.value;
    const marked = value.status !== 'Deleting';
    if (marked) {
      // Mark: a restore refuses a Deleting point, and the next run finishes the delete whatever the dates say.
      value = { ...value, status: 'Deleting' };
      await write(value, row.etag);
    }
    // The point's blobs at once (a round trip each in Azure); the row goes only when all of them have.
    const blobs = [value.blobName, value.manifestBlobName, value.rehydratedBlobName].filter((b) => b !== undefined);
    const results = await Promise.allSettled(blobs.map((b) => deps.blobs.delete(b)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    const other = failures.find((e) => !isImmutable(e));
    if (other !== undefined) throw other;
    const immutable = failures[0];
    if (immutable !== undefined) {
      // Immutable: not deletable yet. When nothing was deleted the point is whole and stays restorable, so the mark
      // is taken back; otherwise it stays Deleting and a later run finishes it. Either way the row keeps track.
      if (marked && failures.length === blobs.length) {
        const current = rows.get(value.id)!;
        await write({ ...current.value, status: row.value.status }, current.etag);
      }
      throw immutable;
    }
    await deps.recoveryPoints.delete(name, value.id);
    rows.delete(value.id);
    counts.deleted++;
  }

  // 1. Finish what an interrupted run marked but did not finalise (a delete is finished by the plan itself).
  for (const row of [...rows.values()]) {
    if (inUse(row.value)) continue;
    if (isMovePending(row.value)) await isolated(row.value.id, 'archiving', () => finishMove(row));
    else if (isCopyExpiryPending(row.value)) {
      await isolated(row.value.id, 'expiring the rehydrated copy', () => finishCopyExpiry(row));
    }
  }

  // 2. Plan at the run's instant and apply, one point at a time, each isolated.
  const views = [...rows.values()].map((r) => toPointView(r.value));
  const actions: RetentionAction[] = planRetention(views, policy, input.nowUtc, protectionOf(instance));
  for (const action of actions) {
    const row = rows.get(action.pointId);
    if (!row) continue;
    if (action.kind === 'delete') await isolated(action.pointId, 'deleting', () => deletePoint(row));
    else if (action.kind === 'moveToArchive') await isolated(action.pointId, 'archiving', () => moveToArchive(row));
    else await isolated(action.pointId, 'expiring the rehydrated copy', () => expireRehydrated(row));
  }

  // 3. On a sweeping run: orphans (blobs no row names, e.g. an interrupted backup's) after the grace; rows whose
  // blob is gone.
  if (input.sweepOrphans) {
    try {
      await sweepBlobs();
    } catch (err) {
      failureCount++;
      const d = describe(err);
      failures.push({
        code: d.code,
        message: `listing the blobs of ${name} failed: ${d.message}`,
        instanceName: name,
      });
    }
  }

  async function sweepBlobs(): Promise<void> {
    const referenced = new Set<string>();
    for (const { value } of rows.values()) {
      referenced.add(value.blobName).add(value.manifestBlobName);
      if (value.rehydratedBlobName !== undefined) referenced.add(value.rehydratedBlobName);
    }
    const present = new Set<string>();
    const graceMs = deps.settings.orphanGraceHours * 3_600_000;
    const wall = deps.clock.now().getTime();
    for await (const blob of deps.blobs.list(`${name}/`)) {
      present.add(blob.name);
      if (referenced.has(blob.name)) continue;
      // A rehydrating copy is named on its row only once it has finished (hours later in Azure).
      if (blob.copyStatus === 'pending') continue;
      if (wall - Date.parse(blob.lastModified) < graceMs) continue;
      await isolated(blob.name, 'deleting the orphaned blob', async () => {
        await deps.blobs.delete(blob.name);
        counts.orphansDeleted++;
      });
    }
    for (const { value } of rows.values()) {
      if (value.status !== 'Available') continue;
      for (const blob of [value.blobName, value.manifestBlobName]) {
        if (blob.startsWith(`${name}/`) && !present.has(blob)) {
          warn('RecoveryPointBlobMissing', `recovery point ${value.id} of ${name}: blob ${blob} is missing`, value.id);
        }
      }
    }
  }

  // 4. A deleted instance goes, with its datasource claim, once nothing of it is left.
  if (instance.deletedAt !== undefined && rows.size === 0) {
    // A backup that was already running when the instance was deleted may have committed meanwhile.
    if (await hasAnyPoint(deps.recoveryPoints, name)) return result(false);
    await deps.instances.delete(name);
    return result(true);
  }
  return result(false);
}

async function finishExpiryJob(deps: ExpiryActivityDeps, input: FinishExpiryJobInput): Promise<void> {
  const findings = [...input.failures, ...input.warnings].map((f) => ({
    code: f.code,
    message: `${f.instanceName}${f.pointId !== undefined ? `/${f.pointId}` : ''}: ${f.message}`,
  }));
  const left = input.failureCount + input.warningCount - findings.length;
  if (left > 0) findings.push({ code: 'FindingsTruncated', message: `${left} more finding(s) not listed` });
  const failed = input.failureCount > 0;
  await deps.jobs.patch(input.jobId, {
    status: failed ? 'Failed' : 'Succeeded',
    endTime: nowIso(deps),
    ...(failed && {
      error: {
        code: 'SystemErrorInternal',
        message: `${input.failureCount} expiry action(s) failed; each is listed in the job's warnings`,
        hint: 'the next expiry run retries them; fix the cause (e.g. storage access) if they keep failing',
      },
    }),
    ...(findings.length > 0 && { warnings: findings }),
    extra: {
      asOf: input.asOf,
      sweepOrphans: input.sweepOrphans,
      instances: input.instances,
      moved: input.moved,
      deleted: input.deleted,
      rehydratedExpired: input.rehydratedExpired,
      orphansDeleted: input.orphansDeleted,
      failures: input.failureCount,
      warnings: input.warningCount,
    },
  });
}

/** The expiry activities over their dependencies: one function per activity, each given the same deps. */
export function createExpiryActivities(deps: ExpiryActivityDeps) {
  return {
    startExpiryJob: (input: StartExpiryJobInput) => startExpiryJob(deps, input),
    expireInstance: (input: ExpireInstanceInput) => expireInstance(deps, input),
    finishExpiryJob: (input: FinishExpiryJobInput) => finishExpiryJob(deps, input),
  };
}

export type ExpiryActivities = ReturnType<typeof createExpiryActivities>;
