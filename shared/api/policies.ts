// Backup policy routes (design §3): create (no editing while in use), get, list, delete.

import { isDeepStrictEqual } from 'node:util';
import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { summarizePolicy } from '../domain/describe';
import { simulateRetentionOverTime } from '../domain/simulation';
import { validate } from '../contracts/validation';
import type { PolicyRecord } from '../ports';
import type { ApiDeps } from './deps';
import { json, notFound, param, parseJsonBody } from './http';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { listOf, toPolicyResource } from './resources';
import { validName } from '../contracts/resources';
import {
  parsePolicyBody,
  policyQuerySchema,
  policySimulationRequestSchema,
  type PolicySimulation,
} from '../contracts/policies';

/** The resource, with the policy in words next to its properties when the query asks for $expand=summary. */
function resourceOf(deps: ApiDeps, record: PolicyRecord, req: ApiRequest) {
  const q = validate(policyQuerySchema, { $expand: req.query.get('$expand') ?? undefined }, 'query');
  const resource = toPolicyResource(deps.vaultId, record);
  if (q.$expand !== 'summary') return resource;
  const parsed = parsePolicy(record.document, { name: record.name });
  // A stored policy was valid when accepted; one the validator grew stricter against is listed without words.
  return parsed.ok ? { ...resource, summary: summarizePolicy(parsed.value) } : resource;
}

const simulationMonths = (years: number) => years * 12;

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
    return json(200, resourceOf(deps, p, req));
  }

  async function list(req: ApiRequest): Promise<ApiResponse> {
    const value = [];
    for await (const p of deps.policies.list()) value.push(resourceOf(deps, p, req));
    return json(200, listOf(value));
  }

  /**
   * POST /backupPolicies/simulate: a policy (saved or not) in words and, month by month over `years` (default 10),
   * how many points of each tag each tier would hold if every scheduled backup succeeded (domain/simulation.ts, the
   * planner `pgkeep policy simulate` runs).
   */
  function simulate(req: ApiRequest): Promise<ApiResponse> {
    // Pure computation: a thrown validation error becomes the rejection runHandler answers with.
    return new Promise((resolve) => resolve(json(200, simulation(req))));
  }

  function simulation(req: ApiRequest): PolicySimulation {
    const body = validate(policySimulationRequestSchema, parseJsonBody(req), 'simulation request');
    const named = typeof body.policy.name === 'string' && body.policy.name.trim() !== '' ? body.policy.name : 'draft';
    const { policy } = parsePolicyBody(body.policy, named, '.policy');
    const from = new Date(body.from ?? deps.clock.now().toISOString());
    const months = simulationMonths(body.years ?? 10);
    const at = (m: number) =>
      new Date(
        Date.UTC(
          from.getUTCFullYear(),
          from.getUTCMonth() + m,
          from.getUTCDate(),
          from.getUTCHours(),
          from.getUTCMinutes(),
        ),
      ).toISOString();
    const sampleTimes = Array.from({ length: months }, (_, i) => at(i + 1));
    const fromIso = from.toISOString();
    const to = sampleTimes.at(-1)!;
    return {
      summary: summarizePolicy(policy),
      from: fromIso,
      to,
      samples: simulateRetentionOverTime(policy, fromIso, to, sampleTimes),
    };
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

  return { put, get, list, remove, simulate };
}
