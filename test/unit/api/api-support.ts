// An API under test over the fake stores: requests go through the route table and runHandler as functions/api.ts
// sends them, with readiness, orchestration starts and manifests as recorded stand-ins of the ApiDeps ports.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiDeps, BackupStartInput } from '../../../shared/api/deps';
import { fakeRestoreTestApiDeps } from '../../support/fake-restore-test-stores';
import { runHandler } from '../../../shared/api/http';
import type { ApiRequest, ApiResponse } from '../../../shared/contracts/http';
import { apiRoutes } from '../../../shared/api/routes';
import type { ErrorBody } from '../../../shared/errors';
import type { DbReadinessReport, KeyEncryptionKeys, ReadinessCheck, Stored } from '../../../shared/ports';
import { keyEncryptionKeysFromSettings } from '../../../shared/adapters/crypto/envelope';
import { createFakeJsonBlobs, createFakeStores } from '../../support/fake-stores';
import { createFakeAlertStores } from '../../support/fake-alert-stores';
import type { ChannelRecord } from '../../../shared/ports';
import type { ChannelTestResult } from '../../../shared/contracts/notifications';
import { PgkeepError } from '../../../shared/errors';
import type { DiscoveredDatabase } from '../../../shared/adapters/postgres/discovery';
import type { AssignRolesDeps } from '../../../shared/activities/assign-roles';

export const NOW = '2026-03-10T12:00:00.000Z';
export const VAULT = '/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v';

export function fixture(file: string): Record<string, unknown> {
  const dir = path.resolve(__dirname, '../../../../shared/fixtures/policies');
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
}

/** What every secret resolves to in the API tests' fleet: a server at db.local:5432. */
export const SERVER_CONNECTION = 'Server=db.local;Port=5432;Database=postgres;User Id=pgkeep;Password=s3cret-pw;';

export const ready: DbReadinessReport = {
  checks: [{ name: 'userCanLogIn', status: 'Succeeded', message: 'ok' }],
  serverMajor: 15,
  serverVersion: '15.8',
};

export function createApi(options: { enforceCallerRoles?: boolean } = {}) {
  const stores = createFakeStores({ now: () => new Date(NOW) });
  const started: { id: string; input: BackupStartInput }[] = [];
  let ids = 0;
  const state: {
    readiness: DbReadinessReport;
    startFails: boolean;
    manifests: Map<string, unknown>;
    /** App settings the channel secrets resolve from. */
    settings: Record<string, string>;
    tested: ChannelRecord[];
    enforceCallerRoles: boolean;
    /** Fleets: what the server lists, and readiness per database (else `readiness`). */
    databases: DiscoveredDatabase[];
    readinessOf: Map<string, DbReadinessReport>;
    assignRole: AssignRolesDeps['assignRole'];
  } = {
    readiness: ready,
    startFails: false,
    manifests: new Map<string, unknown>(),
    settings: {},
    tested: [],
    enforceCallerRoles: options.enforceCallerRoles ?? false,
    databases: [],
    readinessOf: new Map(),
    assignRole: () => Promise.resolve({ outcome: 'Created', message: 'assigned' }),
  };
  const restoreTests = fakeRestoreTestApiDeps();
  const alertStores = createFakeAlertStores();
  const checkReadiness = (i: { dataSource: { resourceName: string } }) =>
    Promise.resolve(state.readinessOf.get(i.dataSource.resourceName) ?? state.readiness);
  const blobs = createFakeJsonBlobs();
  const deps: ApiDeps = {
    vaultId: VAULT,
    get enforceCallerRoles() {
      return state.enforceCallerRoles;
    },
    ...stores,
    clock: { now: () => new Date(NOW) },
    newId: () => `job${++ids}`,
    checkReadiness,
    settings: { serverMaxConcurrentBackups: 2 },
    fleet: {
      ...stores,
      blobs,
      secrets: { resolve: () => Promise.resolve(SERVER_CONNECTION) },
      checkReadiness,
      listDatabases: () => Promise.resolve(state.databases),
      dumpGlobals: () => Promise.resolve({ script: 'CREATE ROLE app;\n', pgDumpallVersion: '15.8', warnings: [] }),
      clock: { now: () => new Date(NOW) },
      newId: () => `job${++ids}`,
      settings: { globalsBackupHours: 24, globalsKeep: 3, zstdLevel: 3 },
      log: () => undefined,
    },
    assignRoles: {
      checkReadiness,
      appPrincipalId: () => Promise.resolve('11111111-2222-3333-4444-555555555555'),
      assignRole: (o) => state.assignRole(o),
    },
    startBackup: (id, input) => {
      if (state.startFails) return Promise.reject(new Error('task hub unavailable'));
      started.push({ id, input });
      return Promise.resolve();
    },
    readManifest: (instance, point) => Promise.resolve(state.manifests.get(`${instance}/${point}`)),
    checkRestore: () => Promise.resolve([]),
    startRestore: () => Promise.resolve(),
    restoreTests,
    alerts: {
      ...alertStores,
      secrets: {
        resolve: (ref) => {
          const value = state.settings[ref.uri.replace(/^appsetting:\/\//, '')];
          return value === undefined
            ? Promise.reject(new PgkeepError('UserErrorInvalidSecret', `the secret ${ref.uri} does not exist`))
            : Promise.resolve(value);
        },
      },
      sendTest: (channel) => {
        state.tested.push(channel);
        const result: ChannelTestResult = {
          eventId: 'test-1',
          eventType: 'pgkeep.notification.test',
          status: 'Delivered',
          retryable: false,
          httpStatus: 200,
        };
        return Promise.resolve(result);
      },
      missedSlotGraceMs: 30 * 60_000,
      allowHttpLoopback: false,
    },
  };
  const errors: string[] = [];

  async function call(
    method: string,
    url: string,
    body?: unknown,
    init: { raw?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse & { error: ErrorBody['error'] }> {
    const u = new URL(url, 'http://localhost/api/');
    const rel = u.pathname.replace(/^\/api\//, '');
    const route = apiRoutes
      .filter((r) => r.method === method)
      .map((r) => ({ r, m: matchRoute(r.route, rel) }))
      .find((x) => x.m !== undefined);
    if (!route) throw new Error(`no route for ${method} ${rel}`);
    const headers = new Map(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const req: ApiRequest = {
      method,
      params: route.m!,
      query: u.searchParams,
      headers: { get: (n) => headers.get(n.toLowerCase()) ?? null },
      url: u.toString(),
      ...(init.raw !== undefined ? { body: init.raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    };
    const res = await runHandler(() => route.r.run(deps, req), req, { error: (m) => errors.push(m) });
    return { ...res, error: (res.jsonBody as ErrorBody | undefined)?.error as ErrorBody['error'] };
  }

  return { deps, stores, alertStores, started, state, call, errors, blobs, restoreTests };
}

/** Matches a host route template (`a/{name}/b`) against a path; literal segments compare case-insensitively. */
function matchRoute(template: string, rel: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = rel.split('/');
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const m = /^\{(\w+)\}$/.exec(t[i]!);
    if (m) params[m[1]!] = decodeURIComponent(p[i]!);
    else if (t[i]!.toLowerCase() !== p[i]!.toLowerCase()) return undefined;
  }
  return params;
}

export function instanceBody(over: { resourceID?: string; resourceName?: string; policyId?: string } = {}) {
  return {
    properties: {
      friendlyName: 'orders',
      dataSourceInfo: {
        objectType: 'Datasource',
        datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
        resourceID:
          over.resourceID ??
          '/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1/databases/orders',
        resourceName: over.resourceName ?? 'orders',
        resourceLocation: 'westeurope',
      },
      policyInfo: { policyId: over.policyId ?? 'weekly' },
      datasourceAuthCredentials: {
        objectType: 'SecretStoreBasedAuthCredentials',
        secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
      },
    },
  };
}

export function failedCheck(name: string, code: ReadinessCheck['code'], details?: ReadinessCheck['details']) {
  return {
    name,
    status: 'Failed' as const,
    code,
    message: `${name} failed`,
    remediation: 'do this',
    ...(details ? { details } : {}),
  };
}

/** An API with the weekly fixture policy and one configured instance, `orders`. */
export async function apiWithInstance() {
  const api = createApi();
  expect201(await api.call('PUT', 'backupPolicies/weekly', fixture('default-weekly.json')));
  expect201(await api.call('PUT', 'backupInstances/orders', instanceBody()));
  return api;
}

function expect201(res: ApiResponse): void {
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.jsonBody)}`);
}

export const targets = (error: ErrorBody['error'] | undefined): string[] => (error?.details ?? []).map((d) => d.target);

/** A keyring of the given entries (base64 keys), `current` wrapping new data keys: the KEKs as the app builds them. */
export function testKeyring(current: string, keys: Record<string, string>): KeyEncryptionKeys {
  return keyEncryptionKeysFromSettings(
    {
      BACKUP_ENCRYPTION_KEY_URI: '',
      BACKUP_KEYRING: JSON.stringify({ current, keys }),
      BACKUP_ENCRYPTION_KEY: '',
      BACKUP_ENCRYPTION_KEY_ID: '',
    },
    undefined,
  );
}

/** A store whose rows a test can change behind a request's back. */
interface RacedStore<T> {
  get(name: string): Promise<Stored<T> | undefined>;
  update(value: T, etag: string): Promise<string>;
}

/**
 * Makes the next `times` reads of the store be followed at once by `change` written to the row, as a timer or a job
 * writing the same row between a request's read and its write would. Returns the store's own get, unraced.
 */
export function changeAfterRead<T>(store: RacedStore<T>, change: (value: T) => T, times = 1): RacedStore<T>['get'] {
  const get = store.get.bind(store);
  let left = times;
  store.get = async (name) => {
    const read = await get(name);
    if (read && left > 0) {
      left--;
      await store.update(change(read.value), read.etag);
    }
    return read;
  };
  return get;
}
