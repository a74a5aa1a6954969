// The restore-test and verify activities (issue 17): start a RestoreTest job (choose the point, check the scratch
// server, drop leftovers), restore into the scratch database through the normal restore pipeline, compare it with
// the point's manifest of contents and run the assertions, then finish: drop the scratch database, put the evidence
// on the point, in the instance's history and on the job. Verify reads a point back without a server.

import { spawn } from 'node:child_process';
import { PgkeepError } from '../errors';
import {
  ConcurrencyError,
  type Clock,
  type InstanceStore,
  type JobError,
  type JobRecord,
  type JobStore,
  type PgClientTools,
  type PgConnection,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type RestoreTestHistoryStore,
  type SecretResolver,
  type VaultBlobStore,
} from '../ports';
import { compareContents, type ContentsManifest } from '../domain/contents';
import {
  isLeftover,
  scratchComment,
  scratchDatabaseName,
  selectPoint,
  type PointChoice,
} from '../domain/restore-tests';
import {
  exactDurationMs,
  integrityEvidence,
  MAX_LISTED_MISMATCHES,
  type RestoreTestResult,
} from '../contracts/restore-tests';
import type { RestoreSpec } from '../contracts/restores';
import { parseConnectionString } from '../adapters/postgres/connection-string';
import { readRestoredContents } from '../adapters/postgres/restored-contents';
import {
  dropScratchDatabase,
  listScratchDatabases,
  probeScratchServer,
  runAssertions,
} from '../adapters/postgres/scratch-databases';
import { pickPgRestore } from '../adapters/postgres/pg-restore-tools';
import { integrityError, matchesManifest, openDecompressedSource } from '../adapters/storage/restore-source';
import { resolveConnection } from './readiness';
import type { RestoreActivities } from './restore';
import type {
  CheckRestoredDatabaseInput,
  FinishRestoreTestInput,
  RestoreCheck,
  RestoreScratchInput,
  RunRestoreResult,
  StartRestoreTestInput,
  StartRestoreTestResult,
  VerifyOrchestratorInput,
  VerifyResult,
} from '../workflows/names';

export interface RestoreTestActivityDeps {
  readonly instances: InstanceStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly history: RestoreTestHistoryStore;
  readonly blobs: Pick<VaultBlobStore, 'getJson' | 'info' | 'openRead'>;
  readonly secrets: SecretResolver;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  /** The restore pipeline as restores run it (activities/restore.ts). */
  readonly restore: Pick<RestoreActivities, 'runRestoreWith' | 'archiveKey'>;
  readonly clock: Clock;
  readonly log: (message: string) => void;
}

const nowIso = (deps: RestoreTestActivityDeps) => deps.clock.now().toISOString();
const terminal = new Set(['Succeeded', 'Failed', 'Cancelled']);
/** How long a rehydrated copy made for a test is kept (the shortest a restore request may ask for). */
const TEST_REHYDRATION_DAYS = 10;

function jobError(err: PgkeepError): JobError {
  return { code: err.code, message: err.message, hint: err.hint };
}

/** The scratch server's connection, to `database` (default: the maintenance database the adapters pick). */
async function targetConnection(
  deps: RestoreTestActivityDeps,
  secret: RestoreSpec['target'] & { kind: 'database' },
): Promise<PgConnection> {
  const value = await deps.secrets.resolve(secret.secret);
  return { ...parseConnectionString(value), database: secret.databaseName };
}

const loopback = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
function sameServer(a: PgConnection, b: PgConnection): boolean {
  const host = (h: string) => (loopback.has(h.toLowerCase()) ? 'loopback' : h.toLowerCase().replace(/\.$/, ''));
  return host(a.host) === host(b.host) && a.port === b.port;
}

async function loadPoints(deps: RestoreTestActivityDeps, instanceName: string): Promise<RecoveryPointRecord[]> {
  const points: RecoveryPointRecord[] = [];
  for await (const { value } of deps.recoveryPoints.list(instanceName)) points.push(value);
  return points;
}

/** Whether a point can be read now, or must be rehydrated first. */
async function needsRehydration(deps: RestoreTestActivityDeps, point: RecoveryPointRecord): Promise<boolean> {
  if (point.dataStore !== 'ArchiveStore') return false;
  if (point.rehydratedBlobName && point.rehydratedUntil && point.rehydratedUntil > nowIso(deps)) {
    const copy = await deps.blobs.info(point.rehydratedBlobName);
    if (copy && copy.tier !== 'Archive' && (copy.copyStatus === undefined || copy.copyStatus === 'success'))
      return false;
  }
  return true;
}

/** Drops the scratch databases earlier tests left on this server (their job ended, or ran far past its deadline). */
async function dropLeftovers(deps: RestoreTestActivityDeps, target: PgConnection): Promise<string[]> {
  const dropped: string[] = [];
  for (const db of await listScratchDatabases(target)) {
    const job = await deps.jobs.get(db.mark.jobId);
    if (!isLeftover(db.mark, job?.status, nowIso(deps))) continue;
    if (await dropScratchDatabase(target, db.name, db.mark.jobId)) {
      dropped.push(db.name);
      deps.log(`restore test: dropped the leftover scratch database ${db.name} of job ${db.mark.jobId}`);
    }
  }
  return dropped;
}

/** Creates the RestoreTest job (once per job id), then prepares the test; a refusal fails the job, not the run. */
async function startRestoreTest(
  deps: RestoreTestActivityDeps,
  input: StartRestoreTestInput,
): Promise<StartRestoreTestResult> {
  const existing = await deps.jobs.get(input.jobId);
  const extra = {
    planName: input.planName,
    ...(input.scheduledSlot ? { scheduledSlot: input.scheduledSlot } : {}),
  };
  if (!existing) {
    const job: JobRecord = {
      id: input.jobId,
      operation: 'RestoreTest',
      backupInstance: input.instanceName,
      status: 'NotStarted',
      trigger: input.trigger,
      startTime: nowIso(deps),
      progress: { bytes: 0 },
      orchestrationId: input.orchestrationId,
      extra,
    };
    await deps.jobs.create(job);
  } else if (terminal.has(existing.status)) {
    return {
      started: false,
      error: existing.error ?? { code: 'SystemErrorInternal', message: 'the job ended', hint: '' },
    };
  }
  const startTime = existing?.startTime ?? nowIso(deps);
  try {
    const plan = input.plan;
    const stored = await deps.instances.get(input.instanceName);
    if (!stored || stored.value.deletedAt !== undefined) {
      throw new PgkeepError('UserErrorNotFound', `backup instance '${input.instanceName}' was not found`, {
        target: input.instanceName,
      });
    }
    if (plan.target === undefined) {
      throw new PgkeepError('UserErrorInvalidRequest', `restore-test plan '${input.planName}' has no scratch target`);
    }
    const choice: PointChoice = plan.point;
    const point = selectPoint(await loadPoints(deps, input.instanceName), choice, nowIso(deps), input.jobId);
    if (point === undefined) {
      throw new PgkeepError(
        'UserErrorNotFound',
        choice === 'latest'
          ? `backup instance '${input.instanceName}' has no available recovery point to test`
          : `backup instance '${input.instanceName}' has no available recovery point within ${choice.random.window}`,
        { target: input.instanceName },
      );
    }
    const full = (await deps.recoveryPoints.get(input.instanceName, point.id))?.value;
    if (!full) throw new PgkeepError('UserErrorNotFound', `recovery point '${point.id}' disappeared`);
    const scratchDatabase = scratchDatabaseName(input.jobId);
    const secretTarget = {
      kind: 'database' as const,
      databaseName: scratchDatabase,
      secret: plan.target.datasourceAuthCredentials.secretStoreResource,
    };
    const target = await targetConnection(deps, secretTarget);
    // A source whose secret is gone (a decommissioned server whose points are kept) cannot be the target's twin
    // through pgkeep: its points are still worth testing.
    const source = await resolveConnection(deps.secrets, stored.value).catch((err: unknown) => {
      if (!(err instanceof PgkeepError)) throw err;
      deps.log(`restore test ${input.jobId}: the source's secret cannot be read (${err.code}); not compared`);
      return undefined;
    });
    if (source !== undefined && sameServer(target, source) && !plan.target.allowSourceServer) {
      throw new PgkeepError(
        'UserErrorRestoreTestTargetIsSource',
        `the scratch target ${target.host}:${target.port} is the server backup instance '${input.instanceName}' protects`,
        { target: '$.properties.target' },
      );
    }
    const server = await probeScratchServer(target);
    const leftovers = await dropLeftovers(deps, target);
    const limitMs = exactDurationMs(plan.timeLimit) ?? 2 * 3600_000;
    const deadline = new Date(Date.parse(startTime) + limitMs).toISOString();
    const request: RestoreSpec = {
      recoveryPointId: full.id,
      sourceDataStoreType: full.dataStore,
      ...((await needsRehydration(deps, full))
        ? { rehydration: { priority: plan.rehydrationPriority, retentionDays: TEST_REHYDRATION_DAYS } }
        : {}),
      target: secretTarget,
    };
    await deps.jobs.patch(input.jobId, {
      status: 'InProgress',
      recoveryPointId: full.id,
      extra: {
        ...extra,
        scratchDatabase,
        scratchServer: `${target.host}:${target.port}`,
        targetServerVersion: server.serverVersion,
        deadline,
        ...(leftovers.length > 0 ? { leftoversDropped: leftovers } : {}),
      },
    });
    return {
      started: true,
      request,
      scratchDatabase,
      comment: scratchComment({ jobId: input.jobId, instanceName: input.instanceName, deadline }),
      deadline,
    };
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const error = jobError(err);
    await deps.jobs.patch(input.jobId, { status: 'Failed', endTime: nowIso(deps), error });
    return { started: false, error };
  }
}

function scratchTarget(request: RestoreSpec): RestoreSpec['target'] & { kind: 'database' } {
  if (request.target.kind !== 'database')
    throw new PgkeepError('SystemErrorInternal', 'a restore test restores as database');
  return request.target;
}

/** An abort signal that fires at `deadline`, and a check whether it did. */
function deadlineSignal(deadline: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, Date.parse(deadline) - Date.now()));
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

function timeLimitPassed(deadline: string): PgkeepError {
  return new PgkeepError('SystemErrorRestoreTestFailed', `the restore test passed its time limit (at ${deadline})`);
}

/**
 * Restores the point into the scratch database, marked with the test's comment. Run again after a host restart,
 * it first drops what the interrupted attempt of the same job created.
 */
async function restoreScratch(deps: RestoreTestActivityDeps, input: RestoreScratchInput): Promise<RunRestoreResult> {
  const target = await targetConnection(deps, scratchTarget(input.request));
  if (await dropScratchDatabase(target, target.database, input.jobId)) {
    deps.log(`restore test ${input.jobId}: dropped the scratch database of an interrupted attempt`);
  }
  if (Date.parse(input.deadline) <= Date.now()) throw timeLimitPassed(input.deadline);
  const limit = deadlineSignal(input.deadline);
  try {
    return await deps.restore.runRestoreWith(
      {
        jobId: input.jobId,
        instanceName: input.instanceName,
        request: input.request,
        sourceBlobName: input.sourceBlobName,
      },
      { abortSignal: limit.signal, databaseComment: input.comment },
    );
  } catch (err) {
    if (limit.signal.aborted) throw timeLimitPassed(input.deadline);
    throw err;
  } finally {
    limit.dispose();
  }
}

/** Reads a manifest's `contents`, or undefined for a point taken before they were recorded (or unreadable ones). */
function contentsOf(manifest: Record<string, unknown> | undefined): ContentsManifest | undefined {
  const c = manifest?.['contents'];
  if (typeof c !== 'object' || c === null) return undefined;
  const contents = c as Partial<ContentsManifest>;
  return contents.formatVersion === 1 && Array.isArray(contents.tables) ? (contents as ContentsManifest) : undefined;
}

/** Compares the restored scratch database with the point's manifest of contents and runs the assertions. */
async function checkRestoredDatabase(
  deps: RestoreTestActivityDeps,
  input: CheckRestoredDatabaseInput,
): Promise<RestoreCheck> {
  const point = (await deps.recoveryPoints.get(input.instanceName, input.request.recoveryPointId))?.value;
  if (!point)
    throw new PgkeepError('UserErrorNotFound', `recovery point '${input.request.recoveryPointId}' was not found`);
  const manifest = await deps.blobs.getJson<Record<string, unknown>>(point.manifestBlobName).catch(() => undefined);
  const contents = contentsOf(manifest);
  const conn = await targetConnection(deps, scratchTarget(input.request));
  const limit = deadlineSignal(input.deadline);
  try {
    const comparison = contents
      ? compareContents(contents, await readRestoredContents(conn, contents, { abortSignal: limit.signal }))
      : { tables: 0, rowsCompared: 0, mismatches: [] };
    const assertions = await runAssertions(conn, input.assertions, Date.parse(input.deadline));
    return {
      contentsChecked: contents !== undefined,
      tables: comparison.tables,
      rowsCompared: comparison.rowsCompared,
      mismatches: comparison.mismatches.slice(0, MAX_LISTED_MISMATCHES),
      mismatchCount: comparison.mismatches.length,
      assertions: assertions.outcomes,
      targetServerVersion: assertions.serverVersion,
    };
  } catch (err) {
    if (limit.signal.aborted) throw timeLimitPassed(input.deadline);
    throw err;
  } finally {
    limit.dispose();
  }
}

/** Applies `change` to the point row, retrying when another writer got there first. */
async function updatePoint(
  deps: RestoreTestActivityDeps,
  instanceName: string,
  id: string,
  change: (p: RecoveryPointRecord) => RecoveryPointRecord,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const stored = await deps.recoveryPoints.get(instanceName, id);
    if (!stored) return;
    try {
      await deps.recoveryPoints.update(change(stored.value), stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
    }
  }
}

function failureSummary(result: RestoreTestResult): string {
  if (result.error) return result.error.message;
  const parts: string[] = [];
  if (result.mismatchCount > 0) {
    const named = result.mismatches.slice(0, 5).map((m) => `${m.object} (${m.kind})`);
    parts.push(`${result.mismatchCount} difference(s) from the manifest of contents: ${named.join(', ')}`);
  }
  const failed = result.assertions.filter((a) => !a.passed);
  if (failed.length > 0) {
    parts.push(
      `${failed.length} assertion(s) failed: ${failed.map((a) => `${a.sql} ${a.message ?? ''}`.trim()).join('; ')}`,
    );
  }
  return `the restore test of recovery point '${result.recoveryPointId}' failed: ${parts.join('; ')}`.slice(0, 2000);
}

/**
 * Always the last step: drops the scratch database (only if it carries this job's mark), then records the evidence
 * on the point (releasing the restore's lease), in the history and on the job. Returns the test's status.
 */
async function finishRestoreTest(
  deps: RestoreTestActivityDeps,
  input: FinishRestoreTestInput,
): Promise<'Passed' | 'Failed'> {
  const warnings: { code: string; message: string }[] = [];
  try {
    const target = await targetConnection(deps, scratchTarget(input.request));
    await dropScratchDatabase(target, input.scratchDatabase, input.jobId);
  } catch (err) {
    // The next run drops it (its name and comment mark it); the evidence must be written regardless.
    const text = err instanceof Error ? err.message : String(err);
    warnings.push({ code: 'ScratchDatabaseNotDropped', message: `${input.scratchDatabase} was not dropped: ${text}` });
  }
  const job = await deps.jobs.get(input.jobId);
  const time = job?.startTime ?? nowIso(deps);
  const end = nowIso(deps);
  const check = 'check' in input.outcome ? input.outcome.check : undefined;
  const error = 'error' in input.outcome ? input.outcome.error : undefined;
  const passed = check !== undefined && check.mismatchCount === 0 && check.assertions.every((a) => a.passed);
  // A restore that returned read the whole blob and matched it against the point's SHA-256 first.
  const point =
    'restore' in input.outcome
      ? (await deps.recoveryPoints.get(input.instanceName, input.request.recoveryPointId))?.value
      : undefined;
  const result: RestoreTestResult = {
    jobId: input.jobId,
    planName: input.planName,
    recoveryPointId: input.request.recoveryPointId,
    time,
    status: passed ? 'Passed' : 'Failed',
    durationMs: Math.max(0, Date.parse(end) - Date.parse(time)),
    contentsChecked: check?.contentsChecked ?? false,
    tables: check?.tables ?? 0,
    rowsCompared: check?.rowsCompared ?? 0,
    mismatches: check?.mismatches ?? [],
    mismatchCount: check?.mismatchCount ?? 0,
    assertions: check?.assertions ?? [],
    targetServerVersion: check?.targetServerVersion ?? stringOf(job?.extra?.['targetServerVersion']),
    scratchDatabase: input.scratchDatabase,
    ...(point ? { integrity: integrityEvidence(point) } : {}),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
  await updatePoint(deps, input.instanceName, input.request.recoveryPointId, (p) => {
    const { inUseUntil, ...rest } = p;
    // Another restore took a later lease meanwhile: it is still running, keep its lease.
    const keep = inUseUntil !== undefined && inUseUntil !== input.inUseUntil;
    return { ...rest, ...(keep ? { inUseUntil } : {}), restoreTest: result };
  });
  await deps.history.put(input.instanceName, result);
  const restoreWarnings = 'restore' in input.outcome ? input.outcome.restore.warnings : [];
  const allWarnings = [...restoreWarnings, ...warnings];
  await deps.jobs.patch(input.jobId, {
    status: passed ? 'Succeeded' : 'Failed',
    endTime: end,
    progress: {
      bytes: 'restore' in input.outcome ? input.outcome.restore.bytesRead : (job?.progress.bytes ?? 0),
      percent: 100,
    },
    ...(allWarnings.length > 0 ? { warnings: allWarnings } : {}),
    ...(passed
      ? {}
      : {
          error: error ?? {
            code: 'SystemErrorRestoreTestFailed',
            message: failureSummary(result),
            hint: 'see restoreTest on the recovery point for every mismatch and assertion',
          },
        }),
    extra: { ...(job?.extra ?? {}), restoreTest: result },
  });
  return result.status;
}

function stringOf(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Counts `pg_restore --list` TOC entries of an archive stream; resolves with the count and its exit code. */
function listArchive(
  pgRestore: string,
  archive: NodeJS.ReadableStream,
): Promise<{ entries: number; code: number | null; stderr: string }> {
  const child = spawn(pgRestore, ['--list'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  archive.pipe(child.stdin);
  let entries = 0;
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim() !== '' && !l.startsWith(';')) entries++;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ entries, code: null, stderr: err.message }));
    child.once('close', (code) => {
      if (partial.trim() !== '' && !partial.startsWith(';')) entries++;
      resolve({ entries, code, stderr });
    });
  });
}

/**
 * Verify (issue 17): reads the point's blob back, checks its SHA-256 and size against the manifest and that
 * `pg_restore --list` reads the archive's table of contents (the same count the backup recorded). Creates the
 * Verify job when the scheduler started it, and always ends it.
 */
async function verifyRecoveryPoint(
  deps: RestoreTestActivityDeps,
  input: VerifyOrchestratorInput,
): Promise<VerifyResult> {
  if (!(await deps.jobs.get(input.jobId))) {
    await deps.jobs.create({
      id: input.jobId,
      operation: 'Verify',
      backupInstance: input.instanceName,
      status: 'NotStarted',
      trigger: input.trigger,
      startTime: nowIso(deps),
      progress: { bytes: 0 },
      ...(input.orchestrationId ? { orchestrationId: input.orchestrationId } : {}),
      ...(input.recoveryPointId ? { recoveryPointId: input.recoveryPointId } : {}),
      ...(input.planName ? { extra: { planName: input.planName } } : {}),
    });
  }
  let pointId = input.recoveryPointId;
  try {
    if (pointId === undefined) {
      const chosen = selectPoint(
        await loadPoints(deps, input.instanceName),
        input.point ?? 'latest',
        nowIso(deps),
        input.jobId,
      );
      if (!chosen) {
        throw new PgkeepError(
          'UserErrorNotFound',
          `backup instance '${input.instanceName}' has no available recovery point to verify`,
        );
      }
      pointId = chosen.id;
    }
    const point = (await deps.recoveryPoints.get(input.instanceName, pointId))?.value;
    if (!point || point.status !== 'Available') {
      throw new PgkeepError(
        'UserErrorNotFound',
        `recovery point '${pointId}' of '${input.instanceName}' was not found`,
      );
    }
    await deps.jobs.patch(input.jobId, { status: 'InProgress', recoveryPointId: point.id });
    const blob = (await needsRehydration(deps, point))
      ? undefined
      : point.dataStore === 'ArchiveStore'
        ? point.rehydratedBlobName
        : point.blobName;
    if (blob === undefined) {
      throw new PgkeepError(
        'UserErrorRecoveryPointArchived',
        `recovery point '${point.id}' is in ArchiveStore: verify reads hot and rehydrated points only`,
      );
    }
    const manifest = (await deps.blobs.getJson<Record<string, unknown>>(point.manifestBlobName)) ?? {};
    const expectedSha256 = typeof manifest['sha256'] === 'string' ? manifest['sha256'] : point.sha256;
    const expectedBytes = typeof manifest['bytes'] === 'number' ? manifest['bytes'] : point.bytes;
    const key = await deps.restore.archiveKey(point, manifest);
    const dumpVersion = typeof manifest['pgDumpVersion'] === 'string' ? manifest['pgDumpVersion'] : point.pgDumpVersion;
    const tools = pickPgRestore(dumpVersion, await deps.discoverTools());
    const source = await openDecompressedSource(() => deps.blobs.openRead(blob), key ? { decryptionKey: key } : {});
    const listed = listArchive(tools.pgRestore, source.archive);
    // pg_restore stops reading after the TOC: the rest still flows into the digest.
    void listed.then(() => source.discardArchive());
    const [toc, digest] = await Promise.all([listed, source.done]);
    if (digest.sourceError) {
      throw new PgkeepError(
        'SystemErrorRestoreFailed',
        `reading recovery point '${point.id}' failed: ${digest.sourceError.message}`,
      );
    }
    if (!matchesManifest(digest, expectedSha256, expectedBytes))
      throw integrityError(digest, expectedSha256, expectedBytes);
    const recordedToc = typeof manifest['tocEntries'] === 'number' ? manifest['tocEntries'] : undefined;
    if (
      !digest.decompressed ||
      toc.code !== 0 ||
      toc.entries === 0 ||
      (recordedToc !== undefined && recordedToc !== toc.entries)
    ) {
      throw new PgkeepError(
        'SystemErrorIntegrityCheckFailed',
        `recovery point '${point.id}' matches its SHA-256 but its archive does not read back: ` +
          (digest.decompressed
            ? `pg_restore --list ${toc.code === 0 ? `listed ${toc.entries} entries, the backup recorded ${recordedToc ?? 'none'}` : `failed: ${toc.stderr.trim()}`}`
            : `zstd: ${digest.zstdError.trim()}`),
      );
    }
    await deps.jobs.patch(input.jobId, {
      status: 'Succeeded',
      endTime: nowIso(deps),
      progress: { bytes: digest.bytes, percent: 100 },
      extra: {
        ...(input.planName ? { planName: input.planName } : {}),
        integrity: integrityEvidence({ ...point, sha256: digest.sha256, bytes: digest.bytes }),
        tocEntries: toc.entries,
      },
    });
    return { jobId: input.jobId, status: 'Succeeded', recoveryPointId: point.id };
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const error = jobError(err);
    await deps.jobs.patch(input.jobId, { status: 'Failed', endTime: nowIso(deps), error });
    return { jobId: input.jobId, status: 'Failed', ...(pointId ? { recoveryPointId: pointId } : {}), error };
  }
}

/** The restore-test activities over their dependencies: one function per activity, each given the same deps. */
export function createRestoreTestActivities(deps: RestoreTestActivityDeps) {
  return {
    startRestoreTest: (input: StartRestoreTestInput) => startRestoreTest(deps, input),
    restoreScratch: (input: RestoreScratchInput) => restoreScratch(deps, input),
    checkRestoredDatabase: (input: CheckRestoredDatabaseInput) => checkRestoredDatabase(deps, input),
    finishRestoreTest: (input: FinishRestoreTestInput) => finishRestoreTest(deps, input),
    verifyRecoveryPoint: (input: VerifyOrchestratorInput) => verifyRecoveryPoint(deps, input),
  };
}

export type RestoreTestActivities = ReturnType<typeof createRestoreTestActivities>;
