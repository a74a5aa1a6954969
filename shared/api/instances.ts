// Backup instance routes (design §3): configure (after readiness checks), get/list, readiness report, backup now,
// stop/resume protection, delete.

import { PgkeepError, type ErrorDetail } from '../errors';
import { parsePolicy } from '../domain/policy';
import type { Policy } from '../domain/types';
import type { DbReadinessReport, InstanceRecord, Stored } from '../ports';
import { acquireBackupLock, releaseBackupLock } from '../activities/backup-lock';
import type { ApiDeps } from './deps';
import { json, notFound, param, parseJsonBody, retryOnConcurrentChange } from './http';
import { validate } from '../contracts/validation';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { listOf, toInstanceResource, toJobResource } from './resources';
import {
  backupInstanceBodySchema,
  backupNowBodySchema,
  policyNameFromId,
  stopProtectionBodySchema,
  validateForBackupRequestSchema,
  type BackupInstanceBody,
  type ValidateForBackupResult,
} from '../contracts/instances';
import { summarize, summaryOf } from './instance-summary';
import { validName } from '../contracts/resources';

/** The instance, or 404; a deleted one (awaiting expiry of its points) only when asked for. */
export async function loadInstance(
  deps: ApiDeps,
  name: string,
  options: { includeDeleted?: boolean } = {},
): Promise<Stored<InstanceRecord>> {
  const stored = await deps.instances.get(name);
  if (!stored || (stored.value.deletedAt !== undefined && options.includeDeleted !== true)) {
    throw notFound('backup instance', name);
  }
  return stored;
}

export async function loadPolicyOf(deps: ApiDeps, policyName: string): Promise<Policy> {
  const record = await deps.policies.get(policyName);
  if (!record) throw notFound('backup policy', policyName);
  const parsed = parsePolicy(record.document);
  // A stored policy was valid when accepted; failing here means the validator grew stricter since.
  if (!parsed.ok) throw new PgkeepError('UserErrorInvalidPolicy', `stored policy '${policyName}' no longer validates`);
  return parsed.value;
}

/** Throws a 400 listing every failed readiness check, each with its own code and remediation. */
export function assertReady(name: string, report: DbReadinessReport): void {
  const failed = report.checks.filter((c) => c.status === 'Failed');
  if (failed.length === 0) return;
  // One line per failed check, then each offending object it found (e.g. every table without SELECT).
  const details: ErrorDetail[] = failed.flatMap((c) => [
    {
      code: c.code ?? 'UserErrorInvalidRequest',
      message: c.message,
      target: c.name,
      ...(c.remediation ? { remediation: c.remediation } : {}),
    },
    ...(c.details ?? []),
  ]);
  const first = details[0]!;
  throw new PgkeepError(
    details.length === 1 ? first.code : 'UserErrorInvalidRequest',
    `backup instance '${name}' is not ready for backup: ${failed.map((c) => c.name).join(', ')} failed`,
    { details, status: 400, target: name },
  );
}

/** The record a PUT body describes (and validateForBackup checks), on top of the existing one if any. */
function instanceRecordOf(
  name: string,
  props: BackupInstanceBody['properties'],
  now: string,
  existing?: InstanceRecord,
): InstanceRecord {
  return {
    ...(existing ?? {
      protectionState: 'ProtectionConfigured' as const,
      createdAt: now,
      // Slots before the instance existed are not owed a backup.
      lastScheduledSlot: now,
      protectedSince: now,
    }),
    name,
    friendlyName: props.friendlyName ?? props.dataSourceInfo.resourceName,
    dataSource: {
      objectType: props.dataSourceInfo.objectType,
      datasourceType: props.dataSourceInfo.datasourceType,
      resourceID: props.dataSourceInfo.resourceID,
      resourceName: props.dataSourceInfo.resourceName,
      ...(props.dataSourceInfo.resourceLocation ? { resourceLocation: props.dataSourceInfo.resourceLocation } : {}),
    },
    policyName: policyNameFromId(props.policyInfo.policyId),
    secret: props.datasourceAuthCredentials.secretStoreResource,
    updatedAt: now,
  };
}

async function requirePolicy(deps: ApiDeps, policyId: string, target: string): Promise<void> {
  const policyName = policyNameFromId(policyId);
  if (!(await deps.policies.get(policyName))) {
    throw new PgkeepError('UserErrorNotFound', `backup policy '${policyName}' was not found`, { target });
  }
}

/** A PUT may create `name` or replace it, unless it was deleted (points still expiring) or protects another datasource. */
function assertReplaceable(name: string, existing: InstanceRecord | undefined, resourceID: string): void {
  if (existing?.deletedAt !== undefined) {
    throw new PgkeepError(
      'UserErrorInvalidRequest',
      `backup instance '${name}' was deleted and its recovery points are still expiring; the name is free once they are gone`,
      { target: name, status: 409 },
    );
  }
  if (existing && existing.dataSource.resourceID !== resourceID) {
    throw new PgkeepError(
      'UserErrorInvalidRequest',
      `backup instance '${name}' protects another datasource; create a new instance for this one`,
      { target: '$.properties.dataSourceInfo.resourceID' },
    );
  }
}

/** The readiness report as both validateForBackup routes answer it. */
function readinessResult(report: DbReadinessReport): ValidateForBackupResult {
  const failed = report.checks.some((c) => c.status === 'Failed');
  return { objectType: 'ValidateForBackupResult', status: failed ? 'Failed' : 'Succeeded', ...report };
}

export function instanceRoutes(deps: ApiDeps) {
  const nowIso = () => deps.clock.now().toISOString();

  async function put(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    if (!validName(name)) {
      throw new PgkeepError('UserErrorInvalidRequest', `'${name}' is not a valid backup instance name`, {
        target: 'name',
      });
    }
    const body = validate(backupInstanceBodySchema, parseJsonBody(req), 'backup instance');
    const props = body.properties;
    await requirePolicy(deps, props.policyInfo.policyId, '$.properties.policyInfo.policyId');
    const existing = await deps.instances.get(name);
    assertReplaceable(name, existing?.value, props.dataSourceInfo.resourceID);
    assertReady(name, await deps.checkReadiness(instanceRecordOf(name, props, nowIso(), existing?.value)));
    // A backup taking or releasing its lock writes the row too: re-read and re-apply the request on a race.
    const { current, record } = await retryOnConcurrentChange(async (attempt) => {
      const current = attempt === 1 ? existing : await deps.instances.get(name);
      // The row read again is checked again: it may have been deleted, or created for another datasource, since.
      if (attempt > 1) assertReplaceable(name, current?.value, props.dataSourceInfo.resourceID);
      const record = instanceRecordOf(name, props, nowIso(), current?.value);
      if (current) await deps.instances.update(record, current.etag);
      else await deps.instances.create(record);
      return { current, record };
    });
    if (current) return json(200, toInstanceResource(deps.vaultId, record, await summaryOf(deps, record)));
    return json(201, toInstanceResource(deps.vaultId, record));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const { value } = await loadInstance(deps, name);
    return json(200, toInstanceResource(deps.vaultId, value, await summaryOf(deps, value)));
  }

  async function list(): Promise<ApiResponse> {
    const instances: InstanceRecord[] = [];
    for await (const { value } of deps.instances.list()) if (value.deletedAt === undefined) instances.push(value);
    const summaries = await summarize(deps, instances);
    return json(200, listOf(instances.map((i) => toInstanceResource(deps.vaultId, i, summaries.get(i.name)))));
  }

  async function validateForBackup(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const { value } = await loadInstance(deps, name);
    return json(200, readinessResult(await deps.checkReadiness(value)));
  }

  /** POST /validateForBackup: the readiness report of an instance as a PUT would configure it, before it exists. */
  async function validateNewForBackup(req: ApiRequest): Promise<ApiResponse> {
    const body = validate(validateForBackupRequestSchema, parseJsonBody(req), 'validateForBackup request');
    const props = body.backupInstance;
    await requirePolicy(deps, props.policyInfo.policyId, '$.backupInstance.policyInfo.policyId');
    const name = props.friendlyName ?? props.dataSourceInfo.resourceName;
    return json(200, readinessResult(await deps.checkReadiness(instanceRecordOf(name, props, nowIso()))));
  }

  async function backupNow(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const body = validate(backupNowBodySchema, parseJsonBody(req, { optional: true }), 'backup request');
    const { value: inst } = await loadInstance(deps, name);
    if (inst.protectionState !== 'ProtectionConfigured') {
      throw new PgkeepError('UserErrorProtectionStopped', `protection of '${name}' is stopped`, { target: name });
    }
    const policy = await loadPolicyOf(deps, inst.policyName);
    const ruleName = body?.backupRuleOptions?.ruleName;
    if (ruleName !== undefined && ruleName !== policy.backupRuleName) {
      throw new PgkeepError(
        'UserErrorInvalidRequest',
        `policy '${inst.policyName}' has no backup rule '${ruleName}' (its rule is '${policy.backupRuleName}')`,
        { target: '$.backupRuleOptions.ruleName' },
      );
    }
    const tag = body?.backupRuleOptions?.triggerOption?.retentionTagOverride;
    if (tag !== undefined && !policy.retention[tag]) {
      throw new PgkeepError('UserErrorInvalidRequest', `policy '${inst.policyName}' has no retention rule '${tag}'`, {
        target: '$.backupRuleOptions.triggerOption.retentionTagOverride',
      });
    }
    const jobId = deps.newId();
    const lockDeps = { instances: deps.instances, jobs: deps.jobs, nowIso };
    await acquireBackupLock(lockDeps, name, jobId);
    const job = {
      id: jobId,
      operation: 'Backup' as const,
      backupInstance: name,
      status: 'NotStarted' as const,
      trigger: 'OnDemand' as const,
      startTime: nowIso(),
      progress: { bytes: 0 },
      orchestrationId: `backup-${name}-ondemand-${jobId}`,
      ...(tag ? { extra: { retentionTagOverride: tag } } : {}),
    };
    try {
      await deps.jobs.create(job);
      await deps.startBackup(job.orchestrationId, {
        jobId,
        instanceName: name,
        trigger: 'OnDemand',
        ...(tag ? { retentionTagOverride: tag } : {}),
      });
    } catch (err) {
      await deps.jobs.patch(jobId, {
        status: 'Failed',
        endTime: nowIso(),
        error: { code: 'SystemErrorInternal', message: 'the backup could not be started', hint: 'retry' },
      });
      await releaseBackupLock(lockDeps, name, jobId);
      throw err;
    }
    return json(202, toJobResource(deps.vaultId, job, nowIso()), { Location: `/api/backupJobs/${jobId}` });
  }

  async function setProtection(
    req: ApiRequest,
    change: (i: InstanceRecord, body: { deleteBackupData?: boolean } | undefined) => InstanceRecord,
  ): Promise<ApiResponse> {
    const name = param(req, 'name');
    const body = validate(stopProtectionBodySchema, parseJsonBody(req, { optional: true }), 'request body');
    const next = await retryOnConcurrentChange(async () => {
      const stored = await loadInstance(deps, name);
      const changed = change(stored.value, body);
      await deps.instances.update({ ...changed, updatedAt: nowIso() }, stored.etag);
      return changed;
    });
    return json(200, toInstanceResource(deps.vaultId, next));
  }

  const stopProtection = (req: ApiRequest) =>
    setProtection(req, (i, body) => ({
      ...i,
      protectionState: 'ProtectionStopped',
      deleteBackupDataOnStop: body?.deleteBackupData ?? false,
    }));

  const resumeProtection = (req: ApiRequest) =>
    setProtection(req, (i) => {
      const { deleteBackupDataOnStop: _dropped, ...rest } = i;
      // Slots missed while stopped are not owed: scheduling resumes from now.
      return {
        ...rest,
        protectionState: 'ProtectionConfigured',
        lastScheduledSlot: nowIso(),
        protectedSince: nowIso(),
      };
    });

  async function remove(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const stored = await deps.instances.get(name);
    if (!stored || stored.value.deletedAt !== undefined) return { status: 204 };
    if (stored.value.protectionState !== 'ProtectionStopped') {
      throw new PgkeepError(
        'UserErrorInvalidRequest',
        `backup instance '${name}' is protected: stop protection first (POST …/stopProtection)`,
        { target: name, status: 409 },
      );
    }
    // Marked, not removed: the expiry run deletes or keeps its points as stopProtection said, and removes the row
    // (releasing the datasource) once none is left; removing it now would orphan the points (docs/decisions.md).
    await deps.instances.update({ ...stored.value, deletedAt: nowIso(), updatedAt: nowIso() }, stored.etag);
    return { status: 200 };
  }

  return {
    put,
    get,
    list,
    validateForBackup,
    validateNewForBackup,
    backupNow,
    stopProtection,
    resumeProtection,
    remove,
  };
}
