// Servers over the API (issue 15): the PUT body and resource, the databases listing, bulk protect, a discovery run
// now, the globals recovery points and assignMissingRoles. Our own resource (Azure Backup configures from a
// server in its portal, not through a vault resource), in the same envelope and list shapes as the others.

import { z } from 'zod';
import { authCredentialsSchema } from './instances';
import { listSchema, resourceNamePattern, resourceSchema } from './resources';

export const serverResourceType = 'Microsoft.DataProtection/backupVaults/servers';

const globs = z.array(z.string().min(1).max(200)).max(100);

export const autoProtectSchema = z.object({
  policyId: z.string().min(1, 'is required'),
  include: globs.optional(),
  exclude: globs.optional(),
});

export const serverBodySchema = z.object({
  properties: z.object({
    resourceID: z.string().min(1, 'is required').max(1024),
    datasourceAuthCredentials: authCredentialsSchema,
    maxConcurrentBackups: z.int().min(1).max(64).optional(),
    autoProtect: autoProtectSchema.optional(),
    globalsEveryHours: z.int().min(0).max(8760).optional(),
  }),
});
export type ServerBody = z.infer<typeof serverBodySchema>;

export const serverPropertiesSchema = z.object({
  resourceID: z.string(),
  datasourceAuthCredentials: authCredentialsSchema,
  /** The server's own limit, when set. */
  maxConcurrentBackups: z.number().optional(),
  /** The limit in force: the server's, else SERVER_MAX_CONCURRENT_BACKUPS. */
  effectiveMaxConcurrentBackups: z.number(),
  autoProtect: autoProtectSchema.optional(),
  globalsEveryHours: z.number().optional(),
  /** `host:port`: backups of instances on the same host and port share this server's slots. */
  slotKey: z.string().optional(),
  lastDiscoveryAt: z.string().optional(),
  lastGlobalsAt: z.string().optional(),
});

export const serverResourceSchema = resourceSchema(serverResourceType, serverPropertiesSchema);
export type ServerResource = z.infer<typeof serverResourceSchema>;
export const serverListSchema = listSchema(serverResourceSchema);

export const serverDatabaseSchema = z.object({
  name: z.string(),
  sizeInBytes: z.number().optional(),
  protectable: z.boolean(),
  notProtectableReason: z.string().optional(),
  /** The backup instance protecting it. */
  protectedBy: z.string().optional(),
});
export type ServerDatabase = z.infer<typeof serverDatabaseSchema>;
export const serverDatabaseListSchema = z.object({ value: z.array(serverDatabaseSchema) });

const instanceName = z.string().regex(resourceNamePattern, 'must be a valid backup instance name');

export const protectBodySchema = z.object({
  policyId: z.string().min(1, 'is required'),
  databases: z.union([z.literal('all'), z.array(z.string().min(1).max(63)).min(1).max(1000)], {
    message: 'must be "all" or a list of database names',
  }),
  include: globs.optional(),
  exclude: globs.optional(),
  /** One credential for every database; absent = the server's. */
  datasourceAuthCredentials: authCredentialsSchema.optional(),
  /** Per database, over datasourceAuthCredentials. */
  databaseCredentials: z.record(z.string(), authCredentialsSchema).optional(),
  /** Per database, over `<server>-<database>`. */
  instanceNames: z.record(z.string(), instanceName).optional(),
  /** Create the ready ones even when others are not (default: all or nothing). */
  protectReadyOnly: z.boolean().optional(),
});
export type ProtectBody = z.infer<typeof protectBodySchema>;

export const protectOutcomes = [
  'Created',
  'AlreadyProtected',
  'NotReady',
  'Ready',
  'NotProtectable',
  'NotFound',
  'NameInUse',
] as const;

const checkSchema = z.object({
  name: z.string(),
  status: z.enum(['Succeeded', 'Failed', 'NotApplicable']),
  code: z.string().optional(),
  message: z.string(),
  remediation: z.string().optional(),
  details: z.array(z.unknown()).readonly().optional(),
});

export const protectResponseSchema = z.object({
  /** Succeeded: every selected database is protected (now or before); else some were not. */
  status: z.enum(['Succeeded', 'PartiallySucceeded', 'Failed']),
  jobId: z.string().optional(),
  value: z.array(
    z.object({
      database: z.string(),
      instanceName: z.string().optional(),
      outcome: z.enum(protectOutcomes),
      message: z.string(),
      failedChecks: z.array(checkSchema).readonly().optional(),
    }),
  ),
});
export type ProtectResponse = z.infer<typeof protectResponseSchema>;

export const discoverBodySchema = z.object({ globals: z.boolean().optional() }).optional();

export const discoveryRunSchema = z.object({
  server: z.string(),
  protected: z.array(z.string()),
  notReady: z.array(z.string()),
  missing: z.array(z.string()),
  returned: z.array(z.string()),
  globalsRecoveryPointId: z.string().optional(),
  jobId: z.string().optional(),
  error: z.string().optional(),
});

export const globalsPointSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.literal(`${serverResourceType}/recoveryPoints`),
  properties: z.object({
    objectType: z.literal('GlobalsRecoveryPoint'),
    recoveryPointId: z.string(),
    recoveryPointTime: z.string(),
    sizeInBytes: z.number(),
    pgDumpallVersion: z.string().optional(),
    roles: z.array(z.string()).optional(),
    warnings: z.array(z.string()).optional(),
    /** GET of one unencrypted point only: the pg_dumpall --globals-only script. */
    script: z.string().optional(),
    /**
     * GET of one encrypted point only: the key-encryption key (with version) that wraps its data key. Its script is
     * not shown: like a dump it leaves the vault encrypted (restore as files, then `pgkeep decrypt`).
     */
    encryptionKeyId: z.string().optional(),
  }),
});
export const globalsPointListSchema = listSchema(globalsPointSchema);

// --- assignMissingRoles ---

/** Where the caller wants the roles: the resource itself (default), its resource group, or its subscription. */
export const assignRolesBodySchema = z
  .object({
    scope: z.enum(['resource', 'resourceGroup', 'subscription']).optional(),
    /** The Key Vault's ARM id, for Key Vault Secrets User (a secret URI names only the vault's host). */
    keyVaultResourceId: z
      .string()
      .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i, {
        message: 'must be /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>',
      })
      .optional(),
  })
  .optional();

export const roleAssignmentResultSchema = z.object({
  role: z.string(),
  scope: z.string(),
  principalId: z.string(),
  outcome: z.enum(['Created', 'AlreadyAssigned', 'NotPermitted', 'NotPossible']),
  message: z.string(),
  /** NotPermitted / NotPossible: the ARM template that makes the assignment. */
  remediationTemplate: z.record(z.string(), z.unknown()).optional(),
});

export const assignRolesResponseSchema = z.object({
  assignments: z.array(roleAssignmentResultSchema),
  /** The readiness report after the assignments (validateForBackup's shape). */
  readiness: z.object({ status: z.enum(['Succeeded', 'Failed']), checks: z.array(checkSchema).readonly() }),
});
export type AssignRolesResponse = z.infer<typeof assignRolesResponseSchema>;

/** The header the caller's ARM token arrives in (never logged): ours first, then the App Service token store's. */
export const callerArmTokenHeaders = ['x-pgkeep-arm-token', 'x-ms-token-aad-access-token'] as const;
