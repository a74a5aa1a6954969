// Recovery point routes (design §3): list newest first (optionally bounded by time), get one with its manifest.

import type { ApiDeps } from './deps';
import { json, notFound, param } from './http';
import { validate } from '../contracts/validation';
import { recoveryPointRangeSchema } from '../contracts/recovery-points';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { loadInstance } from './instances';
import { listOf, toRecoveryPointResource } from './resources';

export function recoveryPointRoutes(deps: ApiDeps) {
  async function list(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    // A deleted instance's kept points stay listable until they expire.
    await loadInstance(deps, name, { includeDeleted: true });
    const q = validate(recoveryPointRangeSchema, Object.fromEntries(req.query.entries()), 'query');
    const range = {
      ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
      ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
    };
    const value = [];
    for await (const { value: rp } of deps.recoveryPoints.list(name, range)) {
      if (rp.status === 'Available') value.push(toRecoveryPointResource(deps.vaultId, rp));
    }
    return json(200, listOf(value));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const id = param(req, 'id');
    const stored = await deps.recoveryPoints.get(name, id);
    if (!stored || stored.value.status === 'Deleted') throw notFound('recovery point', `${name}/${id}`);
    const manifest = await deps.readManifest(name, id);
    return json(200, toRecoveryPointResource(deps.vaultId, stored.value, manifest ?? null));
  }

  return { list, get };
}
