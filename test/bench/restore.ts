// The restore benchmark (design §13): on the same stored dump and in one run, times pgkeep's restore as database
// (the real runRestore activity reading the blob from Azurite) against `zstd -dc dump | pg_restore -d` from a local
// file (the floor), and samples the host's memory during pgkeep's restore.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import { createRestoreActivities } from '../../shared/activities/restore';
import { createRestoreTestActivities } from '../../shared/activities/restore-tests';
import { dropScratchDatabase } from '../../shared/adapters/postgres/scratch-databases';
import { scratchComment, scratchDatabaseName } from '../../shared/domain/restore-tests';
import { pgEnv } from '../../shared/adapters/postgres/connection-string';
import { runDump } from '../../shared/adapters/postgres/dump-pipeline';
import { discoverPgTools } from '../../shared/adapters/postgres/pg-binaries';
import { blockBlobSink } from '../../shared/adapters/storage/staged-blocks';
import { createStores } from '../../shared/adapters/storage/stores';
import { loadConfig } from '../../shared/config';
import { recoveryPointId, systemClock, type PgConnection } from '../../shared/ports';
import type { RestoreSpec } from '../../shared/contracts/restores';
import type { BenchContext } from './backup';
import { ensureDataset } from './dataset';
import {
  formatBytes,
  formatMs,
  formatTable,
  MiB,
  ratioLines,
  sampleRss,
  stats,
  timed,
  type MemoryPeak,
} from './support';

/** testOverRestore is a yardstick, not a design target: reading every table back costs a sequential scan of it. */
export const restoreTargets = { vsFloor: 1.3, peakBytes: 256 * MiB, testOverRestore: 1.5 } as const;
const INSTANCE = 'bench-restore';
const SECRET_SETTING = 'PGKEEP_BENCH_RESTORE_TARGET';

export interface RestoreScenarioOptions {
  readonly sizeMb: number;
  readonly repeat: number;
}

export async function runRestoreScenario(ctx: BenchContext, options: RestoreScenarioOptions): Promise<void> {
  const { out, server } = ctx;
  out('');
  out(`== restore: ${options.sizeMb} MiB database, ${options.repeat} repeat(s) ==`);
  out(
    'what "pgkeep restore" times: the runRestore activity — recovery point row and manifest, target secret, server' +
      ' probe, blob download → SHA-256 → zstd -d → pg_restore into a new database, job progress writes.' +
      ' "pgkeep restore test" adds what a restore-test run adds: the scratch mark, COPY of every table back through' +
      ' the contents checksum, the comparison, and the drop.' +
      ' The floor restores the same dump from a local file: createdb + zstd -dc | pg_restore -d.',
  );
  const dataset = await ensureDataset(server, options.sizeMb, out);
  const config = loadConfig({ VAULT_STORAGE: ctx.storageConnectionString });
  const stores = createStores(config);
  const tools = await discoverPgTools();
  const source = server.connectionFor(dataset.database);

  // One backup, stored as a real recovery point (untimed).
  await stores.blobs.ensureContainer();
  const jobId = randomUUID();
  const blobName = stores.blobs.dumpBlobName(INSTANCE, jobId);
  const manifestBlobName = stores.blobs.manifestBlobName(INSTANCE, jobId);
  const time = new Date().toISOString();
  const dump = await runDump({
    conn: source,
    tools: ctx.tools,
    sink: blockBlobSink(stores.blobs.blockBlobClient(blobName)),
    zstdLevel: config.ZSTD_LEVEL,
    stallTimeoutMs: 600_000,
    expectedSizeBytes: dataset.databaseBytes,
  });
  await stores.blobs.putJson(manifestBlobName, {
    pgDumpVersion: dump.pgDumpVersion,
    bytes: dump.bytes,
    sha256: dump.sha256,
    contents: dump.contents?.ok === true ? dump.contents.contents : null,
  });
  const now = new Date().toISOString();
  if (!(await stores.instances.get(INSTANCE))) {
    await stores.instances.create({
      name: INSTANCE,
      friendlyName: INSTANCE,
      dataSource: {
        objectType: 'Datasource',
        datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
        resourceID: 'bench/restore',
        resourceName: dataset.database,
      },
      policyName: 'bench',
      secret: { secretStoreType: 'AppSetting', uri: `appsetting://${SECRET_SETTING}` },
      protectionState: 'ProtectionConfigured',
      createdAt: now,
      updatedAt: now,
    });
  }
  const pointId = recoveryPointId(time, jobId.replace(/-/g, '').slice(0, 32));
  await stores.recoveryPoints.create({
    instanceName: INSTANCE,
    id: pointId,
    time,
    tag: 'Default',
    trigger: 'OnDemand',
    dataStore: 'VaultStore',
    status: 'Available',
    policyName: 'bench',
    jobId,
    blobName,
    manifestBlobName,
    bytes: dump.bytes,
    sha256: dump.sha256,
    vaultUntil: now,
    movesToArchive: false,
    deleteAt: now,
    serverVersion: '15',
    pgDumpVersion: dump.pgDumpVersion,
    databaseName: dataset.database,
    createdAt: now,
  });
  out(`stored dump: ${formatBytes(dump.bytes)} (${formatBytes(dump.uncompressedBytes)} uncompressed)`);

  const target = server.connectionFor('postgres');
  const activities = createRestoreActivities({
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs: stores.blobs,
    secrets: { resolve: () => Promise.resolve(adoNet(target)) },
    discoverTools: () => Promise.resolve(tools),
    containerClient: () => {
      throw new Error('the benchmark restores as database only');
    },
    sendQueueMessage: () => Promise.resolve(),
    clock: systemClock,
    settings: {},
    log: () => undefined,
  });

  // A restore test (issue 17) of the same point: restore into a scratch database, read it back against the manifest
  // of contents, drop it — what a plan's run costs beyond a plain restore.
  const tests = createRestoreTestActivities({
    instances: stores.instances,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    history: stores.restoreTestHistory,
    blobs: stores.blobs,
    secrets: { resolve: () => Promise.resolve(adoNet(target)) },
    discoverTools: () => Promise.resolve(tools),
    restore: activities,
    clock: systemClock,
    log: () => undefined,
  });
  const restoreTest = async (i: number): Promise<void> => {
    const testJob = randomUUID();
    const scratch = scratchDatabaseName(testJob);
    const deadline = new Date(Date.now() + 3600_000).toISOString();
    const request: RestoreSpec = {
      recoveryPointId: pointId,
      sourceDataStoreType: 'VaultStore',
      target: {
        kind: 'database',
        databaseName: scratch,
        secret: { secretStoreType: 'AppSetting', uri: `appsetting://${SECRET_SETTING}` },
      },
    };
    await stores.jobs.create({
      id: testJob,
      operation: 'RestoreTest',
      backupInstance: INSTANCE,
      status: 'InProgress',
      trigger: 'OnDemand',
      startTime: new Date().toISOString(),
      progress: { bytes: 0 },
    });
    const step = { jobId: testJob, instanceName: INSTANCE, request };
    await tests.restoreScratch({
      ...step,
      sourceBlobName: blobName,
      comment: scratchComment({ jobId: testJob, instanceName: INSTANCE, deadline }),
      deadline,
    });
    const check = await tests.checkRestoredDatabase({ ...step, assertions: [], deadline });
    if (!check.contentsChecked || check.mismatchCount !== 0) {
      throw new Error(`restore test ${i} of the benchmark found ${check.mismatchCount} mismatch(es)`);
    }
    await dropScratchDatabase(server.connectionFor('postgres'), scratch, testJob);
  };

  const dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-bench-restore-'));
  const file = path.join(dir, 'dump.pgdump.zst');
  const pgRestore = tools.find((t) => t.major === ctx.tools.major)?.pgRestore ?? ctx.tools.pgRestore;
  const runs: { pgkeep: number[]; floor: number[]; test: number[]; peaks: MemoryPeak[] } = {
    pgkeep: [],
    floor: [],
    test: [],
    peaks: [],
  };
  try {
    await stores.blobs.blockBlobClient(blobName).downloadToFile(file);
    for (let i = 0; i < options.repeat; i++) {
      const order = i % 2 === 0 ? (['floor', 'pgkeep', 'test'] as const) : (['test', 'pgkeep', 'floor'] as const);
      for (const who of order) {
        const db = `bench_restored_${who}_${i}`;
        if (who === 'test') {
          runs.test.push((await timed(() => restoreTest(i))).ms);
          continue;
        }
        if (who === 'floor') {
          const { ms } = await timed(() => floorRestore(server.connectionFor(db), file, pgRestore));
          runs.floor.push(ms);
        } else {
          const restoreJob = randomUUID();
          const request: RestoreSpec = {
            recoveryPointId: pointId,
            sourceDataStoreType: 'VaultStore',
            target: {
              kind: 'database',
              databaseName: db,
              secret: { secretStoreType: 'AppSetting', uri: `appsetting://${SECRET_SETTING}` },
            },
          };
          await stores.jobs.create({
            id: restoreJob,
            operation: 'Restore',
            backupInstance: INSTANCE,
            status: 'InProgress',
            trigger: 'OnDemand',
            startTime: new Date().toISOString(),
            progress: { bytes: 0 },
          });
          const memory = sampleRss();
          const { ms } = await timed(() =>
            activities.runRestore({ jobId: restoreJob, instanceName: INSTANCE, request, sourceBlobName: blobName }),
          );
          runs.peaks.push(memory.stop());
          runs.pgkeep.push(ms);
        }
        await dropDatabase(server, db);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await stores.blobs.delete(blobName);
    await stores.blobs.delete(manifestBlobName);
    await stores.recoveryPoints.delete(INSTANCE, pointId);
  }

  const pg = stats(runs.pgkeep);
  const fl = stats(runs.floor);
  const rt = stats(runs.test);
  const peak = Math.max(...runs.peaks.map((p) => p.peak));
  for (const line of formatTable(
    ['contender', 'min', 'median', 'max'],
    [
      ['zstd -dc dump | pg_restore -d (local file)', formatMs(fl.min), formatMs(fl.median), formatMs(fl.max)],
      ['pgkeep restore ← Azurite', formatMs(pg.min), formatMs(pg.median), formatMs(pg.max)],
      ['pgkeep restore test (restore, read back, drop)', formatMs(rt.min), formatMs(rt.median), formatMs(rt.max)],
    ],
  )) {
    out(line);
  }
  out(`host peak RSS during pgkeep restore: ${formatBytes(peak)}`);
  const checks = ratioLines([
    {
      label: 'pgkeep restore / floor (median)',
      value: pg.median / fl.median,
      op: '<=',
      target: restoreTargets.vsFloor,
      unit: 'x',
    },
    { label: 'host peak during pgkeep restore', value: peak, op: '<=', target: restoreTargets.peakBytes, unit: 'MiB' },
    {
      // Informational (no target): what comparing the contents adds to a restore.
      label: 'pgkeep restore test / pgkeep restore (median)',
      value: rt.median / pg.median,
      op: '<=',
      target: restoreTargets.testOverRestore,
      unit: 'x',
    },
  ]);
  for (const line of checks) out(line);
}

/** createdb from template0 + `zstd -dc file | pg_restore --no-owner -d db`, as an operator would. */
async function floorRestore(conn: PgConnection, file: string, pgRestore: string): Promise<void> {
  const script = `set -e; zstd -dc "$1" | "$2" --no-owner --no-tablespaces --dbname="$PGDATABASE"`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...pgEnv(conn) };
  await run(
    'psql',
    ['-X', '-q', '-d', 'postgres', '-c', `CREATE DATABASE ${escapeIdentifier(conn.database)} TEMPLATE template0`],
    env,
    path.dirname(pgRestore),
  );
  await run('sh', ['-c', script, 'floor', file, pgRestore], env);
}

function run(cmd: string, args: string[], env: Record<string, string>, binDir?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binDir ? path.join(binDir, cmd) : cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}

async function dropDatabase(server: BenchContext['server'], db: string): Promise<void> {
  const client = await server.client();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(db)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

function adoNet(conn: PgConnection): string {
  return `Server=${conn.host};Port=${conn.port};Database=${conn.database};User Id=${conn.user};Password=${conn.password};Ssl Mode=${conn.sslMode === 'disable' ? 'Disable' : 'Require'};`;
}
