// Server routes over the fake stores (issue 15): register with the slot limit, list databases with protection and
// protectability, bulk protect all-or-nothing or ready-only with a result per database, discovery runs
// (auto-protect, DatasourceMissing, globals), globals points (encrypted and rewrapped like dumps), assignMissingRoles
// with and without a caller token.
// Every response parses exactly with its contracts/servers.ts schema.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readGlobalsManifest, readGlobalsPoint } from '../../../shared/activities/discovery';
import { rewrapInstance, type RewrapDeps } from '../../../shared/activities/rewrap';
import type { KeyEncryptionKeys } from '../../../shared/ports';
import { PgkeepError } from '../../../shared/errors';
import type { RewrapOrchestratorInput } from '../../../shared/workflows/names';
import type { z } from 'zod';
import {
  assignRolesResponseSchema,
  discoveryRunSchema,
  globalsPointListSchema,
  globalsPointSchema,
  protectResponseSchema,
  serverDatabaseListSchema,
  serverListSchema,
  serverResourceSchema,
} from '../../../shared/contracts/servers';
import {
  changeAfterRead,
  createApi,
  failedCheck,
  fixture,
  NOW,
  SERVER_CONNECTION,
  testKeyring,
  VAULT,
} from './api-support';

function expectExactly(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(parsed.data).toStrictEqual(body);
}

const creds = {
  objectType: 'SecretStoreBasedAuthCredentials',
  secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://PG1' },
};
const serverBody = (extra: Record<string, unknown> = {}) => ({
  properties: { resourceID: 'onprem/pg1', datasourceAuthCredentials: creds, ...extra },
});
const dbs = (...names: string[]) =>
  names.map((name) => ({ name, sizeBytes: 1000, isTemplate: false, allowConnections: true }));

async function apiWithServer(extra: Record<string, unknown> = {}) {
  const api = createApi();
  await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json'));
  expect((await api.call('PUT', 'servers/pg1', serverBody(extra))).status).toBe(201);
  api.state.databases = [
    ...dbs('postgres', 'sales_a', 'sales_b', 'sales_tmp', 'hr'),
    { name: 'tpl', isTemplate: true, allowConnections: true },
  ];
  return api;
}

describe('PUT/GET/DELETE /servers/{name}', () => {
  it('applies a PUT over a discovery run that wrote the row between its read and its write, keeping both', async () => {
    const api = await apiWithServer();
    // The discovery timer records its run on the row after this request read it.
    const get = changeAfterRead(api.stores.servers, (v) => ({ ...v, lastDiscoveryAt: '2026-03-10T11:00:00.000Z' }));
    const res = await api.call('PUT', 'servers/pg1', serverBody({ maxConcurrentBackups: 4 }));
    expect(res.status).toBe(200);
    expect((await get('pg1'))?.value).toMatchObject({
      maxConcurrentBackups: 4,
      lastDiscoveryAt: '2026-03-10T11:00:00.000Z',
    });
  });

  it('answers 409, not 500, when the row keeps changing under a PUT, and changes nothing', async () => {
    const api = await apiWithServer();
    const get = changeAfterRead(
      api.stores.servers,
      (v) => ({ ...v, lastDiscoveryAt: new Date().toISOString() }),
      Infinity,
    );
    const res = await api.call('PUT', 'servers/pg1', serverBody({ maxConcurrentBackups: 4 }));
    expect(res.status).toBe(409);
    expect(res.jsonBody).toMatchObject({ error: { code: 'UserErrorInvalidRequest' } });
    expect((await get('pg1'))?.value.maxConcurrentBackups).toBeUndefined();
  });

  it('registers a server keyed by its host and port, puts its own limit on that key, and lists it', async () => {
    const api = await apiWithServer({ maxConcurrentBackups: 3 });
    const got = await api.call('GET', 'servers/pg1');
    expectExactly(serverResourceSchema, got.jsonBody);
    expect(got.jsonBody).toMatchObject({
      id: `${VAULT}/servers/pg1`,
      properties: { slotKey: 'db.local:5432', maxConcurrentBackups: 3, effectiveMaxConcurrentBackups: 3 },
    });
    expect((await api.stores.slots.read('db.local:5432')).server?.value.limit).toBe(3);
    const list = await api.call('GET', 'servers');
    expectExactly(serverListSchema, list.jsonBody);
    expect(await api.call('PUT', 'servers/pg1', serverBody())).toMatchObject({ status: 200 });
    expect((await api.stores.slots.read('db.local:5432')).server?.value.limit).toBeUndefined();
    expect((await api.call('DELETE', 'servers/pg1')).status).toBe(200);
    expect((await api.call('GET', 'servers/pg1')).status).toBe(404);
  });

  it('refuses bad bodies naming the field, and an auto-protect policy that does not exist', async () => {
    const api = createApi();
    const bad = await api.call('PUT', 'servers/pg1', { properties: { resourceID: '', maxConcurrentBackups: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.error.details?.map((d) => d.target)).toEqual(
      expect.arrayContaining(['$.properties.resourceID', '$.properties.maxConcurrentBackups']),
    );
    const noPolicy = await api.call('PUT', 'servers/pg1', serverBody({ autoProtect: { policyId: 'nope' } }));
    expect(noPolicy).toMatchObject({ status: 404, error: { target: '$.properties.autoProtect.policyId' } });
    expect(await api.stores.servers.get('pg1')).toBeUndefined();
  });
});

describe('GET /servers/{name}/databases', () => {
  it('lists every database with size, protection and whether it can be protected', async () => {
    const api = await apiWithServer();
    await api.call('POST', 'servers/pg1/protect', { policyId: 'weekly', databases: ['hr'] });
    const res = await api.call('GET', 'servers/pg1/databases');
    expectExactly(serverDatabaseListSchema, res.jsonBody);
    const byName = Object.fromEntries((res.jsonBody as { value: { name: string }[] }).value.map((d) => [d.name, d]));
    expect(byName.hr).toEqual({ name: 'hr', sizeInBytes: 1000, protectable: true, protectedBy: 'pg1-hr' });
    expect(byName.postgres).toMatchObject({
      protectable: false,
      notProtectableReason: 'a system database (as in Azure Backup)',
    });
    expect(byName.tpl).toMatchObject({ protectable: false, notProtectableReason: 'a template database' });
  });
});

describe('POST /servers/{name}/protect', () => {
  it('creates one instance per included database named <server>-<database>, reporting each', async () => {
    const api = await apiWithServer();
    const res = await api.call('POST', 'servers/pg1/protect', {
      policyId: 'weekly',
      databases: 'all',
      include: ['sales_*'],
      exclude: ['*_tmp'],
    });
    expectExactly(protectResponseSchema, res.jsonBody);
    expect(res.jsonBody).toMatchObject({
      status: 'Succeeded',
      value: [
        { database: 'sales_a', instanceName: 'pg1-sales_a', outcome: 'Created' },
        { database: 'sales_b', instanceName: 'pg1-sales_b', outcome: 'Created' },
      ],
    });
    const inst = (await api.stores.instances.get('pg1-sales_a'))?.value;
    expect(inst).toMatchObject({
      serverName: 'pg1',
      policyName: 'weekly',
      dataSource: { resourceID: 'onprem/pg1/databases/sales_a', resourceName: 'sales_a' },
      secret: { uri: 'appsetting://PG1' },
      lastScheduledSlot: NOW,
    });
    const job = await api.stores.jobs.get((res.jsonBody as { jobId: string }).jobId);
    expect(job).toMatchObject({ operation: 'Discovery', backupInstance: 'servers/pg1', status: 'Succeeded' });
    const again = await api.call('POST', 'servers/pg1/protect', {
      policyId: 'weekly',
      databases: ['sales_a', 'postgres'],
    });
    expect(again.jsonBody).toMatchObject({
      status: 'Failed',
      value: [
        { database: 'sales_a', outcome: 'AlreadyProtected', instanceName: 'pg1-sales_a' },
        { database: 'postgres', outcome: 'NotProtectable' },
      ],
    });
  });

  it('creates nothing while any database is not ready, unless told to protect the ready ones', async () => {
    const api = await apiWithServer();
    api.state.readinessOf.set('hr', { checks: [failedCheck('userCanReadDatabase', 'UserErrorMissingDBPermissions')] });
    const body = { policyId: 'weekly', databases: ['hr', 'sales_a'], datasourceAuthCredentials: creds };
    const none = await api.call('POST', 'servers/pg1/protect', body);
    expect(none.jsonBody).toMatchObject({
      status: 'Failed',
      value: [
        {
          database: 'hr',
          outcome: 'NotReady',
          failedChecks: [{ name: 'userCanReadDatabase', code: 'UserErrorMissingDBPermissions' }],
        },
        { database: 'sales_a', outcome: 'Ready' },
      ],
    });
    expect(await api.stores.instances.get('pg1-sales_a')).toBeUndefined();
    const some = await api.call('POST', 'servers/pg1/protect', {
      ...body,
      protectReadyOnly: true,
      instanceNames: { sales_a: 'sales' },
    });
    expect(some.jsonBody).toMatchObject({
      status: 'PartiallySucceeded',
      value: [{ outcome: 'NotReady' }, { outcome: 'Created', instanceName: 'sales' }],
    });
    expect(await api.stores.instances.get('sales')).toBeDefined();
  });

  it('answers 400 naming the field for a bad request and 404 for an unknown server', async () => {
    const api = await apiWithServer();
    const bad = await api.call('POST', 'servers/pg1/protect', { policyId: 'weekly', databases: 'some' });
    expect(bad).toMatchObject({ status: 400, error: { details: [{ target: '$.databases' }] } });
    expect((await api.call('POST', 'servers/nope/protect', { policyId: 'weekly', databases: 'all' })).status).toBe(404);
  });
});

describe('POST /servers/{name}/discover', () => {
  it('auto-protects new matching databases, marks a vanished one missing and unmarks it when back', async () => {
    const api = await apiWithServer({ autoProtect: { policyId: 'weekly', include: ['sales_*'], exclude: ['*_tmp'] } });
    const first = await api.call('POST', 'servers/pg1/discover');
    expectExactly(discoveryRunSchema, first.jsonBody);
    expect(first.jsonBody).toMatchObject({ protected: ['pg1-sales_a', 'pg1-sales_b'], missing: [] });
    api.state.databases = api.state.databases.filter((d) => d.name !== 'sales_b');
    const second = await api.call('POST', 'servers/pg1/discover');
    expect(second.jsonBody).toMatchObject({ protected: [], missing: ['pg1-sales_b'] });
    expect((await api.stores.instances.get('pg1-sales_b'))?.value.datasourceMissingSince).toBe(NOW);
    const job = await api.stores.jobs.get((second.jsonBody as { jobId: string }).jobId);
    expect(job).toMatchObject({ operation: 'Discovery', extra: { missing: ['pg1-sales_b'] } });
    api.state.databases.push(...dbs('sales_b'));
    expect((await api.call('POST', 'servers/pg1/discover')).jsonBody).toMatchObject({ returned: ['pg1-sales_b'] });
    expect((await api.stores.instances.get('pg1-sales_b'))?.value.datasourceMissingSince).toBeUndefined();
  });

  it('backs up the globals when asked, keeping GLOBALS_KEEP points, readable with their script', async () => {
    const api = await apiWithServer();
    const taken: string[] = [];
    for (let i = 0; i < 4; i++) {
      const run = await api.call('POST', 'servers/pg1/discover', { globals: true });
      taken.push((run.jsonBody as { globalsRecoveryPointId: string }).globalsRecoveryPointId);
    }
    const list = await api.call('GET', 'servers/pg1/recoveryPoints');
    expectExactly(globalsPointListSchema, list.jsonBody);
    const points = (list.jsonBody as { value: { name: string }[] }).value;
    expect(points.map((p) => p.name)).toEqual(taken.slice(1));
    // The oldest point is gone whole: its manifest and its script.
    expect([...api.blobs.blobs.keys()].filter((n) => n.includes(taken[0]!))).toEqual([]);
    const one = await api.call('GET', `servers/pg1/recoveryPoints/${points[0]!.name}`);
    expectExactly(globalsPointSchema, one.jsonBody);
    expect(one.jsonBody).toMatchObject({ properties: { roles: ['app'], script: 'CREATE ROLE app;\n' } });
    for (const body of api.blobs.blobs.values()) expect(body.toString('latin1')).not.toContain('s3cret-pw');
  });
});

describe('POST …/assignMissingRoles', () => {
  const armServer = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1';
  const missingReader = { checks: [failedCheck('appCanReadServer', 'UserErrorMSIMissingPermissions')] };

  it('assigns Reader with the caller token at the chosen scope, then reports readiness again', async () => {
    const api = await apiWithServer();
    await api.call('PUT', 'servers/az', { properties: { resourceID: armServer, datasourceAuthCredentials: creds } });
    const seen: unknown[] = [];
    api.state.readiness = missingReader;
    api.state.assignRole = (o) => {
      seen.push(o);
      api.state.readiness = { checks: [{ name: 'appCanReadServer', status: 'Succeeded', message: 'ok' }] };
      return Promise.resolve({ outcome: 'Created', message: 'assigned' });
    };
    const res = await api.call(
      'POST',
      'servers/az/assignMissingRoles',
      { scope: 'resourceGroup' },
      {
        headers: { 'x-pgkeep-arm-token': 'Bearer caller-token' },
      },
    );
    expectExactly(assignRolesResponseSchema, res.jsonBody);
    expect(seen).toEqual([
      {
        scope: '/subscriptions/s1/resourceGroups/rg',
        roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
        principalId: '11111111-2222-3333-4444-555555555555',
        callerToken: 'caller-token',
      },
    ]);
    expect(res.jsonBody).toMatchObject({
      assignments: [{ role: 'Reader', outcome: 'Created' }],
      readiness: { status: 'Succeeded' },
    });
  });

  it('offers the template without a caller token, and never echoes the token', async () => {
    const api = await apiWithServer();
    await api.call('PUT', 'servers/az', { properties: { resourceID: armServer, datasourceAuthCredentials: creds } });
    api.state.readiness = missingReader;
    const res = await api.call('POST', 'servers/az/assignMissingRoles');
    expect(res.jsonBody).toMatchObject({
      assignments: [
        {
          outcome: 'NotPermitted',
          remediationTemplate: { resources: [{ type: 'Microsoft.Authorization/roleAssignments' }] },
        },
      ],
      readiness: { status: 'Failed' },
    });
    api.state.assignRole = () => Promise.resolve({ outcome: 'NotPermitted', message: 'no' });
    const denied = await api.call('POST', 'servers/az/assignMissingRoles', undefined, {
      headers: { 'x-ms-token-aad-access-token': 'tok-123456' },
    });
    expect(JSON.stringify(denied.jsonBody)).not.toContain('tok-123456');
    expect(JSON.stringify(denied.jsonBody)).not.toContain(SERVER_CONNECTION);
  });
});

describe('globals points under an immutability policy', () => {
  it('takes the new point and keeps an old one the policy still protects, without failing the run', async () => {
    const api = await apiWithServer();
    Object.assign(api.blobs, {
      delete: (name: string) =>
        Promise.reject(
          new PgkeepError('UserErrorBlobImmutable', `blob ${name} is protected by the container's policy`),
        ),
    });
    for (let i = 0; i < 4; i++) {
      const run = await api.call('POST', 'servers/pg1/discover', { globals: true });
      expect(run.jsonBody).not.toHaveProperty('error');
      expect(run.jsonBody).toHaveProperty('globalsRecoveryPointId');
      const job = await api.stores.jobs.get((run.jsonBody as { jobId: string }).jobId);
      expect(job?.status).toBe('Succeeded');
    }
    const list = await api.call('GET', 'servers/pg1/recoveryPoints');
    expect((list.jsonBody as { value: unknown[] }).value).toHaveLength(4);
  });
});

describe('globals points are kept like dumps under envelope encryption', () => {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('base64');
  const keyring = testKeyring;

  async function encryptedPoint(keys: KeyEncryptionKeys) {
    const api = await apiWithServer();
    Object.assign(api.deps.fleet, { keys });
    const run = await api.call('POST', 'servers/pg1/discover', { globals: true });
    const id = (run.jsonBody as { globalsRecoveryPointId: string }).globalsRecoveryPointId;
    const doc = (await readGlobalsManifest(api.deps.fleet, 'pg1', id))!;
    return { api, id, doc };
  }

  it('encrypts the script under a fresh data key wrapped by the current KEK, and shows its key instead of it', async () => {
    const { api, id, doc } = await encryptedPoint(keyring('v1', { v1: k1 }));
    expect(doc.encryption).toMatchObject({ algorithm: 'AES-256-GCM', keyProvider: 'keyring', keyId: 'v1' });
    const stored = api.blobs.blobs.get(doc.blobName)!;
    expect(stored.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
    expect(stored.toString('latin1')).not.toContain('CREATE ROLE');
    const one = await api.call('GET', `servers/pg1/recoveryPoints/${id}`);
    expectExactly(globalsPointSchema, one.jsonBody);
    expect(one.jsonBody).toMatchObject({ properties: { roles: ['app'], encryptionKeyId: 'v1' } });
    expect((one.jsonBody as { properties: object }).properties).not.toHaveProperty('script');
    expect((await readGlobalsPoint(api.deps.fleet, 'pg1', id))?.script).toBe('CREATE ROLE app;\n');
  });

  it('refuses to read an encrypted point without its key, or with a changed byte, naming the code', async () => {
    const { api, id, doc } = await encryptedPoint(keyring('v1', { v1: k1 }));
    await expect(readGlobalsPoint({ blobs: api.blobs }, 'pg1', id)).rejects.toMatchObject({
      code: 'UserErrorEncryptionKeyNotFound',
    });
    const stored = api.blobs.blobs.get(doc.blobName)!;
    stored[stored.length - 20]! ^= 1;
    await expect(readGlobalsPoint(api.deps.fleet, 'pg1', id)).rejects.toMatchObject({
      code: 'SystemErrorIntegrityCheckFailed',
    });
  });

  it('rewraps every globals point of a server under the current KEK through a Rewrap job', async () => {
    const { api, id } = await encryptedPoint(keyring('v1', { v1: k1 }));
    const started: { id: string; input: RewrapOrchestratorInput }[] = [];
    Object.assign(api.deps, {
      rewrapPoint: () => Promise.reject(new Error('not used')),
      startRewrap: (orchestrationId: string, input: RewrapOrchestratorInput) =>
        Promise.resolve(void started.push({ id: orchestrationId, input })),
    });
    const res = await api.call('POST', 'servers/pg1/rewrap');
    expect(res.status).toBe(202);
    expect(started).toHaveLength(1);
    expect(started[0]!.id).toMatch(/^rewrap-server-pg1-/);
    expect(started[0]!.input).toEqual({ jobId: (res.jsonBody as { name: string }).name, serverName: 'pg1' });
    const rotated = keyring('v2', { v1: k1, v2: k2 });
    const deps: RewrapDeps = { ...api.stores, blobs: api.blobs, keys: rotated, clock: api.deps.clock, log: () => {} };
    expect(await rewrapInstance(deps, started[0]!.input)).toEqual({
      rewrapped: 1,
      alreadyCurrent: 0,
      notEncrypted: 0,
      failed: 0,
    });
    expect(await api.stores.jobs.get(started[0]!.input.jobId)).toMatchObject({
      operation: 'Rewrap',
      backupInstance: 'servers/pg1',
      status: 'Succeeded',
    });
    expect((await readGlobalsManifest(api.deps.fleet, 'pg1', id))?.encryption).toMatchObject({ keyId: 'v2' });
    // Only v2 is needed now.
    const onlyV2 = { blobs: api.blobs, keys: keyring('v2', { v2: k2 }) };
    expect((await readGlobalsPoint(onlyV2, 'pg1', id))?.script).toBe('CREATE ROLE app;\n');
  });
});
