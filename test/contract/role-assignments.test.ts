// Assign missing roles through the real AuthorizationManagementClient, with a caller's token, against the local ARM
// stand-in (test/support/azure-standins.ts): the assignment at the chosen scope, its effect on the app's Reader
// check, a repeat, a caller who may not assign (the template instead), and a token that is never echoed.
import type { AuthorizationManagementClientOptionalParams } from '@azure/arm-authorization';
import { DefaultAzureCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { checkReaderOnServer, objectIdFromToken } from '../../shared/adapters/azure/arm-access';
import { assignRole } from '../../shared/adapters/azure/role-assignments';
import { assignMissingRoles, type AssignRolesDeps } from '../../shared/activities/assign-roles';
import type { InstanceRecord } from '../../shared/ports';
import { ARM_RESOURCE, useAzureStandins, type AzureStandins } from '../support/azure-standins';

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

const SUB = '00000000-1111-2222-3333-555555555555';
const server = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/rg-${name}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
const clientOptions = (): AuthorizationManagementClientOptionalParams => ({
  credentialScopes: [`${ARM_RESOURCE}/.default`],
  tlsOptions: { ca: standins.ca },
  retryOptions: { maxRetries: 0 },
});

/** The composition's wiring (composition.ts assignRolesDeps) pointed at the stand-ins, readiness = the ARM check. */
function deps(): AssignRolesDeps {
  const credential = new DefaultAzureCredential();
  return {
    checkReadiness: async (i) => ({
      checks: [
        await checkReaderOnServer({
          resourceId: i.dataSource.resourceID,
          credential,
          endpoint: standins.arm.url,
          clientOptions: clientOptions(),
        }),
      ],
    }),
    appPrincipalId: async () => objectIdFromToken((await credential.getToken(`${ARM_RESOURCE}/.default`)).token),
    assignRole: (o) => assignRole({ ...o, endpoint: standins.arm.url, clientOptions: clientOptions() }),
  };
}

const instanceOn = (serverId: string): InstanceRecord => ({
  name: 'orders',
  friendlyName: 'orders',
  dataSource: {
    objectType: 'Datasource',
    datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
    resourceID: `${serverId}/databases/orders`,
    resourceName: 'orders',
  },
  policyName: 'weekly',
  secret: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' },
  protectionState: 'ProtectionConfigured',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
});

describe('assignMissingRoles', () => {
  it("assigns Reader to the app's identity at the server's resource group with the caller's token, then passes", async () => {
    const id = server('pg-rg');
    standins.arm.setPermissions(id, []);
    const token = standins.arm.issueCallerToken([`/subscriptions/${SUB}/resourceGroups/rg-pg-rg`]);
    const result = await assignMissingRoles(deps(), instanceOn(id), { scope: 'resourceGroup' }, token);
    expect(result.assignments).toEqual([
      {
        role: 'Reader',
        scope: `/subscriptions/${SUB}/resourceGroups/rg-pg-rg`,
        principalId: standins.identity.principalId,
        outcome: 'Created',
        message: expect.stringContaining('assigned') as string,
      },
    ]);
    expect(result.readiness.status).toBe('Succeeded');
    expect(standins.arm.assignments).toContainEqual(
      expect.objectContaining({
        scope: `/subscriptions/${SUB}/resourceGroups/rg-pg-rg`,
        roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
        principalId: standins.identity.principalId,
      }),
    );
  });

  it('reports an existing assignment as AlreadyAssigned under the same deterministic name', async () => {
    const id = server('pg-twice');
    const token = standins.arm.issueCallerToken([id]);
    const o = {
      scope: id,
      roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
      principalId: standins.identity.principalId,
      callerToken: token,
    };
    const first = await assignRole({ ...o, endpoint: standins.arm.url, clientOptions: clientOptions() });
    const second = await assignRole({ ...o, endpoint: standins.arm.url, clientOptions: clientOptions() });
    expect([first.outcome, second.outcome]).toEqual(['Created', 'AlreadyAssigned']);
  });

  it('gives a caller who may not assign there the role-assignment template, and readiness still fails', async () => {
    const id = server('pg-denied');
    standins.arm.setPermissions(id, []);
    const token = standins.arm.issueCallerToken([`/subscriptions/${SUB}/resourceGroups/elsewhere`]);
    const result = await assignMissingRoles(deps(), instanceOn(id), {}, token);
    expect(result.assignments[0]).toMatchObject({ outcome: 'NotPermitted', scope: id });
    expect(result.assignments[0]?.remediationTemplate).toMatchObject({
      resources: [{ type: 'Microsoft.Authorization/roleAssignments' }],
    });
    expect(result.readiness.status).toBe('Failed');
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it('refuses a token ARM does not accept as NotPermitted, never echoing it', async () => {
    const id = server('pg-badtoken');
    standins.arm.setPermissions(id, []);
    const result = await assignMissingRoles(deps(), instanceOn(id), {}, 'not-a-token-abc');
    expect(result.assignments[0]).toMatchObject({
      outcome: 'NotPermitted',
      message: expect.stringMatching(/token/) as string,
    });
    expect(JSON.stringify(result)).not.toContain('not-a-token-abc');
  });

  it('changes nothing when every check passes', async () => {
    const id = server('pg-fine');
    standins.arm.setPermissions(id, [{ actions: ['*/read'] }]);
    const before = standins.arm.assignments.length;
    const result = await assignMissingRoles(deps(), instanceOn(id), {}, standins.arm.issueCallerToken([id]));
    expect(result).toMatchObject({ assignments: [], readiness: { status: 'Succeeded' } });
    expect(standins.arm.assignments).toHaveLength(before);
  });
});
