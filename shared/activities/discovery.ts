// Fleets (issue 15): what a server holds and protecting it in bulk — the databases listing, bulk protect, the
// discovery run (auto-protect, missing databases, the globals backup) and the server's globals recovery points.
// Every change a run or a bulk protect makes is recorded as a Discovery job.

import { PgkeepError } from '../errors';
import {
  databaseResourceId,
  instanceNameFor,
  notProtectableReason,
  planDiscovery,
  selectedByGlobs,
  serverPrefixOf,
} from '../domain/fleet';
import { postgresDatasourceType } from '../contracts/instances';
import {
  ConcurrencyError,
  recoveryPointId,
  recoveryPointIdTime,
  type Clock,
  type DbReadinessReport,
  type InstanceRecord,
  type InstanceStore,
  type JobRecord,
  type JobStore,
  type KeyEncryptionKeys,
  type PgConnection,
  type ReadinessCheck,
  type SecretReference,
  type SecretResolver,
  type ServerRecord,
  type ServerStore,
  type Stored,
  type VaultBlobStore,
} from '../ports';
import { parseConnectionString } from '../adapters/postgres/connection-string';
import { mapLimited } from '../domain/limited';
import { parseGlobals, type DiscoveredDatabase, type GlobalsDump } from '../adapters/postgres/discovery';
import { encryptionOf, newDataKey, requireDataKey, type EncryptionManifest } from '../adapters/crypto/envelope';
import { readAll, sealText, unsealText } from '../adapters/storage/sealed-text';

export interface FleetDeps {
  readonly servers: ServerStore;
  readonly instances: InstanceStore;
  readonly jobs: JobStore;
  readonly blobs: Pick<VaultBlobStore, 'putJson' | 'putBytes' | 'getJson' | 'openRead' | 'list' | 'delete'>;
  /** The vault's KEKs: globals points are encrypted like dumps when there is a current one. */
  readonly keys?: KeyEncryptionKeys;
  readonly secrets: SecretResolver;
  readonly checkReadiness: (instance: InstanceRecord) => Promise<DbReadinessReport>;
  readonly listDatabases: (conn: PgConnection) => Promise<DiscoveredDatabase[]>;
  readonly dumpGlobals: (conn: PgConnection) => Promise<GlobalsDump>;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly settings: { readonly globalsBackupHours: number; readonly globalsKeep: number; readonly zstdLevel: number };
  readonly log: (message: string) => void;
}

/** How many databases' readiness checks run at once in a bulk protect or a discovery run. */
const READINESS_CONCURRENCY = 4;

export async function loadServer(deps: Pick<FleetDeps, 'servers'>, name: string): Promise<Stored<ServerRecord>> {
  const stored = await deps.servers.get(name);
  if (!stored) throw new PgkeepError('UserErrorNotFound', `server '${name}' was not found`, { target: name });
  return stored;
}

/** The server's connection (its connection string's own database: where discovery connects). */
export async function serverConnection(deps: Pick<FleetDeps, 'secrets'>, server: ServerRecord): Promise<PgConnection> {
  return parseConnectionString(await deps.secrets.resolve(server.secret));
}

/** Whether an instance protects a database of this server: linked by name, or by its id's server prefix. */
function belongsTo(server: ServerRecord, i: InstanceRecord): boolean {
  if (i.serverName !== undefined) return i.serverName === server.name;
  return serverPrefixOf(i.dataSource.resourceID)?.toLowerCase() === server.resourceID.toLowerCase();
}

async function serverInstances(deps: FleetDeps, server: ServerRecord): Promise<Stored<InstanceRecord>[]> {
  const found: Stored<InstanceRecord>[] = [];
  for await (const i of deps.instances.list()) if (belongsTo(server, i.value)) found.push(i);
  return found;
}

export interface DatabaseView extends DiscoveredDatabase {
  readonly protectable: boolean;
  readonly notProtectableReason?: string;
  /** The instance protecting it (deleted instances awaiting expiry included). */
  readonly protectedBy?: string;
}

/** GET servers/{name}/databases: every database with its size, protection and protectability. */
export async function listServerDatabases(deps: FleetDeps, serverName: string): Promise<DatabaseView[]> {
  const { value: server } = await loadServer(deps, serverName);
  const databases = await deps.listDatabases(await serverConnection(deps, server));
  const byDatabase = new Map((await serverInstances(deps, server)).map((i) => [i.value.dataSource.resourceName, i]));
  return databases.map((d) => {
    const reason = notProtectableReason(d);
    const by = byDatabase.get(d.name)?.value.name;
    return {
      ...d,
      protectable: reason === undefined,
      ...(reason !== undefined ? { notProtectableReason: reason } : {}),
      ...(by !== undefined ? { protectedBy: by } : {}),
    };
  });
}

export interface ProtectRequest {
  readonly policyName: string;
  readonly databases: readonly string[] | 'all';
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** For every database; absent = the server's own credentials. */
  readonly credentials?: SecretReference;
  /** Per database, over `credentials`. */
  readonly databaseCredentials?: Readonly<Record<string, SecretReference>>;
  /** Instance names per database, over `<server>-<database>`. */
  readonly instanceNames?: Readonly<Record<string, string>>;
  /** Create the ready ones even when others are not ready (default: all or nothing). */
  readonly protectReadyOnly?: boolean;
}

export type ProtectOutcome =
  'Created' | 'AlreadyProtected' | 'NotReady' | 'Ready' | 'NotProtectable' | 'NotFound' | 'NameInUse';

export interface ProtectResult {
  readonly database: string;
  readonly instanceName?: string;
  readonly outcome: ProtectOutcome;
  readonly message: string;
  /** NotReady: the failed readiness checks. */
  readonly failedChecks?: readonly ReadinessCheck[];
}

function instanceRecordFor(
  server: ServerRecord,
  database: string,
  name: string,
  policyName: string,
  secret: SecretReference,
  nowIso: string,
): InstanceRecord {
  return {
    name,
    friendlyName: database,
    dataSource: {
      objectType: 'Datasource',
      datasourceType: postgresDatasourceType,
      resourceID: databaseResourceId(server.resourceID, database),
      resourceName: database,
    },
    policyName,
    secret,
    protectionState: 'ProtectionConfigured',
    serverName: server.name,
    // Slots before the instance existed are not owed a backup.
    lastScheduledSlot: nowIso,
    createdAt: nowIso,
    updatedAt: nowIso,
  };
}

async function createInstance(deps: FleetDeps, record: InstanceRecord): Promise<ProtectResult> {
  const database = record.dataSource.resourceName;
  try {
    await deps.instances.create(record);
    return { database, instanceName: record.name, outcome: 'Created', message: `protected by ${record.name}` };
  } catch (err) {
    if (err instanceof ConcurrencyError) {
      return {
        database,
        instanceName: record.name,
        outcome: 'NameInUse',
        message: `a backup instance named ${record.name} exists for another database; name this one in instanceNames`,
      };
    }
    if (err instanceof PgkeepError && err.code === 'UserErrorDatasourceAlreadyProtected') {
      return { database, outcome: 'AlreadyProtected', message: err.message };
    }
    throw err;
  }
}

/**
 * Bulk protect: checks the readiness of every selected database and creates one instance each — all of them, or
 * none while any is not ready (unless protectReadyOnly). Already protected and not protectable databases are
 * reported and skipped, never an error.
 */
export async function protectDatabases(
  deps: FleetDeps,
  serverName: string,
  request: ProtectRequest,
  trigger: JobRecord['trigger'] = 'OnDemand',
): Promise<{ results: ProtectResult[]; jobId?: string }> {
  const { value: server } = await loadServer(deps, serverName);
  const databases = await deps.listDatabases(await serverConnection(deps, server));
  const byName = new Map(databases.map((d) => [d.name, d]));
  const protectedBy = new Map(
    (await serverInstances(deps, server)).map((i) => [i.value.dataSource.resourceName, i.value.name]),
  );
  const named = request.databases === 'all' ? databases.map((d) => d.name) : [...request.databases];
  const chosen = named.filter((n) => selectedByGlobs(n, request.include, request.exclude));
  const now = deps.clock.now().toISOString();

  const results = await mapLimited(chosen, READINESS_CONCURRENCY, async (database): Promise<ProtectResult> => {
    const found = byName.get(database);
    if (!found) return { database, outcome: 'NotFound', message: `server ${server.name} has no database ${database}` };
    const reason = notProtectableReason(found);
    if (reason !== undefined) {
      if (request.databases === 'all') return { database, outcome: 'NotProtectable', message: reason };
      return { database, outcome: 'NotProtectable', message: `${database} cannot be protected: ${reason}` };
    }
    const by = protectedBy.get(database);
    if (by !== undefined) {
      return { database, instanceName: by, outcome: 'AlreadyProtected', message: `already protected by ${by}` };
    }
    const secret = request.databaseCredentials?.[database] ?? request.credentials ?? server.secret;
    const name = request.instanceNames?.[database] ?? instanceNameFor(server.name, database);
    const record = instanceRecordFor(server, database, name, request.policyName, secret, now);
    const report = await deps.checkReadiness(record);
    const failed = report.checks.filter((c) => c.status === 'Failed');
    if (failed.length > 0) {
      return {
        database,
        instanceName: name,
        outcome: 'NotReady',
        message: `not ready: ${failed.map((c) => c.name).join(', ')} failed`,
        failedChecks: failed,
      };
    }
    return { database, instanceName: name, outcome: 'Ready', message: 'ready' };
  });

  const blocked = !request.protectReadyOnly && results.some((r) => r.outcome === 'NotReady');
  const final: ProtectResult[] = [];
  for (const r of results) {
    if (r.outcome !== 'Ready') final.push(r);
    else if (blocked) final.push({ ...r, message: 'ready, but not created: other databases are not ready' });
    else {
      const secret = request.databaseCredentials?.[r.database] ?? request.credentials ?? server.secret;
      final.push(
        await createInstance(
          deps,
          instanceRecordFor(server, r.database, r.instanceName ?? '', request.policyName, secret, now),
        ),
      );
    }
  }
  const created = final.filter((r) => r.outcome === 'Created');
  const jobId =
    created.length > 0
      ? await recordDiscoveryJob(deps, server.name, trigger, {
          protected: created.map((r) => ({ database: r.database, instance: r.instanceName })),
          notReady: final.filter((r) => r.outcome === 'NotReady').map((r) => r.database),
        })
      : undefined;
  return { results: final, ...(jobId ? { jobId } : {}) };
}

/** The job resource's backupInstance for server-level jobs (instance names cannot contain '/'). */
export const serverJobSubject = (serverName: string) => `servers/${serverName}`;

async function recordDiscoveryJob(
  deps: FleetDeps,
  serverName: string,
  trigger: JobRecord['trigger'],
  extra: Record<string, unknown>,
  failure?: PgkeepError,
): Promise<string> {
  const now = deps.clock.now().toISOString();
  const id = deps.newId();
  await deps.jobs.create({
    id,
    operation: 'Discovery',
    backupInstance: serverJobSubject(serverName),
    status: failure ? 'Failed' : 'Succeeded',
    trigger,
    startTime: now,
    endTime: now,
    progress: { bytes: 0, percent: 100 },
    ...(failure ? { error: { code: failure.code, message: failure.message, hint: failure.hint } } : {}),
    extra: { server: serverName, ...extra },
  });
  return id;
}

// --- globals ---

// A globals point is kept like a dump point: the script (`globals.sql.zst`: zstd, then AES-256-GCM under a fresh data
// key wrapped by the current KEK when encryption is on) and its manifest (`globals.json`: what and when, SHA-256 and
// size of the stored script, the encryption block). The manifest is written last: it is the point.

/** `_servers/<name>/<pointId>/…`: the underscore keeps it apart from instance folders (names start alnum). */
export const globalsPrefix = (serverName: string) => `_servers/${serverName}/`;
const globalsBlobName = (serverName: string, pointId: string) => `${globalsPrefix(serverName)}${pointId}/globals.json`;
const globalsScriptBlobName = (serverName: string, pointId: string) =>
  `${globalsPrefix(serverName)}${pointId}/globals.sql.zst`;

export interface GlobalsPointDocument {
  readonly server: string;
  readonly recoveryPointId: string;
  readonly time: string;
  readonly pgDumpallVersion: string;
  readonly roles: readonly string[];
  readonly warnings: readonly string[];
  /** The stored script: its blob, size and SHA-256 (of the stored, possibly encrypted, bytes). */
  readonly blobName: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly compression: { readonly algorithm: 'zstd'; readonly level: number };
  /** As in a dump's manifest: the wrapped data key and the KEK that wrapped it; null when not encrypted. */
  readonly encryption: EncryptionManifest | null;
}

/** A globals point with its script read back (decrypted when it is encrypted) and the bytes as stored. */
export interface GlobalsPoint {
  readonly document: GlobalsPointDocument;
  readonly script: string;
  readonly stored: Buffer;
}

export interface GlobalsPointInfo {
  readonly recoveryPointId: string;
  readonly time: string;
  readonly bytes: number;
  readonly blobName: string;
}

/** What reading globals points needs (restores read them too): the blobs, and the keys of encrypted ones. */
export interface GlobalsReader {
  readonly blobs: Pick<VaultBlobStore, 'getJson' | 'list' | 'openRead'>;
  readonly keys?: KeyEncryptionKeys;
}

/** The server's globals points (by manifest), oldest first. */
export async function listGlobalsPoints(
  deps: { readonly blobs: Pick<VaultBlobStore, 'list'> },
  serverName: string,
): Promise<GlobalsPointInfo[]> {
  const points: GlobalsPointInfo[] = [];
  for await (const b of deps.blobs.list(globalsPrefix(serverName))) {
    const id = b.name.slice(globalsPrefix(serverName).length).split('/')[0] ?? '';
    const ms = recoveryPointIdTime(id);
    if (ms === undefined || !b.name.endsWith('/globals.json')) continue;
    points.push({ recoveryPointId: id, time: new Date(ms).toISOString(), bytes: b.bytes, blobName: b.name });
  }
  return points.sort((a, b) => (a.recoveryPointId < b.recoveryPointId ? -1 : 1));
}

/** The manifest of one globals point, or undefined when there is none. */
export async function readGlobalsManifest(
  deps: Pick<GlobalsReader, 'blobs'>,
  serverName: string,
  pointId: string,
): Promise<GlobalsPointDocument | undefined> {
  return deps.blobs.getJson<GlobalsPointDocument>(globalsBlobName(serverName, pointId));
}

/**
 * One globals point with its script. Throws SystemErrorIntegrityCheckFailed (stored script ≠ manifest, or it does
 * not decrypt), the key codes of an unusable KEK, UserErrorEncryptionKeyNotFound without keys.
 */
export async function readGlobalsPoint(
  deps: GlobalsReader,
  serverName: string,
  pointId: string,
): Promise<GlobalsPoint | undefined> {
  const document = await readGlobalsManifest(deps, serverName, pointId);
  if (!document) return undefined;
  const encryption = encryptionOf(document);
  const dataKey = encryption ? await requireDataKey(encryption, deps.keys) : undefined;
  const stored = await readAll(await deps.blobs.openRead(document.blobName));
  const script = await unsealText(stored, document, dataKey ? { dataKey } : {});
  return { document, script, stored };
}

/** Takes a globals point of the server now (encrypted when a current KEK is set), then keeps the newest GLOBALS_KEEP. */
export async function backupGlobals(deps: FleetDeps, server: ServerRecord): Promise<GlobalsPointInfo> {
  const conn = await serverConnection(deps, server);
  const time = deps.clock.now().toISOString();
  const envelope = deps.keys?.current ? await newDataKey(deps.keys.current) : undefined;
  const dump = await deps.dumpGlobals(conn);
  const id = recoveryPointId(
    time,
    deps
      .newId()
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 32) || 'g',
  );
  const level = deps.settings.zstdLevel;
  const sealed = await sealText(dump.script, { level, ...(envelope ? { dataKey: envelope.dataKey } : {}) });
  const scriptBlobName = globalsScriptBlobName(server.name, id);
  await deps.blobs.putBytes(scriptBlobName, sealed.body, 'application/octet-stream');
  const document: GlobalsPointDocument = {
    server: server.name,
    recoveryPointId: id,
    time,
    pgDumpallVersion: dump.pgDumpallVersion,
    roles: [...parseGlobals(dump.script).roles.keys()],
    warnings: dump.warnings,
    blobName: scriptBlobName,
    bytes: sealed.body.length,
    sha256: sealed.sha256,
    compression: { algorithm: 'zstd', level },
    encryption: envelope?.encryption ?? null,
  };
  const blobName = globalsBlobName(server.name, id);
  await deps.blobs.putJson(blobName, document);
  const points = await listGlobalsPoints(deps, server.name);
  for (const old of points.slice(0, Math.max(0, points.length - deps.settings.globalsKeep))) {
    try {
      // The manifest first: without it the script is no point, and the manifest, written last, is immutable longest.
      await deps.blobs.delete(old.blobName);
      await deps.blobs.delete(globalsScriptBlobName(server.name, old.recoveryPointId));
    } catch (err) {
      // Still under the container's immutability policy: kept until a later run may delete it (the new point is
      // taken either way).
      if (!(err instanceof PgkeepError && err.code === 'UserErrorBlobImmutable')) throw err;
      deps.log(`globals point ${old.recoveryPointId} of server ${server.name} is immutable for now; kept`);
    }
  }
  return { recoveryPointId: id, time, bytes: sealed.body.length, blobName };
}

/** The globals point a restore of a point taken at `time` uses: the newest at or before it, else the oldest after. */
export async function globalsFor(
  deps: GlobalsReader,
  serverName: string,
  time: string,
): Promise<GlobalsPoint | undefined> {
  const points = await listGlobalsPoints(deps, serverName);
  const chosen = points.filter((p) => p.time <= time).at(-1) ?? points[0];
  return chosen && readGlobalsPoint(deps, serverName, chosen.recoveryPointId);
}

/** The server an instance belongs to (linked by name, or by its id's server prefix), if one is registered. */
export async function serverOfInstance(
  deps: Pick<FleetDeps, 'servers'>,
  instance: InstanceRecord,
): Promise<ServerRecord | undefined> {
  if (instance.serverName !== undefined) return (await deps.servers.get(instance.serverName))?.value;
  for await (const s of deps.servers.list()) if (belongsTo(s.value, instance)) return s.value;
  return undefined;
}

// --- the discovery run ---

export interface DiscoveryRunResult {
  readonly server: string;
  readonly protected: readonly string[];
  readonly notReady: readonly string[];
  readonly missing: readonly string[];
  readonly returned: readonly string[];
  readonly globalsRecoveryPointId?: string;
  readonly jobId?: string;
  readonly error?: string;
}

async function markInstance(deps: FleetDeps, name: string, missingSince: string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await deps.instances.get(name);
    if (!stored) return;
    const { datasourceMissingSince: _was, ...rest } = stored.value;
    const next = missingSince === undefined ? rest : { ...rest, datasourceMissingSince: missingSince };
    try {
      await deps.instances.update({ ...next, updatedAt: deps.clock.now().toISOString() }, stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
}

function globalsDue(deps: FleetDeps, server: ServerRecord, nowMs: number, force: boolean): boolean {
  const hours = server.globalsEveryHours ?? deps.settings.globalsBackupHours;
  if (force) return true;
  if (hours <= 0) return false;
  return server.lastGlobalsAt === undefined || nowMs - Date.parse(server.lastGlobalsAt) >= hours * 3600_000;
}

/**
 * One discovery run of a server: protects new databases its auto-protect rule selects (the ready ones; the others
 * are reported), marks instances whose database disappeared (DatasourceMissing; nothing is deleted) and unmarks
 * those that came back, and backs up the globals when due. A run that changed anything or failed is a job.
 */
export async function discoverServer(
  deps: FleetDeps,
  serverName: string,
  options: { trigger?: JobRecord['trigger']; globals?: boolean } = {},
): Promise<DiscoveryRunResult> {
  const trigger = options.trigger ?? 'Scheduled';
  const { value: server } = await loadServer(deps, serverName);
  const now = deps.clock.now();
  let databases: DiscoveredDatabase[];
  try {
    databases = await deps.listDatabases(await serverConnection(deps, server));
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const jobId = await recordDiscoveryJob(deps, server.name, trigger, {}, err);
    return { server: server.name, protected: [], notReady: [], missing: [], returned: [], jobId, error: err.message };
  }
  const mine = await serverInstances(deps, server);
  const plan = planDiscovery({
    databases,
    instances: mine
      .filter((i) => i.value.deletedAt === undefined)
      .map((i) => ({
        name: i.value.name,
        database: i.value.dataSource.resourceName,
        missing: i.value.datasourceMissingSince !== undefined,
      })),
    protectedDatabases: new Set(mine.map((i) => i.value.dataSource.resourceName)),
    ...(server.autoProtect ? { rule: server.autoProtect } : {}),
  });
  let created: string[] = [];
  let notReady: string[] = [];
  if (server.autoProtect && plan.toProtect.length > 0) {
    const bulk = await protectDatabases(
      deps,
      server.name,
      { policyName: server.autoProtect.policyName, databases: plan.toProtect, protectReadyOnly: true },
      trigger,
    );
    created = bulk.results.filter((r) => r.outcome === 'Created').map((r) => r.instanceName ?? r.database);
    notReady = bulk.results.filter((r) => r.outcome === 'NotReady').map((r) => r.database);
  }
  for (const name of plan.missing) await markInstance(deps, name, now.toISOString());
  for (const name of plan.returned) await markInstance(deps, name, undefined);
  let globals: GlobalsPointInfo | undefined;
  let globalsError: PgkeepError | undefined;
  if (globalsDue(deps, server, now.getTime(), options.globals === true)) {
    try {
      globals = await backupGlobals(deps, server);
    } catch (err) {
      if (!(err instanceof PgkeepError)) throw err;
      globalsError = err;
    }
  }
  await touchServer(deps, server.name, now.toISOString(), globals?.time);
  const changed = plan.missing.length + plan.returned.length > 0 || globals !== undefined || globalsError !== undefined;
  const jobId = changed
    ? await recordDiscoveryJob(
        deps,
        server.name,
        trigger,
        {
          missing: plan.missing,
          returned: plan.returned,
          ...(globals ? { globalsRecoveryPointId: globals.recoveryPointId } : {}),
        },
        globalsError,
      )
    : undefined;
  return {
    server: server.name,
    protected: created,
    notReady,
    missing: plan.missing,
    returned: plan.returned,
    ...(globals ? { globalsRecoveryPointId: globals.recoveryPointId } : {}),
    ...(jobId ? { jobId } : {}),
  };
}

async function touchServer(deps: FleetDeps, name: string, at: string, globalsAt?: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await deps.servers.get(name);
    if (!stored) return;
    try {
      await deps.servers.update(
        { ...stored.value, lastDiscoveryAt: at, ...(globalsAt ? { lastGlobalsAt: globalsAt } : {}) },
        stored.etag,
      );
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
}

/** The discovery timer: every server in turn; one failing server does not stop the others. */
export async function discoverAll(deps: FleetDeps): Promise<DiscoveryRunResult[]> {
  const results: DiscoveryRunResult[] = [];
  const names: string[] = [];
  for await (const s of deps.servers.list()) names.push(s.value.name);
  for (const name of names) {
    try {
      results.push(await discoverServer(deps, name));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      deps.log(`discovery: server ${name} skipped: ${message}`);
      results.push({ server: name, protected: [], notReady: [], missing: [], returned: [], error: message });
    }
  }
  return results;
}
