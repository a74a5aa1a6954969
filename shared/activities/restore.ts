// The restore activities (design §6): validate a request against its recovery point and target, start and follow
// the rehydration of an archived point, run the restore as database or as files, finish the job, post the queue
// result. checkRestore is the same validation as a report, for POST …/validateRestore.

import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { PgkeepError } from '../errors';
import {
  ConcurrencyError,
  type Clock,
  type InstanceStore,
  type JobRecord,
  type KeyEncryptionKeys,
  type JobStore,
  type PgClientTools,
  type PgConnection,
  type ReadinessCheck,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type SecretResolver,
  type ServerStore,
  type Stored,
  type VaultBlobStore,
} from '../ports';
import { createMissingRoles } from '../adapters/postgres/discovery';
import { globalsFor, serverOfInstance, type GlobalsPoint } from './discovery';
import { parseConnectionString, redact } from '../adapters/postgres/connection-string';
import { encryptionOf, requireDataKey } from '../adapters/crypto/envelope';
import { pickPgRestore } from '../adapters/postgres/pg-restore-tools';
import { restoreAsFiles } from '../adapters/storage/restore-files';
import {
  connectMaintenance,
  dropDatabase,
  planRestore,
  restoreAsDatabase,
  type RestoreSelection,
} from '../adapters/postgres/restore-pipeline';
import type {
  CheckRehydrationInput,
  CompleteRehydrationInput,
  FinishRestoreJobInput,
  PostRestoreResultInput,
  RehydrationStarted,
  RehydrationState,
  RestoreStepInput,
  RunRestoreInput,
  RunRestoreResult,
  StartRestoreJobInput,
  StartRestoreJobResult,
} from '../workflows/names';
import { normalizeFilePrefix, type RestoreSpec } from '../contracts/restores';

/** The job's extra field naming the database a restore as database creates (set before it creates it). */
const CREATES_DATABASE = 'createsDatabase';

/** How long a restore holds its recovery point against expiry; released at the end, so this only bounds a crash. */
export const IN_USE_LEASE_MS = 4 * 24 * 3600_000;
const MAX_QUEUE_MESSAGE_CHARS = 48 * 1024;

export interface RestoreActivityDeps {
  readonly instances: InstanceStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly blobs: Pick<VaultBlobStore, 'getJson' | 'info' | 'openRead' | 'startRehydrateCopy' | 'list'>;
  /** Servers (issue 15): a restore's roles come from the globals point of the instance's server. */
  readonly servers?: ServerStore;
  readonly secrets: SecretResolver;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  /** The target container of a restore as files, from targetDetails.url (a SAS URL as is, else the app's identity). */
  readonly containerClient: (url: string) => ContainerClient;
  /** Sends one message (already the final text; the adapter encodes it as the host expects) to a queue. */
  readonly sendQueueMessage: (queue: string, text: string) => Promise<void>;
  readonly clock: Clock;
  /** Unwraps the data keys of encrypted points (the KEK version each manifest names). */
  readonly keys?: KeyEncryptionKeys;
  readonly settings: {
    readonly tempDir?: string;
  };
  readonly log: (message: string) => void;
}

/** A container URL without its query (a SAS token is a credential): what jobs, logs and messages may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** What a job shows of a restore's target (never a secret). */
export function describeTarget(spec: RestoreSpec): Record<string, unknown> {
  return spec.target.kind === 'database'
    ? { kind: 'database', databaseName: spec.target.databaseName }
    : { kind: 'files', container: redactUrl(spec.target.url), filePrefix: spec.target.filePrefix };
}

/** The rehydrated copy of a dump blob sits next to it: `<instance>/<job>/dump.pgdump.zst` → `…/rehydrated.pgdump.zst`. */
export function rehydratedBlobNameFor(blobName: string): string {
  const slash = blobName.lastIndexOf('/');
  return `${blobName.slice(0, slash + 1)}rehydrated.pgdump.zst`;
}

interface Manifest {
  readonly sha256?: string;
  readonly bytes?: number;
  readonly pgDumpVersion?: string;
  readonly [key: string]: unknown;
}

const fail = (name: string, err: PgkeepError): ReadinessCheck => ({
  name,
  status: 'Failed',
  code: err.code,
  message: err.message,
  remediation: err.hint,
});
const ok = (name: string, message: string): ReadinessCheck => ({ name, status: 'Succeeded', message });
const skipped = (name: string): ReadinessCheck => ({
  name,
  status: 'NotApplicable',
  message: 'not checked because an earlier check failed',
});

export const restoreCheckNames = {
  instance: 'backupInstance',
  point: 'recoveryPoint',
  options: 'restoreOptions',
  secret: 'targetSecret',
  server: 'targetServer',
  name: 'databaseName',
  pgRestore: 'pgRestoreVersion',
  key: 'encryptionKey',
  prefix: 'filePrefix',
  container: 'targetContainer',
} as const;

const nowIso = (deps: RestoreActivityDeps) => deps.clock.now().toISOString();

async function loadPoint(
  deps: RestoreActivityDeps,
  instanceName: string,
  id: string,
): Promise<Stored<RecoveryPointRecord>> {
  if (!(await deps.instances.get(instanceName))) {
    throw new PgkeepError('UserErrorNotFound', `backup instance '${instanceName}' was not found`, {
      target: instanceName,
    });
  }
  const point = await deps.recoveryPoints.get(instanceName, id);
  if (!point || point.value.status === 'Deleted') {
    throw new PgkeepError('UserErrorNotFound', `recovery point '${id}' of '${instanceName}' was not found`, {
      target: '$.recoveryPointId',
    });
  }
  if (point.value.status !== 'Available') {
    throw new PgkeepError('UserErrorNotFound', `recovery point '${id}' is being deleted`, {
      target: '$.recoveryPointId',
    });
  }
  return point;
}

/** The blob a restore reads now, or undefined when the point must be rehydrated first (and may be). */
async function sourceBlob(
  deps: RestoreActivityDeps,
  point: RecoveryPointRecord,
  spec: RestoreSpec,
): Promise<string | undefined> {
  if (point.dataStore !== 'ArchiveStore') return point.blobName;
  if (point.rehydratedBlobName && point.rehydratedUntil && point.rehydratedUntil > nowIso(deps)) {
    const copy = await deps.blobs.info(point.rehydratedBlobName);
    if (copy && copy.tier !== 'Archive' && (copy.copyStatus === undefined || copy.copyStatus === 'success')) {
      return point.rehydratedBlobName;
    }
  }
  if (spec.rehydration) return undefined;
  throw new PgkeepError(
    'UserErrorRecoveryPointArchived',
    `recovery point '${point.id}' is in ArchiveStore and must be rehydrated to be restored`,
    { target: '$.objectType' },
  );
}

async function readManifest(deps: RestoreActivityDeps, point: RecoveryPointRecord): Promise<Manifest> {
  try {
    return (await deps.blobs.getJson<Manifest>(point.manifestBlobName)) ?? {};
  } catch (err) {
    if (err instanceof PgkeepError && err.code === 'UserErrorRecoveryPointArchived') return {};
    throw err;
  }
}

/**
 * The data key that decrypts the point's dump, unwrapped with the KEK version its manifest names, or undefined when
 * the dump is not encrypted.
 */
async function decryptionKey(
  deps: RestoreActivityDeps,
  point: RecoveryPointRecord,
  manifest: Manifest,
): Promise<Buffer | undefined> {
  const encryption = encryptionOf(manifest);
  if (encryption === undefined) {
    if (point.encryptionKeyId === undefined) return undefined;
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `recovery point '${point.id}' is encrypted, and its manifest (which holds the wrapped data key) cannot be read`,
    );
  }
  return requireDataKey(encryption, deps.keys);
}

async function targetConnection(deps: RestoreActivityDeps, spec: RestoreSpec): Promise<PgConnection> {
  if (spec.target.kind !== 'database') throw new Error('not a database target');
  const value = await deps.secrets.resolve(spec.target.secret);
  return {
    ...parseConnectionString(value, { database: spec.target.databaseName }),
    database: spec.target.databaseName,
  };
}

function selection(deps: RestoreActivityDeps, spec: RestoreSpec): RestoreSelection {
  const o = spec.options ?? {};
  return {
    ...(o.schemas ? { schemas: o.schemas } : {}),
    ...(o.tables ? { tables: o.tables } : {}),
    ...(o.owner ? { owner: o.owner } : {}),
    ...(o.jobs ? { jobs: o.jobs } : {}),
  };
}

/** Connects to the target server's maintenance database: its major and whether the new name is taken. */
async function probeServer(
  deps: RestoreActivityDeps,
  target: PgConnection,
): Promise<{ major: number; exists: boolean }> {
  const client = await connectMaintenance(target);
  try {
    const { rows } = await client.query<{ n: string; e: boolean }>(
      "SELECT current_setting('server_version_num') AS n, EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS e",
      [target.database],
    );
    return { major: Math.floor(Number(rows[0]?.n ?? '0') / 10_000), exists: rows[0]?.e === true };
  } catch (err) {
    throw new PgkeepError(
      'SystemErrorInternal',
      `cannot query the target server: ${redact(err instanceof Error ? err.message : String(err), target)}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function alreadyInUse(deps: RestoreActivityDeps, target: PgConnection): PgkeepError {
  return new PgkeepError(
    'UserErrorDatabaseNameAlreadyInUse',
    `database "${target.database}" already exists on ${target.host}:${target.port}`,
    { target: '$.restoreTargetInfo.datasourceInfo.resourceName' },
  );
}

/** Writes and deletes a probe blob: the only proof that the container exists and the app may write to it. */
async function probeContainer(deps: RestoreActivityDeps, container: ContainerClient, prefix: string): Promise<void> {
  const name = `${prefix}.pgkeep-probe-${randomBytes(6).toString('hex')}`;
  try {
    await container.getBlockBlobClient(name).upload('', 0);
    await container.getBlobClient(name).deleteIfExists();
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    throw new PgkeepError(
      'UserErrorContainerNotAccessible',
      `cannot write to container ${redactUrl(container.url)}: ${status ?? (err instanceof Error ? err.message : String(err))}`,
      { target: '$.restoreTargetInfo.targetDetails.url' },
    );
  }
}

/**
 * Every check of a restore request, in order, as a report (validateRestore). A failed check makes the ones that
 * depend on it NotApplicable; independent ones still run, so one answer names every problem.
 */
async function checkRestore(
  deps: RestoreActivityDeps,
  instanceName: string,
  spec: RestoreSpec,
): Promise<ReadinessCheck[]> {
  const checks: ReadinessCheck[] = [];
  const attempt = async <T>(name: string, fn: () => Promise<T>, message: (v: T) => string) => {
    try {
      const v = await fn();
      checks.push(ok(name, message(v)));
      return v;
    } catch (err) {
      if (!(err instanceof PgkeepError)) throw err;
      checks.push(fail(name, err));
      return undefined;
    }
  };
  const point = await attempt(
    restoreCheckNames.point,
    async () => {
      const p = (await loadPoint(deps, instanceName, spec.recoveryPointId)).value;
      const source = await sourceBlob(deps, p, spec);
      return { point: p, rehydrate: source === undefined };
    },
    (v) => (v.rehydrate ? 'archived: the restore rehydrates it first' : 'available'),
  );
  const manifest = point ? await readManifest(deps, point.point) : undefined;
  if (point && manifest) {
    await attempt(
      restoreCheckNames.key,
      () => decryptionKey(deps, point.point, manifest),
      (k) => (k ? `key ${encryptionOf(manifest)?.keyId ?? ''} unwraps the data key` : 'the dump is not encrypted'),
    );
  } else checks.push(skipped(restoreCheckNames.key));

  if (spec.target.kind === 'files') {
    const target = spec.target;
    const prefix = await attempt(
      restoreCheckNames.prefix,
      () => Promise.resolve(normalizeFilePrefix(target.filePrefix)),
      (p) => (p === '' ? 'the container root' : `the folder ${p}`),
    );
    if (prefix === undefined) checks.push(skipped(restoreCheckNames.container));
    else {
      await attempt(
        restoreCheckNames.container,
        () => probeContainer(deps, deps.containerClient(target.url), prefix),
        () => 'the container accepts writes',
      );
    }
    return checks;
  }

  await attempt(
    restoreCheckNames.options,
    () =>
      Promise.resolve(
        planRestore(
          { database: spec.target.kind === 'database' ? spec.target.databaseName : '' },
          selection(deps, spec),
        ),
      ),
    () => 'the options are consistent',
  );
  const conn = await attempt(
    restoreCheckNames.secret,
    () => targetConnection(deps, spec),
    () => 'the secret parses',
  );
  const probe = conn
    ? await attempt(
        restoreCheckNames.server,
        () => probeServer(deps, conn),
        (p) => `PostgreSQL ${p.major} answers and accepts the login`,
      )
    : (checks.push(skipped(restoreCheckNames.server)), undefined);
  if (conn && probe) {
    await attempt(
      restoreCheckNames.name,
      () => (probe.exists ? Promise.reject(alreadyInUse(deps, conn)) : Promise.resolve()),
      () => `database "${conn.database}" does not exist yet`,
    );
  } else checks.push(skipped(restoreCheckNames.name));
  if (point && manifest && probe) {
    await attempt(
      restoreCheckNames.pgRestore,
      async () =>
        pickPgRestore(manifest.pgDumpVersion ?? point.point.pgDumpVersion, await deps.discoverTools(), probe.major),
      (t) => `pg_restore ${t.version}`,
    );
  } else checks.push(skipped(restoreCheckNames.pgRestore));
  return checks;
}

/** Sets inUseUntil on the point (later of the current and the new lease), retrying on a concurrent update. */
async function leasePoint(deps: RestoreActivityDeps, instanceName: string, id: string): Promise<string> {
  const until = new Date(deps.clock.now().getTime() + IN_USE_LEASE_MS).toISOString();
  for (let attempt = 0; ; attempt++) {
    const stored = await loadPoint(deps, instanceName, id);
    const current = stored.value.inUseUntil;
    if (current !== undefined && current >= until) return current;
    try {
      await deps.recoveryPoints.update({ ...stored.value, inUseUntil: until }, stored.etag);
      return until;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
    }
  }
}

async function releasePoint(deps: RestoreActivityDeps, instanceName: string, id: string, lease: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const stored = await deps.recoveryPoints.get(instanceName, id);
    // Another restore took a later lease meanwhile: it is still running, leave it.
    if (!stored || stored.value.inUseUntil !== lease) return;
    const { inUseUntil: _released, ...rest } = stored.value;
    try {
      await deps.recoveryPoints.update(rest, stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
    }
  }
}

async function startRestoreJob(deps: RestoreActivityDeps, input: StartRestoreJobInput): Promise<StartRestoreJobResult> {
  const existing = await deps.jobs.get(input.jobId);
  if (!existing) {
    const job: JobRecord = {
      id: input.jobId,
      operation: 'Restore',
      backupInstance: input.instanceName,
      status: 'NotStarted',
      trigger: input.trigger,
      startTime: nowIso(deps),
      progress: { bytes: 0 },
      recoveryPointId: input.request.recoveryPointId,
      orchestrationId: input.orchestrationId,
      extra: {
        target: describeTarget(input.request),
        ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
      },
    };
    await deps.jobs.create(job);
  }
  const point = (await loadPoint(deps, input.instanceName, input.request.recoveryPointId)).value;
  const source = await sourceBlob(deps, point, input.request);
  const inUseUntil = await leasePoint(deps, input.instanceName, point.id);
  await deps.jobs.patch(input.jobId, { status: 'InProgress' });
  return { ...(source !== undefined ? { sourceBlobName: source } : {}), inUseUntil };
}

async function startRehydration(deps: RestoreActivityDeps, input: RestoreStepInput): Promise<RehydrationStarted> {
  const rehydration = input.request.rehydration;
  if (!rehydration) throw new PgkeepError('SystemErrorInternal', 'rehydration without a rehydration request');
  const point = (await loadPoint(deps, input.instanceName, input.request.recoveryPointId)).value;
  const rehydrateJobId = `${input.jobId}-rehydrate`;
  const targetBlobName = rehydratedBlobNameFor(point.blobName);
  if (!(await deps.jobs.get(rehydrateJobId))) {
    await deps.jobs.create({
      id: rehydrateJobId,
      operation: 'Rehydrate',
      backupInstance: input.instanceName,
      status: 'InProgress',
      trigger: 'OnDemand',
      startTime: nowIso(deps),
      progress: { bytes: 0 },
      recoveryPointId: point.id,
      extra: {
        restoreJobId: input.jobId,
        rehydrationPriority: rehydration.priority,
        rehydrationRetentionDays: rehydration.retentionDays,
      },
    });
  }
  const copy = await deps.blobs.info(targetBlobName);
  // A retried start finds its own copy running or done: starting it again would restart the copy.
  if (!copy || copy.copyStatus === 'failed' || copy.copyStatus === 'aborted') {
    await deps.blobs.startRehydrateCopy(point.blobName, targetBlobName, rehydration.priority);
  }
  // `extra` is one field: keep what the job already says (a restore test's plan, slot and scratch database; a queued
  // restore's requestId), which a patch of the two names alone would erase.
  const job = await deps.jobs.get(input.jobId);
  await deps.jobs.patch(input.jobId, {
    extra: { ...job?.extra, target: describeTarget(input.request), rehydrateJobId },
  });
  return { rehydrateJobId, targetBlobName };
}

async function checkRehydration(deps: RestoreActivityDeps, input: CheckRehydrationInput): Promise<RehydrationState> {
  const copy = await deps.blobs.info(input.targetBlobName);
  if (!copy || copy.copyStatus === 'failed' || copy.copyStatus === 'aborted') return 'failed';
  if (copy.copyStatus === 'pending' || copy.tier === 'Archive' || copy.archiveStatus) return 'pending';
  return 'success';
}

async function completeRehydration(deps: RestoreActivityDeps, input: CompleteRehydrationInput): Promise<void> {
  if (input.error) {
    await deps.jobs.patch(input.rehydrateJobId, { status: 'Failed', endTime: nowIso(deps), error: input.error });
    return;
  }
  const days = input.request.rehydration?.retentionDays ?? 15;
  const until = new Date(deps.clock.now().getTime() + days * 24 * 3600_000).toISOString();
  for (let attempt = 0; ; attempt++) {
    const stored = await loadPoint(deps, input.instanceName, input.request.recoveryPointId);
    try {
      await deps.recoveryPoints.update(
        { ...stored.value, rehydratedBlobName: input.targetBlobName, rehydratedUntil: until },
        stored.etag,
      );
      break;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
    }
  }
  const copy = await deps.blobs.info(input.targetBlobName);
  await deps.jobs.patch(input.rehydrateJobId, {
    status: 'Succeeded',
    endTime: nowIso(deps),
    progress: { bytes: copy?.bytes ?? 0, percent: 100 },
    extra: { restoreJobId: input.jobId, rehydratedBlobName: input.targetBlobName, rehydratedUntil: until },
  });
}

/** What a restore test adds to a restore (activities/restore-tests.ts): its time limit and its scratch mark. */
export interface RunRestoreExtras {
  readonly abortSignal?: AbortSignal;
  readonly databaseComment?: string;
}

async function runRestore(
  deps: RestoreActivityDeps,
  input: RunRestoreInput,
  extras: RunRestoreExtras = {},
): Promise<RunRestoreResult> {
  const point = (await loadPoint(deps, input.instanceName, input.request.recoveryPointId)).value;
  const manifest = await readManifest(deps, point);
  const key = await decryptionKey(deps, point, manifest);
  const expectedSha256 = manifest.sha256 ?? point.sha256;
  const expectedBytes = manifest.bytes ?? point.bytes;
  const source = () => deps.blobs.openRead(input.sourceBlobName);
  let lastWrite = Promise.resolve();
  const onProgress = (bytes: number) => {
    // Progress is advisory: a failed write must not fail the restore, and writes stay in order.
    const percent = expectedBytes > 0 ? Math.min(100, Math.floor((bytes / expectedBytes) * 100)) : undefined;
    lastWrite = lastWrite
      .then(() => deps.jobs.patch(input.jobId, { progress: { bytes, ...(percent !== undefined ? { percent } : {}) } }))
      .catch((err: unknown) => deps.log(`progress write for job ${input.jobId} failed: ${String(err)}`));
  };
  const common = {
    source,
    expectedSha256,
    expectedBytes,
    onProgress,
    ...(key ? { decryptionKey: key } : {}),
  };
  try {
    if (input.request.target.kind === 'files') {
      const target = input.request.target;
      const container = deps.containerClient(target.url);
      const written = await restoreAsFiles({
        ...common,
        manifest: Object.keys(manifest).length > 0 ? manifest : summaryManifest(point),
        container,
        filePrefix: target.filePrefix,
        pointId: point.id,
      });
      const globals = await globalsOf(deps, input.instanceName, point);
      const files = globals
        ? [...written.files, ...(await writeGlobalsFiles(container, target.filePrefix, point.id, globals))]
        : written.files;
      return { status: 'Succeeded', warnings: [], bytesRead: expectedBytes, files };
    }
    const conn = await targetConnection(deps, input.request);
    const probe = await probeServer(deps, conn);
    if (probe.exists) await dropOwnLeftover(deps, input.jobId, conn);
    const tools = pickPgRestore(manifest.pgDumpVersion ?? point.pgDumpVersion, await deps.discoverTools(), probe.major);
    const roleWarnings =
      input.request.options?.roles === 'create-missing'
        ? await createRolesFromGlobals(deps, input.instanceName, point, conn, manifest)
        : [];
    // Recorded before the database exists: a run of this activity cut off by a stop or a crash is run again after
    // the restart (Durable replays it), and must know that the database it then finds is its own.
    const job = await deps.jobs.get(input.jobId);
    await deps.jobs.patch(input.jobId, { extra: { ...job?.extra, [CREATES_DATABASE]: conn.database } });
    const result = await restoreAsDatabase({
      ...common,
      target: conn,
      tools,
      options: selection(deps, input.request),
      ...(deps.settings.tempDir ? { tempDir: deps.settings.tempDir } : {}),
      ...extras,
    });
    const warnings = [...roleWarnings, ...result.warnings];
    const status = warnings.length > 0 ? 'SucceededWithWarnings' : result.status;
    return { status, warnings, bytesRead: result.bytesRead };
  } finally {
    await lastWrite;
  }
}

/** The globals point of the instance's server for this recovery point, or undefined without a server or point. */
async function globalsOf(
  deps: RestoreActivityDeps,
  instanceName: string,
  point: RecoveryPointRecord,
): Promise<GlobalsPoint | undefined> {
  const instance = deps.servers && (await deps.instances.get(instanceName));
  const server =
    instance && deps.servers ? await serverOfInstance({ servers: deps.servers }, instance.value) : undefined;
  return server && globalsFor(deps, server.name, point.time);
}

/**
 * The roles script beside the dump, for `psql -f` before pg_restore: `<prefix><pointId>-globals.sql`; or, like the
 * dump, an encrypted point as stored (`-globals.sql.enc`) with its manifest (`-globals.manifest.json`) for
 * `pgkeep decrypt`. Written after the dump's files; readGlobalsPoint proved it decrypts.
 */
async function writeGlobalsFiles(
  container: ContainerClient,
  filePrefix: string,
  pointId: string,
  globals: GlobalsPoint,
): Promise<{ name: string; bytes: number }[]> {
  const base = `${normalizeFilePrefix(filePrefix)}${pointId}-globals`;
  const put = async (name: string, body: Buffer, contentType: string) => {
    await container.getBlockBlobClient(name).upload(body, body.length, {
      blobHTTPHeaders: { blobContentType: contentType },
    });
    return { name, bytes: body.length };
  };
  const { document } = globals;
  if (document.encryption) {
    const manifest = Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
    return [
      await put(`${base}.manifest.json`, manifest, 'application/json'),
      await put(`${base}.sql.enc`, globals.stored, 'application/octet-stream'),
    ];
  }
  const header = `-- roles of server ${document.server} at ${document.time} (pg_dumpall --globals-only --no-role-passwords)\n`;
  return [await put(`${base}.sql`, Buffer.from(header + globals.script), 'application/sql')];
}

/**
 * options.roles create-missing: creates on the target the roles the dump names (manifest rolesReferenced; all of
 * the globals' when the manifest lacks the list) from the server's globals point. Refusals are warnings.
 */
async function createRolesFromGlobals(
  deps: RestoreActivityDeps,
  instanceName: string,
  point: RecoveryPointRecord,
  target: PgConnection,
  manifest: Manifest,
): Promise<RunRestoreResult['warnings']> {
  const globals = await globalsOf(deps, instanceName, point);
  if (!globals) {
    throw new PgkeepError(
      'UserErrorNotFound',
      `no globals recovery point is known for the server of backup instance '${instanceName}'`,
      {
        target: '$.options.roles',
        hint: 'register the server (PUT servers/{name}) and take its globals (POST servers/{name}/discover {"globals": true}), or restore without options.roles',
      },
    );
  }
  const client = await connectMaintenance(target);
  try {
    const needed = Array.isArray(manifest.rolesReferenced) ? (manifest.rolesReferenced as string[]) : undefined;
    const applied = await createMissingRoles(client, globals.script, needed);
    if (applied.created.length > 0) {
      deps.log(`restore: created roles ${applied.created.join(', ')} from globals ${globals.document.recoveryPointId}`);
    }
    return applied.warnings;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The target database exists before the restore creates it: someone else's (refused), or what an earlier run of this
 * same activity created before it was cut off — dropped, so the restore starts again from nothing.
 */
async function dropOwnLeftover(deps: RestoreActivityDeps, jobId: string, target: PgConnection): Promise<void> {
  const job = await deps.jobs.get(jobId);
  if (job?.extra?.[CREATES_DATABASE] !== target.database) throw alreadyInUse(deps, target);
  deps.log(`restore job ${jobId}: dropping "${target.database}", left by its interrupted earlier run`);
  const failed = await dropDatabase(target);
  if (failed !== undefined) throw new PgkeepError('SystemErrorRestoreFailed', `restore interrupted earlier: ${failed}`);
}

async function finishRestoreJob(deps: RestoreActivityDeps, input: FinishRestoreJobInput): Promise<void> {
  const { outcome } = input;
  const job = await deps.jobs.get(input.jobId);
  const extra = { ...(job?.extra ?? {}) };
  if ('error' in outcome) {
    await deps.jobs.patch(input.jobId, { status: 'Failed', endTime: nowIso(deps), error: outcome.error });
  } else {
    const { result } = outcome;
    await deps.jobs.patch(input.jobId, {
      status: 'Succeeded',
      endTime: nowIso(deps),
      progress: { bytes: result.bytesRead, percent: 100 },
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
      extra: { ...extra, result: result.status, ...(result.files ? { files: result.files } : {}) },
    });
  }
  if (input.inUseUntil !== undefined) {
    await releasePoint(deps, input.instanceName, input.request.recoveryPointId, input.inUseUntil);
  }
}

async function postRestoreResult(deps: RestoreActivityDeps, input: PostRestoreResultInput): Promise<void> {
  await deps.sendQueueMessage(input.queue, restoreResultText(input.message));
}

/** The restore activities over their dependencies: one function per activity, each given the same deps. */
export function createRestoreActivities(deps: RestoreActivityDeps) {
  return {
    startRestoreJob: (input: StartRestoreJobInput) => startRestoreJob(deps, input),
    startRehydration: (input: RestoreStepInput) => startRehydration(deps, input),
    checkRehydration: (input: CheckRehydrationInput) => checkRehydration(deps, input),
    completeRehydration: (input: CompleteRehydrationInput) => completeRehydration(deps, input),
    runRestore: (input: RunRestoreInput) => runRestore(deps, input),
    finishRestoreJob: (input: FinishRestoreJobInput) => finishRestoreJob(deps, input),
    postRestoreResult: (input: PostRestoreResultInput) => postRestoreResult(deps, input),
    /** Not an activity: the validateRestore report. */
    checkRestore: (instanceName: string, spec: RestoreSpec) => checkRestore(deps, instanceName, spec),
    /** Not an activity: runRestore inside a restore test, with its time limit and scratch mark. */
    runRestoreWith: (input: RunRestoreInput, extras: RunRestoreExtras) => runRestore(deps, input, extras),
    /** Not an activity: the data key of an encrypted point's dump, unwrapped by the vault's KEKs (verify reads too). */
    archiveKey: (point: RecoveryPointRecord, manifest: Record<string, unknown>) => decryptionKey(deps, point, manifest),
  };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;

/** The JSON text of a result message, its error message shortened so the whole stays under the queue's 64 KiB. */
export function restoreResultText(message: PostRestoreResultInput['message']): string {
  let text = JSON.stringify(message);
  if (text.length > MAX_QUEUE_MESSAGE_CHARS && message.error) {
    text = JSON.stringify({ ...message, error: { ...message.error, message: message.error.message.slice(0, 4000) } });
  }
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) {
    const { warnings: _dropped, ...rest } = message;
    text = JSON.stringify(rest);
  }
  return text;
}

/** The recovery point row's facts, written as the manifest when the manifest blob cannot be read. */
function summaryManifest(point: RecoveryPointRecord): Record<string, unknown> {
  return {
    backupInstance: point.instanceName,
    recoveryPointId: point.id,
    time: point.time,
    database: point.databaseName,
    serverVersion: point.serverVersion,
    pgDumpVersion: point.pgDumpVersion,
    bytes: point.bytes,
    sha256: point.sha256,
  };
}
