// The ARM Reader check through the real AuthorizationManagementClient and the real managed-identity credential,
// against the local ARM permissions and App Service identity stand-ins (test/support/azure-standins.ts).
import type { AuthorizationManagementClientOptionalParams } from '@azure/arm-authorization';
import { DefaultAzureCredential, EnvironmentCredential, type TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import {
  checkReaderOnServer,
  READER_ROLE_DEFINITION_ID,
  type ArmReaderCheck,
} from '../../shared/adapters/azure/arm-access';
import { PgkeepError } from '../../shared/errors';
import { freePort } from '../support/azurite';
import { ARM_RESOURCE, useAzureStandins, type AzureStandins } from '../support/azure-standins';

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

const SUB = '00000000-1111-2222-3333-444444444444';
const serverId = (name: string, type = 'flexibleServers') =>
  `/subscriptions/${SUB}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/${type}/${name}`;

// The stand-in is not management.azure.com, but tokens are still asked for ARM's audience, as in Azure.
const clientOptions = (): AuthorizationManagementClientOptionalParams => ({
  credentialScopes: [`${ARM_RESOURCE}/.default`],
  tlsOptions: { ca: standins.ca },
  retryOptions: { maxRetries: 0 },
});

function check(resourceId: string, credential: TokenCredential = new DefaultAzureCredential(), endpoint?: string) {
  return checkReaderOnServer({
    resourceId,
    credential,
    endpoint: endpoint ?? standins.arm.url,
    clientOptions: clientOptions(),
  });
}

describe('checkReaderOnServer', () => {
  it("succeeds with Reader's */read, asking ARM about the server that holds the database", async () => {
    standins.arm.setPermissions(serverId('pg-reader'), [{ actions: ['*/read'] }]);
    const before = standins.arm.requests.length;
    const result = await check(`${serverId('pg-reader')}/databases/orders`);
    expect(result).toMatchObject({ name: 'appCanReadServer', status: 'Succeeded' });
    // ARM paths are case-insensitive (the SDK writes "resourcegroups").
    const seen = standins.arm.requests.slice(before).map((r) => ({ ...r, path: r.path.toLowerCase() }));
    expect(seen).toEqual([
      {
        method: 'GET',
        path: `${serverId('pg-reader')}/providers/Microsoft.Authorization/permissions`.toLowerCase(),
        auth: 'valid',
      },
    ]);
    expect(standins.identity.tokenRequests).toContain(ARM_RESOURCE);
  });

  it.each([
    ['the server type read action', ['Microsoft.DBforPostgreSQL/flexibleServers/read']],
    ['a provider wildcard', ['Microsoft.DBforPostgreSQL/*']],
    ['Owner-style *', ['*']],
    ['different casing', ['microsoft.dbforpostgresql/FLEXIBLESERVERS/READ']],
  ])('succeeds when a role grants %s', async (_what, actions) => {
    standins.arm.setPermissions(serverId('pg-granted'), [{ actions }]);
    expect((await check(serverId('pg-granted'))).status).toBe('Succeeded');
  });

  it('checks the single-server read action for Microsoft.DBforPostgreSQL/servers ids', async () => {
    standins.arm.setPermissions(serverId('pg-single', 'servers'), [
      { actions: ['Microsoft.DBforPostgreSQL/servers/read'] },
    ]);
    expect((await check(`${serverId('pg-single', 'servers')}/databases/orders`)).status).toBe('Succeeded');
    standins.arm.setPermissions(serverId('pg-single2', 'servers'), [
      { actions: ['Microsoft.DBforPostgreSQL/flexibleServers/read'] },
    ]);
    expect((await check(serverId('pg-single2', 'servers'))).status).toBe('Failed');
  });

  it('respects notActions: a role granting * but excluding the provider does not count', async () => {
    standins.arm.setPermissions(serverId('pg-excluded'), [
      { actions: ['*'], notActions: ['Microsoft.DBforPostgreSQL/*'] },
      { actions: ['Microsoft.Storage/*/read'] },
    ]);
    const result = await check(serverId('pg-excluded'));
    expect(result).toMatchObject({ status: 'Failed', code: 'UserErrorMSIMissingPermissions' });
  });

  it('fails UserErrorMSIMissingPermissions with a Reader role-assignment template for the app identity', async () => {
    standins.arm.setPermissions(serverId('pg-noread'), [{ actions: ['Microsoft.Storage/storageAccounts/read'] }]);
    const result: ArmReaderCheck = await check(`${serverId('pg-noread')}/databases/orders`);
    expect(result).toMatchObject({ status: 'Failed', code: 'UserErrorMSIMissingPermissions' });
    expect(result.remediation).toContain(serverId('pg-noread'));
    expect(result.remediation).toContain(standins.identity.principalId);
    const template = JSON.stringify(result.remediationTemplate);
    const resource = (result.remediationTemplate?.resources as Record<string, unknown>[] | undefined)?.[0];
    expect(resource).toMatchObject({
      type: 'Microsoft.Authorization/roleAssignments',
      scope: "[format('Microsoft.DBforPostgreSQL/flexibleServers/{0}', parameters('serverName'))]",
    });
    expect(String(resource?.name)).toMatch(/^\[guid\(resourceId\(.*parameters\('principalId'\).*roleDefinitionId/);
    expect(template).toContain(READER_ROLE_DEFINITION_ID);
    expect(result.remediationTemplate?.parameters).toMatchObject({
      principalId: { defaultValue: standins.identity.principalId },
      serverName: { defaultValue: 'pg-noread' },
    });
  });

  it('fails UserErrorMSIMissingPermissions when ARM refuses to say (403)', async () => {
    standins.arm.setPermissions(serverId('pg-forbidden'), 'forbidden');
    expect(await check(serverId('pg-forbidden'))).toMatchObject({
      status: 'Failed',
      code: 'UserErrorMSIMissingPermissions',
    });
  });

  it('fails UserErrorMSIMissingPermissions when the app has no usable identity', async () => {
    standins.arm.setPermissions(serverId('pg-anon'), [{ actions: ['*/read'] }]);
    const result = await check(serverId('pg-anon'), new EnvironmentCredential());
    expect(result).toMatchObject({ status: 'Failed', code: 'UserErrorMSIMissingPermissions' });
    expect(result.remediation).toMatch(/^enable a managed identity/);
  });

  it('fails UserErrorNotFound when ARM knows no such server', async () => {
    expect(await check(serverId('pg-missing'))).toMatchObject({ status: 'Failed', code: 'UserErrorNotFound' });
  });

  it('is NotApplicable for a data source outside Azure, without calling ARM', async () => {
    const before = standins.arm.requests.length;
    expect(await check('onprem:db1.example.com:5432/orders')).toMatchObject({ status: 'NotApplicable' });
    expect(standins.arm.requests.length).toBe(before);
  });

  it('fails UserErrorInvalidRequest for an ARM id that is not a PostgreSQL server or database', async () => {
    const id = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d`;
    expect(await check(id)).toMatchObject({ status: 'Failed', code: 'UserErrorInvalidRequest' });
  });

  it('throws a retryable PgkeepError when ARM cannot be reached', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const err = await check(serverId('pg-x'), new DefaultAzureCredential(), closed).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PgkeepError);
    expect((err as PgkeepError).retryable).toBe(true);
  });
});
