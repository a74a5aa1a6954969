// devhost entry point (`npm start`): loads a compiled Functions app as the Node worker would and serves its HTTP,
// timer, queue and durable functions locally, starting Azurite when storage is UseDevelopmentStorage=true.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS, isDevelopmentStorage, startAzurite, type AzuritePorts, type RunningAzurite } from './azurite';
import { installCoreShim, type FunctionRegistry, type RegisteredFunction } from './core-shim';
import { HttpServer, generateKey, type DurableHttpHandler } from './http/server';
import { matchRoute } from './http/routes';
import { checkCapabilities, loadAppFiles, resolveAppFiles, triggerOf, validateRegistrations } from './loader';
import { httpPortInUse, portFree, PortInUseError } from './ports';
import type { HostRuntime } from './run';
import { applyToEnv, isFunctionDisabled, readHostJson, readLocalSettings, resolveSettingRefs } from './settings';
import { killChildProcesses } from './children';
import { Shutdown } from './shutdown';
import { connectionStringFor } from './storage';
import { QueueTrigger } from './triggers/queue';
import { TimerTrigger, resolveTimerZone } from './triggers/timer';

export const USAGE = `usage: node dist/devhost/main.js [--app <dir>] [--port <n>] [--azurite auto|external] [--enable-auth]
  --app <dir>            the Functions app folder (package.json "main", host.json, local.settings.json); default cwd
  --port <n>             HTTP port; default local.settings.json Host.LocalHttpPort, else 7071
  --azurite auto         start Azurite when AzureWebJobsStorage is UseDevelopmentStorage=true (refused when its
                         ports are taken: to use an Azurite you run yourself, pass --azurite external)
  --azurite external     never start Azurite; storage settings point at running storage
  --azurite-ports b,q,t  Azurite ports when devhost starts it (default 10000,10001,10002)
  --data-dir <dir>       where devhost keeps Azurite's data (default <app>/.devhost-data)
  --azurite-in-memory    keep Azurite data in memory instead of on disk
  --enable-auth          enforce authLevel keys (off by default, as in Core Tools)`;

/** How long running functions get to end after a stop signal before they are abandoned (the next start redoes them). */
const STOP_GRACE_MS = 5_000;
/** `npm start` forwards the terminal's SIGINT to devhost, which also gets it as a member of the foreground group. */
const SAME_SIGNAL_MS = 500;

interface DurableHostLike extends DurableHttpHandler {
  clientBindingData(): object;
  start(): Promise<void>;
  stop(): Promise<void>;
  abandon(): number;
}
type CreateDurableHost = (opts: {
  registry: FunctionRegistry;
  hubName: string;
  storageConnectionString: string;
  publicBaseUrl: string;
  rpcBaseUrl: string;
  log: (msg: string) => void;
  maxConcurrentActivities?: number;
}) => Promise<DurableHostLike>;

const DURABLE_TYPES = new Set(['orchestrationTrigger', 'activityTrigger', 'entityTrigger', 'durableClient']);

function stamp(line: string): string {
  return `[${new Date().toISOString()}] ${line}`;
}
const out = (line: string): void => void process.stdout.write(`${stamp(line)}\n`);

/** The durable module is built by a separate piece of work; without it, apps without durable functions still run. */
function loadDurable(): CreateDurableHost | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, 'durable', 'index')) as { createDurableHost?: CreateDurableHost };
    return mod.createDurableHost;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

function parsePorts(v: string | undefined): AzuritePorts {
  if (!v) return DEFAULT_PORTS;
  const [blob, queue, table] = v.split(',').map(Number);
  if (![blob, queue, table].every((p) => Number.isInteger(p) && p! > 0)) throw new Error('--azurite-ports wants b,q,t');
  return { blob: blob!, queue: queue!, table: table! };
}

export async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      app: { type: 'string' },
      port: { type: 'string' },
      azurite: { type: 'string', default: 'auto' },
      'azurite-ports': { type: 'string' },
      'data-dir': { type: 'string' },
      'azurite-in-memory': { type: 'boolean', default: false },
      'enable-auth': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (args.help) return void console.log(USAGE);
  if (args.azurite !== 'auto' && args.azurite !== 'external')
    throw new Error(`--azurite must be auto or external\n${USAGE}`);
  const appRoot = path.resolve(args.app ?? process.cwd());

  // From here on a signal stops whatever has started, in order (devhost/shutdown.ts).
  const shutdown = new Shutdown({
    log: out,
    graceMs: STOP_GRACE_MS,
    sameSignalMs: SAME_SIGNAL_MS,
    exit: (code) => process.exit(code),
    killChildProcesses,
  });
  process.on('SIGINT', () => shutdown.onSignal('SIGINT'));
  process.on('SIGTERM', () => shutdown.onSignal('SIGTERM'));

  const settings = readLocalSettings(appRoot);
  if (settings.fromSample) out(`local.settings.json not found in ${appRoot}; using local.settings.sample.json`);
  const applied = applyToEnv(settings.values);
  const overridden = Object.keys(settings.values).length - applied.length;
  const port = Number(args.port ?? settings.host.LocalHttpPort ?? 7071);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad --port ${args.port}`);
  // Checked before Azurite starts, so a second `npm start` changes nothing and says why it stops.
  if (!(await portFree(port))) throw httpPortInUse(port);
  process.env.FUNCTIONS_WORKER_RUNTIME ??= 'node';
  process.env.AZURE_FUNCTIONS_ENVIRONMENT ??= 'Development';
  // The durable client builds management URLs from this (protocol §3.1).
  process.env.WEBSITE_HOSTNAME = `localhost:${port}`;
  // The durable client uses axios, which would send loopback calls through a corporate proxy.
  process.env.NO_PROXY = [process.env.NO_PROXY, '127.0.0.1', 'localhost'].filter(Boolean).join(',');
  const hostJson = readHostJson(appRoot);

  let azurite: RunningAzurite | undefined;
  if (args.azurite === 'auto' && isDevelopmentStorage(process.env.AzureWebJobsStorage)) {
    const dataDir = path.resolve(appRoot, args['data-dir'] ?? '.devhost-data');
    azurite = await startAzurite({
      ports: parsePorts(args['azurite-ports']),
      location: path.join(dataDir, 'azurite'),
      inMemory: args['azurite-in-memory'],
      log: out,
    });
    shutdown.setAzurite(azurite);
    if (shutdown.stopping) return;
    // Every setting that says "development storage" now means this Azurite, on whatever ports it listens.
    for (const [k, v] of Object.entries(process.env)) {
      if (isDevelopmentStorage(v)) process.env[k] = azurite.connectionString;
    }
  }

  try {
    await startHost(appRoot, port, args['enable-auth'], hostJson, settings, azurite, overridden, shutdown);
  } catch (err) {
    if (err instanceof PortInUseError) process.stderr.write(`devhost: cannot start: ${err.message}\n`);
    else out(`devhost: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown.stop(1);
  }
}

async function startHost(
  appRoot: string,
  port: number,
  enableAuth: boolean,
  hostJson: ReturnType<typeof readHostJson>,
  settings: ReturnType<typeof readLocalSettings>,
  azurite: RunningAzurite | undefined,
  overridden: number,
  shutdown: Shutdown,
): Promise<void> {
  const registry = installCoreShim((level, category, msg) => {
    const line = stamp(`${level === 'information' ? '' : `[${level}] `}${msg}`);
    if (level === 'error' || level === 'critical') process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  });
  const { main: mainGlob, files } = resolveAppFiles(appRoot);
  if (files.length === 0) {
    // Like the worker: the host still starts, so `npm start` works before any function exists.
    out(`no files match package.json "main" (${mainGlob}) under ${appRoot}: did the build run? No functions loaded.`);
  }
  await loadAppFiles(appRoot, files);
  registry.closeRegistration();
  validateRegistrations(registry);
  await registry.runHooks('appStart', {
    hookData: registry.appLevelHookData,
    appHookData: registry.appHookData,
    functionAppDirectory: appRoot,
  });
  shutdown.addHook(() =>
    registry.runHooks('appTerminate', { hookData: registry.appLevelHookData, appHookData: registry.appHookData }),
  );
  await checkCapabilities(registry);

  const rt: HostRuntime = { registry, hostJson, log: out, durable: undefined };
  const all = [...registry.functions.values()];
  const enabled = all.filter((fn) => !isFunctionDisabled(fn.name));

  let durable: DurableHostLike | undefined;
  const usesDurable = all.some((fn) => Object.values(fn.bindings).some((b) => DURABLE_TYPES.has(b.type)));
  if (usesDurable) {
    const create = loadDurable();
    if (!create) throw new Error('the app uses Durable Functions but devhost/durable is not built');
    const hubSetting = hostJson.durableHubName ? resolveSettingRefs(hostJson.durableHubName) : '';
    const raw = hostJson.raw as { extensions?: { durableTask?: { storageProvider?: { connectionName?: string } } } };
    durable = await create({
      registry,
      hubName: hubSetting || 'TestHubName',
      storageConnectionString: connectionStringFor(raw.extensions?.durableTask?.storageProvider?.connectionName),
      publicBaseUrl: `http://localhost:${port}`,
      rpcBaseUrl: `http://127.0.0.1:${port}/durabletask/`,
      log: out,
      ...(hostJson.maxConcurrentActivities ? { maxConcurrentActivities: hostJson.maxConcurrentActivities } : {}),
    });
    rt.durable = durable;
  }

  const timers = new Map<string, TimerTrigger>();
  const queues = new Map<string, QueueTrigger>();
  const zone = resolveTimerZone(process.env.WEBSITE_TIME_ZONE);
  for (const fn of enabled) {
    const t = triggerOf(fn);
    if (t.type === 'timerTrigger') timers.set(fn.name, new TimerTrigger(rt, fn, t.binding, zone));
    else if (t.type === 'queueTrigger') queues.set(fn.name, new QueueTrigger(rt, fn, t.binding));
  }

  const keys = {
    master: process.env.DEVHOST_MASTER_KEY || generateKey(),
    function: process.env.DEVHOST_FUNCTION_KEY || generateKey(),
  };
  const server = new HttpServer(
    {
      rt,
      port,
      enableAuth,
      keys,
      cors: (settings.host.CORS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      corsCredentials: settings.host.CORSCredentials === true,
      durable: () => durable,
      runNonHttp: (name, input) => {
        const timer = timers.get(name);
        const queue = queues.get(name);
        if (timer) void timer.runNow('This function was programmatically called via the host APIs.');
        else if (queue) void queue.runNow(input);
        else return false;
        return true;
      },
    },
    enabled,
  );
  if (shutdown.stopping) return;
  await server.listen();
  shutdown.setHttp(server);

  // Each source of work is handed to the shutdown as soon as it runs; a stop signal during start-up ends the rest.
  if (durable && !shutdown.stopping) {
    const d = durable;
    await d.start();
    shutdown.addWork({ name: 'durable functions', stop: () => d.stop(), abandon: () => d.abandon() });
  }
  for (const q of queues.values()) {
    if (shutdown.stopping) break;
    await q.start();
    shutdown.addWork({ name: `queue ${q.queueName}`, stop: () => q.stop(), abandon: () => q.abandon() });
  }
  for (const t of timers.values()) {
    if (shutdown.stopping) break;
    await t.start();
    shutdown.addWork({ name: 'timer', stop: () => t.stop() });
  }
  if (shutdown.stopping) return;
  server.setReady();
  printSummary({ appRoot, port, files, settings, overridden, azurite, all, server, timers, queues, enableAuth, keys });
}

function printSummary(s: {
  appRoot: string;
  port: number;
  files: string[];
  settings: ReturnType<typeof readLocalSettings>;
  overridden: number;
  azurite: RunningAzurite | undefined;
  all: RegisteredFunction[];
  server: HttpServer;
  timers: Map<string, TimerTrigger>;
  queues: Map<string, QueueTrigger>;
  enableAuth: boolean;
  keys: { master: string; function: string };
}): void {
  const base = `http://localhost:${s.port}`;
  const lines: string[] = ['', `devhost: Functions app in ${s.appRoot} (${s.files.length} file(s) loaded)`];
  lines.push(
    s.settings.file
      ? `  settings: ${path.relative(s.appRoot, s.settings.file)} (${s.overridden} value(s) overridden by the environment)`
      : '  settings: no local.settings.json; environment only',
  );
  if (s.azurite) {
    const where = s.azurite.location ? `data in ${s.azurite.location}` : 'data in memory';
    lines.push(
      `  storage: Azurite blob :${s.azurite.ports.blob}, queue :${s.azurite.ports.queue}, table :${s.azurite.ports.table} (${where})`,
    );
  } else {
    lines.push('  storage: as the settings say (devhost did not start Azurite)');
  }
  lines.push('', 'Functions:');
  if (s.all.length === 0) lines.push('  (none found)');
  const byRoute = new Map(s.server.routes.map((r) => [r.target.fn.name, r]));
  for (const fn of s.all) {
    const disabled = isFunctionDisabled(fn.name) ? ' (disabled)' : '';
    const route = byRoute.get(fn.name);
    if (route) {
      const methods = route.target.methods?.join(',') ?? 'ALL';
      lines.push(`  ${fn.name}: [${methods}] ${base}/${route.template}${disabled}`);
      continue;
    }
    const desc = s.timers.get(fn.name)?.describe() ?? s.queues.get(fn.name)?.describe() ?? triggerOf(fn).type;
    lines.push(`  ${fn.name}: ${desc}${disabled}`);
  }
  lines.push('', `Admin: GET ${base}/admin/host/status, POST ${base}/admin/functions/{name} {"input":"..."}`);
  if (s.enableAuth) {
    lines.push(
      process.env.DEVHOST_MASTER_KEY
        ? '  auth: on (keys from DEVHOST_MASTER_KEY / DEVHOST_FUNCTION_KEY)'
        : `  auth: on; local keys for this run: master ${s.keys.master}, function ${s.keys.function}`,
    );
  }
  const root = s.server.routes.find((r) => matchRoute(r, '/') && (r.target.methods ?? ['GET']).includes('GET'));
  if (root) lines.push(`Console: ${base}/ (served by ${root.target.fn.name})`);
  lines.push(`Host ready on ${base} (Ctrl+C to stop)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

// Importing this module (e.g. to read USAGE) must not start a host; only running it does.
if (require.main === module) {
  main().catch((err: unknown) => {
    const prefix = err instanceof PortInUseError ? 'devhost: cannot start: ' : 'devhost: ';
    process.stderr.write(`${prefix}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
