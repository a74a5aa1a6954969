// Restore requests (design §6), shared by both doors: the HTTP body of validateRestore/restore and the `request` of a
// restore-requests queue message. The schema validates Azure's request shape (plus our `$.options`); toRestoreSpec
// turns a valid one into the RestoreSpec the orchestration carries.

import { z } from 'zod';
import { PgkeepError } from '../errors';
import type { DataStore } from '../domain/types';
import { containerAccess, type ContainerUrlSettings } from '../domain/outbound-urls';
import { authCredentialsSchema, postgresDatasourceType, type SecretReference } from './instances';
import { validate } from './validation';

/** pg_restore options of a restore as database (our addition to Azure's request, at `$.options`). */
export interface RestoreOptionsSpec {
  readonly schemas?: readonly string[];
  readonly tables?: readonly string[];
  readonly owner?: 'none' | 'keep' | { readonly role: string };
  readonly jobs?: number;
  /** create-missing: first create the roles the dump names from its server's globals point (issue 15). */
  readonly roles?: 'create-missing';
}

export type RestoreTargetSpec =
  | {
      readonly kind: 'database';
      /** The new database's name (restoreTargetInfo.datasourceInfo.resourceName). */
      readonly databaseName: string;
      /** The target server's connection string; its own database name is ignored. */
      readonly secret: SecretReference;
      readonly resourceID?: string;
    }
  | {
      readonly kind: 'files';
      /** The container URL, possibly with a SAS token: never stored on jobs or logged (see redactUrl). */
      readonly url: string;
      readonly filePrefix: string;
    };

/** A validated restore request (the HTTP body or the queue message's `request`), normalised. */
export interface RestoreSpec {
  readonly recoveryPointId: string;
  readonly sourceDataStoreType: DataStore;
  /** Present for AzureBackupRestoreWithRehydrationRequest. */
  readonly rehydration?: { readonly priority: 'Standard' | 'High'; readonly retentionDays: number };
  readonly target: RestoreTargetSpec;
  readonly options?: RestoreOptionsSpec;
}

const MAX_PREFIX_LENGTH = 512;

/**
 * Checks a filePrefix and returns it as a folder ('' or ending in '/'). Refused (UserErrorInvalidRequest, target
 * filePrefix): a leading '/', backslashes, control characters, empty, '.' or '..' segments, more than 512
 * characters. A prefix that passes can only name blobs inside the container.
 */
export function normalizeFilePrefix(filePrefix: unknown): string {
  const refuse = (why: string): PgkeepError =>
    new PgkeepError('UserErrorInvalidRequest', `filePrefix ${why}`, { target: 'filePrefix' });
  if (typeof filePrefix !== 'string') throw refuse('must be a string');
  if (filePrefix.length > MAX_PREFIX_LENGTH) throw refuse(`is longer than ${MAX_PREFIX_LENGTH} characters`);
  if (filePrefix === '') return '';
  if (filePrefix.startsWith('/')) throw refuse('must not start with "/"');
  if (filePrefix.includes('\\')) throw refuse('must not contain backslashes');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\0-\x1f\x7f]/.test(filePrefix)) throw refuse('must not contain control characters');
  const trimmed = filePrefix.endsWith('/') ? filePrefix.slice(0, -1) : filePrefix;
  for (const segment of trimmed.split('/')) {
    if (segment === '') throw refuse('must not contain empty segments ("//")');
    if (segment === '.' || segment === '..') throw refuse('must not contain "." or ".." segments');
  }
  return `${trimmed}/`;
}

const MAX_NAME_BYTES = 63;
/** UTF-8 length (PostgreSQL's limits are in bytes), with TextEncoder so that the browser console validates alike. */
const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
const pgName = z
  .string()
  .min(1, 'is required')
  .refine((n) => utf8Bytes(n) <= MAX_NAME_BYTES, { message: 'PostgreSQL names are at most 63 bytes' })
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
  /** Issue 15: create the roles the dump refers to from the server's globals before restoring. */
  roles: z.enum(['create-missing', 'none'], { message: 'must be "create-missing" or "none"' }).optional(),
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
    if (typeof owner === 'string' && !['none', 'keep'].includes(owner) && utf8Bytes(owner) > MAX_NAME_BYTES) {
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
            ...(o.roles === 'create-missing' ? { roles: 'create-missing' as const } : {}),
          },
        }
      : {}),
  };
}

/**
 * The Azure request body of a RestoreSpec: toRestoreSpec's inverse (a valid spec round-trips exactly), for clients
 * that gather what to restore in their own words (the console's wizard) and send Azure's shape. It does not validate:
 * send it through restoreRequestSchema, which names what is wrong.
 */
export function toRestoreRequest(spec: RestoreSpec): z.input<typeof restoreRequestSchema> {
  const t = spec.target;
  const o = spec.options;
  return {
    ...(spec.rehydration
      ? {
          objectType: 'AzureBackupRestoreWithRehydrationRequest' as const,
          rehydrationPriority: spec.rehydration.priority,
          rehydrationRetentionDuration: `P${spec.rehydration.retentionDays}D`,
        }
      : { objectType: 'AzureBackupRecoveryPointBasedRestoreRequest' as const }),
    recoveryPointId: spec.recoveryPointId,
    sourceDataStoreType: spec.sourceDataStoreType,
    restoreTargetInfo:
      t.kind === 'database'
        ? {
            objectType: 'RestoreTargetInfo',
            recoveryOption: 'FailIfExists',
            datasourceInfo: {
              objectType: 'Datasource',
              datasourceType: postgresDatasourceType,
              resourceName: t.databaseName,
              ...(t.resourceID ? { resourceID: t.resourceID } : {}),
            },
            datasourceAuthCredentials: { objectType: 'SecretStoreBasedAuthCredentials', secretStoreResource: t.secret },
          }
        : {
            objectType: 'RestoreFilesTargetInfo',
            recoveryOption: 'FailIfExists',
            targetDetails: { url: t.url, filePrefix: t.filePrefix, restoreTargetLocationType: 'AzureBlobs' },
          },
    ...(o
      ? {
          options: {
            ...(o.schemas ? { schemas: [...o.schemas] } : {}),
            ...(o.tables ? { tables: [...o.tables] } : {}),
            ...(o.owner !== undefined ? { owner: typeof o.owner === 'string' ? o.owner : { role: o.owner.role } } : {}),
            ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
          },
        }
      : {}),
  };
}

/** Parses and validates a restore request (HTTP body or queue `request`); 400 naming every bad field. */
export function parseRestoreRequest(value: unknown, what = 'restore request'): RestoreSpec {
  return toRestoreSpec(validate(restoreRequestSchema, value, what));
}

/** Where targetDetails.url sits in a restore request, for error details. */
export const restoreTargetUrlPath = '$.restoreTargetInfo.targetDetails.url';

/**
 * Refuses a restore-as-files container the app may not write to (domain/outbound-urls.ts: https, and a SAS unless
 * the account is on RESTORE_FILES_ALLOWED_ACCOUNTS) with a 400 naming the field — before any request leaves the app.
 * `path` is where the request sits in the message (`$` over HTTP, `$.request` in a queue message).
 */
export function assertRestoreTargetAllowed(spec: RestoreSpec, settings: ContainerUrlSettings, path = '$'): void {
  if (spec.target.kind !== 'files') return;
  const access = containerAccess(spec.target.url, settings);
  if (access.ok) return;
  const target = restoreTargetUrlPath.replace(/^\$/, path);
  throw new PgkeepError('UserErrorInvalidRequest', `targetDetails.url ${access.message}`, {
    target,
    details: [{ code: 'UserErrorInvalidRequest', message: access.message, target }],
    hint: 'add a SAS token with create and write permissions to the container URL, or ask the operator to list the storage account in RESTORE_FILES_ALLOWED_ACCOUNTS',
  });
}
