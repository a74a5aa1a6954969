// Restore routes (design §6): validateRestore (200 with the report, or 400 naming every problem) and restore
// (202 with the job). The request schema is shared with the restore-requests queue.

import { z } from 'zod';
import { PgkeepError, type ErrorDetail } from '../errors';
import type { JobRecord, ReadinessCheck, RecoveryPointRecord } from '../ports';
import { describeTarget } from '../activities/restore';
import { normalizeFilePrefix } from '../adapters/restore-files';
import type { RestoreSpec } from '../workflows/names';
import type { ApiDeps } from './deps';
import { json, param, parseJsonBody, validate, type ApiRequest, type ApiResponse } from './http';
import { loadInstance } from './instances';
import { toJobResource } from './resources';
import { authCredentialsSchema, postgresDatasourceType } from './schemas';

const MAX_NAME_BYTES = 63;
const pgName = z
  .string()
  .min(1, 'is required')
  .refine((n) => Buffer.byteLength(n) <= MAX_NAME_BYTES, { message: 'PostgreSQL names are at most 63 bytes' })
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .refine((n) => !/[\0-\x1f\x7f]/.test(n), { message: 'must not contain control characters' });

const recoveryOption = z.literal('FailIfExists', { message: 'must be "FailIfExists": restores never overwrite' });

const databaseTarget = z.object({
  objectType: z.literal('RestoreTargetInfo'),
  recoveryOption: recoveryOption.optional(),
  restoreLocation: z.string().optional(),
  datasourceInfo: z.object({
    objectType: z.literal('Datasource').optional(),
    datasourceType: z.literal(postgresDatasourceType, { message: `must be "${postgresDatasourceType}"` }),
    resourceID: z.string().max(1024).optional(),
    resourceName: pgName.refine((n) => !['template0', 'template1', 'postgres'].includes(n.toLowerCase()), {
      message: 'cannot restore into a system database name',
    }),
    resourceLocation: z.string().optional(),
  }),
  datasourceAuthCredentials: authCredentialsSchema,
});

const filesTarget = z
  .object({
    objectType: z.literal('RestoreFilesTargetInfo'),
    recoveryOption: recoveryOption.optional(),
    restoreLocation: z.string().optional(),
    targetDetails: z.object({
      url: z.url({ protocol: /^https?$/, message: 'must be the http(s) URL of a blob container' }),
      filePrefix: z.string().max(512).optional().default(''),
      restoreTargetLocationType: z.literal('AzureBlobs').optional(),
    }),
  })
  .superRefine((t, ctx) => {
    try {
      normalizeFilePrefix(t.targetDetails.filePrefix);
    } catch (err) {
      if (!(err instanceof PgkeepError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['targetDetails', 'filePrefix'], message: err.message });
    }
  });

/** Our additions (design §6), at `$.options` of the request: pg_restore's selection, owner and parallelism. */
const restoreOptions = z.strictObject({
  schemas: z.array(pgName).min(1).max(100).optional(),
  tables: z
    .array(
      z
        .string()
        .min(1)
        .max(2 * MAX_NAME_BYTES + 1),
    )
    .min(1)
    .max(100)
    .optional(),
  /** 'none' (default) | 'keep' | a role name (or { role } when the role is literally named none or keep). */
  owner: z.union([z.string().min(1), z.strictObject({ role: pgName })]).optional(),
  jobs: z.int().min(1).max(32).optional(),
});

const common = {
  recoveryPointId: z.string().min(1, 'is required').max(256),
  sourceDataStoreType: z.enum(['VaultStore', 'ArchiveStore']).optional(),
  restoreTargetInfo: z.discriminatedUnion('objectType', [databaseTarget, filesTarget], {
    message: 'objectType must be RestoreTargetInfo or RestoreFilesTargetInfo',
  }),
  options: restoreOptions.optional(),
};

const retentionDuration = z
  .string()
  .refine((d) => /^P\d+D$/.test(d) && Number(d.slice(1, -1)) >= 10 && Number(d.slice(1, -1)) <= 30, {
    message: 'must be a whole number of days from P10D to P30D',
  });

export const restoreRequestSchema = z
  .discriminatedUnion(
    'objectType',
    [
      z.object({ objectType: z.literal('AzureBackupRecoveryPointBasedRestoreRequest'), ...common }),
      z.object({
        objectType: z.literal('AzureBackupRestoreWithRehydrationRequest'),
        ...common,
        rehydrationPriority: z.enum(['Standard', 'High']).optional(),
        rehydrationRetentionDuration: retentionDuration.optional(),
      }),
    ],
    {
      message:
        'objectType must be AzureBackupRecoveryPointBasedRestoreRequest or AzureBackupRestoreWithRehydrationRequest',
    },
  )
  .superRefine((r, ctx) => {
    if (r.options && r.restoreTargetInfo.objectType !== 'RestoreTargetInfo') {
      ctx.addIssue({
        code: 'custom',
        path: ['options'],
        message: 'options apply to a restore as database (RestoreTargetInfo) only',
      });
    }
    const owner = r.options?.owner;
    if (typeof owner === 'string' && !['none', 'keep'].includes(owner) && Buffer.byteLength(owner) > MAX_NAME_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['options', 'owner'], message: 'PostgreSQL names are at most 63 bytes' });
    }
  });

export type RestoreRequestBody = z.infer<typeof restoreRequestSchema>;

/** The validated body as the orchestration's normalised RestoreSpec. */
export function toRestoreSpec(body: RestoreRequestBody): RestoreSpec {
  const t = body.restoreTargetInfo;
  const o = body.options;
  const owner = o?.owner;
  return {
    recoveryPointId: body.recoveryPointId,
    sourceDataStoreType: body.sourceDataStoreType ?? 'VaultStore',
    ...(body.objectType === 'AzureBackupRestoreWithRehydrationRequest'
      ? {
          rehydration: {
            priority: body.rehydrationPriority ?? 'Standard',
            retentionDays: Number((body.rehydrationRetentionDuration ?? 'P15D').slice(1, -1)),
          },
        }
      : {}),
    target:
      t.objectType === 'RestoreTargetInfo'
        ? {
            kind: 'database',
            databaseName: t.datasourceInfo.resourceName,
            secret: t.datasourceAuthCredentials.secretStoreResource,
            ...(t.datasourceInfo.resourceID ? { resourceID: t.datasourceInfo.resourceID } : {}),
          }
        : { kind: 'files', url: t.targetDetails.url, filePrefix: t.targetDetails.filePrefix },
    ...(o
      ? {
          options: {
            ...(o.schemas ? { schemas: o.schemas } : {}),
            ...(o.tables ? { tables: o.tables } : {}),
            ...(owner === undefined
              ? {}
              : {
                  owner:
                    owner === 'none' || owner === 'keep' ? owner : typeof owner === 'string' ? { role: owner } : owner,
                }),
            ...(o.jobs ? { jobs: o.jobs } : {}),
          },
        }
      : {}),
  };
}

/** Parses and validates a restore request (HTTP body or queue `request`); 400 naming every bad field. */
export function parseRestoreRequest(value: unknown, what = 'restore request'): RestoreSpec {
  return toRestoreSpec(validate(restoreRequestSchema, value, what));
}

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

export function restoreRoutes(deps: ApiDeps) {
  const nowIso = () => deps.clock.now().toISOString();

  async function validateRestore(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const spec = parseRestoreRequest(parseJsonBody(req));
    await loadInstance(deps, name);
    const checks = await deps.checkRestore(name, spec);
    assertRestorable(name, checks);
    return json(200, { objectType: 'ValidateRestoreResult', status: 'Succeeded', checks });
  }

  async function restore(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const spec = parseRestoreRequest(parseJsonBody(req));
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
