// Job routes (design §3, §9): list with filters (default window: the last 7 days) and get with progress.

import type { ApiDeps } from './deps';
import { json, notFound, param } from './http';
import { validate } from '../contracts/validation';
import { jobQuerySchema } from '../contracts/jobs';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { listOf, toJobResource } from './resources';

export const defaultJobWindowMs = 7 * 24 * 3600 * 1000;

export function jobRoutes(deps: ApiDeps) {
  async function list(req: ApiRequest): Promise<ApiResponse> {
    const q = validate(jobQuerySchema, Object.fromEntries(req.query.entries()), 'query');
    const now = deps.clock.now();
    const to = q.to ? new Date(q.to).toISOString() : undefined;
    const from = new Date(
      q.from ?? (to ? Date.parse(to) : now.getTime()) - (q.from ? 0 : defaultJobWindowMs),
    ).toISOString();
    const value = [];
    for await (const job of deps.jobs.list({ ...q, from, ...(to ? { to } : {}) })) {
      value.push(toJobResource(deps.vaultId, job, now.toISOString()));
    }
    return json(200, listOf(value));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const id = param(req, 'id');
    const job = await deps.jobs.get(id);
    if (!job) throw notFound('backup job', id);
    return json(200, toJobResource(deps.vaultId, job, deps.clock.now().toISOString()));
  }

  return { list, get };
}
