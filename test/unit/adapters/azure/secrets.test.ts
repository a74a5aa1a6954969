import { DefaultAzureCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretResolver, locateSecret, parseSecretReference } from '../../../../shared/adapters/azure/secrets';
import { readAppSetting } from '../../../../shared/config';
import { PgkeepError } from '../../../../shared/errors';

describe('parseSecretReference', () => {
  it('takes a Key Vault URI apart into vault URL, name and optional version', () => {
    expect(
      parseSecretReference({ secretStoreType: 'AzureKeyVault', uri: 'https://myvault.vault.azure.net/secrets/orders' }),
    ).toEqual({
      ok: true,
      value: {
        secretStoreType: 'AzureKeyVault',
        uri: 'https://myvault.vault.azure.net/secrets/orders',
        vaultUrl: 'https://myvault.vault.azure.net',
        name: 'orders',
        version: undefined,
      },
    });
    const versioned = parseSecretReference({
      secretStoreType: 'AzureKeyVault',
      uri: 'https://myvault.vault.azure.net/secrets/orders/0123456789abcdef0123456789abcdef',
    });
    expect(versioned.ok && versioned.value).toMatchObject({ version: '0123456789abcdef0123456789abcdef' });
  });

  it('takes the vault URL to be whatever precedes /secrets/, port included', () => {
    const r = parseSecretReference({ secretStoreType: 'AzureKeyVault', uri: 'https://127.0.0.1:8443/secrets/x/' });
    expect(r.ok && r.value).toMatchObject({ vaultUrl: 'https://127.0.0.1:8443', name: 'x', version: undefined });
  });

  it('reads appsetting://NAME', () => {
    expect(parseSecretReference({ secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' })).toEqual({
      ok: true,
      value: { secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB', settingName: 'ORDERS_DB' },
    });
  });

  it.each([
    [null, '', 'must be an object'],
    [{ uri: 'appsetting://X' }, 'secretStoreType', 'AzureKeyVault or AppSetting'],
    [{ secretStoreType: 'AppSetting' }, 'uri', 'is required'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'http://v.vault.azure.net/secrets/x' }, 'uri', 'https://'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'not a uri' }, 'uri', 'Key Vault secret URI'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'https://v.vault.azure.net/keys/x' }, 'uri', '/secrets/<name>'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'https://v.vault.azure.net/secrets/a_b' }, 'uri', 'letters, digits'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'https://v.vault.azure.net/secrets/a/b/c' }, 'uri', '/secrets/<name>'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'https://v.vault.azure.net/secrets/a?x=1' }, 'uri', 'query'],
    [{ secretStoreType: 'AzureKeyVault', uri: 'https://u:p@v.vault.azure.net/secrets/a' }, 'uri', 'user information'],
    [{ secretStoreType: 'AppSetting', uri: 'https://v.vault.azure.net/secrets/a' }, 'uri', 'appsetting://'],
    [{ secretStoreType: 'AppSetting', uri: 'appsetting://NOT-VALID' }, 'uri', 'letters, digits and underscores'],
    [{ secretStoreType: 'AppSetting', uri: 'appsetting://AzureWebJobsStorage' }, 'uri', "pgkeep's own"],
    [{ secretStoreType: 'AppSetting', uri: 'appsetting://BACKUP_ENCRYPTION_KEY' }, 'uri', "pgkeep's own"],
    [{ secretStoreType: 'AppSetting', uri: 'appsetting://AZURE_CLIENT_SECRET' }, 'uri', "platform's"],
  ])('refuses %j, naming the field (%s) and what is wrong', (obj, field, says) => {
    const r = parseSecretReference(obj);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path.join('.'))).toContain(field);
    expect(r.issues.map((i) => i.message).join(' | ')).toContain(says);
  });

  it('reports every problem at once', () => {
    const r = parseSecretReference({ secretStoreType: 'Vault', uri: 42 });
    expect(r.ok ? [] : r.issues.map((i) => i.path.join('.'))).toEqual(['secretStoreType', 'uri']);
  });
});

describe('locateSecret', () => {
  it('throws UserErrorInvalidRequest with a detail per problem, targeted at the field', () => {
    try {
      locateSecret({ secretStoreType: 'AppSetting', uri: 'appsetting://bad-name' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PgkeepError);
      expect((err as PgkeepError).code).toBe('UserErrorInvalidRequest');
      expect((err as PgkeepError).details.map((d) => d.target)).toEqual(['secretStoreResource.uri']);
    }
  });
});

describe('createSecretResolver (AppSetting)', () => {
  const settings: Record<string, string> = { ORDERS_DB: 'Server=h;Database=d;User Id=u;Password=p', EMPTY: '  ' };
  const resolver = createSecretResolver({
    readAppSetting: (name) => settings[name],
    // Never reached for app settings; a real credential keeps the dependency honest.
    keyVault: { credential: new DefaultAzureCredential() },
  });

  it('returns the value of the named app setting', async () => {
    await expect(resolver.resolve({ secretStoreType: 'AppSetting', uri: 'appsetting://ORDERS_DB' })).resolves.toBe(
      settings.ORDERS_DB,
    );
  });

  it.each(['MISSING', 'EMPTY'])(
    'fails UserErrorInvalidSecret naming the setting when %s is unset or blank',
    async (name) => {
      const err = await resolver
        .resolve({ secretStoreType: 'AppSetting', uri: `appsetting://${name}` })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PgkeepError);
      expect((err as PgkeepError).code).toBe('UserErrorInvalidSecret');
      expect((err as PgkeepError).message).toContain(name);
    },
  );
});

describe('readAppSetting', () => {
  const name = 'PGKEEP_TEST_READ_APP_SETTING';
  afterEach(() => {
    delete process.env[name];
    delete process.env.AZURE_CLIENT_SECRET_PGKEEP_TEST;
  });

  it('reads a user-named setting from the environment at call time', () => {
    expect(readAppSetting(name)).toBeUndefined();
    process.env[name] = 'value';
    expect(readAppSetting(name)).toBe('value');
  });

  it("refuses pgkeep's own and the platform's settings, and names that are not setting names", () => {
    process.env.AZURE_CLIENT_SECRET_PGKEEP_TEST = 'x';
    expect(readAppSetting('AZURE_CLIENT_SECRET_PGKEEP_TEST')).toBeUndefined();
    expect(readAppSetting('LOG_LEVEL')).toBeUndefined();
    expect(readAppSetting('PATH=/x')).toBeUndefined();
  });
});
