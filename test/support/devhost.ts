// Starts devhost as a child process on a free port (with its own in-memory Azurite unless given storage), waits
// until it reports ready, and stops everything it started. Reusable by every test that needs a running app.
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createStateStores, type StateStores } from '../../shared/adapters/storage/stores';
import { azuriteConnectionString, freePort, startAzurite, type AzuriteInstance } from './azurite';
import { groupMembers, isRunning, registerOwned, spawnOwned, unregisterOwned } from './processes';

export interface StartDevhostOptions {
  /** The app folder: holds package.json (main glob), host.json, local.settings.json. */
  appRoot: string;
  /** Extra environment for the host process; real environment wins over local.settings.json, as in Core Tools. */
  env?: Record<string, string>;
  /** HTTP port; a free one by default. */
  port?: number;
  /** Use this storage instead of starting a private in-memory Azurite. */
  storageConnectionString?: string;
  /**
   * Who starts the private Azurite: the harness (default; it survives kill/restart of the host) or devhost itself
   * (`--azurite auto` on free ports, in memory; it stops with the host).
   */
  azuriteBy?: 'harness' | 'devhost';
  /**
   * With azuriteBy 'devhost': keep Azurite's data on disk in `<dataDir>/azurite` (`--data-dir`) instead of in memory,
   * so that it outlives a stop of the whole tree.
   */
  dataDir?: string;
  /**
   * How the host is run: `node dist/devhost/main.js` (default), or `npm start -- <args>` in the repository, the
   * command a developer types (its build step included).
   */
  launch?: 'node' | 'npm-start';
  /** Extra devhost CLI arguments, e.g. ['--enable-auth']. */
  args?: string[];
  /** How long to wait for /admin/host/status to say Running. */
  readyTimeoutMs?: number;
}

export interface DevhostStorage {
  connectionString: string;
  blobUrl: string;
  queueUrl: string;
  tableUrl: string;
}

/** The app's own Table stores over a devhost's storage, for tests that arrange or read state behind the API. */
export function devhostStores(storage: DevhostStorage): StateStores {
  return createStateStores({
    VAULT_STORAGE: storage.connectionString,
    VAULT_STORAGE__accountName: '',
    AzureWebJobsStorage: '',
    TABLE_PREFIX: '',
  });
}

export interface DevhostInstance {
  readonly baseUrl: string;
  readonly port: number;
  readonly storage: DevhostStorage;
  /** SIGTERM the host (appTerminate hooks run), then stop the private Azurite. */
  stop(): Promise<void>;
  /** SIGKILL the host, as a crash would; storage stays up so restart() resumes from it. */
  kill(): Promise<void>;
  /** Start the host again (after stop/kill or while running) on the same port and storage. */
  restart(): Promise<void>;
  /** The devhost process (under `npm start`: the node process npm runs). */
  readonly pid: number;
  /** The Azurite devhost started (azuriteBy 'devhost'), once it said so. */
  readonly azuritePid: number | undefined;
  /**
   * Sends `signal` to the host's whole process group (what a terminal's Ctrl-C or a service manager does) or to the
   * devhost process alone.
   */
  signal(signal: NodeJS.Signals, to: 'group' | 'devhost'): void;
  /** Resolves once every process of this run — the group, devhost and its Azurite — has exited. */
  waitStopped(timeoutMs?: number): Promise<{ ms: number }>;
  /** Everything the host wrote to stdout and stderr so far (all runs). */
  logs(): string;
  /** Resolves once the logs match, rejects after the deadline. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

const repoRoot = path.resolve(__dirname, '../..');
const ACCOUNT = 'devstoreaccount1';

function newestMtime(dir: string): number {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds with the project's tsc when the sources changed since the last build this harness made. A stamp records the
 * newest source time seen when that build *started*, so a build someone else ran mid-edit cannot pass for fresh.
 * Parallel test files share one build through a lock directory, so no file reads a half-written dist.
 */
export function ensureBuilt(appRoot: string): void {
  const mainJs = path.join(repoRoot, 'dist/devhost/main.js');
  const stamp = path.join(repoRoot, 'dist', '.devhost-build-stamp');
  const newestSource = (): number =>
    Math.max(
      ...['devhost', 'shared', 'cli', path.relative(repoRoot, path.join(appRoot, 'functions'))].map((d) =>
        newestMtime(path.join(repoRoot, d)),
      ),
    );
  const fresh = (): boolean =>
    fs.existsSync(mainJs) && fs.existsSync(stamp) && Number(fs.readFileSync(stamp, 'utf8')) >= newestSource();
  if (fresh()) return;
  const lock = path.join(repoRoot, 'dist', '.devhost-build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than the deadline is a leftover from a killed run.
      const held = fs.statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 180_000) fs.rmSync(lock, { force: true, recursive: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another build of dist/');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (fresh()) return;
    const sourcesAsOf = newestSource();
    try {
      execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', repoRoot], {
        stdio: 'pipe',
      });
    } catch {
      // Type errors elsewhere in the repo still emit JavaScript; only a missing output is fatal.
    }
    if (!fs.existsSync(mainJs)) throw new Error('build did not produce dist/devhost/main.js');
    fs.writeFileSync(stamp, String(sourcesAsOf));
  } finally {
    fs.rmSync(lock, { force: true, recursive: true });
  }
}

function endpointsOf(connectionString: string): DevhostStorage {
  const parts = new Map<string, string>();
  for (const kv of connectionString.split(';')) {
    const i = kv.indexOf('=');
    if (i > 0) parts.set(kv.slice(0, i).toLowerCase(), kv.slice(i + 1));
  }
  const local = (port: number): string => `http://127.0.0.1:${port}/${ACCOUNT}`;
  return {
    connectionString,
    blobUrl: parts.get('blobendpoint') ?? local(10000),
    queueUrl: parts.get('queueendpoint') ?? local(10001),
    tableUrl: parts.get('tableendpoint') ?? local(10002),
  };
}

async function pollReady(baseUrl: string, child: ChildProcess, timeoutMs: number, logs: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`devhost exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logs()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/admin/host/status`);
      if (res.ok && ((await res.json()) as { state?: string }).state === 'Running') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`devhost was not ready within ${timeoutMs} ms:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is empty
  }
}

/** The devhost node process in the group led by `leader` (itself, or the node process `npm start` runs). */
function devhostPidIn(leader: number): number | undefined {
  const inGroup = groupMembers(leader);
  return inGroup.find((p) => p.cmdline.split('\0')[1]?.endsWith('dist/devhost/main.js'))?.pid;
}

async function until<T>(what: string, read: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startDevhost(opts: StartDevhostOptions): Promise<DevhostInstance> {
  const appRoot = path.resolve(opts.appRoot);
  ensureBuilt(appRoot);
  let azurite: AzuriteInstance | undefined;
  let azuriteArgs = ['--azurite', 'external'];
  let connectionString: string;
  let storageSetting: string;
  if (opts.storageConnectionString) {
    connectionString = storageSetting = opts.storageConnectionString;
  } else if (opts.azuriteBy === 'devhost') {
    const [b, q, t] = [await freePort(), await freePort(), await freePort()];
    azuriteArgs = ['--azurite', 'auto', '--azurite-ports', `${b},${q},${t}`];
    azuriteArgs.push(...(opts.dataDir !== undefined ? ['--data-dir', opts.dataDir] : ['--azurite-in-memory']));
    connectionString = azuriteConnectionString(b, q, t);
    storageSetting = 'UseDevelopmentStorage=true';
  } else {
    azurite = await startAzurite();
    connectionString = storageSetting = azurite.connectionString;
  }
  const port = opts.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const logs = (): string => output.join('');
  let child: ChildProcess | undefined;
  let hostPid = 0;
  let azuritePid: number | undefined;
  const waiters = new Set<() => void>();

  const launch = async (): Promise<void> => {
    const devhostArgs = ['--app', appRoot, '--port', String(port), ...azuriteArgs, ...(opts.args ?? [])];
    const [command, argv] =
      opts.launch === 'npm-start'
        ? ['npm', ['start', '--', ...devhostArgs]]
        : [process.execPath, [path.join(repoRoot, 'dist/devhost/main.js'), ...devhostArgs]];
    // A process group of its own: signal() reaches the whole tree, and the registry kills it if the test cannot.
    const proc = spawnOwned(command, argv, {
      cwd: opts.launch === 'npm-start' ? repoRoot : appRoot,
      env: { ...process.env, ...opts.env, AzureWebJobsStorage: storageSetting, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    azuritePid = undefined;
    const collect = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
      const started = /Azurite started \(pid (\d+)\)/.exec(chunk.toString('utf8'));
      // devhost starts Azurite in a group of its own: recorded too, so a failed test cannot leave it running.
      if (started) {
        azuritePid = Number(started[1]);
        registerOwned(azuritePid, 'group', 'Azurite started by devhost');
      }
      for (const w of waiters) w();
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    try {
      await pollReady(baseUrl, proc, opts.readyTimeoutMs ?? 30_000, logs);
      hostPid =
        opts.launch === 'npm-start'
          ? await until('devhost under npm', () => devhostPidIn(proc.pid!), 5_000)
          : proc.pid!;
    } catch (err) {
      killGroup(proc);
      await waitExit(proc, 'SIGKILL', 0);
      // Its Azurite, told by the lifeline, stops by itself.
      await waitStopped(20_000).catch(() => undefined);
      throw err;
    }
  };

  /** Resolves when devhost and its Azurite have exited and the group is empty. */
  const waitStopped = async (timeoutMs = 30_000): Promise<{ ms: number }> => {
    const started = Date.now();
    const leader = child?.pid;
    await until(
      'the devhost tree to exit',
      () =>
        !isRunning(hostPid) &&
        (azuritePid === undefined || !isRunning(azuritePid)) &&
        (leader === undefined || groupMembers(leader).length === 0)
          ? true
          : undefined,
      timeoutMs,
    );
    if (leader !== undefined) unregisterOwned(leader);
    if (azuritePid !== undefined) unregisterOwned(azuritePid);
    return { ms: Date.now() - started };
  };

  const stopTree = async (): Promise<void> => {
    if (!child) return;
    await waitExit(child, 'SIGTERM', 20_000);
    // What devhost itself started and left (a pg_dump of a killed host); its Azurite, in a group of its own, is
    // given the time to write its data and exit by itself.
    killGroup(child);
    await waitStopped(20_000).catch(() => undefined);
  };

  try {
    await launch();
  } catch (err) {
    await azurite?.stop();
    throw err;
  }

  return {
    baseUrl,
    port,
    storage: endpointsOf(connectionString),
    get pid() {
      return hostPid;
    },
    get azuritePid() {
      return azuritePid;
    },
    async stop() {
      await stopTree();
      await azurite?.stop();
    },
    async kill() {
      if (child) await waitExit(child, 'SIGKILL', 0);
    },
    async restart() {
      await stopTree();
      await launch();
    },
    signal(signal, to) {
      process.kill(to === 'group' ? -child!.pid! : hostPid, signal);
    },
    waitStopped,
    logs,
    waitForLog(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = logs().match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`devhost logs did not match ${pattern} within ${timeoutMs} ms:\n${logs()}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
