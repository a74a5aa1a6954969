// Backup policy routes (design §3): create (no editing while in use), get, list, delete.

import { isDeepStrictEqual } from 'node:util';
import { PgkeepError } from '../errors';
import type { PolicyRecord } from '../ports';
import type { ApiDeps } from './deps';
import { json, notFound, param, parseJsonBody } from './http';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { listOf, toPolicyResource } from './resources';
import { validName } from '../contracts/resources';
import { parsePolicyBody } from '../contracts/policies';

export async function instancesUsingPolicy(deps: ApiDeps, policyName: string): Promise<string[]> {
  const users: string[] = [];
  for await (const { value } of deps.instances.list()) if (value.policyName === policyName) users.push(value.name);
  return users;
}

export function policyRoutes(deps: ApiDeps) {
  async function put(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    if (!validName(name)) {
      throw new PgkeepError('UserErrorInvalidRequest', `'${name}' is not a valid policy name`, { target: 'name' });
    }
    const { document } = parsePolicyBody(parseJsonBody(req), name);
    // As in ARM, the route names the resource; a name inside the body is ignored (fixtures carry their own).
    const stored: PolicyRecord = {
      name,
      document: { ...document, name },
      createdAt: deps.clock.now().toISOString(),
    };
    const existing = await deps.policies.get(name);
    if (existing) {
      if (isDeepStrictEqual(existing.document, stored.document)) {
        return json(200, toPolicyResource(deps.vaultId, existing));
      }
      const users = await instancesUsingPolicy(deps, name);
      if (users.length > 0) {
        throw new PgkeepError(
          'UserErrorPolicyInUse',
          `policy '${name}' is used by ${users.length} backup instance(s) (${users.slice(0, 5).join(', ')}) and cannot be changed`,
          { target: name },
        );
      }
      // Unused: replacing it cannot change any existing recovery point's retention.
      await deps.policies.delete(name);
      await deps.policies.create(stored);
      return json(200, toPolicyResource(deps.vaultId, stored));
    }
    await deps.policies.create(stored);
    return json(201, toPolicyResource(deps.vaultId, stored));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const p = await deps.policies.get(name);
    if (!p) throw notFound('backup policy', name);
    return json(200, toPolicyResource(deps.vaultId, p));
  }

  async function list(): Promise<ApiResponse> {
    const value = [];
    for await (const p of deps.policies.list()) value.push(toPolicyResource(deps.vaultId, p));
    return json(200, listOf(value));
  }

  async function remove(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const users = await instancesUsingPolicy(deps, name);
    if (users.length > 0) {
      throw new PgkeepError(
        'UserErrorPolicyInUse',
        `policy '${name}' is used by backup instance(s) ${users.slice(0, 5).join(', ')}; move them to another policy first`,
        { target: name },
      );
    }
    const existed = (await deps.policies.get(name)) !== undefined;
    await deps.policies.delete(name);
    return { status: existed ? 200 : 204 };
  }

  return { put, get, list, remove };
}
