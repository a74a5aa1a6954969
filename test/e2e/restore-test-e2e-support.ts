// Setup shared by the restore-test end-to-end tests: a source PostgreSQL with two protected databases, a separate
// scratch server (optionally behind a throttling proxy), the app under devhost with app settings naming them, and
// helpers to run plans, wait for their jobs and list the scratch databases.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- response bodies are checked by the assertions, not by types */
import { expect } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { principalHeader } from '../support/browser';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { seedVariedDatabase, startPostgres, type PgMajor, type TestPostgres } from '../support/postgres';
import { weeklyDefaultPolicy } from '../support/policies';
import {
  adoNet,
  apiClient,
  BACKUP_CONTAINER,
  instanceBody,
  jobEnded,
  repoRoot,
  startPgProxy,
  type ApiClient,
  type PgProxy,
} from './backup-support';

export interface RestoreTestEnv {
  readonly source: TestPostgres;
  readonly scratch: TestPostgres;
  /** Leads to the scratch server; SLOW_SCRATCH_DB names it, so a test can slow restores down. */
  readonly proxy: PgProxy;
  readonly dh: DevhostInstance;
  readonly api: ApiClient;
  readonly blobs: ReturnType<BlobServiceClient['getContainerClient']>;
  /** An on-demand backup of the instance; returns its recovery point id. */
  backup(instance: string): Promise<string>;
  /** PUTs a plan (properties merged over a Restore plan on SCRATCH_DB) and returns the response. */
  putPlan(name: string, properties: Record<string, unknown>): Promise<{ status: number; body: any }>;
  /** POSTs …/run and waits for every job it started; returns the ended job resources. */
  run(name: string, timeoutMs?: number): Promise<any[]>;
  /** Databases named pgkeep_verify_* on the scratch server (or on `server`). */
  scratchDatabases(server?: TestPostgres): Promise<string[]>;
  stop(): Promise<void>;
}

export const secretRef = (setting: string) => ({
  objectType: 'SecretStoreBasedAuthCredentials',
  secretStoreResource: { secretStoreType: 'AppSetting', uri: `appsetting://${setting}` },
});

export interface RestoreTestEnvOptions {
  readonly sourceMajor?: PgMajor;
  readonly scratchMajor?: PgMajor;
  /** Rows of the big table of `orders` (inventory has a tenth). */
  readonly rows?: number;
  readonly env?: Record<string, string>;
  /** The API checks caller roles, as in Azure (ENFORCE_CALLER_ROLES); `api` then calls as an Admin. */
  readonly enforceCallerRoles?: boolean;
}

export async function startRestoreTestEnv(options: RestoreTestEnvOptions = {}): Promise<RestoreTestEnv> {
  const source = await startPostgres({ major: options.sourceMajor ?? 15 });
  let scratch: TestPostgres | undefined;
  let proxy: PgProxy | undefined;
  let dh: DevhostInstance | undefined;
  try {
    scratch = await startPostgres({ major: options.scratchMajor ?? 15 });
    proxy = await startPgProxy({ host: scratch.host, port: scratch.port });
    const rows = options.rows ?? 20_000;
    await seedVariedDatabase(source, 'orders', rows);
    await seedVariedDatabase(source, 'inventory', Math.max(100, Math.floor(rows / 10)));
    await scratch.query("CREATE ROLE nocreate LOGIN PASSWORD 'nocreate-pw' NOCREATEDB");
    const su = (s: TestPostgres, db: string, port = s.port) => adoNet(s.host, port, db, s.superuser, s.password);
    dh = await startDevhost({
      appRoot: repoRoot,
      env: {
        ORDERS_DB: su(source, 'orders'),
        INVENTORY_DB: su(source, 'inventory'),
        SCRATCH_DB: su(scratch, 'postgres'),
        SLOW_SCRATCH_DB: su(scratch, 'postgres', proxy.port),
        NOCREATE_SCRATCH_DB: adoNet(scratch.host, scratch.port, 'postgres', 'nocreate', 'nocreate-pw'),
        SOURCE_AS_SCRATCH_DB: su(source, 'postgres'),
        SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
        EXPIRY_SCHEDULE: '0 0 0 1 1 *',
        RESTORE_TEST_SCHEDULER_SCHEDULE: '*/2 * * * * *',
        ...(options.enforceCallerRoles ? { ENFORCE_CALLER_ROLES: 'true' } : {}),
        ...options.env,
      },
    });
    const host = dh;
    const api = apiClient(host, options.enforceCallerRoles ? principalHeader('ada@example.com', 'Admin') : {});
    const created = await api.call(
      'PUT',
      'backupPolicies/weekly',
      weeklyDefaultPolicy({ name: 'weekly', start: '2021-08-22T02:00:00+00:00', deleteAfter: 'P3M' }),
    );
    expect(created.status, created.text).toBe(201);
    for (const [name, setting] of [
      ['orders', 'ORDERS_DB'],
      ['inventory', 'INVENTORY_DB'],
    ] as const) {
      const put = await api.call(
        'PUT',
        `backupInstances/${name}`,
        instanceBody({ resourceID: `local/${name}`, database: name, setting, policy: 'weekly' }),
      );
      expect(put.status, put.text).toBe(201);
    }
    const scratchServer = scratch;
    return {
      source,
      scratch: scratchServer,
      proxy,
      dh: host,
      api,
      blobs: BlobServiceClient.fromConnectionString(host.storage.connectionString).getContainerClient(BACKUP_CONTAINER),
      async backup(instance) {
        const started = await api.call('POST', `backupInstances/${instance}/backup`, {});
        expect(started.status, started.text).toBe(202);
        const job = await jobEnded(api, started.body.name as string, 120_000);
        expect(job.body.properties.status, job.text).toBe('Succeeded');
        return job.body.properties.recoveryPointId as string;
      },
      putPlan(name, properties) {
        return api.call('PUT', `restoreTestPlans/${name}`, {
          properties: { target: { datasourceAuthCredentials: secretRef('SCRATCH_DB') }, ...properties },
        });
      },
      async run(name, timeoutMs = 180_000) {
        const started = await api.call('POST', `restoreTestPlans/${name}/run`);
        expect(started.status, started.text).toBe(202);
        expect(started.headers.get('location')).toBe(`/api/backupJobs/${started.body.value[0].name}`);
        const ended = [];
        for (const job of started.body.value as { name: string }[]) {
          ended.push((await jobEnded(api, job.name, timeoutMs)).body);
        }
        return ended;
      },
      async scratchDatabases(server = scratchServer) {
        const rows = await server.query<{ datname: string }>(
          "SELECT datname FROM pg_database WHERE datname LIKE 'pgkeep\\_verify\\_%' ORDER BY 1",
        );
        return rows.map((r) => r.datname);
      },
      async stop() {
        await host.stop();
        await proxy?.close();
        await Promise.all([source.stop(), scratchServer.stop()]);
      },
    };
  } catch (err) {
    await dh?.stop();
    await proxy?.close();
    await Promise.all([source.stop(), scratch?.stop()]);
    throw err;
  }
}
