// The expiry benchmark (design §13): 100,000 recovery points over 1,000 instances in Azurite, the real expiry
// activities over all instances versus one plain scan of the same rows, in the same run. Rows go in through Table
// batch transactions, blobs (tiny dump + manifest per point) through a wide upload pool.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { createStateStores } from '../../shared/adapters/storage/stores';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { toEntity } from '../../shared/adapters/storage/tables/recovery-points';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import { createExpiryActivities } from '../../shared/activities/expiry';
import { parsePolicy } from '../../shared/domain/policy';
import type { Clock, RecoveryPointRecord } from '../../shared/ports';
import { addResult, emptyTotals } from '../../shared/workflows/expiry';
import { startAzurite } from '../support/azurite';
import { committedPoint } from '../support/recovery-points';
import { startBenchMariaDb } from './mariadb';
import { formatMs, formatTable, ratioLines, timed, pool, type Out } from './support';
import { weeklyDefaultPolicy } from '../support/policies';

export interface ExpiryBenchOptions {
  readonly points: number;
  readonly instances: number;
  /** Instances expired at once, as EXPIRY_CONCURRENCY (default 8); the plain scan uses the same. */
  readonly concurrency: number;
  /** Also time a run at which about half of the points are due (informational, no target). */
  readonly manyDue: boolean;
  /**
   * Where Azurite keeps blob metadata: its in-memory LokiJS collections (default), or SQL tables in a throwaway
   * MariaDB, where a blob insert or delete does not cost time proportional to the container.
   */
  readonly blobMetadata: 'loki' | 'mariadb';
}

export const defaultExpiryBenchOptions: ExpiryBenchOptions = {
  points: 100_000,
  instances: 1_000,
  concurrency: 8,
  manyDue: false,
  blobMetadata: 'loki',
};

const dayMs = 86_400_000;
const now = '2030-06-01T02:30:00.000Z';

/** Weekly on Sundays, Default kept two years in the vault: at `now` only the points placed past that are due. */
const policyDocument = weeklyDefaultPolicy({ name: 'bench', start: '2024-01-07T01:30:00+00:00', deleteAfter: 'P2Y' });

/**
 * `cleanups` is where the run registers what stops its servers, so that the bench's Ctrl-C handler stops them too;
 * the run removes each one again once it has run it.
 */
export async function runExpiryScenario(
  out: Out,
  options: ExpiryBenchOptions = defaultExpiryBenchOptions,
  cleanups: Set<() => Promise<void>> = new Set(),
) {
  const perInstance = Math.ceil(options.points / options.instances);
  out('');
  const where =
    options.blobMetadata === 'mariadb' ? 'Azurite with blob metadata in MariaDB' : 'Azurite in memory (LokiJS)';
  out(`expiry: ${options.instances} instances × ${perInstance} points, concurrency ${options.concurrency}, ${where}`);
  const own: (() => Promise<void>)[] = [];
  const track = (cleanup: () => Promise<void>) => {
    own.push(cleanup);
    cleanups.add(cleanup);
  };
  try {
    let azurite: Awaited<ReturnType<typeof startAzurite>>;
    if (options.blobMetadata === 'mariadb') {
      const db = await startBenchMariaDb();
      track(() => db.stop());
      const location = mkdtempSync(path.join(tmpdir(), 'pgkeep-bench-azurite-'));
      track(() => Promise.resolve(rmSync(location, { recursive: true, force: true })));
      azurite = await startAzurite({ location, blobMetadataDb: db.url });
    } else {
      // In memory: 200,000 tiny blobs are small, and on-disk Azurite writes each one as a file.
      azurite = await startAzurite();
    }
    track(() => azurite.stop());
    const prefix = `bx${randomBytes(3).toString('hex')}`;
    const config = loadConfig({ VAULT_STORAGE: azurite.connectionString, TABLE_PREFIX: prefix });
    const clock: Clock = { now: () => new Date(now) };
    const stores = createStateStores(config, { clock });
    const blobs = createVaultBlobStore(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      prefix,
    );
    const tables = createTableProvider(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      prefix,
    );
    const parsed = parsePolicy(policyDocument);
    if (!parsed.ok) throw new Error(`bench policy does not parse: ${JSON.stringify(parsed.errors)}`);
    const policy = parsed.value;

    /** A phase's time as it ends: the whole report only comes at the end of a long run. */
    const progress = <T extends { ms: number }>(label: string, result: T): T => {
      out(`expiry: ${label} took ${formatMs(result.ms)}`);
      return result;
    };
    const names = Array.from({ length: options.instances }, (_, i) => `db${String(i).padStart(5, '0')}`);
    const { ms: writeMs } = await timed(async () => {
      await stores.policies.create({ name: 'bench', document: policyDocument, createdAt: now });
      await blobs.ensureContainer();
      const pointsTable = await tables.table('recoveryPoints');
      let written = 0;
      await pool(names, 16, async (name) => {
        await stores.instances.create({
          name,
          friendlyName: name,
          dataSource: {
            resourceID: `/subscriptions/bench/databases/${name}`,
            resourceName: name,
            datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
            objectType: 'Datasource',
          },
          policyName: 'bench',
          secret: { secretStoreType: 'AppSetting', uri: 'appsetting://BENCH_DB' },
          protectionState: 'ProtectionConfigured',
          createdAt: now,
          updatedAt: now,
        });
        const rows: RecoveryPointRecord[] = [];
        for (let k = 0; k < perInstance; k++) {
          // Weekly points going back from now; the oldest one of each instance is just past its two years.
          const ms = k === perInstance - 1 ? Date.parse(now) - 732 * dayMs : Date.parse(now) - (k * 7 + 1) * dayMs;
          const time = new Date(ms).toISOString();
          rows.push(
            committedPoint(blobs, {
              instanceName: name,
              policy,
              policyName: 'bench',
              time,
              tag: 'Default',
              jobId: `j${k}`,
              bytes: 4,
              databaseName: name,
            }),
          );
        }
        // Blobs first, rows last, as a backup commits.
        await pool(
          rows.flatMap((r) => [r.blobName, r.manifestBlobName]),
          8,
          (blob) =>
            blobs
              .blockBlobClient(blob)
              .upload('dump', 4)
              .then(() => undefined),
        );
        for (let i = 0; i < rows.length; i += 100) {
          await pointsTable.submitTransaction(rows.slice(i, i + 100).map((r) => ['create', toEntity(r)]));
        }
        written++;
        if (written % Math.max(1, Math.round(names.length / 10)) === 0 && written < names.length) {
          out(`expiry: writing the data set, ${written} of ${names.length} instances`);
        }
      });
    });
    out(
      `expiry: wrote ${options.instances * perInstance} rows and ${2 * options.instances * perInstance} blobs in ${formatMs(writeMs)}`,
    );

    const plainScan = () =>
      timed(async () => {
        let rows = 0;
        await pool(names, options.concurrency, async (name) => {
          for await (const _ of stores.recoveryPoints.list(name)) rows++;
        });
        return rows;
      });

    const activities = createExpiryActivities({
      ...stores,
      blobs,
      clock,
      settings: { orphanGraceHours: 48, orphanSweepIntervalHours: 168 },
      log: () => undefined,
    });
    // The orchestration's work, in-process: the same activities and window, without Durable's scheduling. The
    // daily run does not list blobs; the weekly sweeping run (ORPHAN_SWEEP_INTERVAL_HOURS) does, timed apart.
    const expiryRun = (nowUtc: string, sweepOrphans: boolean) =>
      timed(async () => {
        const jobId = `expiry-${nowUtc}`;
        const started = await activities.startExpiryJob({
          jobId,
          orchestrationId: jobId,
          trigger: 'Scheduled',
          nowUtc,
        });
        const totals = emptyTotals(started.instanceNames.length);
        await pool(started.instanceNames, options.concurrency, async (instanceName) => {
          addResult(totals, await activities.expireInstance({ jobId, instanceName, nowUtc, sweepOrphans }));
        });
        await activities.finishExpiryJob({ jobId, asOf: nowUtc, sweepOrphans, ...totals });
        return totals;
      });

    // The scan first and last, so neither side alone enjoys a warm Azurite.
    const scan1 = progress('plain scan', await plainScan());
    const few = progress('expiry run', await expiryRun(now, false));
    const scan2 = progress('plain scan again', await plainScan());
    const scanMs = Math.min(scan1.ms, scan2.ms);
    const table: string[][] = [
      ['plain scan of every row', formatMs(scan1.ms), `${scan1.value} rows`],
      [`expiry run, ${few.value.deleted} due`, formatMs(few.ms), describeTotals(few.value)],
      ['plain scan of every row (again)', formatMs(scan2.ms), `${scan2.value} rows`],
    ];
    const info: { label: string; value: number }[] = [];
    // The weekly run that also lists every instance's blobs, a day later (nothing more is due).
    const sweepAt = new Date(Date.parse(now) + dayMs).toISOString();
    const sweep = progress('sweeping run', await expiryRun(sweepAt, true));
    table.push([
      `sweeping run (blobs listed), ${sweep.value.deleted} due`,
      formatMs(sweep.ms),
      describeTotals(sweep.value),
    ]);
    info.push({ label: 'sweeping run (weekly) / plain scan, informational', value: sweep.ms / scanMs });
    if (options.manyDue) {
      const later = new Date(Date.parse(now) + 365 * dayMs).toISOString();
      const many = progress('run a year later', await expiryRun(later, false));
      table.push([`expiry run a year later, ${many.value.deleted} due`, formatMs(many.ms), describeTotals(many.value)]);
      info.push({ label: 'expiry run (~half due) / plain scan, informational', value: many.ms / scanMs });
    }
    for (const line of formatTable(['expiry', 'time', 'work'], table)) out(line);
    for (const line of ratioLines([
      { label: 'expiry run (1% due) / plain scan', value: few.ms / scanMs, op: '<=', target: 2, unit: 'x' },
    ])) {
      out(line);
    }
    for (const i of info) out(`${i.label}: ${i.value.toFixed(2)}×`);
  } finally {
    // Whatever a Ctrl-C has not already run (stopEverything takes each one out of the set before running it).
    for (const cleanup of own.reverse()) {
      if (cleanups.delete(cleanup)) await cleanup();
    }
  }
}

function describeTotals(t: {
  deleted: number;
  moved: number;
  orphansDeleted: number;
  failureCount: number;
  warningCount: number;
}): string {
  return `${t.deleted} deleted, ${t.moved} moved, ${t.orphansDeleted} orphans, ${t.failureCount} failures, ${t.warningCount} warnings`;
}
