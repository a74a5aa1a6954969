// Request body schemas of the API (design §3), in Azure Data Protection's shapes. zod reports every bad field with
// its path; http.ts turns the paths into `$.properties.…` JSON paths.

import { z } from 'zod';

export const resourceNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export function validName(name: string): boolean {
  return resourceNamePattern.test(name);
}

/** Databases pgkeep refuses to protect (design §3). */
export const systemDatabases: readonly string[] = ['azure_maintenance', 'azure_sys', 'template0', 'template1'];

export const postgresDatasourceType = 'Microsoft.DBforPostgreSQL/servers/databases';

const secretStoreResource = z
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

export const authCredentialsSchema = z.object({
  objectType: z.literal('SecretStoreBasedAuthCredentials'),
  secretStoreResource,
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

export const tagNameSchema = z.enum(['Default', 'Weekly', 'Monthly', 'Yearly']);

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
