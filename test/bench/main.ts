// `npm run bench`: parses the options, starts PostgreSQL and on-disk Azurite, runs the chosen scenario(s) and stops
// everything. Exit 0 unless something crashed: targets are reported as PASS/MISS, never asserted.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { discoverPgTools, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { startAzurite } from '../support/azurite';
import { runBackupScenario, type BenchContext } from './backup';
import { defaultExpiryBenchOptions, runExpiryScenario } from './expiry';
import { runRestoreScenario } from './restore';
import { defaultSchedulerBenchOptions, runSchedulerScenario } from './scheduler';
import { runConsoleScenario } from './console';
import { startBenchPostgres } from './server';
import { describeMachine, formatMs, timed, type Out } from './support';

export const scenarioNames = ['backup', 'restore', 'expiry', 'scheduler', 'console', 'all'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface BenchArgs {
  readonly scenario: ScenarioName;
  readonly sizeMb: number;
  readonly keep: boolean;
  readonly repeat: number;
  /** Expiry scenario: recovery points and instances (the design's 100,000 over 1,000 by default). */
  readonly points: number;
  readonly instances: number;
  readonly manyDue: boolean;
  readonly blobMetadata: 'loki' | 'mariadb';
}

export const usage = `usage: npm run bench -- [--scenario backup|restore|expiry|scheduler|console|all] [--size-mb N] [--repeat N] [--keep]
                      [--points N] [--instances N] [--many-due] [--blob-metadata loki|mariadb]

  --scenario   which benchmark to run (default all: backup, then restore); expiry runs only when named:
               its data set (a row and two tiny blobs per point) takes Azurite over 15 minutes to
               take in at the design's 100,000 points, and it needs no PostgreSQL
               scheduler: one scheduler tick over 10,000 instances (2,000 due) on 200 servers and over
               100 instances, in its own Azurite (no PostgreSQL); only when named
               console: the web console's bundle size and page load times with 500 instances and an
               instance of 5,000 recovery points, in Chromium against devhost (needs no PostgreSQL)
  --points     expiry: recovery points (default 100000)
  --instances  expiry: backup instances they are spread over (default 1000)
  --many-due   expiry: also time a run a year later, when about half of the points are due (informational)
  --blob-metadata
               expiry: where Azurite keeps blob metadata: loki (default, in memory; every blob insert and
               delete costs time proportional to the container) or mariadb (a throwaway MariaDB from the
               system's mariadb-server, indexed like a real store)
  --size-mb    size of the generated database's tables in MiB (default 1024); the backup
               scenario also runs on a database a quarter of that size to compare memory peaks
  --repeat     runs per contender; min / median / max are printed (default 1)
  --keep       keep PostgreSQL and the generated databases in .bench-data/ for the next run`;

export class UsageError extends Error {}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let scenario: ScenarioName = 'all';
  let sizeMb = 1024;
  let keep = false;
  let repeat = 1;
  let points = defaultExpiryBenchOptions.points;
  let instances = defaultExpiryBenchOptions.instances;
  let manyDue = defaultExpiryBenchOptions.manyDue;
  let blobMetadata = defaultExpiryBenchOptions.blobMetadata;
  const positiveInt = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a whole number ≥ 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--scenario': {
        const value = argv[++i];
        if (!scenarioNames.includes(value as ScenarioName)) {
          throw new UsageError(`--scenario must be one of ${scenarioNames.join(', ')}`);
        }
        scenario = value as ScenarioName;
        break;
      }
      case '--size-mb':
        sizeMb = positiveInt(arg, argv[++i]);
        break;
      case '--repeat':
        repeat = positiveInt(arg, argv[++i]);
        break;
      case '--keep':
        keep = true;
        break;
      case '--points':
        points = positiveInt(arg, argv[++i]);
        break;
      case '--instances':
        instances = positiveInt(arg, argv[++i]);
        break;
      case '--many-due':
        manyDue = true;
        break;
      case '--blob-metadata': {
        const value = argv[++i];
        if (value !== 'loki' && value !== 'mariadb') throw new UsageError('--blob-metadata must be loki or mariadb');
        blobMetadata = value;
        break;
      }
      default:
        throw new UsageError(`unknown option ${arg ?? ''}`);
    }
  }
  if (instances > points) throw new UsageError('--instances cannot exceed --points');
  return { scenario, sizeMb, keep, repeat, points, instances, manyDue, blobMetadata };
}

/** The package root (where .bench-data/ lives), from both test/bench and dist/test/bench. */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** What stops the servers of the run in progress (also on Ctrl-C). */
const cleanups = new Set<() => Promise<void>>();

export async function stopEverything(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    await cleanup().catch(() => undefined);
  }
}

export async function runBench(args: BenchArgs, out: Out): Promise<void> {
  const tools = pickPgDump(15, await discoverPgTools());
  out(
    `pgkeep bench — scenario ${args.scenario}, --size-mb ${args.sizeMb}, --repeat ${args.repeat}${args.keep ? ', --keep' : ''}`,
  );
  for (const line of await describeMachine(tools.pgDump)) out(line);
  if (args.scenario === 'scheduler') {
    await runSchedulerScenario(out, defaultSchedulerBenchOptions, cleanups);
    return;
  }
  // Console and expiry bring their own Azurite and need no PostgreSQL.
  if (args.scenario === 'console') {
    await runConsoleScenario(out, { instances: 500, points: 5_000, repeat: Math.max(args.repeat, 3) }, cleanups);
    return;
  }
  if (args.scenario === 'expiry') {
    await runExpiryScenario(
      out,
      {
        ...defaultExpiryBenchOptions,
        points: args.points,
        instances: args.instances,
        manyDue: args.manyDue,
        blobMetadata: args.blobMetadata,
      },
      cleanups,
    );
    return;
  }

  try {
    const { ms: startMs, value: ctx } = await timed(async (): Promise<BenchContext> => {
      const server = await startBenchPostgres(args.keep ? { keepDir: path.join(packageRoot(), '.bench-data') } : {});
      cleanups.add(() => server.stop());
      // On disk, so a few hundred MB of blobs do not sit in Azurite's memory.
      const azuriteDir = await mkdtemp(path.join(tmpdir(), 'pgkeep-bench-azurite-'));
      cleanups.add(() => rm(azuriteDir, { recursive: true, force: true }));
      const azurite = await startAzurite({ location: azuriteDir });
      cleanups.add(() => azurite.stop());
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('bench');
      await container.createIfNotExists();
      return { server, container, storageConnectionString: azurite.connectionString, tools, out };
    });
    out(`servers: PostgreSQL 15 on port ${ctx.server.port}, Azurite (on disk) — started in ${formatMs(startMs)}`);

    if (args.scenario === 'backup' || args.scenario === 'all') {
      await runBackupScenario(ctx, { sizeMb: args.sizeMb, repeat: args.repeat });
    }
    if (args.scenario === 'restore' || args.scenario === 'all') {
      await runRestoreScenario(ctx, { sizeMb: args.sizeMb, repeat: args.repeat });
    }
    if (args.scenario === 'all') out('\n(expiry is not part of "all": run it with --scenario expiry)');
  } finally {
    await stopEverything();
  }
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${usage}`);
    return 2;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopEverything().finally(() => process.exit(130));
    });
  }
  await runBench(args, (line) => console.log(line));
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
