// Server routes (issue 15): register a server, list its databases, protect them in bulk, run discovery now, its
// globals recovery points, and assignMissingRoles for servers and instances.

import { PgkeepError } from '../errors';
import { serverKeyOf } from '../domain/fleet';
import { parseConnectionString } from '../adapters/postgres/connection-string';
import type { InstanceRecord, ServerRecord, Stored } from '../ports';
import {
  discoverServer,
  listGlobalsPoints,
  listServerDatabases,
  loadServer,
  protectDatabases,
  readGlobalsManifest,
  readGlobalsPoint,
  serverConnection,
  type GlobalsPointInfo,
} from '../activities/discovery';
import { assignMissingRoles } from '../activities/assign-roles';
import type { ApiDeps } from './deps';
import { json, param, parseJsonBody, retryOnConcurrentChange } from './http';
import { listOf } from './resources';
import { loadInstance } from './instances';
import { policyNameFromId } from '../contracts/instances';
import { validName } from '../contracts/resources';
import { validate } from '../contracts/validation';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import {
  assignRolesBodySchema,
  callerArmTokenHeaders,
  discoverBodySchema,
  protectBodySchema,
  serverBodySchema,
  serverResourceType,
  type ProtectResponse,
  type ServerResource,
} from '../contracts/servers';

const serverId = (vaultId: string, name: string) => `${vaultId}/servers/${name}`;

export function toServerResource(vaultId: string, s: ServerRecord, defaultLimit: number): ServerResource {
  const p: ServerResource['properties'] = {
    resourceID: s.resourceID,
    datasourceAuthCredentials: {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: s.secret.secretStoreType, uri: s.secret.uri },
    },
    effectiveMaxConcurrentBackups: s.maxConcurrentBackups ?? defaultLimit,
  };
  if (s.maxConcurrentBackups !== undefined) p.maxConcurrentBackups = s.maxConcurrentBackups;
  if (s.autoProtect) {
    p.autoProtect = {
      policyId: `${vaultId}/backupPolicies/${s.autoProtect.policyName}`,
      ...(s.autoProtect.include ? { include: [...s.autoProtect.include] } : {}),
      ...(s.autoProtect.exclude ? { exclude: [...s.autoProtect.exclude] } : {}),
    };
  }
  if (s.globalsEveryHours !== undefined) p.globalsEveryHours = s.globalsEveryHours;
  if (s.slotKey !== undefined) p.slotKey = s.slotKey;
  if (s.lastDiscoveryAt !== undefined) p.lastDiscoveryAt = s.lastDiscoveryAt;
  if (s.lastGlobalsAt !== undefined) p.lastGlobalsAt = s.lastGlobalsAt;
  return { id: serverId(vaultId, s.name), name: s.name, type: serverResourceType, properties: p };
}

function globalsResource(vaultId: string, server: string, p: GlobalsPointInfo, extra: Record<string, unknown> = {}) {
  return {
    id: `${serverId(vaultId, server)}/recoveryPoints/${p.recoveryPointId}`,
    name: p.recoveryPointId,
    type: `${serverResourceType}/recoveryPoints` as const,
    properties: {
      objectType: 'GlobalsRecoveryPoint' as const,
      recoveryPointId: p.recoveryPointId,
      recoveryPointTime: p.time,
      sizeInBytes: p.bytes,
      ...extra,
    },
  };
}

/** The caller's ARM token, from the first of the headers that carries one (never logged, never echoed). */
export function callerArmToken(req: ApiRequest): string | undefined {
  for (const h of callerArmTokenHeaders) {
    const v = req.headers
      .get(h)
      ?.trim()
      .replace(/^Bearer\s+/i, '');
    if (v) return v;
  }
  return undefined;
}

async function requirePolicy(deps: ApiDeps, policyId: string, target: string): Promise<string> {
  const name = policyNameFromId(policyId);
  if (!(await deps.policies.get(name))) {
    throw new PgkeepError('UserErrorNotFound', `backup policy '${name}' was not found`, { target });
  }
  return name;
}

export function serverRoutes(deps: ApiDeps) {
  const limit = deps.settings.serverMaxConcurrentBackups;
  const nowIso = () => deps.clock.now().toISOString();

  async function put(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    if (!validName(name)) {
      throw new PgkeepError('UserErrorInvalidRequest', `'${name}' is not a valid server name`, { target: 'name' });
    }
    const props = validate(serverBodySchema, parseJsonBody(req), 'server').properties;
    const auto = props.autoProtect;
    const policyName = auto ? await requirePolicy(deps, auto.policyId, '$.properties.autoProtect.policyId') : undefined;
    const secret = props.datasourceAuthCredentials.secretStoreResource;
    // The credentials must at least resolve and parse now; reaching the server is what GET …/databases shows.
    let conn;
    try {
      conn = parseConnectionString(await deps.fleet.secrets.resolve(secret));
    } catch (err) {
      if (!(err instanceof PgkeepError)) throw err;
      throw new PgkeepError(err.code, err.message, {
        status: 400,
        target: '$.properties.datasourceAuthCredentials',
        hint: err.hint,
      });
    }
    // Discovery and globals runs write the row too (lastDiscoveryAt, lastGlobalsAt): re-read and re-apply on a race.
    const { existing, record } = await retryOnConcurrentChange(async () => {
      const existing = await deps.servers.get(name);
      const now = nowIso();
      const record: ServerRecord = {
        ...(existing?.value.lastDiscoveryAt ? { lastDiscoveryAt: existing.value.lastDiscoveryAt } : {}),
        ...(existing?.value.lastGlobalsAt ? { lastGlobalsAt: existing.value.lastGlobalsAt } : {}),
        name,
        resourceID: props.resourceID,
        secret,
        ...(props.maxConcurrentBackups !== undefined ? { maxConcurrentBackups: props.maxConcurrentBackups } : {}),
        ...(auto && policyName
          ? {
              autoProtect: {
                policyName,
                ...(auto.include ? { include: auto.include } : {}),
                ...(auto.exclude ? { exclude: auto.exclude } : {}),
              },
            }
          : {}),
        ...(props.globalsEveryHours !== undefined ? { globalsEveryHours: props.globalsEveryHours } : {}),
        slotKey: serverKeyOf(props.resourceID, conn),
        createdAt: existing?.value.createdAt ?? now,
        updatedAt: now,
      };
      if (existing) await deps.servers.update(record, existing.etag);
      else await deps.servers.create(record);
      return { existing, record };
    });
    // The limit lives with the semaphore, which every instance on the same host and port shares.
    await deps.slots.setLimit(record.slotKey ?? '', record.maxConcurrentBackups);
    if (existing?.value.slotKey && existing.value.slotKey !== record.slotKey) {
      await deps.slots.setLimit(existing.value.slotKey, undefined);
    }
    return json(existing ? 200 : 201, toServerResource(deps.vaultId, record, limit));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const { value } = await loadServer(deps, param(req, 'name'));
    return json(200, toServerResource(deps.vaultId, value, limit));
  }

  async function list(): Promise<ApiResponse> {
    const value: ServerResource[] = [];
    for await (const s of deps.servers.list()) value.push(toServerResource(deps.vaultId, s.value, limit));
    return json(200, listOf(value));
  }

  async function remove(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const stored = await deps.servers.get(name);
    if (!stored) return { status: 204 };
    // Its instances stay protected (they hold their own credentials); only discovery of this server stops.
    await deps.servers.delete(name);
    if (stored.value.slotKey) await deps.slots.setLimit(stored.value.slotKey, undefined);
    return { status: 200 };
  }

  async function databases(req: ApiRequest): Promise<ApiResponse> {
    const rows = await listServerDatabases(deps.fleet, param(req, 'name'));
    return json(200, {
      value: rows.map((d) => ({
        name: d.name,
        ...(d.sizeBytes !== undefined ? { sizeInBytes: d.sizeBytes } : {}),
        protectable: d.protectable,
        ...(d.notProtectableReason ? { notProtectableReason: d.notProtectableReason } : {}),
        ...(d.protectedBy ? { protectedBy: d.protectedBy } : {}),
      })),
    });
  }

  async function protect(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const body = validate(protectBodySchema, parseJsonBody(req), 'protect request');
    const policyName = await requirePolicy(deps, body.policyId, '$.policyId');
    const perDb = body.databaseCredentials
      ? Object.fromEntries(Object.entries(body.databaseCredentials).map(([db, c]) => [db, c.secretStoreResource]))
      : undefined;
    const outcome = await protectDatabases(deps.fleet, name, {
      policyName,
      databases: body.databases,
      ...(body.include ? { include: body.include } : {}),
      ...(body.exclude ? { exclude: body.exclude } : {}),
      ...(body.datasourceAuthCredentials ? { credentials: body.datasourceAuthCredentials.secretStoreResource } : {}),
      ...(perDb ? { databaseCredentials: perDb } : {}),
      ...(body.instanceNames ? { instanceNames: body.instanceNames } : {}),
      ...(body.protectReadyOnly !== undefined ? { protectReadyOnly: body.protectReadyOnly } : {}),
    });
    const fine = (o: string) => o === 'Created' || o === 'AlreadyProtected';
    const counted = outcome.results.filter((r) => r.outcome !== 'NotProtectable' || body.databases !== 'all');
    const status: ProtectResponse['status'] = counted.every((r) => fine(r.outcome))
      ? 'Succeeded'
      : counted.some((r) => r.outcome === 'Created')
        ? 'PartiallySucceeded'
        : 'Failed';
    const response: ProtectResponse = {
      status,
      ...(outcome.jobId ? { jobId: outcome.jobId } : {}),
      value: outcome.results.map((r) => ({
        database: r.database,
        ...(r.instanceName ? { instanceName: r.instanceName } : {}),
        outcome: r.outcome,
        message: r.message,
        ...(r.failedChecks ? { failedChecks: r.failedChecks } : {}),
      })),
    };
    return json(200, response);
  }

  async function discover(req: ApiRequest): Promise<ApiResponse> {
    const body = validate(discoverBodySchema, parseJsonBody(req, { optional: true }), 'discover request');
    const run = await discoverServer(deps.fleet, param(req, 'name'), {
      trigger: 'OnDemand',
      ...(body?.globals ? { globals: true } : {}),
    });
    return json(200, { ...run, protected: [...run.protected], notReady: [...run.notReady] });
  }

  async function listGlobals(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    await loadServer(deps, name);
    const points = (await listGlobalsPoints(deps.fleet, name)).map((p) => globalsResource(deps.vaultId, name, p));
    return json(200, listOf(points));
  }

  async function getGlobals(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const id = param(req, 'id');
    await loadServer(deps, name);
    const info = (await listGlobalsPoints(deps.fleet, name)).find((p) => p.recoveryPointId === id);
    const doc = info && (await readGlobalsManifest(deps.fleet, name, id));
    if (!info || !doc) {
      throw new PgkeepError('UserErrorNotFound', `globals recovery point '${id}' of server '${name}' was not found`);
    }
    const content = doc.encryption
      ? { encryptionKeyId: doc.encryption.keyId }
      : { script: (await readGlobalsPoint(deps.fleet, name, id))?.script };
    return json(
      200,
      globalsResource(deps.vaultId, name, info, {
        pgDumpallVersion: doc.pgDumpallVersion,
        roles: [...doc.roles],
        warnings: [...doc.warnings],
        ...content,
      }),
    );
  }

  async function assignRoles(req: ApiRequest, instance: InstanceRecord): Promise<ApiResponse> {
    const body = validate(assignRolesBodySchema, parseJsonBody(req, { optional: true }), 'request body');
    const result = await assignMissingRoles(
      deps.assignRoles,
      instance,
      {
        ...(body?.scope ? { scope: body.scope } : {}),
        ...(body?.keyVaultResourceId ? { keyVaultResourceId: body.keyVaultResourceId } : {}),
      },
      callerArmToken(req),
    );
    return json(200, result);
  }

  async function assignRolesOfServer(req: ApiRequest): Promise<ApiResponse> {
    const { value: server } = await loadServer(deps, param(req, 'name'));
    let database = 'postgres';
    try {
      database = (await serverConnection(deps.fleet, server)).database;
    } catch (err) {
      // Readiness reports the secret's problem; the database only names where its checks connect.
      if (!(err instanceof PgkeepError)) throw err;
    }
    // The server checked as the instances protected from it are: its id, its credentials, its own database.
    const asInstance: InstanceRecord = {
      name: server.name,
      friendlyName: server.name,
      dataSource: {
        objectType: 'Datasource',
        datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
        resourceID: server.resourceID,
        resourceName: database,
      },
      policyName: '',
      secret: server.secret,
      protectionState: 'ProtectionConfigured',
      createdAt: server.createdAt,
      updatedAt: server.updatedAt,
    };
    return assignRoles(req, asInstance);
  }

  async function assignRolesOfInstance(req: ApiRequest): Promise<ApiResponse> {
    const stored: Stored<InstanceRecord> = await loadInstance(deps, param(req, 'name'));
    return assignRoles(req, stored.value);
  }

  return {
    put,
    get,
    list,
    remove,
    databases,
    protect,
    discover,
    listGlobals,
    getGlobals,
    assignRolesOfServer,
    assignRolesOfInstance,
  };
}
