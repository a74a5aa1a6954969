// Fleets end to end under devhost (issue 15) with two PostgreSQL 15 servers: server A with 12 databases and roles,
// server B empty. Discovery lists A's databases, bulk protect creates the included ones, a database created later is
// protected by the next discovery run, a slot with 12 due backups never runs more than 2 pg_dump against A at once
// (sampled from pg_stat_activity) — also when devhost is killed and restarted mid-slot — and all 12 succeed; a
// restore with owner keep into B creates the roles from A's globals first; a dropped database gets
// DatasourceMissing and keeps its recovery points. Encryption is on (a keyring): the globals points are encrypted like
// the dumps, decrypted by the restore, delivered encrypted by a restore as files for `pgkeep decrypt`, and rewrapped
// by a server's Rewrap job.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument -- response bodies are checked by the assertions, not by types */
import { BlobServiceClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { decryptDump } from '../../cli/decrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { containerSasUrl } from './restore-e2e-support';
import { startPostgres, type TestPostgres } from '../support/postgres';
import {
  adoNet,
  apiClient,
  fixturePolicy,
  jobEnded,
  pollUntil,
  repoRoot,
  vaultContainer,
  type ApiClient,
} from './backup-support';

let pgA: TestPostgres;
let pgB: TestPostgres;
let dh: DevhostInstance;
let api: ApiClient;

const keyring = { current: 'k1', keys: { k1: randomBytes(32).toString('base64') } };
const shops = Array.from({ length: 11 }, (_, i) => `shop_${String(i + 1).padStart(2, '0')}`);
const creds = (setting: string) => ({
  objectType: 'SecretStoreBasedAuthCredentials',
  secretStoreResource: { secretStoreType: 'AppSetting', uri: `appsetting://${setting}` },
});

beforeAll(async () => {
  [pgA, pgB] = await Promise.all([startPostgres({ major: 15 }), startPostgres({ major: 15 })]);
  await pgA.query('CREATE ROLE shop_owner NOLOGIN; CREATE ROLE shop_reader NOLOGIN; GRANT shop_reader TO shop_owner');
  await pgA.query('CREATE DATABASE shop_tmp');
  for (const db of shops) {
    await pgA.query(`CREATE DATABASE ${db}`);
    // Enough rows that a dump takes a moment, so that backups of the same slot overlap.
    await pgA.query(
      `CREATE TABLE items (id int PRIMARY KEY, payload text);
       INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 250000) g;
       ALTER TABLE items OWNER TO shop_owner; GRANT SELECT ON items TO shop_reader`,
      db,
    );
  }
  dh = await startDevhost({
    appRoot: repoRoot,
    env: {
      PG_A: adoNet(pgA.host, pgA.port, 'postgres', pgA.superuser, pgA.password),
      PG_B: adoNet(pgB.host, pgB.port, 'postgres', pgB.superuser, pgB.password),
      SCHEDULER_SCHEDULE: '*/2 * * * * *',
      DISCOVERY_SCHEDULE: '*/3 * * * * *',
      SERVER_MAX_CONCURRENT_BACKUPS: '2',
      HOST_MAX_CONCURRENT_BACKUPS: '4',
      BACKUP_SLOT_POLL_SECONDS: '1',
      BACKUP_KEYRING: JSON.stringify(keyring),
    },
  });
  api = apiClient(dh);
  expect((await api.call('PUT', 'backupPolicies/weekly', fixturePolicy('default-weekly.json'))).status).toBe(201);
}, 300_000);

afterAll(async () => {
  await dh?.stop();
  await Promise.all([pgA?.stop(), pgB?.stop()]);
});

const serverA = (extra: Record<string, unknown> = {}) => ({
  properties: { resourceID: 'onprem/pg-a', datasourceAuthCredentials: creds('PG_A'), ...extra },
});

describe('fleets under devhost', () => {
  it("lists each server's databases: A's twelve protectable, the system ones not, none of B's", async () => {
    expect((await api.call('PUT', 'servers/pgA', serverA())).status).toBe(201);
    const b = await api.call('PUT', 'servers/pgB', {
      properties: { resourceID: 'onprem/pg-b', datasourceAuthCredentials: creds('PG_B') },
    });
    expect(b.status, b.text).toBe(201);
    const res = await api.call('GET', 'servers/pgA/databases');
    expect(res.status, res.text).toBe(200);
    const byName = new Map<string, any>(res.body.value.map((d: any) => [d.name, d]));
    const protectable = [...byName.values()].filter((d) => d.protectable).map((d) => d.name);
    expect(protectable.sort()).toEqual([...shops, 'shop_tmp'].sort());
    for (const sys of ['postgres', 'template0', 'template1']) expect(byName.get(sys)?.protectable).toBe(false);
    expect(byName.get('shop_01').sizeInBytes).toBeGreaterThan(10_000_000);
    const onB = await api.call('GET', 'servers/pgB/databases');
    expect(onB.body.value.map((d: any) => d.name)).not.toContain('shop_01');
  });

  it('protects the included databases in bulk, one instance each, and skips the excluded one', async () => {
    const res = await api.call('POST', 'servers/pgA/protect', {
      policyId: 'weekly',
      databases: 'all',
      include: ['shop_*'],
      exclude: ['*_tmp'],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('Succeeded');
    const created = res.body.value.filter((r: any) => r.outcome === 'Created').map((r: any) => r.instanceName);
    expect(created.sort()).toEqual(shops.map((s) => `pgA-${s}`).sort());
    expect(res.body.value.map((r: any) => r.database)).not.toContain('shop_tmp');
    const job = await api.call('GET', `backupJobs/${res.body.jobId}`);
    expect(job.body.properties).toMatchObject({ operation: 'Discovery', status: 'Succeeded' });
  });

  it("protects a database created afterwards on the next discovery run, and backs up the server's globals", async () => {
    expect(
      (
        await api.call(
          'PUT',
          'servers/pgA',
          serverA({ autoProtect: { policyId: 'weekly', include: ['shop_*'], exclude: ['*_tmp'] } }),
        )
      ).status,
    ).toBe(200);
    await pgA.query('CREATE DATABASE shop_new');
    await pgA.query(
      'CREATE TABLE items (id int PRIMARY KEY, payload text); INSERT INTO items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 250000) g',
      'shop_new',
    );
    const inst = await pollUntil(
      () => api.call('GET', 'backupInstances/pgA-shop_new'),
      (r) => r.status === 200,
      60_000,
      'auto-protect of shop_new',
    );
    expect(inst.body.properties).toMatchObject({
      serverName: 'pgA',
      dataSourceInfo: { resourceID: 'onprem/pg-a/databases/shop_new' },
    });
    expect((await api.call('GET', 'backupInstances/pgA-shop_tmp')).status).toBe(404);
    const points = await pollUntil(
      () => api.call('GET', 'servers/pgA/recoveryPoints'),
      (r) => r.body?.value?.length > 0,
      60_000,
      'a globals point',
    );
    const one = await api.call('GET', `servers/pgA/recoveryPoints/${points.body.value[0].name}`);
    expect(one.body.properties.roles).toEqual(expect.arrayContaining(['shop_owner', 'shop_reader']));
    // Encrypted like a dump: the API names the key and does not hand out the script.
    expect(one.body.properties.encryptionKeyId).toBe('k1');
    expect(one.body.properties.script).toBeUndefined();
    const stored = vaultContainer(dh);
    let scripts = 0;
    for await (const b of stored.listBlobsFlat({ prefix: '_servers/pgA/' })) {
      if (!b.name.endsWith('/globals.sql.zst')) continue;
      scripts++;
      const body = await stored.getBlobClient(b.name).downloadToBuffer();
      expect(body.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
      expect(body.toString('latin1')).not.toContain('shop_owner');
    }
    expect(scripts).toBeGreaterThan(0);
  });

  it('runs a slot of 12 due backups at most 2 at a time against server A, across a kill and restart, all succeeding', async () => {
    const names = [...shops, 'shop_new'].map((s) => `pgA-${s}`);
    // A policy whose first slot is about a minute away, and the twelve instances moved onto it.
    const slot = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000);
    const policy = fixturePolicy('default-weekly.json') as any;
    policy.policyRules[0].trigger.schedule.repeatingTimeIntervals = [
      `R/${slot.toISOString().replace('.000Z', '+00:00')}/P1W`,
    ];
    expect((await api.call('PUT', 'backupPolicies/soon', policy)).status).toBe(201);
    for (const name of names) {
      const got = await api.call('GET', `backupInstances/${name}`);
      const p = got.body.properties;
      const put = await api.call('PUT', `backupInstances/${name}`, {
        properties: {
          dataSourceInfo: p.dataSourceInfo,
          datasourceAuthCredentials: p.datasourceAuthCredentials,
          policyInfo: { policyId: 'soon' },
        },
      });
      expect(put.status, put.text).toBe(200);
    }
    expect(Date.now()).toBeLessThan(slot.getTime());

    // Sample pg_dump backends on A (pg_dump connects as application_name pgkeep) until every backup has ended.
    const samples: number[] = [];
    const statuses = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await pgA.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pgkeep'",
        );
        samples.push(Number(rows[0]?.n ?? 0));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const backupsOfSlot = async () => {
      const res = await api.call('GET', `backupJobs?operation=Backup&from=${encodeURIComponent(slot.toISOString())}`);
      const jobs = (res.body?.value ?? []).filter((j: any) => names.includes(j.properties.backupInstance));
      for (const j of jobs) statuses.add(j.properties.status);
      return jobs;
    };
    try {
      // Kill devhost while the first backups dump, then start it again on the same storage.
      await pollUntil(
        backupsOfSlot,
        (jobs) => jobs.some((j: any) => j.properties.status === 'InProgress') && samples.at(-1)! > 0,
        120_000,
        'a running backup of the slot',
      );
      await dh.kill();
      await new Promise((r) => setTimeout(r, 1500));
      await dh.restart();
      const done = await pollUntil(
        backupsOfSlot,
        (jobs) =>
          jobs.length === names.length &&
          jobs.every((j: any) => ['Succeeded', 'Failed', 'Cancelled'].includes(j.properties.status)),
        480_000,
        'the end of the 12 backups',
      );
      expect(done.map((j: any) => [j.properties.backupInstance, j.properties.status]).sort()).toEqual(
        names.map((n) => [n, 'Succeeded']).sort(),
      );
    } finally {
      sampling = false;
      await sampler;
    }
    expect(Math.max(...samples)).toBe(2);
    expect(statuses).toContain('Queued');
  }, 900_000);

  it("restores with owner keep into a fresh server after creating the roles from A's globals", async () => {
    const points = await api.call('GET', 'backupInstances/pgA-shop_01/recoveryPoints');
    const pointId = points.body.value[0].name;
    const res = await api.call('POST', 'backupInstances/pgA-shop_01/restore', {
      objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
      recoveryPointId: pointId,
      sourceDataStoreType: 'VaultStore',
      restoreTargetInfo: {
        objectType: 'RestoreTargetInfo',
        recoveryOption: 'FailIfExists',
        datasourceInfo: {
          objectType: 'Datasource',
          datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
          resourceName: 'shop_copy',
        },
        datasourceAuthCredentials: creds('PG_B'),
      },
      options: { owner: 'keep', roles: 'create-missing' },
    });
    expect(res.status, res.text).toBe(202);
    const job = await jobEnded(api, res.body.name, 180_000);
    expect(job.body.properties.status, job.text).toBe('Succeeded');
    expect(job.body.properties.warnings ?? []).toEqual([]);
    const owner = await pgB.query<{ tableowner: string }>(
      "SELECT tableowner FROM pg_tables WHERE tablename = 'items'",
      'shop_copy',
    );
    expect(owner).toEqual([{ tableowner: 'shop_owner' }]);
    const member = await pgB.query<{ ok: boolean }>("SELECT pg_has_role('shop_owner', 'shop_reader', 'MEMBER') AS ok");
    expect(member).toEqual([{ ok: true }]);
    const grants = await pgB.query<{ n: string }>(
      "SELECT count(*) AS n FROM information_schema.role_table_grants WHERE grantee = 'shop_reader'",
      'shop_copy',
    );
    expect(Number(grants[0]?.n)).toBeGreaterThan(0);
  }, 240_000);

  it("writes the server's globals beside the dump in a restore as files, encrypted, for pgkeep decrypt", async () => {
    const blobs = BlobServiceClient.fromConnectionString(dh.storage.connectionString);
    const container = blobs.getContainerClient('exports');
    await container.createIfNotExists();
    const points = await api.call('GET', 'backupInstances/pgA-shop_02/recoveryPoints');
    const pointId = points.body.value[0].name;
    const res = await api.call('POST', 'backupInstances/pgA-shop_02/restore', {
      objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
      recoveryPointId: pointId,
      sourceDataStoreType: 'VaultStore',
      restoreTargetInfo: {
        objectType: 'RestoreFilesTargetInfo',
        recoveryOption: 'FailIfExists',
        targetDetails: {
          url: containerSasUrl({ blobService: blobs }, 'exports'),
          filePrefix: 'shop_02',
          restoreTargetLocationType: 'AzureBlobs',
        },
      },
    });
    expect(res.status, res.text).toBe(202);
    const job = await jobEnded(api, res.body.name, 180_000);
    expect(job.body.properties.status, job.text).toBe('Succeeded');
    const names = job.body.properties.extendedInfo.files.map((f: any) => f.name);
    const base = `shop_02/${pointId}-globals`;
    expect(names).toEqual(expect.arrayContaining([`${base}.sql.enc`, `${base}.manifest.json`]));
    expect(names).not.toContain(`${base}.sql`);
    const dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-globals-'));
    try {
      const file = (n: string) => path.join(dir, n);
      for (const n of ['sql.enc', 'manifest.json']) {
        await writeFile(file(n), await container.getBlobClient(`${base}.${n}`).downloadToBuffer());
      }
      expect((await readFile(file('sql.enc'))).toString('latin1')).not.toContain('shop_owner');
      const keyId = await decryptDump(
        { in: file('sql.enc'), manifest: file('manifest.json'), out: file('globals.sql') },
        {
          stdout: new PassThrough(),
          env: { BACKUP_KEYRING: JSON.stringify(keyring) },
          credential: () => ({ getToken: () => Promise.reject(new Error('no Azure identity in this test')) }),
        },
      );
      expect(keyId).toBe('k1');
      const script = await readFile(file('globals.sql'), 'utf8');
      expect(script).toMatch(/^CREATE ROLE shop_owner;$/m);
      expect(script).toMatch(/^GRANT shop_reader TO shop_owner/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it("rewraps the server's globals points with a Rewrap job (already under the current key here)", async () => {
    const res = await api.call('POST', 'servers/pgA/rewrap');
    expect(res.status, res.text).toBe(202);
    const job = await jobEnded(api, res.body.name, 120_000);
    expect(job.body.properties, job.text).toMatchObject({
      operation: 'Rewrap',
      backupInstance: 'servers/pgA',
      status: 'Succeeded',
    });
    expect(job.body.properties.extendedInfo).toMatchObject({ rewrapped: 0, failed: 0, toKeyId: 'k1' });
    expect(job.body.properties.extendedInfo.alreadyCurrent).toBeGreaterThan(0);
  });

  it('marks an instance whose database was dropped DatasourceMissing on the next run, keeping its points', async () => {
    await pgA.query('DROP DATABASE shop_11 WITH (FORCE)');
    const inst = await pollUntil(
      () => api.call('GET', 'backupInstances/pgA-shop_11'),
      (r) => r.body?.properties?.datasourceMissingSince !== undefined,
      60_000,
      'DatasourceMissing on pgA-shop_11',
    );
    expect(inst.body.properties.protectionStatus.status).toBe('ProtectionConfigured');
    expect(inst.body.properties.health.reasons.map((r: any) => r.code)).toContain('DatasourceMissing');
    const points = await api.call('GET', 'backupInstances/pgA-shop_11/recoveryPoints');
    expect(points.body.value.length).toBeGreaterThan(0);
    const jobs = await api.call('GET', 'backupJobs?operation=Discovery');
    expect(jobs.body.value.some((j: any) => (j.properties.extendedInfo?.missing ?? []).includes('pgA-shop_11'))).toBe(
      true,
    );
  });

  it('never shows a connection password in any response', () => {
    for (const text of api.seen) {
      expect(text).not.toContain(pgA.password);
      expect(text).not.toContain(pgB.password);
    }
  });
});
