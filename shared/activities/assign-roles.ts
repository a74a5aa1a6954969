// Assign missing roles (issue 15): when readiness finds the app's identity without Reader on the server or Key Vault
// Secrets User on the vault, create those assignments with the caller's ARM token at the scope the caller chose,
// then check readiness again. A caller who may not assign gets the role-assignment template, as readiness offers.

import type { DbReadinessReport, InstanceRecord, ReadinessCheck } from '../ports';
import {
  parsePostgresServerId,
  READER_ROLE_DEFINITION_ID,
  readerRoleAssignmentTemplate,
  type ArmTemplate,
} from '../adapters/azure/arm-access';
import { KEY_VAULT_SECRETS_USER_ROLE_ID, type AssignRoleOutcome } from '../adapters/azure/role-assignments';
import type { AssignRolesResponse } from '../contracts/servers';

export type RoleScopeLevel = 'resource' | 'resourceGroup' | 'subscription';

export interface AssignRolesDeps {
  readonly checkReadiness: (instance: InstanceRecord) => Promise<DbReadinessReport>;
  /** The app identity's object id (the oid of its ARM token), or undefined when it has none. */
  readonly appPrincipalId: () => Promise<string | undefined>;
  readonly assignRole: (o: {
    scope: string;
    roleDefinitionId: string;
    principalId: string;
    callerToken: string;
  }) => Promise<{ outcome: AssignRoleOutcome; message: string }>;
}

export interface AssignRolesRequest {
  readonly scope?: RoleScopeLevel;
  readonly keyVaultResourceId?: string;
}

/** The scope at the chosen level above (or at) a resource id. */
export function scopeAt(resourceId: string, level: RoleScopeLevel): string {
  const m = /^(\/subscriptions\/[^/]+)(\/resourceGroups\/[^/]+)?/i.exec(resourceId);
  if (!m || level === 'resource') return resourceId;
  return level === 'subscription' ? m[1]! : `${m[1]!}${m[2] ?? ''}`;
}

/** A resource-group deployment assigning a role on one resource to the app identity (for Key Vault). */
function keyVaultTemplate(vaultName: string, principalId?: string): ArmTemplate {
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    parameters: {
      principalId: { type: 'string', ...(principalId ? { defaultValue: principalId } : {}) },
      vaultName: { type: 'string', defaultValue: vaultName },
    },
    variables: {
      // Key Vault Secrets User
      roleDefinitionId: `[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '${KEY_VAULT_SECRETS_USER_ROLE_ID}')]`,
    },
    resources: [
      {
        type: 'Microsoft.Authorization/roleAssignments',
        apiVersion: '2022-04-01',
        scope: "[format('Microsoft.KeyVault/vaults/{0}', parameters('vaultName'))]",
        name: "[guid(resourceId('Microsoft.KeyVault/vaults', parameters('vaultName')), parameters('principalId'), variables('roleDefinitionId'))]",
        properties: {
          roleDefinitionId: "[variables('roleDefinitionId')]",
          principalId: "[parameters('principalId')]",
          principalType: 'ServicePrincipal',
        },
      },
    ],
  };
}

interface Needed {
  readonly role: string;
  readonly roleDefinitionId: string;
  readonly scope?: string;
  readonly template?: ArmTemplate;
  readonly why?: string;
}

function neededRoles(
  instance: InstanceRecord,
  failed: readonly ReadinessCheck[],
  request: AssignRolesRequest,
  principalId: string | undefined,
): Needed[] {
  const level = request.scope ?? 'resource';
  const needed: Needed[] = [];
  if (failed.some((c) => c.code === 'UserErrorMSIMissingPermissions')) {
    const server = parsePostgresServerId(instance.dataSource.resourceID);
    needed.push(
      server
        ? {
            role: 'Reader',
            roleDefinitionId: READER_ROLE_DEFINITION_ID,
            scope: scopeAt(server.id, level),
            template: readerRoleAssignmentTemplate(server, principalId),
          }
        : { role: 'Reader', roleDefinitionId: READER_ROLE_DEFINITION_ID, why: 'the resource id is not a server id' },
    );
  }
  if (
    failed.some((c) => c.code === 'UserErrorMissingPermissionsOnSecretStore') &&
    instance.secret.secretStoreType === 'AzureKeyVault'
  ) {
    const vault = request.keyVaultResourceId;
    const vaultName = vault?.split('/').pop() ?? new URL(instance.secret.uri).hostname.split('.')[0] ?? '';
    needed.push({
      role: 'Key Vault Secrets User',
      roleDefinitionId: KEY_VAULT_SECRETS_USER_ROLE_ID,
      ...(vault ? { scope: scopeAt(vault, level) } : { why: 'keyVaultResourceId is needed to assign on the vault' }),
      template: keyVaultTemplate(vaultName, principalId),
    });
  }
  return needed;
}

const reportOf = (r: DbReadinessReport): AssignRolesResponse['readiness'] => ({
  status: r.checks.some((c) => c.status === 'Failed') ? 'Failed' : 'Succeeded',
  checks: r.checks,
});

/**
 * Readiness, then one assignment per missing role with the caller's token (none without a token), then readiness
 * again when anything was assigned. Every role gets a result; NotPermitted and NotPossible carry the template.
 */
export async function assignMissingRoles(
  deps: AssignRolesDeps,
  instance: InstanceRecord,
  request: AssignRolesRequest,
  callerToken: string | undefined,
): Promise<AssignRolesResponse> {
  const before = await deps.checkReadiness(instance);
  const failed = before.checks.filter((c) => c.status === 'Failed');
  const principalId = failed.length > 0 ? await deps.appPrincipalId() : undefined;
  const assignments: AssignRolesResponse['assignments'] = [];
  for (const need of neededRoles(instance, failed, request, principalId)) {
    const base = { role: need.role, scope: need.scope ?? '', principalId: principalId ?? '' };
    const withTemplate = need.template ? { remediationTemplate: need.template } : {};
    if (need.scope === undefined || principalId === undefined) {
      const why = need.why ?? 'the app has no managed identity to assign the role to; enable one on the app first';
      assignments.push({ ...base, outcome: 'NotPossible', message: why, ...withTemplate });
      continue;
    }
    if (callerToken === undefined) {
      assignments.push({
        ...base,
        outcome: 'NotPermitted',
        message:
          'no caller token: sign in to the console, or pass an ARM token in x-pgkeep-arm-token (pgkeep servers/instances … --assign-roles)',
        ...withTemplate,
      });
      continue;
    }
    const done = await deps.assignRole({
      scope: need.scope,
      roleDefinitionId: need.roleDefinitionId,
      principalId,
      callerToken,
    });
    assignments.push({ ...base, ...done, ...(done.outcome === 'NotPermitted' ? withTemplate : {}) });
  }
  const assigned = assignments.some((a) => a.outcome === 'Created' || a.outcome === 'AlreadyAssigned');
  const after = assigned ? await deps.checkReadiness(instance) : before;
  return { assignments, readiness: reportOf(after) };
}
