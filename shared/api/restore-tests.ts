// Restore-test routes (issue 17): plans (PUT/GET/DELETE, list), run a plan now (202 with the jobs), the history of
// an instance's restore tests, and verify of one recovery point (202 with the Verify job).

import { PgkeepError } from '../errors';
import type { JobRecord, RestoreTestPlanRecord } from '../ports';
import { nextSlot } from '../domain/restore-tests';
import {
  restoreTestPlanBodySchema,
  restoreTestPlanType,
  restoreTestType,
  type RestoreTestPlanResource,
  type RestoreTestResource,
  type RestoreTestResult,
} from '../contracts/restore-tests';
import { validate } from '../contracts/validation';
import { validName } from '../contracts/resources';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { startPlanRun } from '../activities/restore-test-runs';
import type { ApiDeps } from './deps';
import { json, notFound, param, parseJsonBody, retryOnConcurrentChange } from './http';
import { loadInstance } from './instances';
import { instanceId, listOf, toJobResource } from './resources';

export function toPlanResource(vaultId: string, plan: RestoreTestPlanRecord, nowIso: string): RestoreTestPlanResource {
  const p = plan.properties;
  const next = p.enabled && p.schedule !== undefined ? nextSlot(p.schedule, p.timeZone, nowIso) : undefined;
  return {
    id: `${vaultId}/restoreTestPlans/${plan.name}`,
    name: plan.name,
    type: restoreTestPlanType,
    properties: {
      ...p,
      createdAt: plan.createdAt,
      updatedAt: plan.updatedAt,
      ...(plan.lastScheduledSlot ? { lastScheduledRun: plan.lastScheduledSlot } : {}),
      ...(next ? { nextScheduledRun: next } : {}),
    },
  };
}

function toTestResource(vaultId: string, instanceName: string, r: RestoreTestResult): RestoreTestResource {
  return {
    id: `${instanceId(vaultId, instanceName)}/restoreTests/${r.jobId}`,
    name: r.jobId,
    type: restoreTestType,
    properties: r,
  };
}

/** 202 with the jobs started and Location of the first (a run over one instance is one job, as backup is). */
function accepted(deps: ApiDeps, jobs: readonly JobRecord[], nowIso: string): ApiResponse {
  const value = jobs.map((j) => toJobResource(deps.vaultId, j, nowIso));
  const first = jobs[0];
  return json(202, listOf(value), first ? { Location: `/api/backupJobs/${first.id}` } : undefined);
}

export function restoreTestRoutes(deps: ApiDeps) {
  const nowIso = () => deps.clock.now().toISOString();
  const rt = deps.restoreTests;

  async function loadPlan(name: string) {
    const stored = await rt.plans.get(name);
    if (!stored) throw notFound('restore-test plan', name);
    return stored;
  }

  async function put(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    if (!validName(name)) {
      throw new PgkeepError('UserErrorInvalidRequest', `'${name}' is not a valid restore-test plan name`, {
        target: 'name',
      });
    }
    const body = validate(restoreTestPlanBodySchema, parseJsonBody(req), 'restore-test plan');
    const properties = body.properties;
    // A scratch server that cannot take the test is refused now, not at the first run.
    if (properties.target) await rt.checkScratchTarget(properties.target.datasourceAuthCredentials.secretStoreResource);
    // The restore-test timer moves the plan's lastScheduledSlot with its etag: re-read and re-apply on a race.
    return retryOnConcurrentChange(async () => {
      const existing = await rt.plans.get(name);
      const now = nowIso();
      const record: RestoreTestPlanRecord = {
        name,
        properties,
        createdAt: existing?.value.createdAt ?? now,
        updatedAt: now,
        ...(existing?.value.lastScheduledSlot ? { lastScheduledSlot: existing.value.lastScheduledSlot } : {}),
      };
      if (existing) {
        await rt.plans.update(record, existing.etag);
        return json(200, toPlanResource(deps.vaultId, record, now));
      }
      await rt.plans.create(record);
      return json(201, toPlanResource(deps.vaultId, record, now));
    });
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const { value } = await loadPlan(param(req, 'name'));
    return json(200, toPlanResource(deps.vaultId, value, nowIso()));
  }

  async function list(): Promise<ApiResponse> {
    const value = [];
    for await (const { value: plan } of rt.plans.list()) value.push(toPlanResource(deps.vaultId, plan, nowIso()));
    return json(200, listOf(value));
  }

  async function remove(req: ApiRequest): Promise<ApiResponse> {
    await rt.plans.delete(param(req, 'name'));
    return { status: 204 };
  }

  async function run(req: ApiRequest): Promise<ApiResponse> {
    const { value: plan } = await loadPlan(param(req, 'name'));
    const jobs = await startPlanRun({ ...deps, ...rt, exists: () => Promise.resolve(false) }, plan, 'OnDemand');
    if (jobs.length === 0) {
      throw new PgkeepError('UserErrorNotFound', `restore-test plan '${plan.name}' selects no backup instance`, {
        target: '$.properties',
        hint: 'check the plan’s backupInstances, policy or server: a policy or server selection takes protected instances only',
      });
    }
    return accepted(deps, jobs, nowIso());
  }

  async function history(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    await loadInstance(deps, name, { includeDeleted: true });
    const value = [];
    for await (const r of rt.history.list(name)) value.push(toTestResource(deps.vaultId, name, r));
    return json(200, listOf(value));
  }

  async function verify(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const id = param(req, 'id');
    await loadInstance(deps, name, { includeDeleted: true });
    const point = await deps.recoveryPoints.get(name, id);
    if (!point || point.value.status !== 'Available') throw notFound('recovery point', `${name}/${id}`);
    const jobId = deps.newId();
    const orchestrationId = `verify-${name}-${jobId}`;
    const job: JobRecord = {
      id: jobId,
      operation: 'Verify',
      backupInstance: name,
      status: 'NotStarted',
      trigger: 'OnDemand',
      startTime: nowIso(),
      progress: { bytes: 0 },
      recoveryPointId: id,
      orchestrationId,
    };
    await deps.jobs.create(job);
    try {
      await rt.startVerify(orchestrationId, { jobId, instanceName: name, trigger: 'OnDemand', recoveryPointId: id });
    } catch (err) {
      await deps.jobs.patch(jobId, {
        status: 'Failed',
        endTime: nowIso(),
        error: { code: 'SystemErrorInternal', message: 'the verify could not be started', hint: 'retry' },
      });
      throw err;
    }
    return json(202, toJobResource(deps.vaultId, job, nowIso()), { Location: `/api/backupJobs/${jobId}` });
  }

  return { put, get, list, remove, run, history, verify };
}
