// The backup benchmark (design §13): on the same generated database and in one run, times pgkeep's backup into
// Azurite, `pg_dump -Fc -Z0 | zstd -1 > /dev/null` (the floor) and `pg_dump -Fc | uploadStream` (what peers do),
// samples the host's memory during pgkeep's backup at two database sizes, and prints ratios against the targets.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ContainerClient } from '@azure/storage-blob';
import { pgEnv } from '../../shared/adapters/postgres/connection-string';
import { runDump } from '../../shared/adapters/postgres/dump-pipeline';
import { keyEncryptionKeysFromSettings } from '../../shared/adapters/crypto/envelope';
import type { PgClientTools, PgConnection } from '../../shared/ports';
import { ensureDataset, type Dataset } from './dataset';
import { createPgkeepHost, type PgkeepHost } from './pgkeep-host';
import type { BenchPostgres } from './server';
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
  type Out,
  type RatioCheck,
} from './support';

export interface BenchContext {
  readonly server: BenchPostgres;
  readonly container: ContainerClient;
  /** Of the Azurite holding `container` (its well-known development key): the peer uploader is its own process. */
  readonly storageConnectionString: string;
  readonly tools: PgClientTools;
  readonly out: Out;
}

export interface BackupScenarioOptions {
  readonly sizeMb: number;
  readonly repeat: number;
}

/** The design's targets (§13, and §14's "encryption ≤ 1.05×"). */
export const backupTargets = {
  vsZstdFloor: 1.3,
  /** Envelope encryption (AES-256-GCM of the compressed stream, a KEK wrap per backup) over the same backup plain. */
  encryptionOverhead: 1.05,
  peerSlowdown: 3,
  peakBytes: 256 * MiB,
  /** "Not growing with database size": the peak at N MiB over the peak at N/4 MiB. */
  peakGrowth: 1.1,
  /** Issue 17: the manifest of contents costs at most 10 % of a backup. */
  contentsOverhead: 1.1,
  /** Issue 17: pgkeep's backup over the same stream uploaded by the SDK into the same Azurite. */
  vsUploadFloor: 1.15,
} as const;

const contenders = {
  floor: 'pg_dump -Fc -Z0 | zstd -1 > /dev/null',
  pgkeep: 'pgkeep backup → Azurite',
  nocontents: 'pgkeep backup, no manifest of contents → Azurite',
  uploadFloor: 'pg_dump -Fc -Z0 | zstd -1 | uploadStream → Azurite',
  encrypted: 'pgkeep backup, encrypted (keyring) → Azurite',
  pipeline: 'pgkeep dump pipeline → discarding sink',
  peer: 'pg_dump -Fc | uploadStream → Azurite',
} as const;
type Contender = keyof typeof contenders;
const ORDER: readonly Contender[] = ['floor', 'pgkeep', 'nocontents', 'encrypted', 'uploadFloor', 'pipeline', 'peer'];

/**
 * pgkeep's dump pipeline (pg_dump → zstd → SHA-256 → staged blocks, the pg_restore --list check) into a sink that
 * drops the blocks: separates the pipeline's own cost from the storage emulator's, which on a small machine competes
 * with pg_dump for the same cores (in Azure, Blob Storage is another machine).
 */
async function pipelineToNothing(tools: PgClientTools, conn: PgConnection, expectedSizeBytes: number): Promise<number> {
  const result = await runDump({
    conn,
    tools,
    sink: { stageBlock: () => Promise.resolve(), commitBlocks: () => Promise.resolve() },
    zstdLevel: 1,
    stallTimeoutMs: 600_000,
    expectedSizeBytes,
  });
  return result.bytes;
}

interface Run {
  readonly ms: number;
  readonly outputBytes?: number;
  readonly memory?: MemoryPeak;
}

interface SizeResult {
  readonly dataset: Dataset;
  readonly runs: Record<Contender, Run[]>;
}

export async function runBackupScenario(ctx: BenchContext, options: BackupScenarioOptions): Promise<void> {
  const { out } = ctx;
  const quarterMb = Math.max(1, Math.round(options.sizeMb / 4));
  out('');
  out(`== backup: ${options.sizeMb} MiB and ${quarterMb} MiB databases, ${options.repeat} repeat(s) ==`);
  out(
    'what "pgkeep backup" times: the runDump activity with the production defaults — instance row and secret,' +
      ' describeDatabase, pg_dump -Fc -Z0 → zstd → staged blocks (with the pg_restore --list check and SHA-256),' +
      ' job progress writes to Table Storage, the manifest blob.',
  );
  out(
    'method: both databases are generated first; each is then backed up once by pgkeep untimed (warm cache, host at' +
      ' steady state), then every repeat runs the seven contenders, rotating their order per repeat.',
  );

  const host = createPgkeepHost({
    storageConnectionString: ctx.storageConnectionString,
    connectionFor: (db) => ctx.server.connectionFor(db),
  });
  const bareHost = createPgkeepHost({
    storageConnectionString: ctx.storageConnectionString,
    connectionFor: (db) => ctx.server.connectionFor(db),
    contentsManifest: false,
    instancePrefix: 'bench-nocontents',
  });
  // The same activity with a fresh random keyring KEK (A256KW): a data key per backup, AES-256-GCM segments.
  const encryptedHost = createPgkeepHost({
    storageConnectionString: ctx.storageConnectionString,
    connectionFor: (db) => ctx.server.connectionFor(db),
    instancePrefix: 'bench-enc',
    keys: keyEncryptionKeysFromSettings(
      {
        BACKUP_ENCRYPTION_KEY_URI: '',
        BACKUP_KEYRING: JSON.stringify({ current: 'bench', keys: { bench: randomBytes(32).toString('base64') } }),
        BACKUP_ENCRYPTION_KEY: '',
        BACKUP_ENCRYPTION_KEY_ID: '',
      },
      undefined,
    ),
  });
  const sizes: SizeResult[] = [];
  // Smaller first: the host's RSS never shrinks back fully, so the larger run starts from the smaller one's level
  // and any growth with size shows as a higher peak.
  const datasets: Dataset[] = [];
  for (const sizeMb of [quarterMb, options.sizeMb]) {
    const dataset = await ensureDataset(ctx.server, sizeMb, out);
    out(
      `  ${dataset.database}: pg_database_size ${formatBytes(dataset.databaseBytes)}, tables+indexes ${formatBytes(dataset.tableBytes)}`,
    );
    datasets.push(dataset);
  }
  for (const dataset of datasets) {
    sizes.push({
      dataset,
      runs: await timeContenders(
        ctx,
        { plain: host, bare: bareHost, encrypted: encryptedHost },
        dataset,
        options.repeat,
      ),
    });
  }
  printResults(out, sizes);
}

async function timeContenders(
  ctx: BenchContext,
  hosts: { readonly plain: PgkeepHost; readonly bare: PgkeepHost; readonly encrypted: PgkeepHost },
  dataset: Dataset,
  repeat: number,
): Promise<Record<Contender, Run[]>> {
  const conn = ctx.server.connectionFor(dataset.database);
  const host = hosts.plain;
  await host.protect(dataset.database);
  await hosts.bare.protect(dataset.database);
  await hosts.encrypted.protect(dataset.database);
  // Untimed: warms the OS cache with the database, and brings the host to steady state (modules loaded, clients
  // and pools created) so that the measured peaks are the backup's and not first-use costs.
  await (await host.backup(dataset.database)).cleanup();
  await (await hosts.encrypted.backup(dataset.database)).cleanup();
  const runs: Record<Contender, Run[]> = {
    floor: [],
    pgkeep: [],
    nocontents: [],
    encrypted: [],
    uploadFloor: [],
    pipeline: [],
    peer: [],
  };
  for (let r = 0; r < repeat; r++) {
    const order = [...ORDER.slice(r % ORDER.length), ...ORDER.slice(0, r % ORDER.length)];
    const done: string[] = [];
    for (const contender of order) {
      const blobName = `bench/${dataset.database}/${contender}-${r}`;
      let run: Run;
      if (contender === 'floor') {
        run = await timed(() =>
          shellDump(ctx.tools, conn, `"$PG_DUMP" -Fc -Z0 --no-password | zstd -q -1 > /dev/null`),
        );
      } else if (contender === 'pipeline') {
        const { ms, value } = await timed(() => pipelineToNothing(ctx.tools, conn, dataset.databaseBytes));
        run = { ms, outputBytes: value };
      } else if (contender === 'pgkeep') {
        const memory = sampleRss(50);
        const backup = await host.backup(dataset.database);
        run = { ms: backup.ms, outputBytes: backup.bytes, memory: memory.stop() };
        await backup.cleanup();
      } else if (contender === 'nocontents') {
        const backup = await hosts.bare.backup(dataset.database);
        run = { ms: backup.ms, outputBytes: backup.bytes };
        await backup.cleanup();
      } else if (contender === 'uploadFloor') {
        const { ms, value } = await timed(() =>
          uploadBackup(ctx, conn, blobName, `"$PG_DUMP" -Fc -Z0 --no-password | zstd -q -1`),
        );
        run = { ms, outputBytes: value };
      } else if (contender === 'encrypted') {
        const backup = await hosts.encrypted.backup(dataset.database);
        run = { ms: backup.ms, outputBytes: backup.bytes };
        await backup.cleanup();
      } else {
        const { ms, value } = await timed(() => peerBackup(ctx, conn, blobName));
        run = { ms, outputBytes: value };
      }
      runs[contender].push(run);
      done.push(`${contender} ${formatMs(run.ms)}`);
      // Keep Azurite's disk bounded; deleting is not part of any contender's time.
      await ctx.container.deleteBlob(blobName, { deleteSnapshots: 'include' }).catch(() => undefined);
    }
    // A line per repeat, so a long run shows it is alive and noise is visible as it happens.
    ctx.out(`  ${dataset.database} repeat ${r + 1}/${repeat}: ${done.join(', ')}`);
  }
  return runs;
}

// The peer's uploader: a separate Node process, as a peer's backup tool is, reading pg_dump's output on stdin.
const PEER_UPLOADER = `
  const { BlobServiceClient } = require(process.env.SDK_MODULE);
  BlobServiceClient.fromConnectionString(process.env.STORAGE)
    .getContainerClient(process.env.CONTAINER).getBlockBlobClient(process.env.BLOB)
    .uploadStream(process.stdin)
    .then(() => process.exit(0), (err) => { console.error(err.message); process.exit(1); });`;

/**
 * What most peers do: pg_dump's own (zlib, default level) compression piped into an uploader that streams it to a
 * blob with the SDK's uploadStream defaults (8 MiB buffers, 5 in parallel). Returns the stored bytes.
 */
async function peerBackup(ctx: BenchContext, conn: PgConnection, blobName: string): Promise<number> {
  return uploadBackup(ctx, conn, blobName, `"$PG_DUMP" -Fc --no-password`);
}

/** Runs `producer | uploader` (the uploader is its own Node process, uploadStream defaults); returns stored bytes. */
async function uploadBackup(
  ctx: BenchContext,
  conn: PgConnection,
  blobName: string,
  producer: string,
): Promise<number> {
  await shellDump(ctx.tools, conn, `${producer} | "$NODE" -e "$UPLOADER"`, {
    NODE: process.execPath,
    UPLOADER: PEER_UPLOADER,
    SDK_MODULE: createRequire(__filename).resolve('@azure/storage-blob'),
    STORAGE: ctx.storageConnectionString,
    CONTAINER: ctx.container.containerName,
    BLOB: blobName,
  });
  return (await ctx.container.getBlobClient(blobName).getProperties()).contentLength ?? 0;
}

/** Runs `script` under bash with pipefail, with pg_dump in $PG_DUMP and the connection in libpq's environment. */
async function shellDump(
  tools: PgClientTools,
  conn: PgConnection,
  script: string,
  env: Record<string, string> = {},
): Promise<void> {
  const child = spawn('bash', ['-o', 'pipefail', '-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', PG_DUMP: tools.pgDump, ...pgEnv(conn), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => (stderr = (stderr + s).slice(-4096)));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  // The script names its tools by variable only, so it holds no connection details.
  if (code !== 0) throw new Error(`'${script}' exited with ${code ?? 'a signal'}: ${stderr.trim()}`);
}

function printResults(out: Out, sizes: readonly SizeResult[]): void {
  const [quarter, full] = sizes;
  if (full === undefined || quarter === undefined) return;

  out('');
  out('wall time per contender (min / median / max over repeats), output size, dump throughput at the median:');
  const rows: string[][] = [];
  for (const { dataset, runs } of sizes) {
    for (const contender of ORDER) {
      const s = stats(runs[contender].map((r) => r.ms));
      const bytes = runs[contender][0]?.outputBytes;
      rows.push([
        dataset.database,
        contenders[contender],
        formatMs(s.min),
        formatMs(s.median),
        formatMs(s.max),
        bytes === undefined ? '—' : formatBytes(bytes),
        `${(dataset.tableBytes / MiB / (s.median / 1000)).toFixed(0)} MiB/s`,
      ]);
    }
  }
  for (const line of formatTable(['database', 'contender', 'min', 'median', 'max', 'output', 'rate'], rows)) out(line);

  out('');
  out('host (this Node process) memory during pgkeep backups — Azurite and PostgreSQL run in their own processes:');
  const memRows = sizes.map(({ dataset, runs }) => {
    const peaks = runs.pgkeep.map((r) => r.memory).filter((m): m is MemoryPeak => m !== undefined);
    const worst = peaks.reduce((a, b) => (b.peak > a.peak ? b : a));
    return [
      dataset.database,
      formatBytes(worst.startRss),
      formatBytes(worst.sampledPeak),
      worst.kernelPeak === undefined ? 'n/a' : formatBytes(worst.kernelPeak),
      formatBytes(worst.peak),
      formatBytes(worst.peak - worst.startRss),
    ];
  });
  for (const line of formatTable(
    ['database', 'RSS at start', 'peak (50 ms samples)', 'VmHWM', 'peak', 'rise'],
    memRows,
  )) {
    out(line);
  }

  const median = (r: SizeResult, c: Contender): number => stats(r.runs[c].map((x) => x.ms)).median;
  const peak = (r: SizeResult): number => Math.max(...r.runs.pgkeep.map((x) => x.memory?.peak ?? 0));
  out('');
  out('ratios (medians) against the design §13 targets:');
  const checks: RatioCheck[] = [
    {
      label: `pgkeep backup / (${contenders.floor})`,
      value: median(full, 'pgkeep') / median(full, 'floor'),
      op: '<=',
      target: backupTargets.vsZstdFloor,
      unit: 'x',
    },
    {
      label: `(${contenders.encrypted}) / (${contenders.pgkeep})`,
      value: median(full, 'encrypted') / median(full, 'pgkeep'),
      op: '<=',
      target: backupTargets.encryptionOverhead,
      unit: 'x',
    },
    {
      // Informational: the same target for the pipeline alone, without the storage emulator's share of the cores.
      label: `pgkeep pipeline, no storage / (${contenders.floor})`,
      value: median(full, 'pipeline') / median(full, 'floor'),
      op: '<=',
      target: backupTargets.vsZstdFloor,
      unit: 'x',
    },
    {
      label: 'pgkeep backup / (same, no manifest of contents)',
      value: median(full, 'pgkeep') / median(full, 'nocontents'),
      op: '<=',
      target: backupTargets.contentsOverhead,
      unit: 'x',
    },
    {
      label: `pgkeep backup / (${contenders.uploadFloor})`,
      value: median(full, 'pgkeep') / median(full, 'uploadFloor'),
      op: '<=',
      target: backupTargets.vsUploadFloor,
      unit: 'x',
    },
    {
      label: '(pg_dump -Fc | uploadStream) / pgkeep backup',
      value: median(full, 'peer') / median(full, 'pgkeep'),
      op: '>=',
      target: backupTargets.peerSlowdown,
      unit: 'x',
    },
    ...sizes.map((r): RatioCheck => ({
      label: `host peak RSS, ${r.dataset.database}`,
      value: peak(r),
      op: '<=',
      target: backupTargets.peakBytes,
      unit: 'MiB',
    })),
    {
      label: `host peak growth, ${quarter.dataset.database} → ${full.dataset.database}`,
      value: peak(full) / peak(quarter),
      op: '<=',
      target: backupTargets.peakGrowth,
      unit: 'x',
    },
  ];
  for (const line of ratioLines(checks)) out(line);
}
