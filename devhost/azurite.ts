// Starts Azurite from the azurite npm package so `npm start` needs no separate emulator, and stops it in a way that
// keeps its data: in a process group of its own, told to stop through a stdin lifeline, and waited for.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { PortInUseError, portFree } from './ports';

export const DEV_ACCOUNT = 'devstoreaccount1';
// The well-known, public Azurite development key (documented by Microsoft); not a secret.
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Runs the Azurite CLI (process.argv[1]) so that it stops exactly once and writes its data before it exits.
 *
 * Azurite keeps its metadata (tables, blob and queue listings) in LokiJS collections in memory, saves them every 5 s
 * and on close, and stops on its first SIGINT or SIGTERM through `process.once` handlers. A second stop signal kills
 * it in the middle of that save: after a SIGTERM the next SIGTERM takes the default action, and after a SIGINT the
 * SIGTERM handler calls close() a second time, which throws ("Cannot close server in status Closing") and ends the
 * process with exit code 1. That is how a Ctrl-C or a service manager's SIGTERM to `npm start`'s process group lost
 * the last seconds of data (issue 18): the signal reached Azurite directly, then devhost's stop sent it another.
 *
 * So: the first stop request, a signal or the lifeline, runs Azurite's own shutdown once and removes its handler for
 * the other signal; later signals are ignored. The lifeline is stdin: when devhost's end closes — devhost stopping,
 * or killed with SIGKILL — Azurite shuts down and, its stdin released, exits once its data is written.
 */
export const AZURITE_LIFELINE = [
  "const signals = ['SIGINT', 'SIGTERM'];",
  'let stopping = false;',
  'const mine = new Map();',
  'const theirs = (s) => process.listeners(s).filter((l) => l !== mine.get(s));',
  'const onSignal = (sig) => {',
  '  if (stopping) return;',
  // Still starting: Azurite has not installed its handlers and holds nothing to write yet.
  '  if (theirs(sig).length === 0) process.exit(0);',
  '  stopping = true;',
  '  for (const s of signals) if (s !== sig) for (const l of theirs(s)) process.removeListener(s, l);',
  '};',
  'for (const s of signals) { mine.set(s, onSignal); process.on(s, onSignal); }',
  "process.stdin.on('end', () => { process.stdin.destroy(); if (!stopping) process.emit('SIGTERM', 'SIGTERM'); });",
  "process.stdin.on('error', () => undefined);",
  'process.stdin.resume();',
  'require(process.argv[1]);',
].join('\n');

/** The Azurite CLI script inside the azurite package. */
export function azuriteCli(): string {
  return path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
}

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}
export const DEFAULT_PORTS: AzuritePorts = { blob: 10000, queue: 10001, table: 10002 };

export interface AzuriteStopped {
  /** True when Azurite exited by itself with code 0: it closed its stores, which writes their data. */
  readonly clean: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
}

export interface RunningAzurite {
  ports: AzuritePorts;
  connectionString: string;
  /** Where the data lives; undefined in memory. */
  location: string | undefined;
  pid: number;
  /** Asks Azurite to stop and waits until it has exited (its data written); SIGKILLs it after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<AzuriteStopped>;
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

/** Refuses ports another process holds, naming an Azurite that is already running (another `npm start`?). */
async function assertPortsFree(ports: AzuritePorts): Promise<void> {
  const all = [ports.blob, ports.queue, ports.table];
  const busy: number[] = [];
  for (const p of all) if (!(await portFree(p, '127.0.0.1'))) busy.push(p);
  if (busy.length === 0) return;
  const who = (await isAzurite(busy[0]!))
    ? `an Azurite is already running there (another npm start, or one you started): stop it, or use it with ` +
      `--azurite external`
    : 'stop the process that holds them';
  throw new PortInUseError(
    `Azurite's port(s) ${busy.join(', ')} are in use by another process; ${who}, or pass --azurite-ports b,q,t`,
  );
}

export interface StartAzuriteOptions {
  ports: AzuritePorts;
  /** Folder for Azurite's data; ignored when inMemory. */
  location: string;
  inMemory: boolean;
  log: (line: string) => void;
}

export async function startAzurite(opts: StartAzuriteOptions): Promise<RunningAzurite> {
  const { ports } = opts;
  await assertPortsFree(ports);
  const args = [
    '-e',
    AZURITE_LIFELINE,
    azuriteCli(),
    '--silent',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--disableTelemetry',
  ];
  args.push(...(opts.inMemory ? ['--inMemoryPersistence'] : ['--location', opts.location]));
  for (const svc of ['blob', 'queue', 'table'] as const) {
    args.push(`--${svc}Host`, '127.0.0.1', `--${svc}Port`, String(ports[svc]));
  }
  // A group of its own: a signal to devhost's process group (Ctrl-C, a service manager) must not reach Azurite
  // directly; devhost stops it last, after its own work, through the lifeline.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
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
  let stopping: Promise<AzuriteStopped> | undefined;
  return {
    ports,
    connectionString: devConnectionString(ports),
    location: opts.inMemory ? undefined : opts.location,
    pid: child.pid!,
    stop: (timeoutMs = 30_000) => (stopping ??= stopChild(child, exited, timeoutMs, () => stderr)),
  };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  stderr: () => string,
): Promise<AzuriteStopped> {
  const started = Date.now();
  // Closing the lifeline makes Azurite shut down, writing its data (see AZURITE_LIFELINE).
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await exited;
  clearTimeout(timer);
  const last = stderr().trim().split('\n').at(-1);
  if (code !== 0 && last) process.stderr.write(`Azurite: ${last}\n`);
  return { clean: code === 0, code, signal, ms: Date.now() - started };
}
