// The audit log (issue 16): every state-changing call (any method but GET) is recorded after it was answered, with
// who, what, when, from where and the outcome; GET /api/auditLog (Admin) reads it. Entries are built from the route,
// the path and the response status only — never the body, the query string or a header's value beyond the caller's
// name and address — so nothing secret can reach the log.

import { randomUUID } from 'node:crypto';
import type { AuditEntry, AuditLogStore } from '../ports';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { auditQuerySchema } from '../contracts/audit';
import { validate } from '../contracts/validation';
import { isErrorCode } from '../errors';
import type { ApiDeps } from './deps';
import { callerAddress, callerPrincipal } from './caller';
import { json } from './http';
import { listOf } from './resources';

/** Whether a call of this method is audited: everything that can change state (all but GET/HEAD/OPTIONS). */
export function isAudited(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

/** The job a response names: its Location header (202) or the job resource it returns. */
function jobIdOf(res: ApiResponse): string | undefined {
  const location = res.headers?.['Location'] ?? res.headers?.['location'];
  const m = location === undefined ? null : /\/backupJobs\/([^/?#]+)$/.exec(location);
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
}

function errorCodeOf(res: ApiResponse): AuditEntry['errorCode'] {
  const code = (res.jsonBody as { error?: { code?: unknown } } | undefined)?.error?.code;
  return isErrorCode(code) ? code : undefined;
}

/** The audit entry of one answered call. `action` is the route's function name (putInstance, restoreHttp, …). */
export function auditEntryFor(action: string, req: ApiRequest, res: ApiResponse, now: Date): AuditEntry {
  const caller = callerPrincipal(req);
  const failed = res.status >= 400;
  const errorCode = failed ? errorCodeOf(res) : undefined;
  const jobId = jobIdOf(res);
  return {
    id: randomUUID(),
    time: now.toISOString(),
    principal: caller.principal,
    principalKind: caller.kind,
    action,
    // The path only: a query string may carry a function key (?code=) or a SAS.
    target: `${req.method.toUpperCase()} ${new URL(req.url, 'http://localhost').pathname}`,
    clientIp: callerAddress(req),
    outcome: failed ? 'Failed' : 'Succeeded',
    status: res.status,
    ...(errorCode !== undefined ? { errorCode } : {}),
    ...(jobId !== undefined ? { jobId } : {}),
  };
}

/**
 * Records an answered call when it is audited. The call has already happened, so a failed write cannot undo it: it
 * is reported to `logError` (the app log, where alerts on errors see it) rather than changing the answer.
 */
export async function recordCall(
  audit: AuditLogStore,
  action: string,
  req: ApiRequest,
  res: ApiResponse,
  now: Date,
  logError: (message: string, props?: Record<string, unknown>) => void,
): Promise<void> {
  if (!isAudited(req.method)) return;
  const entry = auditEntryFor(action, req, res, now);
  try {
    await audit.append(entry);
  } catch (err) {
    logError('audit log write failed', {
      action: entry.action,
      target: entry.target,
      principal: entry.principal,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Entries per page of GET /auditLog; a longer answer carries a nextLink. */
export const AUDIT_PAGE_SIZE = 1000;

export function auditRoutes(deps: ApiDeps) {
  async function list(req: ApiRequest): Promise<ApiResponse> {
    const q = validate(auditQuerySchema, Object.fromEntries(req.query.entries()), 'query');
    const from = q.from ? new Date(q.from).toISOString() : undefined;
    const value: AuditEntry[] = [];
    let more = false;
    for await (const entry of deps.auditLog.list({
      ...(from ? { from } : {}),
      ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
      ...(q.principal ? { principal: q.principal } : {}),
    })) {
      // A page ends between two instants, never inside one: the next page's exclusive `to` loses nothing.
      if (value.length >= AUDIT_PAGE_SIZE && entry.time !== value.at(-1)?.time) {
        more = true;
        break;
      }
      value.push(entry);
    }
    if (!more) return json(200, listOf(value));
    const next = new URL(req.url, 'http://localhost');
    next.search = '';
    if (from) next.searchParams.set('from', from);
    next.searchParams.set('to', value.at(-1)!.time);
    if (q.principal) next.searchParams.set('principal', q.principal);
    return json(200, listOf(value, `${next.pathname}${next.search}`));
  }
  return { list };
}
