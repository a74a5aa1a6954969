// The Key Vault KEK provider: the real KeyClient and CryptographyClient with the real managed-identity credential
// against the local Key Vault (keys) and App Service identity stand-ins (test/support/azure-standins.ts): wrap with
// the current version, unwrap with the version named, rotation, a disabled version, a deleted key.
import { randomBytes } from 'node:crypto';
import { DefaultAzureCredential, EnvironmentCredential } from '@azure/identity';
import type { KeyClientOptions } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { keyVaultKekProvider, parseKeyVaultKeyId } from '../../shared/adapters/azure/keyvault-keys';
import { expectNoSecret, failureOf } from '../support/failures';
import { useAzureStandins, type AzureStandins } from '../support/azure-standins';

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

// Trust the stand-in's certificate for these clients only, and accept a vault host that is not *.vault.azure.net.
const clientOptions = (): KeyClientOptions => ({
  tlsOptions: { ca: standins.ca },
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
});
const provider = (keyUri?: string) =>
  keyVaultKekProvider({
    ...(keyUri ? { keyUri } : {}),
    credential: new DefaultAzureCredential(),
    clientOptions: clientOptions(),
  });
const versionOf = (id: string) => id.split('/').at(-1)!;
let names = 0;
const newKey = () => `kek-${++names}-${randomBytes(3).toString('hex')}`;

describe('keyVaultKekProvider', () => {
  it('wraps with the current version of a versionless key id, names that version, and unwraps with it', async () => {
    const name = newKey();
    const v1 = standins.keyVault.createKeyVersion(name);
    const kek = provider(`${standins.keyVault.url}/keys/${name}`);
    const dataKey = randomBytes(32);
    const wrapped = await kek.wrap(dataKey);
    expect(wrapped).toMatchObject({ keyProvider: 'azureKeyVault', keyId: v1, keyWrapAlgorithm: 'RSA-OAEP-256' });
    expect(Buffer.from(wrapped.wrappedKey, 'base64').length).toBe(256);
    expect((await kek.unwrap(wrapped)).equals(dataKey)).toBe(true);
    // Wrapping happened in the vault (wrapkey), not with key material fetched to the app.
    const posts = standins.keyVault.requests
      .filter((r) => r.method === 'POST' && r.auth === 'valid')
      .map((r) => r.path);
    expect(posts).toEqual(expect.arrayContaining([`/keys/${name}/${versionOf(v1)}/wrapkey`]));
  });

  it('applies a new version to the next wrap at once, while the old version still unwraps its own', async () => {
    const name = newKey();
    standins.keyVault.createKeyVersion(name);
    const kek = provider(`${standins.keyVault.url}/keys/${name}`);
    const old = await kek.wrap(randomBytes(32));
    const v2 = standins.keyVault.createKeyVersion(name);
    expect(await kek.currentKeyId()).toBe(v2);
    const dataKey = randomBytes(32);
    const fresh = await kek.wrap(dataKey);
    expect(fresh.keyId).toBe(v2);
    expect((await kek.unwrap(fresh)).equals(dataKey)).toBe(true);
    expect(await kek.unwrap(old)).toHaveLength(32);
  });

  it('keeps to the version a versioned key id names', async () => {
    const name = newKey();
    const v1 = standins.keyVault.createKeyVersion(name);
    standins.keyVault.createKeyVersion(name);
    expect((await provider(v1).wrap(randomBytes(32))).keyId).toBe(v1);
  });

  it('refuses to unwrap with a disabled version: UserErrorEncryptionKeyDisabled naming key and version', async () => {
    const name = newKey();
    const v1 = standins.keyVault.createKeyVersion(name);
    const kek = provider(`${standins.keyVault.url}/keys/${name}`);
    const dataKey = randomBytes(32);
    const wrapped = await kek.wrap(dataKey);
    standins.keyVault.setKeyVersionEnabled(name, versionOf(v1), false);
    const err = await failureOf(provider().unwrap(wrapped));
    expect(err.code).toBe('UserErrorEncryptionKeyDisabled');
    expect(err.message).toContain(name);
    expect(err.message).toContain(versionOf(v1));
    expectNoSecret(err, dataKey.toString('base64'));
    // Enabled again, it unwraps again: nothing was lost, only refused.
    standins.keyVault.setKeyVersionEnabled(name, versionOf(v1), true);
    expect((await provider().unwrap(wrapped)).equals(dataKey)).toBe(true);
  });

  it('refuses to wrap new backups with a disabled current version (Key Vault would, but could not unwrap later)', async () => {
    const name = newKey();
    const v1 = standins.keyVault.createKeyVersion(name);
    standins.keyVault.setKeyVersionEnabled(name, versionOf(v1), false);
    const err = await failureOf(provider(`${standins.keyVault.url}/keys/${name}`).wrap(randomBytes(32)));
    expect(err.code).toBe('UserErrorEncryptionKeyDisabled');
    expect(err.message).toContain(versionOf(v1));
  });

  it('fails UserErrorEncryptionKeyNotFound for a deleted key, naming it', async () => {
    const name = newKey();
    standins.keyVault.createKeyVersion(name);
    const wrapped = await provider(`${standins.keyVault.url}/keys/${name}`).wrap(randomBytes(32));
    standins.keyVault.deleteKey(name);
    const err = await failureOf(provider().unwrap(wrapped));
    expect(err.code).toBe('UserErrorEncryptionKeyNotFound');
    expect(err.message).toContain(name);
  });

  it('fails UserErrorMissingPermissionsOnKey when the app has no identity', async () => {
    const name = newKey();
    standins.keyVault.createKeyVersion(name);
    const kek = keyVaultKekProvider({
      keyUri: `${standins.keyVault.url}/keys/${name}`,
      // Unconfigured on purpose: no AZURE_* variables are set in tests.
      credential: new EnvironmentCredential(),
      clientOptions: clientOptions(),
    });
    expect((await failureOf(kek.wrap(randomBytes(32)))).code).toBe('UserErrorMissingPermissionsOnKey');
  });
});

describe('parseKeyVaultKeyId', () => {
  it('takes a key id apart, with and without its version', () => {
    expect(parseKeyVaultKeyId('https://v.vault.azure.net/keys/kek/0123abcd')).toEqual({
      vaultUrl: 'https://v.vault.azure.net',
      name: 'kek',
      version: '0123abcd',
    });
    expect(parseKeyVaultKeyId('https://v.managedhsm.azure.net/keys/kek/').version).toBeUndefined();
  });

  it.each([
    'http://v.vault.azure.net/keys/kek',
    'https://v.vault.azure.net/secrets/kek',
    'https://v/keys/k?x=1',
    'nope',
  ])('refuses %s naming the setting', (uri) => {
    expect(() => parseKeyVaultKeyId(uri)).toThrow(/BACKUP_ENCRYPTION_KEY_URI/);
  });
});
