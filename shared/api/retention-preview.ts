// GET /api/backupInstances/{name}/retentionPreview?asOf= (design §3, §7): what the expiry run would do at asOf and
// each point's dates, read-only, through the same planner and the same policy expiry uses.

import { previewRetention } from '../domain/retention';
import { loadPolicyRecord, protectionOf, toPointView } from '../activities/expiry';
import type { ApiDeps } from './deps';
import { json, param } from './http';
import { validate } from '../contracts/validation';
import { retentionPreviewQuerySchema } from '../contracts/recovery-points';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { loadInstance } from './instances';

export function retentionPreviewRoutes(deps: ApiDeps) {
  async function preview(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const q = validate(retentionPreviewQuerySchema, { asOf: req.query.get('asOf') ?? undefined }, 'query');
    const asOf = q.asOf ? new Date(q.asOf).toISOString() : deps.clock.now().toISOString();
    // A deleted instance's kept points still expire: their preview stays readable.
    const { value: instance } = await loadInstance(deps, name, { includeDeleted: true });
    const policy = await loadPolicyRecord(deps.policies, instance.policyName);
    const views = [];
    for await (const { value } of deps.recoveryPoints.list(name)) views.push(toPointView(value));
    const protection = protectionOf(instance);
    const entries = previewRetention(views, policy, asOf, protection);
    // Newest first, as recovery points are listed.
    entries.reverse();
    return json(200, {
      asOf,
      protection,
      policyName: instance.policyName,
      value: entries.map((e) => ({
        recoveryPointId: e.id,
        recoveryPointTime: e.time,
        retentionTagName: e.tag,
        dataStore: e.dataStore,
        status: e.status,
        ...(e.movesToArchiveAt !== undefined && { movesToArchiveAt: e.movesToArchiveAt }),
        deleteAt: e.deleteAt,
        floorProtected: e.floorProtected,
        actionsAtAsOf: e.actionsAtAsOf.map((a) => ({
          kind: a.kind,
          due: a.due,
          ...(a.kind === 'delete' && { reason: a.reason }),
        })),
      })),
    });
  }

  return { preview };
}
