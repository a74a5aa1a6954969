// Key rotation end to end over the real activities (backup, restore, rewrap) with a real PostgreSQL, Azurite, and
// each KEK provider: the local keyring, and Key Vault through the real SDK against the keys stand-in. Back up under
// v1, rotate, back up under v2, restore both, rewrap a v1 point, retire v1, restore the rewrapped point — and the
// point left under v1 fails with the code that names key and version. Encrypted restores as files are delivered
// encrypted and turned into a restorable dump by `pgkeep decrypt` (through the delivered script for the keyring).
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupActivities } from '../../shared/activities/backup';
import { createRestoreActivities } from '../../shared/activities/restore';
import { rewrapPoint } from '../../shared/activities/rewrap';
import { keyringKekProvider, parseKeyring } from '../../shared/adapters/crypto/keyring';
import {
  createKeyEncryptionKeys,
  type KeySettings,
  keyEncryptionKeysFromSettings,
} from '../../shared/adapters/crypto/envelope';
import { keyVaultKekProvider } from '../../shared/adapters/azure/keyvault-keys';
import { createSecretResolver } from '../../shared/adapters/azure/secrets';
import { discoverPgTools } from '../../shared/adapters/postgres/pg-binaries';
import { describeDatabase } from '../../shared/adapters/postgres/pg-manifest';
import { restoreContainerFactory } from '../../shared/adapters/storage/restore-container';
import { createStores, type Stores } from '../../shared/adapters/storage/stores';
import { loadConfig } from '../../shared/config';
import { parseRestoreRequest } from '../../shared/contracts/restores';
import { systemClock, type KeyEncryptionKeys, type RecoveryPointRecord } from '../../shared/ports';
import { decryptDump } from '../../cli/decrypt';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { useAzureStandins, type AzureStandins } from '../support/azure-standins';
import { ensureBuilt } from '../support/devhost';
import { expectNoSecret, failureOf } from '../support/failures';
import { weeklyDefaultPolicy } from '../support/policies';
import { SYSTEM_BIN, seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { tableChecksums, type DatabaseChecksums } from '../support/table-checksums';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(__dirname, '../..');
const INSTANCE = 'orders';

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

let server: TestPostgres;
let azurite: AzuriteInstance;
let stores: Stores;
let target: ContainerClient;
let source: DatabaseChecksums;
let workDir: string;
let seq = 0;
const noIdentity: TokenCredential = { getToken: () => Promise.reject(new Error('no Azure identity in this test')) };

beforeAll(async () => {
  [server, azurite, workDir] = await Promise.all([
    startPostgres(),
    startAzurite(),
    mkdtemp(path.join(tmpdir(), 'pgkeep-keys-')),
  ]);
  ensureBuilt(repoRoot);
  await seedVariedDatabase(server, INSTANCE, 2_000);
  source = await tableChecksums(server.connectionFor(INSTANCE));
  stores = createStores(
    loadConfig({ VAULT_STORAGE: azurite.connectionString, TABLE_PREFIX: 'keys', BACKUP_CONTAINER: 'keys-vault' }),
  );
  target = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('target');
  await target.create();
  const now = new Date().toISOString();
  await stores.policies.create({
    name: 'weekly',
    document: weeklyDefaultPolicy({ name: 'weekly', start: '2024-01-07T02:00:00+00:00', deleteAfter: 'P3M' }),
    createdAt: now,
  });
  await stores.instances.create({
    name: INSTANCE,
    friendlyName: INSTANCE,
    dataSource: {
      objectType: 'Datasource',
      datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
      resourceID: 'local/orders',
      resourceName: INSTANCE,
    },
    policyName: 'weekly',
    secret: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
    protectionState: 'ProtectionConfigured',
    createdAt: now,
    updatedAt: now,
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([server?.stop(), azurite?.stop(), workDir && rm(workDir, { recursive: true, force: true })]);
});

/** The activities as the composition root wires them, with the given KEKs. */
function vault(keys: KeyEncryptionKeys) {
  const conn = server.connectionFor(INSTANCE);
  const secrets = createSecretResolver({
    readAppSetting: (name) =>
      name === 'ORDERS_DB' || name === 'TARGET_DB'
        ? `Server=${conn.host};Port=${conn.port};Database=${name === 'ORDERS_DB' ? INSTANCE : 'postgres'};User Id=${conn.user};Password=${conn.password};Ssl Mode=Disable;`
        : undefined,
    keyVault: { credential: noIdentity },
  });
  const discoverTools = () => discoverPgTools({ pathDirs: [] });
  const backups = createBackupActivities({
    ...stores,
    readiness: {
      secrets,
      discoverTools,
      checkArmReader: () => Promise.resolve({ name: 'armReaderOnServer', status: 'NotApplicable', message: 'local' }),
    },
    discoverTools,
    describeDatabase,
    clock: systemClock,
    keys,
    settings: {
      serverMaxConcurrentBackups: 2,
      hostMaxConcurrentBackups: 16,
      slotPollSeconds: 5,
      zstdLevel: 1,
      stallTimeoutMs: 60_000,
    },
    log: () => undefined,
  });
  const restores = createRestoreActivities({
    ...stores,
    secrets,
    discoverTools,
    containerClient: restoreContainerFactory({
      settings: { allowHttpLoopback: true, identityHosts: [] },
      credential: noIdentity,
    }),
    sendQueueMessage: () => Promise.resolve(),
    clock: systemClock,
    keys,
    settings: {},
    log: () => undefined,
  });
  const job = async (operation: 'Backup' | 'Restore') => {
    const id = randomUUID();
    await stores.jobs.create({
      id,
      operation,
      backupInstance: INSTANCE,
      status: 'InProgress',
      trigger: 'OnDemand',
      startTime: new Date().toISOString(),
      progress: { bytes: 0 },
    });
    return id;
  };
  return {
    async backup(): Promise<RecoveryPointRecord> {
      const jobId = await job('Backup');
      const dump = await backups.runDump({ jobId, instanceName: INSTANCE, serverMajor: 15 });
      const { recoveryPointId } = await backups.commitRecoveryPoint({
        jobId,
        instanceName: INSTANCE,
        trigger: 'OnDemand',
        dump,
      });
      return (await stores.recoveryPoints.get(INSTANCE, recoveryPointId))!.value;
    },
    /** Restores the point as a new database and returns its name. */
    async restore(point: RecoveryPointRecord): Promise<string> {
      const name = `restored_${++seq}`;
      const request = parseRestoreRequest({
        objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
        recoveryPointId: point.id,
        restoreTargetInfo: {
          objectType: 'RestoreTargetInfo',
          datasourceInfo: {
            datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
            resourceName: name,
          },
          datasourceAuthCredentials: {
            objectType: 'SecretStoreBasedAuthCredentials',
            secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://TARGET_DB' },
          },
        },
      });
      const jobId = await job('Restore');
      await restores.runRestore({ jobId, instanceName: INSTANCE, request, sourceBlobName: point.blobName });
      return name;
    },
    /** Restores the point as files under `prefix` of the target container (through its SAS-less Azurite URL). */
    async restoreFiles(point: RecoveryPointRecord, prefix: string) {
      const request = parseRestoreRequest({
        objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
        recoveryPointId: point.id,
        restoreTargetInfo: {
          objectType: 'RestoreFilesTargetInfo',
          targetDetails: { url: sasUrl(), filePrefix: prefix, restoreTargetLocationType: 'AzureBlobs' },
        },
      });
      const jobId = await job('Restore');
      return restores.runRestore({ jobId, instanceName: INSTANCE, request, sourceBlobName: point.blobName });
    },
    rewrap: (point: RecoveryPointRecord) =>
      rewrapPoint({ ...stores, keys, clock: systemClock, log: () => undefined }, point),
  };
}

/** A SAS URL of the target container (a restore as files into Azurite needs one: the vault account is not listed). */
function sasUrl(): string {
  const [account, key] = [/AccountName=([^;]+)/, /AccountKey=([^;]+)/].map(
    (r) => r.exec(azurite.connectionString)?.[1] ?? '',
  );
  const sas = generateBlobSASQueryParameters(
    {
      containerName: 'target',
      permissions: ContainerSASPermissions.parse('rcwdl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    },
    new StorageSharedKeyCredential(account!, key!),
  ).toString();
  return `${target.url}?${sas}`;
}

const manifestOf = async (point: RecoveryPointRecord) =>
  (await stores.blobs.getJson<{ encryption: Record<string, unknown> }>(point.manifestBlobName))!;

async function expectRestored(database: string): Promise<void> {
  expect(await tableChecksums(server.connectionFor(database))).toEqual(source);
}

async function databases(): Promise<string[]> {
  return (await server.query<{ datname: string }>('SELECT datname FROM pg_database')).map((r) => r.datname);
}

interface Provider {
  /** The KEKs as the last step left them. */
  now(): KeyEncryptionKeys;
  /** KEKs with v1 current. */
  v1(): Promise<{ keys: KeyEncryptionKeys; v1: string }>;
  /** A new version becomes current; v1 still unwraps. */
  rotate(): Promise<{ keys: KeyEncryptionKeys; v2: string }>;
  /** v1 is retired (disabled, or gone from the keyring); returns the KEKs after that. */
  retireV1(): Promise<KeyEncryptionKeys>;
  /** The code a restore of a point still under v1 fails with. */
  readonly retiredCode: string;
}

function keyringProvider(): Provider & { settings: () => KeySettings } {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('base64');
  let keyring = { current: 'k1', keys: { k1 } as Record<string, string> };
  const settings = (): KeySettings => ({
    BACKUP_ENCRYPTION_KEY_URI: '',
    BACKUP_KEYRING: JSON.stringify(keyring),
    BACKUP_ENCRYPTION_KEY: '',
    BACKUP_ENCRYPTION_KEY_ID: '',
  });
  const keys = () => keyEncryptionKeysFromSettings(settings(), undefined);
  return {
    settings,
    now: keys,
    v1: () => Promise.resolve({ keys: keys(), v1: 'k1' }),
    rotate: () => {
      keyring = { current: 'k2', keys: { k1, k2 } };
      return Promise.resolve({ keys: keys(), v2: 'k2' });
    },
    retireV1: () => {
      keyring = { current: 'k2', keys: { k2 } };
      return Promise.resolve(keys());
    },
    retiredCode: 'UserErrorEncryptionKeyNotFound',
  };
}

function keyVaultProvider(): Provider {
  const name = `kek-${randomBytes(3).toString('hex')}`;
  let v1 = '';
  const keys = (): KeyEncryptionKeys => {
    const azureKeyVault = keyVaultKekProvider({
      keyUri: `${standins.keyVault.url}/keys/${name}`,
      credential: new DefaultAzureCredential(),
      clientOptions: { tlsOptions: { ca: standins.ca }, disableChallengeResourceVerification: true },
    });
    return createKeyEncryptionKeys({
      current: azureKeyVault,
      keyring: keyringKekProvider(
        parseKeyring({ BACKUP_KEYRING: '', BACKUP_ENCRYPTION_KEY: '', BACKUP_ENCRYPTION_KEY_ID: '' }),
      ),
      azureKeyVault,
    });
  };
  return {
    now: keys,
    v1: () => {
      v1 = standins.keyVault.createKeyVersion(name);
      return Promise.resolve({ keys: keys(), v1 });
    },
    rotate: () => Promise.resolve({ v2: standins.keyVault.createKeyVersion(name), keys: keys() }),
    retireV1: () => {
      standins.keyVault.setKeyVersionEnabled(name, v1.split('/').at(-1)!, false);
      return Promise.resolve(keys());
    },
    retiredCode: 'UserErrorEncryptionKeyDisabled',
  };
}

describe.each([
  ['the local keyring', keyringProvider],
  ['Key Vault', keyVaultProvider],
] as const)('key rotation with %s', (_label, makeProvider) => {
  const provider: Provider = makeProvider();
  const points: Record<'v1a' | 'v1b' | 'v2', RecoveryPointRecord> = {} as never;
  let kekIds: { v1: string; v2: string };

  it('backs up under v1, rotates, and backs up under v2: each manifest names the version that wrapped it', async () => {
    const first = await provider.v1();
    points.v1a = await vault(first.keys).backup();
    points.v1b = await vault(first.keys).backup();
    const rotated = await provider.rotate();
    points.v2 = await vault(rotated.keys).backup();
    kekIds = { v1: first.v1, v2: rotated.v2 };
    for (const [point, kek] of [
      [points.v1a, kekIds.v1],
      [points.v1b, kekIds.v1],
      [points.v2, kekIds.v2],
    ] as const) {
      const { encryption } = await manifestOf(point);
      expect(encryption).toMatchObject({ algorithm: 'AES-256-GCM', format: 'PGKEEPE1', keyId: kek });
      expect(typeof encryption.wrappedKey).toBe('string');
      expect(point.encryptionKeyId).toBe(kek);
      const stored = await stores.blobs.openRead(point.blobName);
      const head = await new Promise<Buffer>((resolve) => stored.once('data', (c: Buffer) => resolve(c)));
      expect(head.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
    }
    // A fresh data key per backup: the two v1 points share the KEK, not the wrapped key.
    expect((await manifestOf(points.v1a)).encryption.wrappedKey).not.toBe(
      (await manifestOf(points.v1b)).encryption.wrappedKey,
    );
  });

  it('restores the v1 and the v2 point after the rotation, every row equal', async () => {
    const current = vault(provider.now());
    await expectRestored(await current.restore(points.v1a));
    await expectRestored(await current.restore(points.v2));
  });

  it('rewraps a v1 point under the current version without touching its dump', async () => {
    const keys = provider.now();
    const before = await stores.blobs.info(points.v1a.blobName);
    const outcome = await vault(keys).rewrap(points.v1a);
    expect(outcome).toEqual({ result: 'rewrapped', fromKeyId: kekIds.v1, toKeyId: kekIds.v2 });
    const { encryption } = await manifestOf(points.v1a);
    expect(encryption.keyId).toBe(kekIds.v2);
    expect(encryption.rewrappedAt).toEqual(expect.any(String));
    const after = await stores.blobs.info(points.v1a.blobName);
    expect(after?.lastModified).toBe(before?.lastModified);
    expect((await stores.recoveryPoints.get(INSTANCE, points.v1a.id))?.value.encryptionKeyId).toBe(encryption.keyId);
    // Done once: a second rewrap finds it current.
    expect((await vault(keys).rewrap(points.v1a)).result).toBe('alreadyCurrent');
  });

  it('after v1 is retired, restores the rewrapped point and refuses the one left under v1, naming key and version', async () => {
    const keys = await provider.retireV1();
    await expectRestored(await vault(keys).restore(points.v1a));
    const before = await databases();
    const err = await failureOf(vault(keys).restore(points.v1b));
    expect(err.code).toBe(provider.retiredCode);
    expect(err.message).toContain(kekIds.v1.split('/').at(-1)!);
    expect(await databases()).toEqual(before);
    // Rewrapping it now is refused the same way: nothing can unwrap its data key any more.
    expect((await failureOf(vault(keys).rewrap(points.v1b))).code).toBe(provider.retiredCode);
  });

  it('delivers an encrypted restore as files encrypted, and pgkeep decrypt turns it into the dump the script restores', async () => {
    const keys = provider.now();
    const prefix = `files-${++seq}/`;
    const result = await vault(keys).restoreFiles(points.v2, prefix);
    const names = (result.files ?? []).map((f) => f.name);
    expect(names).toEqual([
      `${prefix}${points.v2.id}.manifest.json`,
      `${prefix}${points.v2.id}.dump.enc`,
      `${prefix}${points.v2.id}-restore.sh`,
    ]);
    const dir = path.join(workDir, `files-${seq}`);
    await execFileAsync('mkdir', ['-p', dir]);
    for (const name of names) await target.getBlobClient(name).downloadToFile(path.join(dir, path.basename(name)));
    const enc = await readFile(path.join(dir, `${points.v2.id}.dump.enc`));
    expect(enc.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
    expect(createHash('sha256').update(enc).digest('hex')).toBe(points.v2.sha256);
    const script = await readFile(path.join(dir, `${points.v2.id}-restore.sh`), 'utf8');
    expect(script).toContain('pgkeep} decrypt --in');

    if ('settings' in provider) {
      // The keyring: the delivered script runs `pgkeep decrypt` (the built CLI) with the keyring in its environment.
      const keyring = (provider as ReturnType<typeof keyringProvider>).settings().BACKUP_KEYRING;
      const conn = server.connectionFor('postgres');
      const database = `from_files_${seq}`;
      await execFileAsync('sh', [path.join(dir, `${points.v2.id}-restore.sh`), database], {
        env: {
          PATH: `${SYSTEM_BIN}:/usr/bin:/bin`,
          PGKEEP: `${process.execPath} ${path.join(repoRoot, 'dist/cli/pgkeep.js')}`,
          BACKUP_KEYRING: keyring,
          PGHOST: conn.host,
          PGPORT: String(conn.port),
          PGUSER: conn.user,
          PGPASSWORD: conn.password,
          PGSSLMODE: 'disable',
        },
      });
      await expectRestored(database);
      return;
    }
    // Key Vault: pgkeep decrypt unwraps through the stand-in with the (stand-in's) managed identity.
    const out = path.join(dir, 'plain.dump');
    const keyId = await decryptDump(
      {
        in: path.join(dir, `${points.v2.id}.dump.enc`),
        manifest: path.join(dir, `${points.v2.id}.manifest.json`),
        out,
      },
      {
        stdout: process.stdout,
        env: {},
        credential: () => new DefaultAzureCredential(),
        keyVaultOptions: { tlsOptions: { ca: standins.ca }, disableChallengeResourceVerification: true },
      },
    );
    expect(keyId).toBe(kekIds.v2);
    const plain = await readFile(out);
    expect(plain.subarray(0, 5).toString('latin1')).toBe('PGDMP');
    const expectedSha = /echo "([0-9a-f]{64}) /.exec(script)?.[1];
    expect(createHash('sha256').update(plain).digest('hex')).toBe(expectedSha);
  });
});

describe('pgkeep decrypt', () => {
  it('refuses a tampered file with SystemErrorIntegrityCheckFailed and leaves no output file', async () => {
    const provider = keyringProvider();
    const { keys } = await provider.v1();
    const point = await vault(keys).backup();
    const dir = await mkdtemp(path.join(workDir, 'tamper-'));
    const enc = await stores.blobs.openRead(point.blobName);
    const chunks: Buffer[] = [];
    for await (const c of enc as AsyncIterable<Buffer>) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(path.join(dir, 'd.enc'), bytes);
    await writeFile(path.join(dir, 'm.json'), JSON.stringify(await manifestOf(point)));
    const out = path.join(dir, 'out.dump');
    const err = await failureOf(
      decryptDump(
        { in: path.join(dir, 'd.enc'), manifest: path.join(dir, 'm.json'), out },
        {
          stdout: process.stdout,
          env: { BACKUP_KEYRING: provider.settings().BACKUP_KEYRING },
          credential: () => noIdentity,
        },
      ),
    );
    expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
    expectNoSecret(err, provider.settings().BACKUP_KEYRING);
    await expect(readFile(out)).rejects.toThrow();
    await expect(readFile(`${out}.partial`)).rejects.toThrow();
  });
});
