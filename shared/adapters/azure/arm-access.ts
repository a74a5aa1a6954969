// The ARM half of backup readiness (design §8): does the app's identity have Reader on the PostgreSQL server?
// Asks ARM for the caller's effective permissions on the server and, when Reader is missing, offers the fix.

import {
  AuthorizationManagementClient,
  type AuthorizationManagementClientOptionalParams,
} from '@azure/arm-authorization';
import {
  AggregateAuthenticationError,
  AuthenticationError,
  CredentialUnavailableError,
  type TokenCredential,
} from '@azure/identity';
import { PgkeepError } from '../../errors';
import type { ReadinessCheck } from '../../ports';
import { isRestError, isServiceUnavailable, isTransportError } from './azure-rest-errors';

export const READER_ROLE_DEFINITION_ID = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
export const ARM_CHECK_NAME = 'appCanReadServer';
const PUBLIC_ARM_ENDPOINT = 'https://management.azure.com';

const ARM_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+(\/[^/]+\/[^/]+)+\/?$/i;

/** Whether an id is an ARM resource id (`/subscriptions/…/resourceGroups/…/providers/<ns>/<type>/<name>…`). */
export function isArmResourceId(id: string): boolean {
  return ARM_ID.test(id);
}

/** A PostgreSQL server (flexible or single) named by an ARM id of the server or of one of its databases. */
export interface PostgresServerId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly serverType: 'flexibleServers' | 'servers';
  readonly serverName: string;
  /** The server's own resource id, in canonical casing. */
  readonly id: string;
}

export function parsePostgresServerId(resourceId: string): PostgresServerId | undefined {
  const m =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/(flexibleServers|servers)\/([^/]+)(?:\/databases\/[^/]+)?\/?$/i.exec(
      resourceId,
    );
  if (!m) return undefined;
  const [, subscriptionId = '', resourceGroup = '', type = '', serverName = ''] = m;
  const serverType = type.toLowerCase() === 'servers' ? 'servers' : 'flexibleServers';
  return {
    subscriptionId,
    resourceGroup,
    serverType,
    serverName,
    id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.DBforPostgreSQL/${serverType}/${serverName}`,
  };
}

/** RBAC action matching: `*` matches any run of characters, comparison is case-insensitive. */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}

interface PermissionLike {
  actions?: string[];
  notActions?: string[];
}

/** Whether any one permission (one role assignment) grants the action and does not exclude it in its notActions. */
export function permissionsAllow(permissions: readonly PermissionLike[], action: string): boolean {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => actionMatches(a, action)) &&
      !(p.notActions ?? []).some((n) => actionMatches(n, action)),
  );
}

/** An ARM deployment template, as JSON. */
export type ArmTemplate = Record<string, unknown>;

/**
 * A resource-group deployment that gives a principal Reader on the server, named `guid(scope, principal, role)` so
 * deploying it twice is a no-op.
 */
export function readerRoleAssignmentTemplate(server: PostgresServerId, principalId?: string): ArmTemplate {
  const serverType = `Microsoft.DBforPostgreSQL/${server.serverType}`;
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    parameters: {
      principalId: {
        type: 'string',
        ...(principalId === undefined ? {} : { defaultValue: principalId }),
        metadata: { description: "object id of the pgkeep app's managed identity" },
      },
      serverName: { type: 'string', defaultValue: server.serverName },
    },
    variables: {
      // Reader
      roleDefinitionId: `[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '${READER_ROLE_DEFINITION_ID}')]`,
    },
    resources: [
      {
        type: 'Microsoft.Authorization/roleAssignments',
        apiVersion: '2022-04-01',
        scope: `[format('${serverType}/{0}', parameters('serverName'))]`,
        name: `[guid(resourceId('${serverType}', parameters('serverName')), parameters('principalId'), variables('roleDefinitionId'))]`,
        properties: {
          roleDefinitionId: "[variables('roleDefinitionId')]",
          principalId: "[parameters('principalId')]",
          principalType: 'ServicePrincipal',
          description: 'pgkeep: read the PostgreSQL server it backs up',
        },
      },
    ],
  };
}

/** The `oid` claim of an access token: the identity's object id, for the remediation. Undefined if unreadable. */
export function objectIdFromToken(token: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const oid = (payload as { oid?: unknown }).oid;
    return typeof oid === 'string' && /^[0-9a-f-]{36}$/i.test(oid) ? oid : undefined;
  } catch {
    return undefined;
  }
}

export interface CheckReaderOnServerOptions {
  /** The backup instance's `dataSourceInfo.resourceID` (a database or server id, or any stable non-ARM id). */
  resourceId: string;
  credential: TokenCredential;
  /** The ARM endpoint; default the public cloud's https://management.azure.com. */
  endpoint?: string;
  /** Passed to AuthorizationManagementClient last (e.g. credentialScopes, tlsOptions, retryOptions). */
  clientOptions?: AuthorizationManagementClientOptionalParams;
  /** The app identity's object id for the remediation; read from the ARM token's oid claim when not given. */
  principalId?: string;
  abortSignal?: AbortSignal;
}

/** A ReadinessCheck that may carry the role-assignment template that fixes it. */
export interface ArmReaderCheck extends ReadinessCheck {
  readonly remediationTemplate?: ArmTemplate;
}

/**
 * Checks that the app's identity may read the server behind `resourceId` (its effective actions allow `*\/read` or
 * the server type's read action, after notActions). NotApplicable for ids that are not ARM ids. Never throws for an
 * expected failure; throws retryable PgkeepError when ARM cannot be reached or is unavailable, and rethrows
 * anything unexpected.
 */
export async function checkReaderOnServer(options: CheckReaderOnServerOptions): Promise<ArmReaderCheck> {
  const { resourceId, credential } = options;
  if (!isArmResourceId(resourceId)) {
    return {
      name: ARM_CHECK_NAME,
      status: 'NotApplicable',
      message: 'the data source is not an Azure resource id, so there is no Azure role to check',
    };
  }
  const server = parsePostgresServerId(resourceId);
  if (server === undefined) {
    return {
      name: ARM_CHECK_NAME,
      status: 'Failed',
      code: 'UserErrorInvalidRequest',
      message:
        'the resource id is an Azure resource id but not one of a Microsoft.DBforPostgreSQL flexibleServers or servers server or database',
    };
  }
  const endpoint = options.endpoint ?? PUBLIC_ARM_ENDPOINT;
  const client = new AuthorizationManagementClient(credential, server.subscriptionId, {
    endpoint,
    $host: endpoint,
    ...options.clientOptions,
  });
  const action = `Microsoft.DBforPostgreSQL/${server.serverType}/read`;
  const scopes = options.clientOptions?.credentialScopes ?? `${endpoint}/.default`;

  const missing = async (message: string, cause?: unknown): Promise<ArmReaderCheck> => {
    let principalId = options.principalId;
    if (principalId === undefined && cause === undefined) {
      const token = await credential.getToken(scopes, { abortSignal: options.abortSignal }).catch(() => null);
      principalId = token ? objectIdFromToken(token.token) : undefined;
    }
    const assignee = principalId ?? '<object id of the app identity>';
    return {
      name: ARM_CHECK_NAME,
      status: 'Failed',
      code: 'UserErrorMSIMissingPermissions',
      message,
      remediation:
        (cause === undefined ? '' : 'enable a managed identity on the app, then ') +
        `give the app's managed identity the Reader role on ${server.id}: deploy remediationTemplate to resource ` +
        `group ${server.resourceGroup} (az deployment group create -g ${server.resourceGroup} --template-file reader.json), ` +
        `or run: az role assignment create --assignee-object-id ${assignee} --assignee-principal-type ServicePrincipal ` +
        `--role Reader --scope ${server.id}`,
      remediationTemplate: readerRoleAssignmentTemplate(server, principalId),
    };
  };

  let permissions: PermissionLike[];
  try {
    permissions = [];
    const pages = client.permissions.listForResource(
      server.resourceGroup,
      'Microsoft.DBforPostgreSQL',
      '',
      server.serverType,
      server.serverName,
      { abortSignal: options.abortSignal },
    );
    for await (const p of pages) permissions.push(p);
  } catch (err) {
    if (
      err instanceof CredentialUnavailableError ||
      err instanceof AuthenticationError ||
      err instanceof AggregateAuthenticationError
    ) {
      return missing('the app has no usable identity to ask Azure about its access to the server', err);
    }
    if (isRestError(err) && (err.statusCode === 401 || err.statusCode === 403)) {
      return missing(`the app's identity may not read ${server.id}`);
    }
    if (isRestError(err) && err.statusCode === 404) {
      return {
        name: ARM_CHECK_NAME,
        status: 'Failed',
        code: 'UserErrorNotFound',
        message: `Azure knows no server ${server.id} (or no resource group ${server.resourceGroup})`,
        remediation: 'check the subscription, resource group and server name in dataSourceInfo.resourceID',
      };
    }
    if (isTransportError(err) || isServiceUnavailable(err)) {
      throw new PgkeepError('SystemErrorInternal', `could not ask Azure Resource Manager about ${server.id}`, {
        cause: err,
        hint: 'Azure Resource Manager could not be reached or was unavailable; the check is retried',
      });
    }
    throw err;
  }
  if (permissionsAllow(permissions, action)) {
    return { name: ARM_CHECK_NAME, status: 'Succeeded', message: `the app's identity can read ${server.id}` };
  }
  return missing(`the app's identity has no role that allows ${action} on ${server.id}`);
}
