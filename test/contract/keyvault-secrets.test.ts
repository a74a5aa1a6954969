// The Key Vault path of the secret resolver: the real SecretClient and the real managed-identity credential against
// the local Key Vault and App Service identity stand-ins (test/support/azure-standins.ts).
import { DefaultAzureCredential, EnvironmentCredential, type TokenCredential } from '@azure/identity';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../shared/adapters/azure/secrets';
import { PgkeepError } from '../../shared/errors';
import type { SecretResolver } from '../../shared/ports';
import { freePort } from '../support/azurite';
import { useAzureStandins, VAULT_RESOURCE, type AzureStandins } from '../support/azure-standins';

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

// Trust the stand-in's certificate for this client only, and accept a vault host that is not *.vault.azure.net.
const testClientOptions = (): SecretClientOptions => ({
  tlsOptions: { ca: standins.ca },
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
});

function keyVaultResolver(
  credential: TokenCredential = new DefaultAzureCredential(),
  clientOptions: SecretClientOptions = testClientOptions(),
): SecretResolver {
  return createSecretResolver({ readAppSetting: () => undefined, keyVault: { credential, clientOptions } });
}

const kvRef = (path: string, vaultUrl = standins.keyVault.url) => ({
  secretStoreType: 'AzureKeyVault' as const,
  uri: `${vaultUrl}/secrets/${path}`,
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('createSecretResolver (Key Vault)', () => {
  it('returns the newest version of an unversioned secret and the named version of a versioned one', async () => {
    const v1 = standins.keyVault.setSecret('orders-conn', 'Server=a;Database=d;User Id=u;Password=one');
    standins.keyVault.setSecret('orders-conn', 'Server=a;Database=d;User Id=u;Password=two');
    const resolver = keyVaultResolver();
    expect(await resolver.resolve(kvRef('orders-conn'))).toBe('Server=a;Database=d;User Id=u;Password=two');
    expect(await resolver.resolve(kvRef(`orders-conn/${v1}`))).toBe('Server=a;Database=d;User Id=u;Password=one');
  });

  it("answers Key Vault's bearer challenge with a managed-identity token for the vault resource", async () => {
    standins.keyVault.setSecret('challenge-me', 'value');
    const before = standins.keyVault.requests.length;
    await keyVaultResolver().resolve(kvRef('challenge-me'));
    const seen = standins.keyVault.requests.slice(before).map((r) => `${r.auth} ${r.path}`);
    expect(seen).toEqual(['none /secrets/challenge-me/', 'valid /secrets/challenge-me/']);
    expect(standins.identity.tokenRequests).toContain(VAULT_RESOURCE);
  });

  it('does the challenge once per vault: later reads carry the token straight away', async () => {
    standins.keyVault.setSecret('twice', 'value');
    const resolver = keyVaultResolver();
    await resolver.resolve(kvRef('twice'));
    const before = standins.keyVault.requests.length;
    await resolver.resolve(kvRef('twice'));
    expect(standins.keyVault.requests.slice(before).map((r) => r.auth)).toEqual(['valid']);
  });

  it('fails UserErrorInvalidSecret when the secret or its version does not exist', async () => {
    standins.keyVault.setSecret('has-one-version', 'value');
    const resolver = keyVaultResolver();
    for (const path of ['no-such-secret', 'has-one-version/0123456789abcdef0123456789abcdef']) {
      const err = await rejection(resolver.resolve(kvRef(path)));
      expect(err, path).toBeInstanceOf(PgkeepError);
      expect((err as PgkeepError).code, path).toBe('UserErrorInvalidSecret');
      expect((err as PgkeepError).message, path).toContain(path.split('/')[0]);
    }
  });

  it('fails UserErrorMissingPermissionsOnSecretStore when RBAC forbids reading the secret', async () => {
    standins.keyVault.setSecret('forbidden', 'Password=hunter2-never-shown');
    standins.keyVault.deny('forbidden');
    const err = await rejection(keyVaultResolver().resolve(kvRef('forbidden')));
    expect(err).toBeInstanceOf(PgkeepError);
    expect((err as PgkeepError).code).toBe('UserErrorMissingPermissionsOnSecretStore');
    expect((err as PgkeepError).retryable).toBe(false);
  });

  it("points at the vault's network rules when its firewall refuses the app", async () => {
    standins.keyVault.deny('behind-firewall', {
      status: 403,
      code: 'Forbidden',
      innerCode: 'ForbiddenByFirewall',
      message: 'Client address is not authorized and caller is not a trusted service.',
    });
    const err = (await rejection(keyVaultResolver().resolve(kvRef('behind-firewall')))) as PgkeepError;
    expect(err.code).toBe('UserErrorMissingPermissionsOnSecretStore');
    expect(err.hint).toContain('network rules');
  });

  it('fails UserErrorInvalidSecret for a disabled secret (a 403 that is not about permissions)', async () => {
    standins.keyVault.deny('disabled', {
      status: 403,
      code: 'Forbidden',
      innerCode: 'SecretDisabled',
      message: 'Operation get is not allowed on a disabled secret.',
    });
    const err = (await rejection(keyVaultResolver().resolve(kvRef('disabled')))) as PgkeepError;
    expect(err.code).toBe('UserErrorInvalidSecret');
    expect(err.message).toContain('disabled');
  });

  it('fails UserErrorMissingPermissionsOnSecretStore when the app has no usable identity', async () => {
    standins.keyVault.setSecret('no-identity', 'value');
    // A real credential that finds nothing to authenticate with (no AZURE_CLIENT_ID/SECRET in the environment).
    const err = await rejection(keyVaultResolver(new EnvironmentCredential()).resolve(kvRef('no-identity')));
    expect(err).toBeInstanceOf(PgkeepError);
    expect((err as PgkeepError).code).toBe('UserErrorMissingPermissionsOnSecretStore');
    expect((err as PgkeepError).hint).toContain('identity');
  });

  it('fails retryable UserErrorMissingNetworkSecurityPermissions when nothing answers at the vault', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const err = await rejection(keyVaultResolver().resolve(kvRef('anything', closed)));
    expect(err).toBeInstanceOf(PgkeepError);
    expect((err as PgkeepError).code).toBe('UserErrorMissingNetworkSecurityPermissions');
    expect((err as PgkeepError).retryable).toBe(true);
  });

  it("keeps TLS verification on: without the stand-in's CA the client refuses the connection", async () => {
    standins.keyVault.setSecret('tls', 'value');
    const { tlsOptions: _ca, ...withoutCa } = testClientOptions();
    const err = await rejection(keyVaultResolver(new DefaultAzureCredential(), withoutCa).resolve(kvRef('tls')));
    // Not swallowed into a PgkeepError: a certificate problem is not one of the mapped cases.
    expect(err).not.toBeInstanceOf(PgkeepError);
    expect(String((err as { code?: unknown }).code)).toMatch(/CERT|SELF_SIGNED/);
  });

  it('fails UserErrorInvalidRequest for a malformed reference without calling the vault', async () => {
    const before = standins.keyVault.requests.length;
    const err = await rejection(
      keyVaultResolver().resolve({ secretStoreType: 'AzureKeyVault', uri: `${standins.keyVault.url}/keys/x` }),
    );
    expect((err as PgkeepError).code).toBe('UserErrorInvalidRequest');
    expect(standins.keyVault.requests.length).toBe(before);
  });
});
