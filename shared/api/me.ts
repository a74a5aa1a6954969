// GET /api/me: who the API thinks is calling and which roles it grants them (contracts/caller.ts). Locally, with
// ENFORCE_CALLER_ROLES off, every caller holds every role.

import { roleNames, type Me } from '../contracts/caller';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { signedInCaller } from './caller';
import type { ApiDeps } from './deps';
import { json } from './http';

export function meRoutes(deps: ApiDeps) {
  function me(req: ApiRequest): Promise<ApiResponse> {
    const caller = signedInCaller(req);
    const body: Me = {
      principal: caller.principal,
      roles: deps.enforceCallerRoles ? caller.roles : [...roleNames],
      authenticated: caller.authenticated,
      rolesEnforced: deps.enforceCallerRoles,
    };
    return Promise.resolve(json(200, body));
  }
  return { me };
}
