// The caller of a request as App Service Authentication describes it in `x-ms-client-principal` (base64 JSON with
// auth_typ, name_typ, role_typ and claims[]): its name and its pgkeep roles. Only the platform can set that header
// (it overwrites what a client sends), which is why ENFORCE_CALLER_ROLES is on only behind App Service Authentication.

import { roleNames, type CallerRole } from '../contracts/caller';
import type { ApiRequest } from '../contracts/http';

export interface CallerPrincipal {
  /** The principal's name claim (a user's UPN, an app's id); null without a readable principal. */
  readonly principal: string | null;
  readonly roles: CallerRole[];
  readonly authenticated: boolean;
}

interface ClientPrincipal {
  name_typ?: string;
  role_typ?: string;
  claims?: { typ?: string; val?: string }[];
}

const roleClaimTypes = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const nameClaimTypes = [
  'name',
  'preferred_username',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'appid',
  'azp',
];

const nobody: CallerPrincipal = { principal: null, roles: [], authenticated: false };

/** Parses `x-ms-client-principal`; a missing or unreadable header is an unauthenticated caller, never an error. */
export function callerPrincipal(req: Pick<ApiRequest, 'headers'>): CallerPrincipal {
  const header = req.headers.get('x-ms-client-principal');
  if (!header) return nobody;
  let parsed: ClientPrincipal;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as ClientPrincipal;
  } catch {
    return nobody;
  }
  const claims = Array.isArray(parsed.claims) ? parsed.claims : [];
  const valuesOf = (types: readonly string[]) =>
    types.flatMap((t) => claims.filter((c) => c.typ === t && typeof c.val === 'string').map((c) => c.val!));
  const roleTypes = parsed.role_typ ? [parsed.role_typ, ...roleClaimTypes] : roleClaimTypes;
  const roles = [...new Set(valuesOf(roleTypes))].filter((r): r is CallerRole =>
    (roleNames as readonly string[]).includes(r),
  );
  const name = valuesOf(parsed.name_typ ? [parsed.name_typ, ...nameClaimTypes] : nameClaimTypes)[0];
  return { principal: name ?? req.headers.get('x-ms-client-principal-name'), roles, authenticated: true };
}
