// "Assign missing roles" (issue 15): creates a role assignment for the app's identity with the *caller's* ARM token
// (an admin signed in to the console, or the CLI's credential), through the real AuthorizationManagementClient.
// The token is used for this one client and never stored, logged or put in an error.

import { createHash } from 'node:crypto';
import {
  AuthorizationManagementClient,
  type AuthorizationManagementClientOptionalParams,
} from '@azure/arm-authorization';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { PgkeepError } from '../../errors';
import { isRestError, isServiceUnavailable, isTransportError } from './azure-rest-errors';

export const KEY_VAULT_SECRETS_USER_ROLE_ID = '4633458b-17de-408a-b874-0445c86b69e6';

/** A credential that hands out one bearer token as given (the caller's), for one client. */
export function bearerTokenCredential(token: string): TokenCredential {
  const accessToken: AccessToken = { token, expiresOnTimestamp: Date.now() + 5 * 60_000 };
  return { getToken: () => Promise.resolve(accessToken) };
}

/** `guid(scope, principal, role)` as Bicep makes it: the same assignment always has the same name. */
export function roleAssignmentName(scope: string, principalId: string, roleDefinitionId: string): string {
  const h = createHash('sha256').update(`${scope.toLowerCase()}|${principalId}|${roleDefinitionId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface AssignRoleOptions {
  /** An ARM scope: a resource, a resource group or a subscription id. */
  readonly scope: string;
  /** The role definition's GUID (Reader, Key Vault Secrets User). */
  readonly roleDefinitionId: string;
  /** The app identity's object id. */
  readonly principalId: string;
  /** The caller's ARM access token (audience management.azure.com). */
  readonly callerToken: string;
  readonly endpoint: string;
  readonly clientOptions?: AuthorizationManagementClientOptionalParams;
  readonly abortSignal?: AbortSignal;
}

export type AssignRoleOutcome = 'Created' | 'AlreadyAssigned' | 'NotPermitted';

/**
 * Creates the assignment, named deterministically so a repeat finds its own. 409 RoleAssignmentExists →
 * AlreadyAssigned; 401/403 → NotPermitted (the caller may not assign roles there, or the token is not valid);
 * ARM unreachable or unavailable → retryable SystemErrorInternal; anything else is rethrown.
 */
export async function assignRole(options: AssignRoleOptions): Promise<{ outcome: AssignRoleOutcome; message: string }> {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(options.scope)?.[1];
  if (subscription === undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', `the scope ${options.scope} is not an Azure resource id`);
  }
  const client = new AuthorizationManagementClient(bearerTokenCredential(options.callerToken), subscription, {
    endpoint: options.endpoint,
    $host: options.endpoint,
    ...options.clientOptions,
  });
  const scope = options.scope.replace(/^\/+/, '');
  const name = roleAssignmentName(options.scope, options.principalId, options.roleDefinitionId);
  try {
    await client.roleAssignments.create(
      scope,
      name,
      {
        roleDefinitionId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${options.roleDefinitionId}`,
        principalId: options.principalId,
        principalType: 'ServicePrincipal',
        description: 'pgkeep: assigned by Assign missing roles',
      },
      { abortSignal: options.abortSignal },
    );
    return { outcome: 'Created', message: `assigned at ${options.scope}` };
  } catch (err) {
    if (isRestError(err) && err.statusCode === 409) {
      return { outcome: 'AlreadyAssigned', message: `already assigned at ${options.scope}` };
    }
    if (isRestError(err) && (err.statusCode === 401 || err.statusCode === 403)) {
      return {
        outcome: 'NotPermitted',
        message:
          err.statusCode === 401
            ? 'Azure did not accept the caller token (expired, or not for management.azure.com)'
            : `the caller may not create role assignments at ${options.scope} (needs Owner or User Access Administrator)`,
      };
    }
    if (isTransportError(err) || isServiceUnavailable(err)) {
      throw new PgkeepError('SystemErrorInternal', `could not reach Azure Resource Manager to assign a role`, {
        cause: err,
        hint: 'Azure Resource Manager could not be reached or was unavailable; try again',
      });
    }
    throw err;
  }
}
