// API plumbing: JSON paths, errors that never leak internals, caller roles, the route table's roles, and the body
// size limit of the Functions adapter (413 before the body is parsed).
import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { toApiRequest } from '../../../shared/adapters/functions/functions-http';
import { runHandler } from '../../../shared/api/http';
import { jsonPath } from '../../../shared/contracts/validation';
import type { ApiRequest } from '../../../shared/contracts/http';
import { apiRoutes, callerRoles, requireRole, type CallerRole } from '../../../shared/api/routes';
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
    // Health is for uptime monitors: anonymous, and the handler shows details to Readers only.
    const anonymous = apiRoutes.filter((x) => x.role === 'Anonymous').map((x) => x.route);
    expect(anonymous).toEqual(['health', 'health/live']);
    // Reads are Reader's, except the audit log: who did what is for Admins (issue 16).
    for (const r of apiRoutes.filter(
      (x) => x.method === 'GET' && x.role !== 'Anonymous' && x.name !== 'listAuditLog',
    )) {
      expect(r.role, r.name).toBe('Reader');
    }
    expect(byName.listAuditLog).toBe('Admin');
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
