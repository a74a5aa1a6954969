// Helpers for the backup end-to-end tests: an HTTP client for the app under devhost that keeps every response (for
// the secret scans), job polling, the vault container's blobs, instance bodies, and a TCP proxy in front of
// PostgreSQL that can refuse connections, switch servers or throttle (fault tests).
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { listProcesses, spaced } from '../support/processes';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import type { DevhostInstance } from '../support/devhost';

const execFileAsync = promisify(execFile);

export const repoRoot = path.resolve(__dirname, '../..');
export const fixturesDir = path.resolve(repoRoot, '../shared/fixtures/policies');
export const BACKUP_CONTAINER = 'pgkeep-backups';

export function fixturePolicy(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(fixturesDir, file), 'utf8')) as Record<string, unknown>;
}

export interface ApiResult {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are inspected field by field
  body: any;
}

export interface ApiClient {
  call(method: string, route: string, body?: unknown, init?: { rawBody?: string }): Promise<ApiResult>;
  /** Every response text so far (the secret scans read them). */
  readonly seen: string[];
}

/** `headers` go with every request (an x-ms-client-principal, where the app enforces caller roles). */
export function apiClient(dh: DevhostInstance, headers: Record<string, string> = {}): ApiClient {
  const seen: string[] = [];
  return {
    seen,
    async call(method, route, body, init) {
      const payload = init?.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
      const res = await fetch(`${dh.baseUrl}/api/${route}`, {
        method,
        headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { body: payload }),
      });
      const text = await res.text();
      seen.push(text);
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, text, body: parsed };
    },
  };
}

/** Polls until `done` holds, failing with the last value after the deadline. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until)
      throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const terminal = ['Succeeded', 'Failed', 'Cancelled'];

/** Waits for a job to end and returns its resource. */
export async function jobEnded(api: ApiClient, jobId: string, timeoutMs = 90_000): Promise<ApiResult> {
  return pollUntil(
    () => api.call('GET', `backupJobs/${jobId}`),
    // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access -- a job resource, checked by status
    (r) => r.status === 200 && terminal.includes(r.body?.properties?.status as string),
    timeoutMs,
    `end of job ${jobId}`,
  );
}

export function instanceBody(opts: { resourceID: string; database: string; setting: string; policy: string }) {
  return {
    properties: {
      friendlyName: opts.database,
      dataSourceInfo: {
        objectType: 'Datasource',
        datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
        resourceID: opts.resourceID,
        resourceName: opts.database,
        resourceLocation: 'local',
      },
      policyInfo: { policyId: opts.policy },
      datasourceAuthCredentials: {
        objectType: 'SecretStoreBasedAuthCredentials',
        secretStoreResource: { secretStoreType: 'AppSetting', uri: `appsetting://${opts.setting}` },
      },
    },
  };
}

export function adoNet(host: string, port: number, db: string, user: string, password: string): string {
  return `Server=${host};Port=${port};Database=${db};User Id=${user};Password=${password};Ssl Mode=Disable;`;
}

export function vaultContainer(dh: DevhostInstance) {
  return BlobServiceClient.fromConnectionString(dh.storage.connectionString).getContainerClient(BACKUP_CONTAINER);
}

/** Names of the blobs under `prefix` in the backup container (none if the container does not exist yet). */
export async function blobsUnder(dh: DevhostInstance, prefix: string): Promise<string[]> {
  const container = vaultContainer(dh);
  if (!(await container.exists())) return [];
  const names: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
  return names;
}

/** Runs `zstd -dc | pg_restore --list` (PostgreSQL 15 tools) over a stored dump and returns the TOC. */
export async function pgRestoreList(dump: Buffer): Promise<string> {
  const unzstd = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('zstd', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`zstd exit ${code}`))));
    child.stdin.on('error', reject);
    child.stdin.end(dump);
  });
  return new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/lib/postgresql/15/bin/pg_restore', ['--list'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`pg_restore --list exit ${code}: ${Buffer.concat(err).toString('utf8')}`)),
    );
    // pg_restore --list stops reading after the TOC: the rest of the input is not wanted.
    child.stdin.on('error', () => undefined);
    child.stdin.end(unzstd);
  });
}

/** The command lines of every process on the machine, as `pid: argv joined by spaces`. */
export function allCommandLines(): string[] {
  return listProcesses().map((p) => `${p.pid}: ${spaced(p.cmdline)}`);
}

/** Whether any process's command line looks like a pg_dump (the dump is running). */
export function pgDumpRunning(): boolean {
  return allCommandLines().some((l) => /\/pg_dump --format=custom/.test(l));
}

export async function sha256Hex(data: Buffer): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

export { execFileAsync };

export interface PgProxy {
  readonly port: number;
  /** Where new connections go. */
  target: { host: string; port: number };
  /** Bytes per second from the server to the client for new and open connections; 0 = unlimited. */
  bytesPerSecond: number;
  /** Bytes per second from the client to the server (a restore's COPY data); 0 = unlimited. */
  uploadBytesPerSecond: number;
  /** Stops listening (connections are refused) and drops open ones. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

/** Copies `from` into `to`, pausing `from` to hold the rate `rate()` reads at each chunk (0 = unlimited). */
function pipeThrottled(from: Socket, to: Socket, rate: () => number): void {
  let windowStart = Date.now();
  let sent = 0;
  from.on('data', (chunk: Buffer) => {
    to.write(chunk);
    const bytesPerSecond = rate();
    if (bytesPerSecond <= 0) return;
    sent += chunk.length;
    const elapsed = Date.now() - windowStart;
    const due = (sent / bytesPerSecond) * 1000;
    if (due > elapsed) {
      from.pause();
      setTimeout(() => from.resume(), due - elapsed);
    }
    if (elapsed > 1000) {
      windowStart = Date.now();
      sent = 0;
    }
  });
}

/**
 * A TCP proxy in front of PostgreSQL. A connection string names the proxy's port once (app settings are fixed when
 * devhost starts); the test then makes that address refuse connections, lead to another server, or be slow.
 */
export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const proxy: PgProxy = {
    get port() {
      return port;
    },
    target,
    bytesPerSecond: 0,
    uploadBytesPerSecond: 0,
    refuse: async () => {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    accept: () => listen(port),
    close: () => proxy.refuse(),
  };
  const handle = (client: Socket): void => {
    const upstream = connect(proxy.target.port, proxy.target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', drop);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    // A server that goes away ends the client's connection the way a dying server does.
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
    pipeThrottled(client, upstream, () => proxy.uploadBytesPerSecond);
    pipeThrottled(upstream, client, () => proxy.bytesPerSecond);
  };
  const listen = (p: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer(handle);
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => {
        const addr = s.address();
        port = typeof addr === 'object' && addr ? addr.port : p;
        server = s;
        resolve();
      });
    });
  await listen(0);
  return proxy;
}
