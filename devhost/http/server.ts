// The HTTP front door: durable webhooks first, then the admin API (host status, run a non-HTTP function now), then
// HTTP-triggered functions by route template and method, with optional key auth and local CORS.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { httpPortInUse } from '../ports';
import type { RegisteredFunction } from '../core-shim';
import { triggerOf } from '../loader';
import { runFunction, type HostRuntime } from '../run';
import { compileRoute, matchRoute, sortRoutes, type CompiledRoute } from './routes';
import { writeHttpResponse, type RpcHttpResponse } from './response';

export interface DurableHttpHandler {
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

export interface AuthKeys {
  master: string;
  /** Host-level function key ("default"): accepted by every function-level route. */
  function: string;
}

export interface HttpServerOptions {
  rt: HostRuntime;
  port: number;
  enableAuth: boolean;
  keys: AuthKeys;
  cors: string[];
  corsCredentials: boolean;
  durable: () => DurableHttpHandler | undefined;
  /** Runs a timer/queue function now; false when no such non-HTTP function exists. */
  runNonHttp: (name: string, input: string) => boolean;
}

interface HttpRouteTarget {
  fn: RegisteredFunction;
  methods: string[] | undefined;
  authLevel: string;
  triggerKey: string;
}

export function generateKey(): string {
  return randomBytes(30).toString('base64url');
}

function keyMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0' });
  res.end();
}

/** What GET /admin/host/status answers, as the host's states are named. */
export type HostState = 'Initialized' | 'Running' | 'Stopping';

export class HttpServer {
  readonly routes: CompiledRoute<HttpRouteTarget>[];
  private readonly server: Server;
  private state: HostState = 'Initialized';
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly opts: HttpServerOptions,
    functions: RegisteredFunction[],
  ) {
    const compiled: CompiledRoute<HttpRouteTarget>[] = [];
    const prefix = opts.rt.hostJson.routePrefix;
    for (const fn of functions) {
      const t = triggerOf(fn);
      if (t.type !== 'httpTrigger') continue;
      const route = typeof t.binding.route === 'string' && t.binding.route !== '' ? t.binding.route : fn.name;
      const template = [prefix, route.replace(/^\/+/, '')].filter((s) => s !== '').join('/');
      const methods = Array.isArray(t.binding.methods)
        ? (t.binding.methods as string[]).map((m) => m.toUpperCase())
        : undefined;
      const authLevel = typeof t.binding.authLevel === 'string' ? t.binding.authLevel.toLowerCase() : 'function';
      compiled.push(compileRoute(template, { fn, methods, authLevel, triggerKey: t.key }));
    }
    this.routes = sortRoutes(compiled);
    this.server = createServer((req, res) => {
      this.inFlight++;
      this.handle(req, res)
        .catch((err: unknown) => {
          opts.rt.log(
            `http: ${req.method} ${req.url} failed in devhost: ${err instanceof Error ? err.stack : String(err)}`,
          );
          if (!res.headersSent) sendEmpty(res, 500);
          else res.destroy();
        })
        .finally(() => {
          if (--this.inFlight === 0) for (const done of this.idle.splice(0)) done();
        });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? httpPortInUse(this.opts.port) : err),
      );
      // No host: the dual-stack wildcard, so both localhost (often ::1) and 127.0.0.1 reach it, as with Core Tools.
      this.server.listen(this.opts.port, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  setReady(): void {
    if (this.state === 'Initialized') this.state = 'Running';
  }

  /**
   * Stops taking requests: the listener closes at once (new connections are refused), and a request that still
   * arrives on an open keep-alive connection gets 503 — /admin/host/status answers Stopping. Requests already being
   * handled go on; idle() says when they are done.
   */
  beginStopping(): void {
    if (this.state === 'Stopping') return;
    this.state = 'Stopping';
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Resolves when no request is being handled. */
  idleNow(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** Drops every connection, finished or not. */
  close(): void {
    this.beginStopping();
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? `localhost:${this.opts.port}`;
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = (req.method ?? 'GET').toUpperCase();

    if (this.state === 'Stopping') res.setHeader('connection', 'close');
    if (url.pathname === '/admin/host/status') return sendJson(res, 200, { state: this.state });
    if (this.state !== 'Running') return sendEmpty(res, 503);
    if (this.applyCors(req, res, method)) return;

    const durable = this.opts.durable();
    if (durable && (await durable.handleHttp(req, res, url))) return;

    const admin = /^\/admin\/functions\/([^/]+)\/?$/.exec(url.pathname);
    if (admin && method === 'POST') return this.adminRun(req, res, decodeURIComponent(admin[1]!));

    const candidates: [CompiledRoute<HttpRouteTarget>, Record<string, string>][] = [];
    for (const route of this.routes) {
      const params = matchRoute(route, url.pathname);
      if (params) candidates.push([route, params]);
    }
    const hit = candidates.find(([r]) => !r.target.methods || r.target.methods.includes(method));
    if (!hit && url.pathname === '/' && (method === 'GET' || method === 'HEAD')) {
      // The host's own root page, unless a function serves the root (routePrefix "" and a route matching "/").
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(method === 'HEAD' ? undefined : 'devhost: the Functions host is running\n');
    }
    if (!hit) return sendEmpty(res, 404);
    const [route, params] = hit;
    if (!this.authorised(req, url, route.target.authLevel)) return sendEmpty(res, 401);

    const body = await readBody(req);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const rpcHttp = {
      method,
      url: url.href,
      headers,
      params,
      ...(body.length > 0 && method !== 'GET' && method !== 'HEAD' ? { body: { bytes: body } } : {}),
    };
    const { fn } = route.target;
    const result = await runFunction(this.opts.rt, fn, {
      reason: 'This function was programmatically called via the host APIs.',
      triggerData: { http: rpcHttp },
    });
    if (result.error) return sendEmpty(res, 500); // the host never leaks the exception to the caller
    const outKey = Object.entries(fn.bindings).find(([, b]) => b.type === 'http' && b.direction === 'out')?.[0];
    const data = outKey === '$return' ? result.returnValue : result.outputData.find((o) => o.name === outKey)?.data;
    writeHttpResponse(res, data?.http as RpcHttpResponse | undefined, method === 'HEAD');
  }

  private authorised(req: IncomingMessage, url: URL, level: string): boolean {
    if (!this.opts.enableAuth || level === 'anonymous') return true;
    const header = req.headers['x-functions-key'];
    const given = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('code') ?? undefined;
    if (keyMatches(given, this.opts.keys.master)) return true;
    return level !== 'admin' && keyMatches(given, this.opts.keys.function);
  }

  private async adminRun(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (this.opts.enableAuth && !this.authorised(req, new URL('http://x/'), 'admin')) return sendEmpty(res, 401);
    const raw = (await readBody(req)).toString('utf8');
    let input = '';
    if (raw.trim() !== '') {
      try {
        const parsed = JSON.parse(raw) as { input?: unknown };
        input =
          typeof parsed.input === 'string'
            ? parsed.input
            : parsed.input === undefined
              ? ''
              : JSON.stringify(parsed.input);
      } catch {
        return sendJson(res, 400, { error: 'body must be JSON like {"input":"..."}' });
      }
    }
    const fnName = [...this.opts.rt.registry.functions.keys()].find((n) => n.toLowerCase() === name.toLowerCase());
    if (!fnName || !this.opts.runNonHttp(fnName, input)) return sendEmpty(res, 404);
    sendEmpty(res, 202);
  }

  /** Local CORS from local.settings.json Host.CORS; returns true when it answered a preflight itself. */
  private applyCors(req: IncomingMessage, res: ServerResponse, method: string): boolean {
    const origin = req.headers.origin;
    if (!origin || this.opts.cors.length === 0) return false;
    const allowed = this.opts.cors.includes('*') || this.opts.cors.includes(origin);
    if (!allowed) return false;
    res.setHeader(
      'access-control-allow-origin',
      this.opts.cors.includes('*') && !this.opts.corsCredentials ? '*' : origin,
    );
    if (this.opts.corsCredentials) res.setHeader('access-control-allow-credentials', 'true');
    if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS');
      const h = req.headers['access-control-request-headers'];
      if (h) res.setHeader('access-control-allow-headers', h);
      sendEmpty(res, 204);
      return true;
    }
    return false;
  }
}
