// Restores over HTTP under devhost (design §6): validateRestore, restore as database and as files round trips
// compared by checksums, options reaching pg_restore, archive tier with and without rehydration, and the faults
// that must fail the job (name in use, container not accessible, corrupted blob); owner modes and a table selection.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- response bodies are checked by the assertions, not by types */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryPointStore } from '../../shared/ports';
import { tableChecksums } from '../support/table-checksums';
import { containerSasUrl, databaseRequest, startRestoreEnv, type RestoreEnv } from './restore-e2e-support';
import { devhostStores } from '../support/devhost';

const execFileAsync = promisify(execFile);
let env: RestoreEnv;
let pointId: string;
let points: RecoveryPointStore;

beforeAll(async () => {
  env = await startRestoreEnv();
  pointId = await env.backup();
  points = devhostStores(env.dh.storage).recoveryPoints;
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

const databases = async () =>
  (await env.pg.query<{ datname: string }>('SELECT datname FROM pg_database')).map((r) => r.datname);

describe('POST validateRestore', () => {
  it('answers 200 with every check Succeeded for a restorable request', async () => {
    const r = await env.call('POST', '/backupInstances/orders/validateRestore', databaseRequest(pointId, 'fresh', env));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.status).toBe('Succeeded');
    expect(r.body.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['recoveryPoint', 'targetSecret', 'targetServer', 'databaseName', 'pgRestoreVersion']),
    );
    expect(r.body.checks.every((c: { status: string }) => c.status === 'Succeeded')).toBe(true);
    expect(await databases()).not.toContain('fresh');
  });

  it('answers 400 naming every invalid field by JSON path', async () => {
    const body = {
      ...databaseRequest(pointId, 'x', env),
      objectType: 'AzureBackupRestoreWithRehydrationRequest',
      rehydrationRetentionDuration: 'P5D',
      options: { jobs: 0 },
    };
    const r = await env.call('POST', '/backupInstances/orders/validateRestore', body);
    expect(r.status).toBe(400);
    const targets = r.body.error.details.map((d: { target: string }) => d.target);
    expect(targets).toEqual(expect.arrayContaining(['$.rehydrationRetentionDuration', '$.options.jobs']));
  });

  it('answers 400 with the name already in use and the code of that check', async () => {
    const r = await env.call(
      'POST',
      '/backupInstances/orders/validateRestore',
      databaseRequest(pointId, 'orders', env),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('UserErrorDatabaseNameAlreadyInUse');
  });

  it('answers 400 when the target server is unreachable', async () => {
    const body = databaseRequest(pointId, 'x', env);
    body.restoreTargetInfo.datasourceAuthCredentials = {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://UNREACHABLE_DB' },
    };
    const r = await env.call('POST', '/backupInstances/orders/validateRestore', body);
    expect(r.status).toBe(400);
    // The app setting is unset: the secret check fails and the server checks are not applicable.
    expect(r.body.error.details.map((d: { target: string }) => d.target)).toContain('targetSecret');
  });
});

describe('POST restore (as database)', () => {
  it('restores a new database whose every table, sequence and large object matches the source', async () => {
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(pointId, 'orders_copy', env));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.headers.get('location')).toBe(`/api/backupJobs/${r.body.name}`);
    const job = await env.waitJob(r.body.name);
    expect(job.properties, JSON.stringify(job.properties)).toMatchObject({
      operation: 'Restore',
      status: 'Succeeded',
      trigger: 'OnDemand',
      recoveryPointId: pointId,
    });
    expect(await tableChecksums(env.pg.connectionFor('orders_copy'))).toEqual(
      await tableChecksums(env.pg.connectionFor('orders')),
    );
    // The lease that kept expiry away is released at the end.
    expect((await points.get('orders', pointId))?.value.inUseUntil).toBeUndefined();
  });

  it('passes schemas and jobs to pg_restore: only the chosen schema is restored, in parallel', async () => {
    const body = databaseRequest(pointId, 'sales_only', env, { options: { schemas: ['Sales Ops'], jobs: 2 } });
    const r = await env.call('POST', '/backupInstances/orders/restore', body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const restored = await tableChecksums(env.pg.connectionFor('sales_only'));
    expect(Object.keys(restored.tables)).toEqual(['Sales Ops.Quarterly Targets']);
  });

  it('fails the job with UserErrorDatabaseNameAlreadyInUse and leaves the existing database alone', async () => {
    const before = await tableChecksums(env.pg.connectionFor('orders'));
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(pointId, 'orders', env));
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.error.code).toBe('UserErrorDatabaseNameAlreadyInUse');
    expect(await tableChecksums(env.pg.connectionFor('orders'))).toEqual(before);
  });

  it('refuses an unknown recovery point with 404 before starting anything', async () => {
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest('0-nope', 'x', env));
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('UserErrorNotFound');
  });
});

describe('POST restore (as files)', () => {
  const filesRequest = (url: string, filePrefix: string) => ({
    objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
    recoveryPointId: pointId,
    sourceDataStoreType: 'VaultStore',
    restoreTargetInfo: {
      objectType: 'RestoreFilesTargetInfo',
      recoveryOption: 'FailIfExists',
      targetDetails: { url, filePrefix, restoreTargetLocationType: 'AzureBlobs' },
    },
  });

  it('writes a dump, manifest and script that stock pg_restore turns into an identical database', async () => {
    const container = env.blobService.getContainerClient('exports');
    await container.createIfNotExists();
    const r = await env.call(
      'POST',
      '/backupInstances/orders/restore',
      filesRequest(containerSasUrl(env, 'exports'), 'orders/2026'),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    // The job shows the container without its SAS token.
    expect(JSON.stringify(job)).not.toContain('sig=');
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: 'orders/2026/' })) names.push(b.name);
    expect(names.sort()).toEqual(
      [`${pointId}-restore.sh`, `${pointId}.dump`, `${pointId}.manifest.json`].map((n) => `orders/2026/${n}`).sort(),
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-e2e-files-'));
    try {
      for (const n of names) {
        await writeFile(path.join(dir, path.basename(n)), await container.getBlobClient(n).downloadToBuffer());
      }
      // The delivered script, run as an operator would: libpq variables and the stock tools on PATH.
      await execFileAsync('sh', [path.join(dir, `${pointId}-restore.sh`), 'orders_from_files'], {
        env: {
          PATH: `/usr/lib/postgresql/15/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
          PGHOST: env.pg.host,
          PGPORT: String(env.pg.port),
          PGUSER: env.pg.superuser,
          PGPASSWORD: env.pg.password,
        },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await tableChecksums(env.pg.connectionFor('orders_from_files'))).toEqual(
      await tableChecksums(env.pg.connectionFor('orders')),
    );
  });

  it('fails the job with UserErrorContainerNotAccessible when the container does not exist', async () => {
    const r = await env.call(
      'POST',
      '/backupInstances/orders/restore',
      filesRequest(containerSasUrl(env, 'missing-container'), ''),
    );
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.error.code).toBe('UserErrorContainerNotAccessible');
  });

  it('refuses a filePrefix that climbs out of the container with 400', async () => {
    const r = await env.call(
      'POST',
      '/backupInstances/orders/restore',
      filesRequest(containerSasUrl(env, 'exports'), '../up'),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].target).toBe('$.restoreTargetInfo.targetDetails.filePrefix');
  });
});

describe('restore from the archive tier', () => {
  it('refuses an archived point without rehydration and restores it with rehydration, recording a Rehydrate job', async () => {
    const stored = (await points.get('orders', pointId))!;
    await env.blobService
      .getContainerClient('pgkeep-backups')
      .getBlobClient(stored.value.blobName)
      .setAccessTier('Archive');
    await points.update(
      { ...stored.value, dataStore: 'ArchiveStore', archivedAt: new Date().toISOString() },
      stored.etag,
    );

    const refused = await env.call(
      'POST',
      '/backupInstances/orders/restore',
      databaseRequest(pointId, 'from_archive', env),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('UserErrorRecoveryPointArchived');

    const body = databaseRequest(pointId, 'from_archive', env, {
      objectType: 'AzureBackupRestoreWithRehydrationRequest',
      sourceDataStoreType: 'ArchiveStore',
      rehydrationPriority: 'High',
      rehydrationRetentionDuration: 'P10D',
    });
    const r = await env.call('POST', '/backupInstances/orders/restore', body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    expect(await tableChecksums(env.pg.connectionFor('from_archive'))).toEqual(
      await tableChecksums(env.pg.connectionFor('orders')),
    );
    const rehydrate = await env.call('GET', `/backupJobs/${job.properties.extendedInfo.rehydrateJobId}`);
    expect(rehydrate.body.properties).toMatchObject({ operation: 'Rehydrate', status: 'Succeeded' });
    const after = (await points.get('orders', pointId))!.value;
    expect(after.dataStore).toBe('ArchiveStore');
    expect(after.rehydratedBlobName).toBeDefined();
    const days = (Date.parse(after.rehydratedUntil!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(9.9);
    expect(days).toBeLessThan(10.1);
  });
});

describe('integrity', () => {
  it('fails a restore of a corrupted blob with SystemErrorIntegrityCheckFailed and drops the database it created', async () => {
    const second = await env.backup();
    const blobName = (await points.get('orders', second))!.value.blobName;
    const blob = env.blobService.getContainerClient('pgkeep-backups').getBlockBlobClient(blobName);
    const bytes = await blob.downloadToBuffer();
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await blob.uploadData(bytes);

    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(second, 'corrupt_copy', env));
    const job = await env.waitJob(r.body.name);
    expect(job.properties.status).toBe('Failed');
    expect(job.properties.error.code).toBe('SystemErrorIntegrityCheckFailed');
    expect(await databases()).not.toContain('corrupt_copy');
  });
});

// Last in the file: it adds a schema to the source, which the earlier tests compare restores against.
describe('owner modes and a table selection, through HTTP', () => {
  let owned: string;
  interface RestoreJob {
    properties: {
      status: string;
      error?: unknown;
      extendedInfo: { result?: string };
      warnings?: { code: string; message: string }[];
    };
  }
  const restored = async (name: string, options: object): Promise<RestoreJob> => {
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(owned, name, env, { options }));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return (await env.waitJob(r.body.name)) as RestoreJob;
  };
  const owners = async (db: string): Promise<Record<string, unknown>> =>
    Object.fromEntries(
      (
        await env.pg.query(
          "SELECT schemaname || '.' || tablename AS t, tableowner AS o FROM pg_tables WHERE schemaname = 'app'",
          db,
        )
      ).map((row) => [String(row['t']), String(row['o'])] as const),
    );

  beforeAll(async () => {
    // app.items belongs to a role that exists on the target; app.ghostly to one that is gone by restore time.
    await env.pg.query('CREATE ROLE app_owner; CREATE ROLE restorer; CREATE ROLE ghost_owner');
    await env.pg.query(
      `CREATE SCHEMA app AUTHORIZATION app_owner;
       CREATE TABLE app.items (id int PRIMARY KEY); INSERT INTO app.items VALUES (7);
       ALTER TABLE app.items OWNER TO app_owner;
       CREATE TABLE app.ghostly (id int); ALTER TABLE app.ghostly OWNER TO ghost_owner;`,
      'orders',
    );
    owned = await env.backup();
    await env.pg.query(`REASSIGN OWNED BY ghost_owner TO ${env.pg.superuser}`, 'orders');
    await env.pg.query('DROP ROLE ghost_owner');
  }, 120_000);

  it('gives every object to the restoring user by default (owner none), with no warning', async () => {
    const job = await restored('own_none', {});
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    expect(job.properties.extendedInfo.result).toBe('Succeeded');
    expect(await owners('own_none')).toEqual({ 'app.items': env.pg.superuser, 'app.ghostly': env.pg.superuser });
  });

  it('keeps the dump’s owners with owner keep, and lists the one a missing role made fail as a warning', async () => {
    const job = await restored('own_keep', { owner: 'keep' });
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    expect(job.properties.extendedInfo.result).toBe('SucceededWithWarnings');
    expect(job.properties.warnings).toEqual([
      expect.objectContaining({
        code: 'OwnerNotSet',
        message: expect.stringMatching(/role "ghost_owner" does not exist/),
      }),
    ]);
    expect(await owners('own_keep')).toEqual({ 'app.items': 'app_owner', 'app.ghostly': env.pg.superuser });
    expect(await env.pg.query('SELECT id FROM app.items', 'own_keep')).toEqual([{ id: 7 }]);
  });

  it('makes the named role own every object with owner { role }', async () => {
    const job = await restored('own_role', { owner: { role: 'restorer' } });
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    expect(await owners('own_role')).toEqual({ 'app.items': 'restorer', 'app.ghostly': 'restorer' });
  });

  it('restores only the two tables asked for', async () => {
    const job = await restored('two_tables', { tables: ['app.items', 'app.ghostly'] });
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const tables = await tableChecksums(env.pg.connectionFor('two_tables'));
    expect(Object.keys(tables.tables).sort()).toEqual(['app.ghostly', 'app.items']);
  });
});
