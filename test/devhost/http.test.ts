// HTTP triggers of the sample app served by devhost as a child process (routes, methods, bodies, response mapping).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;

beforeAll(async () => {
  host = await startDevhost({ appRoot });
});
afterAll(async () => {
  await host?.stop();
});

const get = (p: string, init?: RequestInit) => fetch(`${host.baseUrl}${p}`, init);

describe('http routes', () => {
  it('passes route parameters, an optional parameter and the query to the handler', async () => {
    const res = await get('/api/echo/12/bob?x=1&y=two');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { params: object; query: object; method: string };
    expect(body).toMatchObject({ params: { id: '12', name: 'bob' }, query: { x: '1', y: 'two' }, method: 'GET' });
    const withoutOptional = (await (await get('/api/echo/12')).json()) as { params: object };
    expect(withoutOptional.params).toEqual({ id: '12' });
  });

  it('answers 404 when a constraint does not match', async () => {
    expect((await get('/api/echo/notanint')).status).toBe(404);
  });

  it('answers 404 for a method the function does not accept', async () => {
    expect((await get('/api/put-only')).status).toBe(404);
    expect((await get('/api/put-only', { method: 'PUT' })).status).toBe(200);
  });

  it('answers 404 when no route matches', async () => {
    expect((await get('/api/no/such/route')).status).toBe(404);
  });

  it('routes a literal segment ahead of a catch-all, and gives the catch-all the rest of the path', async () => {
    expect(await (await get('/api/items/SPECIAL')).json()).toEqual({ handler: 'literal' });
    expect(await (await get('/api/items/a/b/c')).json()).toEqual({ handler: 'catchAll', rest: 'a/b/c' });
  });

  it('picks the route whose constraint matches (guid, bool, alpha)', async () => {
    const guid = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect(await (await get(`/api/kinds/${guid}`)).json()).toEqual({ kind: 'guid', value: guid });
    expect(await (await get('/api/kinds/true')).json()).toEqual({ kind: 'bool', value: 'true' });
    expect(await (await get('/api/kinds/abc')).json()).toEqual({ kind: 'alpha', value: 'abc' });
    expect((await get('/api/kinds/12')).status).toBe(404);
  });

  it('delivers a JSON body to the handler', async () => {
    const res = await get('/api/body', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: [1, 2], s: 'é' }),
    });
    expect(await res.json()).toEqual({ received: { a: [1, 2], s: 'é' } });
  });

  it('passes binary bodies byte for byte both ways', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await get('/api/body', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(bytes).reverse());
  });

  it('serialises cookies into Set-Cookie and keeps handler headers', async () => {
    const res = await get('/api/cookies');
    expect(res.headers.get('x-sample')).toBe('yes');
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^session=abc;/);
    expect(cookies[0]).toMatch(/httponly/i);
    expect(cookies[0]).toMatch(/samesite=strict/i);
    expect(cookies[1]).toMatch(/^theme=dark;.*max-age=60/);
  });

  it('keeps the status the handler returned and drops the body of a 204', async () => {
    const created = await get('/api/created');
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ ok: true });
    const none = await get('/api/nocontent');
    expect(none.status).toBe(204);
    expect(await none.text()).toBe('');
  });

  it('answers an empty 200 when the handler returns nothing', async () => {
    const res = await get('/api/nothing');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('answers 500 with an empty body when the handler throws, and logs the error instead', async () => {
    const res = await get('/api/boom');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    await host.waitForLog(/Executed 'Functions\.boom' \(Failed[\s\S]*sensitive detail/);
  });

  it('logs Executing and Executed lines with the same invocation id', async () => {
    await get('/api/created');
    const m = await host.waitForLog(/Executing 'Functions\.created' \(Reason='[^']+', Id=([0-9a-f-]+)\)/);
    await host.waitForLog(new RegExp(`Executed 'Functions\\.created' \\(Succeeded, Id=${m[1]}, Duration=\\d+ms\\)`));
  });

  it('reports Running on /admin/host/status once ready', async () => {
    const res = await get('/admin/host/status');
    expect(await res.json()).toEqual({ state: 'Running' });
  });

  it('does not enforce authLevel keys unless --enable-auth is given', async () => {
    expect((await get('/api/secured')).status).toBe(200);
    expect((await get('/api/adminOnly')).status).toBe(200);
  });
});
