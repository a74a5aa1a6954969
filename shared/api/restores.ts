// Restore routes (design §6): validateRestore (200 with the report, or 400 naming every problem) and restore
// (202 with the job). The request schema is shared with the restore-requests queue.

import { PgkeepError, type ErrorDetail } from '../errors';
import type { JobRecord, ReadinessCheck, RecoveryPointRecord } from '../ports';
import { describeTarget } from '../activities/restore';
import { assertRestoreTargetAllowed, parseRestoreRequest, type RestoreSpec } from '../contracts/restores';
import type { ContainerUrlSettings } from '../domain/outbound-urls';
import type { ApiDeps } from './deps';
import { json, param, parseJsonBody } from './http';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { loadInstance } from './instances';
import { toJobResource } from './resources';

/** Throws 400 listing every failed check of a validateRestore report. */
export function assertRestorable(name: string, checks: readonly ReadinessCheck[]): void {
  const failed = checks.filter((c) => c.status === 'Failed');
  if (failed.length === 0) return;
  const details: ErrorDetail[] = failed.map((c) => ({
    code: c.code ?? 'UserErrorInvalidRequest',
    message: c.message,
    target: c.name,
    ...(c.remediation ? { remediation: c.remediation } : {}),
  }));
  const first = details[0]!;
  throw new PgkeepError(
    details.length === 1 ? first.code : 'UserErrorInvalidRequest',
    `the restore of '${name}' would fail: ${failed.map((c) => c.name).join(', ')} failed`,
    { details, status: 400, target: name },
  );
}

/** The checks the restore route makes before starting anything: stores only, no network to the target. */
function preflight(point: RecoveryPointRecord | undefined, spec: RestoreSpec, nowIso: string): void {
  if (!point || point.status !== 'Available') {
    throw new PgkeepError('UserErrorNotFound', `recovery point '${spec.recoveryPointId}' was not found`, {
      target: '$.recoveryPointId',
    });
  }
  const rehydrated = point.rehydratedBlobName !== undefined && (point.rehydratedUntil ?? '') > nowIso;
  if (point.dataStore === 'ArchiveStore' && !rehydrated && !spec.rehydration) {
    throw new PgkeepError(
      'UserErrorRecoveryPointArchived',
      `recovery point '${point.id}' is in ArchiveStore and must be rehydrated to be restored`,
      { target: '$.objectType' },
    );
  }
}

/** Without settings, the strictest rule: https with the caller's own SAS only. */
const strictTargets: ContainerUrlSettings = { allowHttpLoopback: false, identityHosts: [] };

export function restoreRoutes(deps: ApiDeps) {
  const nowIso = () => deps.clock.now().toISOString();
  /** The request, parsed and checked: a container the app may not write to is a 400 before anything is sent. */
  const parse = (req: ApiRequest): RestoreSpec => {
    const spec = parseRestoreRequest(parseJsonBody(req));
    assertRestoreTargetAllowed(spec, deps.restoreTargets ?? strictTargets);
    return spec;
  };

  async function validateRestore(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const spec = parse(req);
    await loadInstance(deps, name);
    const checks = await deps.checkRestore(name, spec);
    assertRestorable(name, checks);
    return json(200, { objectType: 'ValidateRestoreResult', status: 'Succeeded', checks });
  }

  async function restore(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const spec = parse(req);
    await loadInstance(deps, name);
    preflight((await deps.recoveryPoints.get(name, spec.recoveryPointId))?.value, spec, nowIso());
    const jobId = deps.newId();
    const orchestrationId = `restore-${name}-${jobId}`;
    const job: JobRecord = {
      id: jobId,
      operation: 'Restore',
      backupInstance: name,
      status: 'NotStarted',
      trigger: 'OnDemand',
      startTime: nowIso(),
      progress: { bytes: 0 },
      recoveryPointId: spec.recoveryPointId,
      orchestrationId,
      extra: { target: describeTarget(spec) },
    };
    await deps.jobs.create(job);
    try {
      await deps.startRestore(orchestrationId, { jobId, instanceName: name, trigger: 'OnDemand', request: spec });
    } catch (err) {
      await deps.jobs.patch(jobId, {
        status: 'Failed',
        endTime: nowIso(),
        error: { code: 'SystemErrorInternal', message: 'the restore could not be started', hint: 'retry' },
      });
      throw err;
    }
    return json(202, toJobResource(deps.vaultId, job, nowIso()), { Location: `/api/backupJobs/${jobId}` });
  }

  return { validateRestore, restore };
}
