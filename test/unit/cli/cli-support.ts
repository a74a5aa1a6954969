// A real HTTP server on a free loopback port standing in for the pgkeep API: each test answers requests its own way
// and reads what the CLI sent (method, path, query, headers). The CLI's fetch and error handling run unchanged.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliIo } from '../../../cli/io';

export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  readonly raw?: string;
}

export interface ScriptedApi {
  /** http://127.0.0.1:<port>/api */
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startScriptedApi(answer: (req: SeenRequest) => Answer): Promise<ScriptedApi> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://x'),
        headers: req.headers,
        body,
      };
      seen.push(request);
      const a = answer(request);
      const text = a.raw ?? (a.body === undefined ? '' : JSON.stringify(a.body));
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CapturedIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
  /** Presses Ctrl-C: calls every handler registered with onInterrupt. */
  interrupt(): void;
}

export function captureIo(env: Record<string, string> = {}, now?: () => number): CapturedIo {
  let out = '';
  let err = '';
  const handlers = new Set<() => void>();
  return {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    readFile: () => Promise.reject(Object.assign(new Error('no files here'), { code: 'ENOENT' })),
    env,
    onInterrupt: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    ...(now && { now }),
    out: () => out,
    err: () => err,
    interrupt: () => {
      for (const h of handlers) h();
    },
  };
}
