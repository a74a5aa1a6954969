// pgkeep's side of the backup benchmark: the real runDump activity (createBackupActivities) over the real Table and
// Blob stores in Azurite — instance lookup, secret resolution, describeDatabase, the dump pipeline, job progress
// writes and the manifest — exactly as the Functions host runs it, minus the Durable orchestration around it.
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { createBackupActivities } from '../../shared/activities/backup';
import { discoverPgTools } from '../../shared/adapters/postgres/pg-binaries';
import { describeDatabase } from '../../shared/adapters/postgres/pg-manifest';
import { createSecretResolver } from '../../shared/adapters/azure/secrets';
import { createStores } from '../../shared/adapters/storage/stores';
import { loadConfig } from '../../shared/config';
import { systemClock, type KeyEncryptionKeys, type PgConnection, type ReadinessCheck } from '../../shared/ports';
import { timed } from './support';

/** The app setting the benchmark's backup instances name as their secret (design §3, `appsetting://`). */
const SECRET_SETTING = 'PGKEEP_BENCH_DATABASE';

export interface PgkeepBackupRun {
  /** Wall time of the runDump activity alone (the job row is created before, the check runs after). */
  readonly ms: number;
  /** Bytes of the stored (compressed) dump, as the blob store reports them. */
  readonly bytes: number;
  /** Removes the dump and manifest (not part of the timed backup). */
  cleanup(): Promise<void>;
}

export interface PgkeepHost {
  /** Protects `database` (an instance row) so that backups of it can run; once per database. */
  protect(database: string): Promise<void>;
  /** One on-demand backup of `database`: creates its job row, runs the runDump activity, checks the blob. */
  backup(database: string): Promise<PgkeepBackupRun>;
}

/**
 * Wires the backup activities the way the composition root does, with the vault in Azurite. The connection for
 * each database is served through the real secret resolver from an app-setting reader local to the benchmark.
 */
export function createPgkeepHost(options: {
  readonly storageConnectionString: string;
  readonly connectionFor: (database: string) => PgConnection;
  /** CONTENTS_MANIFEST (default on, as in production): off measures the backup without the manifest of contents. */
  readonly contentsManifest?: boolean;
  /** Envelope encryption as BACKUP_KEYRING / BACKUP_ENCRYPTION_KEY_URI configure it; absent = not encrypted. */
  readonly keys?: KeyEncryptionKeys;
  /** Tells two hosts' instances apart (an encrypted and a plain one back up the same database). */
  readonly instancePrefix?: string;
}): PgkeepHost {
  const config = loadConfig({ VAULT_STORAGE: options.storageConnectionString });
  const stores = createStores(config);
  const connections = new Map<string, PgConnection>();
  const instanceOf = (database: string): string =>
    `${options.instancePrefix ?? 'bench'}-${database.replaceAll('_', '-')}`;
  const noIdentity: TokenCredential = {
    getToken: () => Promise.reject(new Error('the benchmark uses no Azure identity')),
  };
  const discoverTools = () => discoverPgTools();
  const activities = createBackupActivities({
    instances: stores.instances,
    policies: stores.policies,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    readiness: {
      secrets: createSecretResolver({
        // One setting name per instance, each an ADO.NET connection string as Azure Backup expects.
        readAppSetting: (name) => {
          const conn = connections.get(name);
          return conn && adoNet(conn);
        },
        keyVault: { credential: noIdentity },
      }),
      checkArmReader: (): Promise<ReadinessCheck> =>
        Promise.resolve({ name: 'armReaderOnServer', status: 'NotApplicable', message: 'not an ARM resource id' }),
      discoverTools,
    },
    discoverTools,
    describeDatabase,
    clock: systemClock,
    slots: stores.slots,
    ...(options.keys ? { keys: options.keys } : {}),
    settings: {
      serverMaxConcurrentBackups: config.SERVER_MAX_CONCURRENT_BACKUPS,
      hostMaxConcurrentBackups: config.HOST_MAX_CONCURRENT_BACKUPS,
      slotPollSeconds: config.BACKUP_SLOT_POLL_SECONDS,
      zstdLevel: config.ZSTD_LEVEL,
      stallTimeoutMs: config.DUMP_STALL_TIMEOUT_SECONDS * 1000,
      contentsManifest: options.contentsManifest ?? true,
    },
    log: () => undefined,
  });

  return {
    async protect(database) {
      const name = instanceOf(database);
      const setting = `${SECRET_SETTING}_${name.toUpperCase().replaceAll('-', '_')}`;
      connections.set(setting, options.connectionFor(database));
      const now = new Date().toISOString();
      await stores.instances.create({
        name,
        friendlyName: database,
        dataSource: {
          objectType: 'Datasource',
          datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
          resourceID: `${options.instancePrefix ?? 'bench'}/${database}`,
          resourceName: database,
        },
        policyName: 'bench',
        secret: { secretStoreType: 'AppSetting', uri: `appsetting://${setting}` },
        protectionState: 'ProtectionConfigured',
        createdAt: now,
        updatedAt: now,
      });
    },
    async backup(database) {
      const instanceName = instanceOf(database);
      const jobId = randomUUID();
      await stores.jobs.create({
        id: jobId,
        operation: 'Backup',
        backupInstance: instanceName,
        status: 'InProgress',
        trigger: 'OnDemand',
        startTime: new Date().toISOString(),
        progress: { bytes: 0 },
      });
      const { ms, value: dump } = await timed(() => activities.runDump({ jobId, instanceName, serverMajor: 15 }));
      const stored = await stores.blobs.info(dump.blobName);
      if (stored?.bytes !== dump.bytes) {
        throw new Error(`pgkeep reported ${dump.bytes} bytes but the blob holds ${stored?.bytes ?? 'nothing'}`);
      }
      return {
        ms,
        bytes: dump.bytes,
        async cleanup() {
          await stores.blobs.delete(dump.blobName);
          await stores.blobs.delete(dump.manifestBlobName);
        },
      };
    },
  };
}

function adoNet(conn: PgConnection): string {
  return `Server=${conn.host};Port=${conn.port};Database=${conn.database};User Id=${conn.user};Password=${conn.password};Ssl Mode=${conn.sslMode === 'disable' ? 'Disable' : 'Require'};`;
}
