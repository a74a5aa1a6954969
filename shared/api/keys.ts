// Key rotation routes (issue 16): rewrap one recovery point's data key under the current KEK version (done in the
// call, recorded as a Rewrap job) or every point of an instance (a Rewrap job run by the rewrap orchestration); and
// every globals point of a server (issue 15), by the same orchestration.

import { PgkeepError, toPgkeepError } from '../errors';
import type { JobRecord } from '../ports';
import type { ApiDeps } from './deps';
import { json, notFound, param } from './http';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { loadInstance } from './instances';
import { toJobResource } from './resources';
import { loadServer, serverJobSubject } from '../activities/discovery';
import type { RewrapOrchestratorInput } from '../workflows/names';

const unavailable = () =>
  new PgkeepError('UserErrorInvalidRequest', 'rewrapping is not available in this deployment', {
    hint: 'set BACKUP_ENCRYPTION_KEY_URI or BACKUP_KEYRING so there is a current key-encryption key',
  });

export function keyRoutes(deps: ApiDeps) {
  const nowIso = () => deps.clock.now().toISOString();
  const newJob = (name: string, extra: Partial<JobRecord>): JobRecord => ({
    id: deps.newId(),
    operation: 'Rewrap',
    backupInstance: name,
    status: 'NotStarted',
    trigger: 'OnDemand',
    startTime: nowIso(),
    progress: { bytes: 0 },
    ...extra,
  });

  /** POST …/recoveryPoints/{id}/rewrap: 200 with the finished Rewrap job, or the error (the job records it too). */
  async function rewrapRecoveryPoint(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const id = param(req, 'id');
    // A deleted instance's kept points still need their keys until they expire.
    await loadInstance(deps, name, { includeDeleted: true });
    const stored = await deps.recoveryPoints.get(name, id);
    if (!stored || stored.value.status !== 'Available') throw notFound('recovery point', `${name}/${id}`);
    if (!deps.rewrapPoint) throw unavailable();
    const job = newJob(name, { status: 'InProgress', recoveryPointId: id });
    await deps.jobs.create(job);
    try {
      const outcome = await deps.rewrapPoint(stored.value);
      await deps.jobs.patch(job.id, {
        status: 'Succeeded',
        endTime: nowIso(),
        progress: { bytes: 0, percent: 100 },
        extra: { ...outcome },
      });
    } catch (err) {
      const e = toPgkeepError(err);
      await deps.jobs.patch(job.id, {
        status: 'Failed',
        endTime: nowIso(),
        error: { code: e.code, message: e.message, hint: e.hint },
      });
      throw e;
    }
    const done = (await deps.jobs.get(job.id)) ?? job;
    return json(200, toJobResource(deps.vaultId, done, nowIso()), { Location: `/api/backupJobs/${job.id}` });
  }

  /** Creates the Rewrap job of `subject` and starts the orchestration; 202 with the job. */
  async function startRewrapJob(
    subject: string,
    idPrefix: string,
    input: Omit<RewrapOrchestratorInput, 'jobId'>,
  ): Promise<ApiResponse> {
    if (!deps.startRewrap || !deps.rewrapPoint) throw unavailable();
    const job = newJob(subject, {});
    const orchestrationId = `${idPrefix}-${job.id}`;
    await deps.jobs.create({ ...job, orchestrationId });
    try {
      await deps.startRewrap(orchestrationId, { jobId: job.id, ...input });
    } catch (err) {
      await deps.jobs.patch(job.id, {
        status: 'Failed',
        endTime: nowIso(),
        error: { code: 'SystemErrorInternal', message: 'the rewrap could not be started', hint: 'retry' },
      });
      throw err;
    }
    return json(202, toJobResource(deps.vaultId, { ...job, orchestrationId }, nowIso()), {
      Location: `/api/backupJobs/${job.id}`,
    });
  }

  /** POST backupInstances/{name}/rewrap: 202 with the Rewrap job; the orchestration rewraps every point. */
  async function rewrapInstance(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    await loadInstance(deps, name, { includeDeleted: true });
    return startRewrapJob(name, `rewrap-${name}`, { instanceName: name });
  }

  /** POST servers/{name}/rewrap (issue 15): 202 with the Rewrap job; the orchestration rewraps every globals point. */
  async function rewrapServer(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    await loadServer(deps, name);
    return startRewrapJob(serverJobSubject(name), `rewrap-server-${name}`, { serverName: name });
  }

  return { rewrapRecoveryPoint, rewrapInstance, rewrapServer };
}
