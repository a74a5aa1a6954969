// Backup instances over the API (design §3), in Azure Data Protection's shapes: the PUT body, the backup-now and
// stopProtection bodies, and the instance resource. zod reports every bad field with its path; validation.ts turns
// the paths into `$.properties.…` JSON paths.

import { z } from 'zod';
import { dataStores, tagNames } from '../domain/types';
import { errorCodes, type ErrorCode } from '../errors';
import { instanceHealthSchema } from './health';
import { jobOperations, jobStatuses } from './jobs';
import { listSchema, resourceSchema, resourceTypes } from './resources';

/** Databases pgkeep refuses to protect (design §3). */
export const systemDatabases: readonly string[] = ['azure_maintenance', 'azure_sys', 'template0', 'template1'];

export const postgresDatasourceType = 'Microsoft.DBforPostgreSQL/servers/databases';

export const secretStoreResourceSchema = z
  .object({
    secretStoreType: z.enum(['AzureKeyVault', 'AppSetting']),
    uri: z.string().min(1, 'is required'),
  })
  .superRefine((v, ctx) => {
    if (v.secretStoreType === 'AppSetting' && !/^appsetting:\/\/[A-Za-z_][A-Za-z0-9_.-]*$/.test(v.uri)) {
      ctx.addIssue({ code: 'custom', path: ['uri'], message: 'must be appsetting://<SETTING_NAME>' });
    }
    if (
      v.secretStoreType === 'AzureKeyVault' &&
      !/^https:\/\/[^/\s]+\/secrets\/[A-Za-z0-9-]+(\/[A-Za-z0-9]+)?\/?$/.test(v.uri)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['uri'],
        message: 'must be https://<vault>.vault.azure.net/secrets/<name>[/<version>]',
      });
    }
  });

/**
 * Where a database credential lives (design §3): only this reference is stored by pgkeep. `uri` is
 * `https://<vault>.vault.azure.net/secrets/<name>[/<version>]` or `appsetting://<SETTING_NAME>`.
 */
export type SecretReference = z.infer<typeof secretStoreResourceSchema>;

export const authCredentialsSchema = z.object({
  objectType: z.literal('SecretStoreBasedAuthCredentials'),
  secretStoreResource: secretStoreResourceSchema,
});

export const dataSourceInfoSchema = z.object({
  objectType: z.literal('Datasource').optional().default('Datasource'),
  datasourceType: z.literal(postgresDatasourceType, { message: `must be "${postgresDatasourceType}"` }),
  resourceID: z.string().min(1, 'is required').max(1024),
  resourceName: z
    .string()
    .min(1, 'is required')
    .max(63, 'PostgreSQL database names are at most 63 bytes')
    .refine((n) => !systemDatabases.includes(n.toLowerCase()), {
      message: `system databases cannot be protected (${systemDatabases.join(', ')})`,
    }),
  resourceLocation: z.string().optional(),
});

export const backupInstanceBodySchema = z.object({
  properties: z.object({
    objectType: z.literal('BackupInstance').optional(),
    friendlyName: z.string().max(200).optional(),
    dataSourceInfo: dataSourceInfoSchema,
    dataSourceSetInfo: z.unknown().optional(),
    policyInfo: z.object({ policyId: z.string().min(1, 'is required') }),
    datasourceAuthCredentials: authCredentialsSchema,
  }),
});
export type BackupInstanceBody = z.infer<typeof backupInstanceBodySchema>;

export const tagNameSchema = z.enum(tagNames);

export const backupNowBodySchema = z
  .object({
    backupRuleOptions: z
      .object({
        ruleName: z.string().min(1).optional(),
        triggerOption: z.object({ retentionTagOverride: tagNameSchema }).optional(),
      })
      .optional(),
  })
  .optional();

export const stopProtectionBodySchema = z
  .object({ deleteBackupData: z.boolean({ message: 'must be true or false' }).optional() })
  .optional();

/** The policy name from a policyInfo.policyId: a bare name, or an id ending in /backupPolicies/<name>. */
export function policyNameFromId(policyId: string): string {
  const m = /\/backupPolicies\/([^/]+)\/?$/i.exec(policyId);
  return m?.[1] ?? policyId;
}

/** Error codes of failed readiness checks (design §8): a backup failing with one says the database is not ready. */
export const readinessErrorCodes: readonly ErrorCode[] = [
  'UserErrorMSIMissingPermissions',
  'UserErrorMissingPermissionsOnSecretStore',
  'UserErrorInvalidSecret',
  'UserErrorSecretValueInUnsupportedFormat',
  'UserErrorMissingNetworkSecurityPermissions',
  'UserErrorDBUserAuthFailed',
  'UserErrorMissingDBPermissions',
  'UserErrorPgDumpVersionMismatch',
];

/**
 * `properties.readiness` of an instance: the readiness last observed, from the newest backup job (each backup runs
 * the checks first) or, before any, from the checks that configuring the instance passed.
 */
export const readinessSummarySchema = z.object({
  status: z.enum(['Ready', 'NotReady']),
  checkedAt: z.string(),
  code: z.enum(errorCodes).optional(),
  message: z.string().optional(),
});

export const protectionStates = ['ProtectionConfigured', 'ProtectionStopped'] as const;
export type ProtectionState = (typeof protectionStates)[number];

export const backupInstancePropertiesSchema = z.object({
  objectType: z.literal('BackupInstance'),
  friendlyName: z.string(),
  dataSourceInfo: z.object({
    objectType: z.string(),
    datasourceType: z.string(),
    resourceID: z.string(),
    resourceName: z.string(),
    resourceLocation: z.string().optional(),
  }),
  policyInfo: z.object({ policyId: z.string() }),
  datasourceAuthCredentials: authCredentialsSchema,
  protectionStatus: z.object({ status: z.enum(protectionStates) }),
  currentProtectionState: z.enum(protectionStates),
  provisioningState: z.literal('Succeeded'),
  /** Issue 15: the server the instance was protected from (bulk or auto-protect). */
  serverName: z.string().optional(),
  /** Issue 15: since when discovery no longer finds the database on its server (health: DatasourceMissing). */
  datasourceMissingSince: z.string().optional(),
  /** Present once protection is stopped: whether the expiry run deletes every point. */
  deleteBackupDataOnStop: z.boolean().optional(),
  /** The newest Available point: the last successful backup. */
  lastRecoveryPoint: z
    .object({
      recoveryPointId: z.string(),
      recoveryPointTime: z.string(),
      retentionTagName: tagNameSchema,
      sizeInBytes: z.number(),
      dataStore: z.enum(dataStores),
    })
    .optional(),
  lastJob: z
    .object({
      jobId: z.string(),
      operation: z.enum(jobOperations),
      status: z.enum(jobStatuses),
      startTime: z.string(),
    })
    .optional(),
  /** The next slot of the policy's schedule (ISO UTC), while protection is configured. */
  nextScheduledBackup: z.string().optional(),
  readiness: readinessSummarySchema.optional(),
  /** Computed at read time (domain/health.ts); absent only from the answers of PUT and stop/resume. */
  health: instanceHealthSchema.optional(),
});

export const backupInstanceResourceSchema = resourceSchema(resourceTypes.instance, backupInstancePropertiesSchema);
export type BackupInstanceResource = z.infer<typeof backupInstanceResourceSchema>;
export const backupInstanceListSchema = listSchema(backupInstanceResourceSchema);

// --- readiness (design §8) as the API reports it -----------------------------------------------------------------

export const readinessStatuses = ['Succeeded', 'Failed', 'NotApplicable'] as const;

/** One readiness check (ports.ts ReadinessCheck), with the ARM template that fixes a missing role when there is one. */
export const readinessCheckSchema = z.object({
  name: z.string(),
  status: z.enum(readinessStatuses),
  code: z.enum(errorCodes).optional(),
  message: z.string(),
  remediation: z.string().optional(),
  remediationTemplate: z.record(z.string(), z.unknown()).optional(),
  details: z
    .array(z.object({ code: z.enum(errorCodes), message: z.string(), target: z.string() }))
    .readonly()
    .optional(),
});

/** The answer of both validateForBackup routes. */
export const validateForBackupResultSchema = z.object({
  objectType: z.literal('ValidateForBackupResult'),
  status: z.enum(['Succeeded', 'Failed']),
  checks: z.array(readinessCheckSchema).readonly(),
  serverVersion: z.string().optional(),
  serverMajor: z.number().optional(),
});
export type ValidateForBackupResult = z.infer<typeof validateForBackupResultSchema>;

/** POST /api/validateForBackup (Azure's vault-level ValidateForBackupRequest): checks an instance before it exists. */
export const validateForBackupRequestSchema = z.object({
  backupInstance: backupInstanceBodySchema.shape.properties,
});
export type ValidateForBackupRequest = z.infer<typeof validateForBackupRequestSchema>;
