// Starts a throwaway in-memory Azurite on free ports for a test file, and stops it.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { AZURITE_LIFELINE, azuriteCli } from '../../devhost/azurite';
import { spawnOwned, unregisterOwned } from './processes';

export interface AzuriteInstance {
  readonly pid: number;
  readonly connectionString: string;
  readonly blobPort: number;
  readonly queuePort: number;
  readonly tablePort: number;
  stop(): Promise<void>;
}

const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function azuriteConnectionString(blobPort: number, queuePort: number, tablePort: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${ACCOUNT};QueueEndpoint=http://127.0.0.1:${queuePort}/${ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${tablePort}/${ACCOUNT};`
  );
}

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`azurite exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`azurite did not listen on ${port} in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StartAzuriteOptions {
  /** Keep data on disk in this folder instead of in memory (benchmarks: a large blob must not sit in RAM). */
  readonly location?: string;
  /**
   * Blob metadata in this MySQL/MariaDB database (Azurite's AZURITE_DB, handed over in the child's environment, never
   * in argv) instead of its in-process LokiJS collections; needs `location`.
   */
  readonly blobMetadataDb?: string;
}

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteInstance> {
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  // devhost's lifeline: Azurite stops once, writing its data, when stop() or the death of this process closes stdin.
  const child = spawnOwned(
    process.execPath,
    [
      '-e',
      AZURITE_LIFELINE,
      azuriteCli(),
      '--silent',
      ...(options.location !== undefined ? ['--location', options.location] : ['--inMemoryPersistence']),
      // Tests and benchmarks do not phone home (and the lookups of the telemetry endpoint fail offline anyway).
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--disableProductStyleUrl',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(blobPort),
      '--queueHost',
      '127.0.0.1',
      '--queuePort',
      String(queuePort),
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(tablePort),
    ],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      ...(options.blobMetadataDb !== undefined && { env: { ...process.env, AZURITE_DB: options.blobMetadataDb } }),
    },
  );
  try {
    await Promise.all([blobPort, queuePort, tablePort].map((p) => waitForPort(p, child, 30_000)));
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid: child.pid!,
    connectionString: azuriteConnectionString(blobPort, queuePort, tablePort),
    blobPort,
    queuePort,
    tablePort,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          unregisterOwned(child.pid!);
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.stdin?.end();
      }),
  };
}
