// Setup shared by the restore end-to-end tests: one PostgreSQL 15 with the varied database, the app under devhost,
// a protected instance with one or more recovery points made through the API, and small HTTP and storage helpers.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions, not by types */
import path from 'node:path';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { expect } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { seedVariedDatabase, startPostgres, type PgMajor, type TestPostgres } from '../support/postgres';
import { weeklyDefaultPolicy } from '../support/policies';
import { startPgProxy, type PgProxy } from './backup-support';

export const repoRoot = path.resolve(__dirname, '../..');
export const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RestoreEnv {
  /** The source server (the protected `orders` database). */
  readonly pg: TestPostgres;
  /** The server TARGET_DB points at: the source server itself unless another major was asked for. */
  readonly target: TestPostgres;
  /** The proxy TARGET_DB goes through, when asked for. */
  readonly targetProxy?: PgProxy;
  readonly dh: DevhostInstance;
  readonly blobService: BlobServiceClient;
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  waitJob(id: string, timeoutMs?: number): Promise<any>;
  /** Takes an on-demand backup of `orders` and returns its recovery point id. */
  backup(): Promise<string>;
  /** The target-secret reference for the test server (the app setting TARGET_DB). */
  readonly targetSecret: { objectType: string; secretStoreResource: { secretStoreType: string; uri: string } };
  stop(): Promise<void>;
}

const weeklyPolicy = weeklyDefaultPolicy({ name: 'weekly', start: '2021-08-22T02:00:00+00:00', deleteAfter: 'P3M' });

export const datasourceType = 'Microsoft.DBforPostgreSQL/servers/databases';

export function databaseRequest(
  pointId: string,
  databaseName: string,
  env: Pick<RestoreEnv, 'targetSecret'>,
  extra: object = {},
) {
  return {
    objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
    recoveryPointId: pointId,
    sourceDataStoreType: 'VaultStore',
    restoreTargetInfo: {
      objectType: 'RestoreTargetInfo',
      recoveryOption: 'FailIfExists',
      datasourceInfo: {
        objectType: 'Datasource',
        datasourceType,
        resourceID: `local/${databaseName}`,
        resourceName: databaseName,
      },
      datasourceAuthCredentials: env.targetSecret,
    },
    ...extra,
  };
}

/** A SAS URL (read, write, delete, list) of a container in the devhost's Azurite. */
export function containerSasUrl(env: Pick<RestoreEnv, 'blobService'>, container: string): string {
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container,
      permissions: ContainerSASPermissions.parse('rwdl'),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(ACCOUNT, KEY),
  ).toString();
  return `${env.blobService.getContainerClient(container).url}?${sas}`;
}

export interface RestoreEnvOptions {
  /** Major of the source server (default 15). */
  readonly sourceMajor?: PgMajor;
  /** Major of a separate target server; without it, restores go to the source server. */
  readonly targetMajor?: PgMajor;
  /** Rows of the source's big table (default 20,000). */
  readonly rows?: number;
  /** TARGET_DB leads through a TCP proxy (`env.targetProxy`) the test can slow down. */
  readonly targetViaProxy?: boolean;
}

export async function startRestoreEnv(
  extraEnv: Record<string, string> = {},
  options: RestoreEnvOptions = {},
): Promise<RestoreEnv> {
  const pg = await startPostgres({ major: options.sourceMajor ?? 15 });
  let target: TestPostgres = pg;
  let dh: DevhostInstance | undefined;
  let targetProxy: PgProxy | undefined;
  try {
    if (options.targetMajor !== undefined) target = await startPostgres({ major: options.targetMajor });
    if (options.targetViaProxy === true) targetProxy = await startPgProxy({ host: target.host, port: target.port });
    await seedVariedDatabase(pg, 'orders', options.rows ?? 20_000);
    const conn = (server: TestPostgres, db: string, via?: PgProxy) =>
      `Server=${via ? '127.0.0.1' : server.host};Port=${via ? via.port : server.port};Database=${db};` +
      `User Id=${server.superuser};Password=${server.password};Ssl Mode=Disable;`;
    dh = await startDevhost({
      appRoot: repoRoot,
      env: {
        ORDERS_DB: conn(pg, 'orders'),
        TARGET_DB: conn(target, 'postgres', targetProxy),
        SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
        EXPIRY_SCHEDULE: '0 0 0 1 1 *',
        ...extraEnv,
      },
    });
    const host = dh;
    const api = `${host.baseUrl}/api`;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(api + p, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    };
    const waitJob = async (id: string, timeoutMs = 60_000): Promise<any> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await call('GET', `/backupJobs/${id}`);
        const status = (r.body as { properties?: { status?: string } } | undefined)?.properties?.status;
        if (status === 'Succeeded' || status === 'Failed' || status === 'Cancelled') return r.body;
        if (Date.now() > until) throw new Error(`job ${id} did not finish: ${JSON.stringify(r.body)}`);
        await new Promise((r2) => setTimeout(r2, 250));
      }
    };
    const created = await call('PUT', '/backupPolicies/weekly', weeklyPolicy);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const put = await call('PUT', '/backupInstances/orders', {
      properties: {
        dataSourceInfo: { datasourceType, resourceID: 'local/orders', resourceName: 'orders' },
        policyInfo: { policyId: 'weekly' },
        datasourceAuthCredentials: {
          objectType: 'SecretStoreBasedAuthCredentials',
          secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
        },
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const backup = async () => {
      const started = await call('POST', '/backupInstances/orders/backup', {});
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const job = await waitJob(started.body.name as string);
      expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
      return job.properties.recoveryPointId as string;
    };
    return {
      pg,
      target,
      ...(targetProxy !== undefined && { targetProxy }),
      dh: host,
      blobService: BlobServiceClient.fromConnectionString(host.storage.connectionString),
      call,
      waitJob,
      backup,
      targetSecret: {
        objectType: 'SecretStoreBasedAuthCredentials',
        secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://TARGET_DB' },
      },
      async stop() {
        await host.stop();
        await targetProxy?.close();
        await pg.stop();
        if (target !== pg) await target.stop();
      },
    };
  } catch (err) {
    await dh?.stop();
    await targetProxy?.close();
    await pg.stop();
    if (target !== pg) await target.stop();
    throw err;
  }
}
