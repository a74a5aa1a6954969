import { describe, expect, it } from 'vitest';
import {
  isArmResourceId,
  parsePostgresServerId,
  permissionsAllow,
  readerRoleAssignmentTemplate,
  READER_ROLE_DEFINITION_ID,
} from '../../../../shared/adapters/azure/arm-access';

const SUB = '00000000-1111-2222-3333-444444444444';

describe('isArmResourceId', () => {
  it.each([
    `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s/databases/d`,
    `/subscriptions/${SUB}/resourcegroups/rg/providers/Microsoft.DBforPostgreSQL/servers/s`,
    `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d`,
  ])('accepts %s', (id) => expect(isArmResourceId(id)).toBe(true));

  it.each([
    'db1.example.com:5432/orders',
    'onprem/orders',
    `/subscriptions/${SUB}/resourceGroups/rg`,
    `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers`,
    `subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s`,
  ])('refuses %s', (id) => expect(isArmResourceId(id)).toBe(false));
});

describe('parsePostgresServerId', () => {
  it('finds the server of a database id, in canonical casing', () => {
    expect(
      parsePostgresServerId(
        `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.dbforpostgresql/FLEXIBLESERVERS/pg1/databases/orders`,
      ),
    ).toEqual({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      serverType: 'flexibleServers',
      serverName: 'pg1',
      id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1`,
    });
  });

  it('reads single-server ids and server ids without a database', () => {
    expect(
      parsePostgresServerId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/servers/old`),
    ).toMatchObject({ serverType: 'servers', serverName: 'old' });
  });

  it('refuses other providers and deeper children', () => {
    expect(
      parsePostgresServerId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s`),
    ).toBeUndefined();
    expect(
      parsePostgresServerId(
        `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s/firewallRules/f`,
      ),
    ).toBeUndefined();
  });
});

describe('permissionsAllow', () => {
  const action = 'Microsoft.DBforPostgreSQL/flexibleServers/read';

  it.each([
    [[{ actions: ['*/read'] }], true],
    [[{ actions: ['*'] }], true],
    [[{ actions: ['Microsoft.DBforPostgreSQL/*/read'] }], true],
    [[{ actions: ['microsoft.dbforpostgresql/flexibleservers/READ'] }], true],
    [[{ actions: ['Microsoft.DBforPostgreSQL/flexibleServers/write'] }], false],
    [[{ actions: ['Microsoft.DBforPostgreSQL/flexibleServersX/read'] }], false],
    [[{ actions: ['*'], notActions: ['*/read'] }], false],
    // notActions only subtract within their own role: another role can still grant the action.
    [[{ actions: ['*'], notActions: ['Microsoft.DBforPostgreSQL/*'] }, { actions: ['*/read'] }], true],
    [[], false],
  ])('for %j answers %s', (permissions, allowed) => {
    expect(permissionsAllow(permissions, action)).toBe(allowed);
  });

  it('treats regex characters in actions literally', () => {
    expect(permissionsAllow([{ actions: ['Microsoft.DBforPostgreSQL/flexibleServers/rea.'] }], action)).toBe(false);
  });
});

describe('readerRoleAssignmentTemplate', () => {
  const server = parsePostgresServerId(
    `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1`,
  )!;

  it('assigns the built-in Reader role at the server, named guid(scope, principal, role)', () => {
    const t = readerRoleAssignmentTemplate(server, 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    expect(JSON.stringify(t.variables)).toContain(READER_ROLE_DEFINITION_ID);
    expect(t.resources).toEqual([
      expect.objectContaining({
        type: 'Microsoft.Authorization/roleAssignments',
        name: "[guid(resourceId('Microsoft.DBforPostgreSQL/flexibleServers', parameters('serverName')), parameters('principalId'), variables('roleDefinitionId'))]",
        properties: expect.objectContaining({
          principalId: "[parameters('principalId')]",
          principalType: 'ServicePrincipal',
        }) as unknown,
      }),
    ]);
    expect(t.parameters).toMatchObject({ principalId: { defaultValue: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' } });
  });

  it('leaves principalId for the deployer to give when the identity is unknown', () => {
    const params = readerRoleAssignmentTemplate(server).parameters as Record<string, Record<string, unknown>>;
    expect(params.principalId).not.toHaveProperty('defaultValue');
  });
});
