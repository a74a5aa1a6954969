// The console benchmark (issue 12): the bundle's size, and how long the Instances page takes to show its first rows
// with 500 instances and an instance page with 5,000 recovery points, in Chromium against the app under devhost. The
// rows go into Azurite's tables through the stores (no backups run); the times are reported, never asserted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../shared/config';
import { createStateStores } from '../../shared/adapters/storage/stores';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { toEntity } from '../../shared/adapters/storage/tables/recovery-points';
import { createVaultBlobStore } from '../../shared/adapters/storage/vault-blobs';
import { parsePolicy } from '../../shared/domain/policy';
import type { InstanceRecord, JobRecord, RecoveryPointRecord } from '../../shared/ports';
import { consoleOutput } from '../../scripts/build-console';
import { freePort, startAzurite } from '../support/azurite';
import { launchBrowser } from '../support/browser';
import { weeklyDefaultPolicy } from '../support/policies';
import { committedPoint } from '../support/recovery-points';
import { formatBytes, formatMs, formatTable, stats, timed, pool, type Out } from './support';

export interface ConsoleBenchOptions {
  readonly instances: number;
  readonly points: number;
  readonly repeat: number;
}

export const defaultConsoleBenchOptions: ConsoleBenchOptions = { instances: 500, points: 5_000, repeat: 5 };

const dayMs = 86_400_000;
const policyDocument = weeklyDefaultPolicy({ name: 'bench', start: '2016-01-03T02:00:00+00:00', deleteAfter: 'P10Y' });

/** The repository root, from test/bench and from dist/test/bench alike. */
function repoRoot(): string {
  const up = path.resolve(__dirname, '../..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

async function bundleLines(): Promise<string[]> {
  const index = await readFile(path.join(consoleOutput, 'index.html'), 'utf8');
  const assets = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  const rows: string[][] = [];
  let total = 0;
  for (const name of ['index.html', ...assets]) {
    const bytes = await readFile(path.join(consoleOutput, name));
    const gz = gzipSync(bytes, { level: 9 }).length;
    total += gz;
    rows.push([name, formatBytes(bytes.length), formatBytes(gz)]);
  }
  rows.push(['total', '', formatBytes(total)]);
  return formatTable(['file', 'size', 'gzip'], rows);
}

/** Starts devhost on the compiled app, on the given storage; resolves once /admin/host/status says Running. */
async function startHost(connectionString: string, out: Out): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const root = repoRoot();
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(root, 'dist/devhost/main.js'), '--app', root, '--port', String(port), '--azurite', 'external'],
    {
      cwd: root,
      env: {
        ...process.env,
        AzureWebJobsStorage: connectionString,
        SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
        EXPIRY_SCHEDULE: '0 0 0 1 1 *',
        ENFORCE_CALLER_ROLES: 'false',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`devhost exited: ${stderr}`);
    try {
      const res = await fetch(`${baseUrl}/admin/host/status`);
      if (res.ok && ((await res.json()) as { state?: string }).state === 'Running') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`devhost was not ready in 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  out(`console: devhost on ${baseUrl}`);
  return {
    baseUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Records, in the page, when the first `selector` is in the DOM (ms since navigation start). */
const firstRowProbe = (selector: string) => `
  window.__firstRow = undefined;
  new MutationObserver((_, obs) => {
    if (document.querySelector(${JSON.stringify(selector)})) {
      window.__firstRow = performance.now();
      obs.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

export async function runConsoleScenario(
  out: Out,
  options: ConsoleBenchOptions = defaultConsoleBenchOptions,
  cleanups: Set<() => Promise<void>> = new Set(),
): Promise<void> {
  out('');
  out(`console: ${options.instances} instances, one of them with ${options.points} recovery points`);
  for (const line of await bundleLines()) out(`  ${line}`);
  const own: (() => Promise<void>)[] = [];
  const track = (cleanup: () => Promise<void>) => {
    own.push(cleanup);
    cleanups.add(cleanup);
  };
  try {
    const azurite = await startAzurite();
    track(() => azurite.stop());
    const config = loadConfig({ VAULT_STORAGE: azurite.connectionString });
    const stores = createStateStores(config);
    const storage = { kind: 'connectionString' as const, connectionString: azurite.connectionString };
    const blobs = createVaultBlobStore(storage, config.BACKUP_CONTAINER);
    const pointsTable = await createTableProvider(storage, '').table('recoveryPoints');
    const parsed = parsePolicy(policyDocument);
    if (!parsed.ok) throw new Error('bench policy does not parse');
    const policy = parsed.value;
    const now = Date.now();

    const written = await timed(async () => {
      await stores.policies.create({ name: 'bench', document: policyDocument, createdAt: new Date(now).toISOString() });
      const names = Array.from({ length: options.instances }, (_, i) => `db-${String(i).padStart(4, '0')}`);
      names[0] = 'big';
      await pool(names, 16, async (name) => {
        const createdAt = new Date(now - 3650 * dayMs).toISOString();
        const instance: InstanceRecord = {
          name,
          friendlyName: name,
          dataSource: {
            objectType: 'Datasource',
            datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
            resourceID: `bench-server-${name.length % 7}/${name}`,
            resourceName: name,
          },
          policyName: 'bench',
          secret: { secretStoreType: 'AppSetting', uri: 'appsetting://BENCH_DB' },
          protectionState: 'ProtectionConfigured',
          createdAt,
          updatedAt: createdAt,
          lastScheduledSlot: createdAt,
        };
        await stores.instances.create(instance);
        const count = name === 'big' ? options.points : 1;
        const rows: RecoveryPointRecord[] = [];
        for (let k = 0; k < count; k++) {
          const time = new Date(now - (k + 1) * (name === 'big' ? 17 : 1) * 3_600_000).toISOString();
          const point = committedPoint(blobs, {
            instanceName: name,
            policy,
            policyName: 'bench',
            time,
            tag: 'Default',
            jobId: `j${k}`,
            bytes: 50_000_000 + k,
            databaseName: name,
          });
          rows.push(k % 3 === 0 ? point : { ...point, dataStore: 'ArchiveStore', archivedAt: time });
        }
        for (let i = 0; i < rows.length; i += 100) {
          await pointsTable.submitTransaction(rows.slice(i, i + 100).map((r) => ['create', toEntity(r)]));
        }
        const job: JobRecord = {
          id: `job-${name}`,
          operation: 'Backup',
          backupInstance: name,
          status: 'Succeeded',
          trigger: 'Scheduled',
          startTime: new Date(now - 3_600_000).toISOString(),
          endTime: new Date(now - 3_000_000).toISOString(),
          progress: { bytes: rows[0]!.bytes, percent: 100 },
          recoveryPointId: rows[0]!.id,
          // As finishSucceeded records it (activities/backup.ts).
          extra: { retentionTag: rows[0]!.tag },
        };
        await stores.jobs.create(job);
      });
    });
    out(`console: data written in ${formatMs(written.ms)}`);

    const host = await startHost(azurite.connectionString, out);
    track(() => host.stop());
    const browser = await launchBrowser();
    track(() => browser.close());

    const api = async (p: string) => {
      const { ms } = await timed(async () => {
        const res = await fetch(host.baseUrl + p);
        // GET /api/health answers 503, with its body, when an instance is Critical.
        if (!res.ok && !(p === `/api/health` && res.status === 503)) throw new Error(`${p}: ${res.status}`);
        await res.arrayBuffer();
      });
      return ms;
    };
    const apiRoutes = [
      `/api/backupInstances`,
      `/api/overview`,
      `/api/overview/storage`,
      `/api/health`,
      `/api/backupInstances/big`,
      `/api/backupInstances/big/recoveryPoints?$top=50`,
      `/api/backupInstances/big/recoveryPointTimeline`,
      `/api/backupInstances/big/recoveryPoints`,
    ];
    const apiRows: string[][] = [];
    for (const route of apiRoutes) {
      const times: number[] = [];
      for (let i = 0; i < options.repeat; i++) times.push(await api(route));
      const s = stats(times);
      apiRows.push([`GET ${route}`, formatMs(s.min), formatMs(s.median), formatMs(s.max)]);
    }
    out('');
    out('console: API answers');
    for (const line of formatTable(['route', 'min', 'median', 'max'], apiRows)) out(`  ${line}`);

    const pages: [string, string, string][] = [
      ['Instances page, 500 instances (first page of 50 rows)', '/instances', 'table.data tbody tr'],
      [
        'instance page, 5,000 points (first page of 50 rows)',
        '/instances/big',
        'section[aria-label="Recovery points"] tbody tr',
      ],
      ['instance page, 5,000 points (timeline chart)', '/instances/big', 'figure.chart svg rect'],
      ['Overview (jobs card)', '/', 'section[aria-label="Jobs"] tbody tr'],
      ['Overview (instances by health, GET /api/health)', '/', 'section[aria-label="Instances by health"] li'],
      ['Overview (storage card, a scan of every point)', '/', 'section[aria-label="Storage by tier"] tbody tr'],
    ];
    const pageRows: string[][] = [];
    for (const [label, url, selector] of pages) {
      const firsts: number[] = [];
      for (let i = 0; i < options.repeat; i++) {
        // A fresh context each time: nothing cached, as on a first visit.
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: host.baseUrl });
        await context.addInitScript(firstRowProbe(selector));
        const page = await context.newPage();
        await page.goto(url);
        await page.locator(selector).first().waitFor({ state: 'attached', timeout: 120_000 });
        firsts.push(await page.evaluate<number>('window.__firstRow'));
        await context.close();
      }
      const s = stats(firsts);
      pageRows.push([label, formatMs(s.min), formatMs(s.median), formatMs(s.max)]);
    }
    out('');
    out(`console: time until it shows, from navigation start (Chromium, ${options.repeat} cold loads each)`);
    for (const line of formatTable(['page', 'min', 'median', 'max'], pageRows)) out(`  ${line}`);
  } finally {
    for (const cleanup of own.reverse()) {
      cleanups.delete(cleanup);
      await cleanup().catch(() => undefined);
    }
  }
}
