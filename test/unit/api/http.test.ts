// API plumbing: JSON paths, errors that never leak internals, caller roles, the route table's roles, and the body
// size limit of the Functions adapter (413 before the body is parsed).
import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { toApiRequest } from '../../../shared/adapters/functions/functions-http';
import { runHandler } from '../../../shared/api/http';
import { jsonPath } from '../../../shared/contracts/validation';
import type { ApiRequest } from '../../../shared/contracts/http';
import {
  apiAuthLevel,
  apiRoutes,
  callerRoles,
  catchAllFunctionName,
  requireRole,
  type CallerRole,
} from '../../../shared/api/routes';
import { callerPrincipal, signedInCaller } from '../../../shared/api/caller';
import { PgkeepError } from '../../../shared/errors';

function request(headers: Record<string, string> = {}): ApiRequest {
  return {
    method: 'GET',
    params: {},
    query: new URLSearchParams(),
    headers: { get: (n) => headers[n.toLowerCase()] ?? null },
    url: 'http://localhost/api/x',
  };
}

function principal(...roles: string[]): Record<string, string> {
  const p = { auth_typ: 'aad', claims: roles.map((val) => ({ typ: 'roles', val })) };
  return { 'x-ms-client-principal': Buffer.from(JSON.stringify(p)).toString('base64') };
}

async function failure(fn: () => unknown): Promise<PgkeepError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof PgkeepError) return err;
    throw err;
  }
  throw new Error('expected a PgkeepError');
}

describe('jsonPath', () => {
  it('writes identifiers with dots, indexes in brackets and other keys quoted', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['properties', 'policyRules', 2, 'name'])).toBe('$.properties.policyRules[2].name');
    expect(jsonPath(['a b', 'x.y'])).toBe('$["a b"]["x.y"]');
  });
});

describe('runHandler', () => {
  it('turns a PgkeepError into its status and Azure error body', async () => {
    const res = await runHandler(
      () => Promise.reject(new PgkeepError('UserErrorPolicyInUse', 'in use', { target: 'p' })),
      request(),
      { error: () => undefined },
    );
    expect(res).toEqual({
      status: 409,
      jsonBody: {
        error: { code: 'UserErrorPolicyInUse', message: 'in use', target: 'p', hint: expect.any(String) as string },
      },
    });
  });

  it('answers any other failure with 500 SystemErrorInternal, keeping its text in the log only', async () => {
    const logged: string[] = [];
    const res = await runHandler(() => Promise.reject(new Error('Password=hunter2 at line 3')), request(), {
      error: (m, props) => logged.push(`${m} ${JSON.stringify(props)}`),
    });
    expect(res.status).toBe(500);
    expect(res.jsonBody).toEqual({
      error: { code: 'SystemErrorInternal', message: 'internal error', hint: expect.any(String) as string },
    });
    expect(logged.join('')).toContain('hunter2');
  });
});

describe('requireRole', () => {
  it('answers a caller without a principal with 401', async () => {
    expect((await failure(() => requireRole(request(), 'Reader'))).status).toBe(401);
    const garbage = request({ 'x-ms-client-principal': 'not base64 json' });
    expect((await failure(() => requireRole(garbage, 'Reader'))).status).toBe(401);
  });

  it('answers a caller whose roles are too weak with 403, and lets stronger roles through', async () => {
    const reader = request(principal('Reader'));
    expect((await failure(() => requireRole(reader, 'Operator'))).status).toBe(403);
    expect(() => requireRole(reader, 'Reader')).not.toThrow();
    expect(() => requireRole(request(principal('Admin')), 'Operator')).not.toThrow();
    expect(callerRoles(request(principal('Operator', 'SomethingElse')))).toEqual(['Operator']);
  });

  it('gives each route the role of design §12: Reader reads, Operator backs up, Admin configures', () => {
    const byName = Object.fromEntries(apiRoutes.map((r) => [r.name, r.role])) as Record<string, CallerRole>;
    // Health is for uptime monitors and /me for the console to learn who it is: no key, no role; the handlers decide
    // what they show.
    const anonymous = apiRoutes.filter((x) => x.role === 'Anonymous').map((x) => x.route);
    expect(anonymous.sort()).toEqual(['health', 'health/live', 'me']);
    // Reads are Reader's, except the audit log: who did what is for Admins (issue 16).
    for (const r of apiRoutes.filter(
      (x) => x.method === 'GET' && x.role !== 'Anonymous' && x.name !== 'listAuditLog',
    )) {
      expect(r.role, r.name).toBe('Reader');
    }
    expect(byName.listAuditLog).toBe('Admin');
    expect(byName.simulatePolicy).toBe('Reader');
    expect(byName.validateNewForBackup).toBe('Admin');
    expect(byName.backupNowHttp).toBe('Operator');
    expect(byName.validateForBackupHttp).toBe('Operator');
    for (const name of [
      'putPolicy',
      'deletePolicy',
      'putInstance',
      'deleteInstance',
      'stopProtection',
      'resumeProtection',
      'rewrapRecoveryPointHttp',
      'rewrapInstanceHttp',
      'putNotificationChannel',
      'deleteNotificationChannel',
    ]) {
      expect(byName[name], name).toBe('Admin');
    }
  });
});

describe('signedInCaller (GET /api/me)', () => {
  const header = (p: object) => ({ 'x-ms-client-principal': Buffer.from(JSON.stringify(p)).toString('base64') });

  it('reads the name claim the principal names and the roles of its role claim type', () => {
    const caller = signedInCaller(
      request(
        header({
          auth_typ: 'aad',
          name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
          role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
          claims: [
            { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', val: 'ops@example.com' },
            { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'Operator' },
            { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'Unrelated' },
            { typ: 'roles', val: 'Operator' },
          ],
        }),
      ),
    );
    expect(caller).toEqual({ principal: 'ops@example.com', roles: ['Operator'], authenticated: true });
  });

  it('names a service principal by its app id when it has no name claim', () => {
    const caller = signedInCaller(
      request(
        header({
          claims: [
            { typ: 'appid', val: 'a1b2' },
            { typ: 'roles', val: 'Reader' },
          ],
        }),
      ),
    );
    expect(caller).toEqual({ principal: 'a1b2', roles: ['Reader'], authenticated: true });
    // The audit log names the same caller the same way: one parsing (shared/api/caller.ts).
    expect(signedInCaller(request(header({ claims: [{ typ: 'appid', val: 'a1b2' }] }))).principal).toBe(
      callerPrincipal(request(header({ claims: [{ typ: 'appid', val: 'a1b2' }] }))).principal,
    );
  });

  it('treats a missing or unreadable header as an unauthenticated caller without roles', () => {
    expect(signedInCaller(request())).toEqual({ principal: null, roles: [], authenticated: false });
    expect(signedInCaller(request({ 'x-ms-client-principal': '%%%' }))).toEqual({
      principal: null,
      roles: [],
      authenticated: false,
    });
  });
});

describe('apiAuthLevel', () => {
  it('needs no function key when caller roles are enforced, a key otherwise or when the setting cannot be read', () => {
    expect(apiAuthLevel(() => true)).toBe('anonymous');
    expect(apiAuthLevel(() => false)).toBe('function');
    expect(
      apiAuthLevel(() => {
        throw new Error('ENFORCE_CALLER_ROLES must be true or false');
      }),
    ).toBe('function');
  });
});

describe('catchAllFunctionName', () => {
  // The Functions host orders HTTP routes by function name (OrdinalIgnoreCase) and takes the first match.
  const ordinalIgnoreCase = (a: string, b: string) => {
    const [x, y] = [a.toUpperCase(), b.toUpperCase()];
    return x < y ? -1 : x > y ? 1 : 0;
  };

  it('sorts after every other HTTP function, so that the catch-all never swallows their routes in Azure', () => {
    const others = [...apiRoutes.map((r) => r.name), 'health'];
    for (const name of others) expect(ordinalIgnoreCase(name, catchAllFunctionName), name).toBe(-1);
  });
});

describe('toApiRequest', () => {
  it('refuses a body larger than the limit with 413, by its declared length or by what arrived', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(5000) });
    const declared = new HttpRequest({
      method: 'PUT',
      url: 'http://localhost/api/backupPolicies/p',
      headers: { 'content-length': String(body.length) },
      body: { string: body },
    });
    const e1 = await failure(() => toApiRequest(declared, 2048));
    expect([e1.status, e1.code]).toEqual([413, 'UserErrorInvalidRequest']);
    const undeclared = new HttpRequest({ method: 'PUT', url: 'http://localhost/api/x', body: { string: body } });
    expect((await failure(() => toApiRequest(undeclared, 2048))).status).toBe(413);
  });

  it('passes a body within the limit, the route parameters and the query through', async () => {
    const req = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/backupInstances/orders/backup?x=1',
      body: { string: '{"a":1}' },
      params: { name: 'orders' },
      query: { x: '1' },
    });
    const api = await toApiRequest(req, 2048);
    expect(api).toMatchObject({ method: 'POST', body: '{"a":1}', params: { name: 'orders' } });
    expect(api.query.get('x')).toBe('1');
  });
});
