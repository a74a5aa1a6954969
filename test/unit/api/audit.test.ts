// The audit log over the API: who, what, when, from where and the outcome of every state-changing call, read back by
// GET /auditLog, and nothing secret in it.
import { describe, expect, it } from 'vitest';
import { auditEntryFor, recordCall } from '../../../shared/api/audit';
import { callerAddress, callerPrincipal } from '../../../shared/api/caller';
import type { ApiRequest } from '../../../shared/contracts/http';
import { auditListSchema } from '../../../shared/contracts/audit';
import type { AuditEntry } from '../../../shared/ports';
import { apiWithInstance, NOW } from './api-support';

function request(method: string, url: string, headers: Record<string, string> = {}): ApiRequest {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const u = new URL(url, 'http://localhost');
  return {
    method,
    params: {},
    query: u.searchParams,
    headers: { get: (n) => h.get(n.toLowerCase()) ?? null },
    url: u.toString(),
  };
}

const principalHeader = (claims: { typ: string; val: string }[], extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ auth_typ: 'aad', claims, ...extra })).toString('base64');

describe('callerPrincipal', () => {
  it('names an App Service Authentication principal by its name claim, else its object id', () => {
    const named = request('POST', '/api/x', {
      'x-ms-client-principal': principalHeader([
        { typ: 'name', val: 'Alice Admin' },
        { typ: 'roles', val: 'Admin' },
      ]),
    });
    expect(callerPrincipal(named)).toEqual({ principal: 'Alice Admin', kind: 'user' });
    const app = request('POST', '/api/x', {
      'x-ms-client-principal': principalHeader([
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'oid-1' },
      ]),
    });
    expect(callerPrincipal(app)).toEqual({ principal: 'oid-1', kind: 'user' });
  });

  it('says "function key" for a call authorised by a key, never the key itself', () => {
    expect(callerPrincipal(request('POST', '/api/x', { 'x-functions-key': 's3cr3t' }))).toEqual({
      principal: 'function key',
      kind: 'functionKey',
    });
    expect(callerPrincipal(request('POST', '/api/x?code=s3cr3t')).principal).toBe('function key');
  });

  it('says "anonymous" when nothing identifies the caller, or the header is unreadable', () => {
    expect(callerPrincipal(request('POST', '/api/x')).principal).toBe('anonymous');
    expect(callerPrincipal(request('POST', '/api/x', { 'x-ms-client-principal': '%%%' })).principal).toBe('anonymous');
  });
});

describe('callerAddress', () => {
  it.each([
    ['203.0.113.7:51234, 10.0.0.1', '203.0.113.7'],
    ['203.0.113.7', '203.0.113.7'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['<script>', ''],
  ])('reads %s as %s', (xff, ip) => {
    expect(callerAddress(request('POST', '/api/x', { 'x-forwarded-for': xff }))).toBe(ip);
  });
});

describe('auditEntryFor', () => {
  it('records who, what, when, from where and the outcome, with the job a 202 names', () => {
    const req = request('POST', '/api/backupInstances/orders/backup', {
      'x-ms-client-principal': principalHeader([{ typ: 'name', val: 'op@example.com' }]),
      'x-forwarded-for': '198.51.100.4:1234',
    });
    const entry = auditEntryFor(
      'backupNowHttp',
      req,
      { status: 202, headers: { Location: '/api/backupJobs/j-1' } },
      new Date(NOW),
    );
    expect(entry).toMatchObject({
      time: NOW,
      principal: 'op@example.com',
      principalKind: 'user',
      action: 'backupNowHttp',
      target: 'POST /api/backupInstances/orders/backup',
      clientIp: '198.51.100.4',
      outcome: 'Succeeded',
      status: 202,
      jobId: 'j-1',
    });
  });

  it('records a refused call as Failed with its error code', () => {
    const res = { status: 409, jsonBody: { error: { code: 'UserErrorPolicyInUse', message: 'in use' } } };
    expect(auditEntryFor('putPolicy', request('PUT', '/api/backupPolicies/p'), res, new Date(NOW))).toMatchObject({
      outcome: 'Failed',
      status: 409,
      errorCode: 'UserErrorPolicyInUse',
    });
  });

  it('keeps nothing secret: no query string (function key, SAS), no body, no header values but name and address', () => {
    const secrets = ['codeSECRET', 'sigSECRET', 'Password=bodySECRET', 'keySECRET'];
    const req = {
      ...request('POST', '/api/backupInstances/orders/restore?code=codeSECRET&sig=sigSECRET', {
        'x-functions-key': 'keySECRET',
        authorization: 'Bearer keySECRET',
      }),
      body: JSON.stringify({ url: 'https://a.blob.core.windows.net/c?sig=sigSECRET', conn: 'Password=bodySECRET' }),
    };
    const text = JSON.stringify(auditEntryFor('restoreHttp', req, { status: 202 }, new Date(NOW)));
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});

describe('recordCall', () => {
  it('records state-changing calls only, and answers even when the audit write fails (logging the failure)', async () => {
    const api = await apiWithInstance();
    const appended: AuditEntry[] = [];
    const store = {
      append: (e: AuditEntry) => (appended.push(e), Promise.resolve()),
      list: (f: Parameters<typeof api.stores.auditLog.list>[0]) => api.stores.auditLog.list(f),
    };
    await recordCall(
      store,
      'getInstance',
      request('GET', '/api/backupInstances/orders'),
      { status: 200 },
      new Date(NOW),
      () => undefined,
    );
    await recordCall(
      store,
      'putPolicy',
      request('PUT', '/api/backupPolicies/p'),
      { status: 201 },
      new Date(NOW),
      () => undefined,
    );
    expect(appended.map((e) => e.action)).toEqual(['putPolicy']);
    const errors: string[] = [];
    const failing = {
      append: () => Promise.reject(new Error('table down')),
      list: (f: Parameters<typeof api.stores.auditLog.list>[0]) => api.stores.auditLog.list(f),
    };
    await recordCall(
      failing,
      'putPolicy',
      request('PUT', '/api/backupPolicies/p'),
      { status: 201 },
      new Date(NOW),
      (m) => errors.push(m),
    );
    expect(errors).toEqual(['audit log write failed']);
  });
});

describe('GET /auditLog', () => {
  it('lists entries newest first, filtered by principal and time, in the declared shape', async () => {
    const api = await apiWithInstance();
    const at = (h: number) => new Date(Date.parse(NOW) - h * 3_600_000).toISOString();
    const base = {
      principalKind: 'user' as const,
      action: 'putPolicy',
      target: 'PUT /api/backupPolicies/p',
      clientIp: '',
      outcome: 'Succeeded' as const,
      status: 201,
    };
    await api.stores.auditLog.append({ ...base, id: 'a', time: at(3), principal: 'alice' });
    await api.stores.auditLog.append({ ...base, id: 'b', time: at(2), principal: 'queue', principalKind: 'queue' });
    await api.stores.auditLog.append({ ...base, id: 'c', time: at(1), principal: 'alice' });
    const all = await api.call('GET', 'auditLog');
    expect(all.status).toBe(200);
    const parsed = auditListSchema.parse(all.jsonBody);
    expect(parsed).toStrictEqual(all.jsonBody);
    expect(parsed.value.map((e) => e.id)).toEqual(['c', 'b', 'a']);
    const alice = await api.call('GET', `auditLog?principal=alice&from=${encodeURIComponent(at(2.5))}`);
    expect((alice.jsonBody as { value: { id: string }[] }).value.map((e) => e.id)).toEqual(['c']);
    const bad = await api.call('GET', 'auditLog?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.error.details?.[0]?.target).toBe('$.from');
  });
});
