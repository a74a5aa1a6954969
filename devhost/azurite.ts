// Starts Azurite from the azurite npm package (or reuses one already listening) so `npm start` needs no separate
// emulator, and stops what it started on exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';

export const DEV_ACCOUNT = 'devstoreaccount1';
// The well-known, public Azurite development key (documented by Microsoft); not a secret.
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Runs the Azurite CLI with a lifeline: when devhost's end of stdin closes — a normal stop, or devhost killed with
 * SIGKILL — Azurite shuts down through its own SIGTERM handler (flushing its data) instead of outliving devhost.
 * Azurite's handler closes its servers but does not exit, so stdin is released first to let the process end.
 */
const LIFELINE = [
  "process.stdin.on('end', () => { process.stdin.destroy(); process.kill(process.pid, 'SIGTERM'); });",
  "process.stdin.on('error', () => undefined);",
  'process.stdin.resume();',
  'require(process.argv[1]);',
].join(' ');

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}
export const DEFAULT_PORTS: AzuritePorts = { blob: 10000, queue: 10001, table: 10002 };

export interface RunningAzurite {
  ports: AzuritePorts;
  connectionString: string;
  /** Where the data lives; undefined when reused or in memory. */
  location: string | undefined;
  reused: boolean;
  stop(): Promise<void>;
}

export function isDevelopmentStorage(connectionString: string | undefined): boolean {
  return connectionString !== undefined && /^\s*UseDevelopmentStorage\s*=\s*true\s*(;|$)/i.test(connectionString);
}

export function devConnectionString(ports: AzuritePorts): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/${DEV_ACCOUNT};` +
    `QueueEndpoint=http://127.0.0.1:${ports.queue}/${DEV_ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${ports.table}/${DEV_ACCOUNT};`
  );
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Azurite answers every request with a "Server: Azurite-…" header, which tells it apart from anything else. */
async function isAzurite(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/${DEV_ACCOUNT}?comp=list`, { signal: AbortSignal.timeout(2000) });
    return (res.headers.get('server') ?? '').startsWith('Azurite');
  } catch {
    return false;
  }
}

export interface StartAzuriteOptions {
  ports: AzuritePorts;
  /** Folder for Azurite's data; ignored when inMemory. */
  location: string;
  inMemory: boolean;
  log: (line: string) => void;
}

export async function startOrReuseAzurite(opts: StartAzuriteOptions): Promise<RunningAzurite> {
  const { ports } = opts;
  const open = await Promise.all([ports.blob, ports.queue, ports.table].map(portOpen));
  if (open.every(Boolean)) {
    if (await isAzurite(ports.blob)) {
      return {
        ports,
        connectionString: devConnectionString(ports),
        location: undefined,
        reused: true,
        stop: () => Promise.resolve(),
      };
    }
  }
  const busy = [ports.blob, ports.queue, ports.table].filter((_, i) => open[i]);
  if (busy.length > 0) {
    throw new Error(
      `port(s) ${busy.join(', ')} are in use by something that is not a complete Azurite; stop it, or point ` +
        `AzureWebJobsStorage at your storage and pass --azurite external`,
    );
  }
  const cli = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  const args = [
    '-e',
    LIFELINE,
    cli,
    '--silent',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--disableTelemetry',
  ];
  args.push(...(opts.inMemory ? ['--inMemoryPersistence'] : ['--location', opts.location]));
  for (const svc of ['blob', 'queue', 'table'] as const) {
    args.push(`--${svc}Host`, '127.0.0.1', `--${svc}Port`, String(ports[svc]));
  }
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode}: ${stderr.trim()}`);
    if ((await Promise.all([ports.blob, ports.queue, ports.table].map(portOpen))).every(Boolean)) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`Azurite did not start listening within 30 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  opts.log(`Azurite started (pid ${child.pid})`);
  return {
    ports,
    connectionString: devConnectionString(ports),
    location: opts.inMemory ? undefined : opts.location,
    reused: false,
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    // Closing the lifeline makes Azurite shut down gracefully (see LIFELINE).
    child.stdin?.end();
  });
}
