import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationSender, retryAfterSeconds } from '../../../../shared/adapters/http/notification-sender';
import { freePort } from '../../../support/azurite';

let server: Server;
let base: string;
const seen: { path: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/redirect')) res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url?.startsWith('/busy')) res.writeHead(503, { 'retry-after': '120' }).end('busy');
      else if (req.url?.startsWith('/hang'))
        return; // never answers
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const post = (path: string, timeoutMs = 5_000) =>
  createNotificationSender().post({
    url: `${base}${path}`,
    headers: { 'content-type': 'application/json', 'webhook-id': 'abc' },
    body: '{"x":1}',
    timeoutMs,
  });

describe('createNotificationSender', () => {
  it('posts the body and headers and reports the status', async () => {
    expect(await post('/ok?token=t')).toEqual({ kind: 'response', status: 200 });
    expect(seen.at(-1)).toMatchObject({ path: '/ok?token=t', body: '{"x":1}', headers: { 'webhook-id': 'abc' } });
  });

  it('does not follow a redirect', async () => {
    const before = seen.length;
    expect(await post('/redirect')).toEqual({ kind: 'response', status: 302 });
    expect(seen.length).toBe(before + 1);
  });

  it('reads Retry-After', async () => {
    expect(await post('/busy')).toEqual({ kind: 'response', status: 503, retryAfterSeconds: 120 });
  });

  it('describes a timeout and a refused connection without the URL', async () => {
    const timedOut = await post('/hang?token=secret-token', 300);
    expect(timedOut).toEqual({ kind: 'error', message: 'no answer within 0.3 s' });
    const port = await freePort();
    const refused = await createNotificationSender().post({
      url: `http://127.0.0.1:${port}/x?token=secret-token`,
      headers: {},
      body: '',
      timeoutMs: 2_000,
    });
    expect(refused).toEqual({ kind: 'error', message: 'connection failed (ECONNREFUSED)' });
  });
});

describe('retryAfterSeconds', () => {
  it('reads delta-seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    expect(retryAfterSeconds('30', now)).toBe(30);
    expect(retryAfterSeconds('Tue, 10 Mar 2026 12:01:00 GMT', now)).toBe(60);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });
});
