// Who is calling: the platform's App Service Authentication principal (`x-ms-client-principal`, set by the platform
// and stripped from incoming requests, so it cannot be forged from outside), else a function key, else nobody known;
// and from where (the first hop of x-forwarded-for). Read by the role check and the audit log alike.

import { roleNames, type CallerRole } from '../contracts/caller';
import type { ApiRequest } from '../contracts/http';
import type { AuditPrincipalKind } from '../ports';

interface ClientPrincipal {
  readonly claims?: readonly { readonly typ?: string; readonly val?: string }[];
  readonly name_typ?: string;
  readonly role_typ?: string;
}

/** The decoded `x-ms-client-principal` header, or undefined when absent or unreadable. */
export function clientPrincipal(req: ApiRequest): ClientPrincipal | undefined {
  const header = req.headers.get('x-ms-client-principal');
  if (!header) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const NAME_CLAIMS = [
  'name',
  'preferred_username',
  'upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
];
const ID_CLAIMS = ['oid', 'http://schemas.microsoft.com/identity/claims/objectidentifier', 'appid', 'azp'];

/** The role claims' values (any strings; the role check keeps the ones it knows). */
export function principalRoles(principal: ClientPrincipal | undefined): string[] {
  const types = new Set([...ROLE_CLAIMS, ...(principal?.role_typ ? [principal.role_typ] : [])]);
  return (principal?.claims ?? []).filter((c) => c.typ !== undefined && types.has(c.typ)).flatMap((c) => c.val ?? []);
}

function claim(principal: ClientPrincipal, types: readonly string[]): string | undefined {
  for (const typ of types) {
    const value = principal.claims?.find((c) => c.typ === typ)?.val;
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

export interface Caller {
  /** The principal's name, "function key" or "anonymous". */
  readonly principal: string;
  readonly kind: AuditPrincipalKind;
}

/**
 * Who made the call: the authenticated principal's name (its name claim, else its object id), else "function key"
 * when the call carries one (x-functions-key or ?code=; the host has checked it), else "anonymous" (local calls).
 * Never the key or a token itself.
 */
export function callerPrincipal(req: ApiRequest): Caller {
  const principal = clientPrincipal(req);
  if (principal !== undefined) {
    const nameTypes = principal.name_typ ? [principal.name_typ, ...NAME_CLAIMS] : NAME_CLAIMS;
    const name =
      claim(principal, nameTypes) ?? req.headers.get('x-ms-client-principal-name') ?? claim(principal, ID_CLAIMS);
    if (name) return { principal: name, kind: 'user' };
  }
  if (req.headers.get('x-functions-key') || req.query.has('code'))
    return { principal: 'function key', kind: 'functionKey' };
  return { principal: 'anonymous', kind: 'anonymous' };
}

/** The client's address: the first hop of x-forwarded-for without its port, or "" when the header is absent. */
export function callerAddress(req: ApiRequest): string {
  const first = (req.headers.get('x-forwarded-for') ?? '').split(',')[0]?.trim() ?? '';
  if (first === '') return '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(first);
  if (bracketed) return bracketed[1]!;
  // IPv4 with a port (App Service appends it); a bare IPv6 address has more than one colon.
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(first);
  if (v4) return v4[1]!;
  return /^[0-9A-Fa-f:.]+$/.test(first) ? first : '';
}

/** The caller's pgkeep roles among its role claims (Reader, Operator, Admin); other role values are ignored. */
export function callerRoles(req: ApiRequest): CallerRole[] {
  const roles = new Set(principalRoles(clientPrincipal(req)));
  return roleNames.filter((r) => roles.has(r));
}

export interface SignedInCaller {
  /** The principal's name as the audit log records it; null without a readable App Service principal. */
  readonly principal: string | null;
  readonly roles: CallerRole[];
  /** Whether the platform vouched for a principal (x-ms-client-principal present and readable). */
  readonly authenticated: boolean;
}

/** The caller as GET /api/me describes it: the same parsing as the role check and the audit log. */
export function signedInCaller(req: ApiRequest): SignedInCaller {
  const who = callerPrincipal(req);
  return {
    principal: who.kind === 'user' ? who.principal : null,
    roles: callerRoles(req),
    authenticated: clientPrincipal(req) !== undefined,
  };
}
