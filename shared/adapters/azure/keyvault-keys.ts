// The Key Vault / Managed HSM KEK provider: wraps each backup's data key with the key named by
// BACKUP_ENCRYPTION_KEY_URI (its current version when the URI has none) through the real CryptographyClient and the
// app's identity, and unwraps with exactly the version a manifest names. Key material never leaves the vault.
import {
  AggregateAuthenticationError,
  AuthenticationError,
  CredentialUnavailableError,
  type TokenCredential,
} from '@azure/identity';
import {
  CryptographyClient,
  KeyClient,
  type KeyClientOptions,
  type KeyVaultKey,
  type KeyWrapAlgorithm,
} from '@azure/keyvault-keys';
import { PgkeepError } from '../../errors';
import type { KekProvider, WrappedDataKey } from '../../ports';
import { isRestError, isServiceUnavailable, isTransportError, keyVaultInnerCode } from './azure-rest-errors';

/** A Key Vault key id taken apart. */
export interface KeyVaultKeyId {
  readonly vaultUrl: string;
  readonly name: string;
  /** Undefined = the key's current version. */
  readonly version: string | undefined;
}

const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const KEY_VERSION = /^[0-9A-Za-z]{1,64}$/;

/** Parses `https://<vault>/keys/<name>[/<version>]`; throws UserErrorInvalidRequest naming `target`. */
export function parseKeyVaultKeyId(uri: string, target = 'BACKUP_ENCRYPTION_KEY_URI'): KeyVaultKeyId {
  const refuse = (why: string) =>
    new PgkeepError('UserErrorInvalidRequest', `${target} ${why}`, {
      target,
      hint: 'a Key Vault key id has the form https://<vault>.vault.azure.net/keys/<name>[/<version>]',
    });
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse('is not a URL');
  }
  if (url.protocol !== 'https:') throw refuse('must be an https:// URL');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw refuse('must not carry user information, a query or a fragment');
  }
  const m = /^\/keys\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (!m || !KEY_NAME.test(m[1] ?? '') || (m[2] !== undefined && !KEY_VERSION.test(m[2]))) {
    throw refuse('must have the form https://<vault>/keys/<name>[/<version>]');
  }
  return { vaultUrl: url.origin, name: m[1]!, version: m[2] };
}

/** `<name>/<version>` in <vault host>: how messages name a key (the version is what an operator acts on). */
function describeKey(id: KeyVaultKeyId): string {
  return `key ${id.name}${id.version === undefined ? '' : ` version ${id.version}`} in ${new URL(id.vaultUrl).host}`;
}

/** Maps what the SDK or the service said to the registry's codes, naming the key and version. */
function mapKeyError(err: unknown, id: KeyVaultKeyId, operation: string): unknown {
  const what = describeKey(id);
  if (
    err instanceof CredentialUnavailableError ||
    err instanceof AuthenticationError ||
    err instanceof AggregateAuthenticationError
  ) {
    return new PgkeepError(
      'UserErrorMissingPermissionsOnKey',
      `could not get a token to ${operation} with the ${what}`,
      {
        cause: err,
      },
    );
  }
  if (err instanceof PgkeepError) return err;
  if (!isRestError(err)) {
    // The SDK's own checks before any request: a key whose expiry passed or whose operations exclude ours.
    const text = err instanceof Error ? err.message : '';
    if (/expired at|can't be used before/.test(text)) {
      return new PgkeepError('UserErrorEncryptionKeyDisabled', `the ${what} is expired or not yet valid`, {
        cause: err,
      });
    }
    if (/is not supported on key/.test(text)) {
      return new PgkeepError('UserErrorMissingPermissionsOnKey', `the ${what} does not permit ${operation}`, {
        cause: err,
        hint: 'allow the wrapKey and unwrapKey operations on the key (its key_ops)',
      });
    }
    return err;
  }
  const status = err.statusCode;
  const inner = keyVaultInnerCode(err);
  if ((status === 401 || status === 403) && (inner === 'KeyDisabled' || /disabled key/i.test(err.message))) {
    return new PgkeepError('UserErrorEncryptionKeyDisabled', `the ${what} is disabled`, { cause: err });
  }
  if (status === 401 || status === 403) {
    return new PgkeepError('UserErrorMissingPermissionsOnKey', `the app may not ${operation} with the ${what}`, {
      cause: err,
      ...(inner === 'ForbiddenByFirewall'
        ? { hint: "allow the app's outbound addresses (or its virtual network) in the key vault's network rules" }
        : {}),
    });
  }
  if (status === 404) {
    return new PgkeepError('UserErrorEncryptionKeyNotFound', `the ${what} does not exist (deleted?)`, { cause: err });
  }
  if (isTransportError(err)) {
    return new PgkeepError(
      'UserErrorMissingNetworkSecurityPermissions',
      `could not reach ${new URL(id.vaultUrl).host}`,
      {
        cause: err,
      },
    );
  }
  if (isServiceUnavailable(err)) {
    return new PgkeepError(
      'SystemErrorInternal',
      `${new URL(id.vaultUrl).host} is unavailable (HTTP ${String(status)})`,
      { cause: err },
    );
  }
  return err;
}

/** RSA keys wrap with RSA-OAEP-256; Managed HSM AES keys (oct-HSM) with AES key wrap. */
function wrapAlgorithmFor(key: KeyVaultKey): KeyWrapAlgorithm {
  return key.keyType === 'oct' || key.keyType === 'oct-HSM' ? 'A256KW' : 'RSA-OAEP-256';
}

export interface KeyVaultKekOptions {
  /** BACKUP_ENCRYPTION_KEY_URI: the key new backups are wrapped with; undefined = this provider only unwraps. */
  readonly keyUri?: string;
  /** The app's identity (DefaultAzureCredential / managed identity). */
  readonly credential: TokenCredential;
  /** Tests: trust the stand-in's certificate, accept a vault host that is not *.vault.azure.net. */
  readonly clientOptions?: KeyClientOptions;
}

/**
 * The Key Vault KEK provider. wrap reads the configured key (its current version when the URI is versionless) on
 * every call, so a new version applies to the next backup, and refuses a disabled one (Key Vault would wrap with it,
 * but could not unwrap later). unwrap asks Key Vault for exactly the version the record names.
 */
export function keyVaultKekProvider(options: KeyVaultKekOptions): KekProvider {
  const configured = options.keyUri ? parseKeyVaultKeyId(options.keyUri) : undefined;
  const keyClients = new Map<string, KeyClient>();
  const keyClient = (vaultUrl: string): KeyClient => {
    let client = keyClients.get(vaultUrl);
    if (!client) {
      client = new KeyClient(vaultUrl, options.credential, options.clientOptions);
      keyClients.set(vaultUrl, client);
    }
    return client;
  };
  // One client per key version: it reads the key once, then every unwrap is a single request.
  const cryptoClients = new Map<string, CryptographyClient>();

  async function currentKey(): Promise<KeyVaultKey> {
    if (!configured) {
      throw new PgkeepError('UserErrorInvalidRequest', 'BACKUP_ENCRYPTION_KEY_URI is not set', {
        target: 'BACKUP_ENCRYPTION_KEY_URI',
      });
    }
    let key: KeyVaultKey;
    try {
      key = await keyClient(configured.vaultUrl).getKey(
        configured.name,
        configured.version ? { version: configured.version } : {},
      );
    } catch (err) {
      throw mapKeyError(err, configured, 'read');
    }
    const version = key.properties.version;
    const id = { ...configured, version };
    if (key.properties.enabled === false) {
      throw new PgkeepError('UserErrorEncryptionKeyDisabled', `the ${describeKey(id)} is disabled`, {
        hint: 'new backups use the current version of BACKUP_ENCRYPTION_KEY_URI: enable it, add a new version, or name an enabled version',
      });
    }
    const expires = key.properties.expiresOn;
    if (expires !== undefined && expires.getTime() <= Date.now()) {
      throw new PgkeepError(
        'UserErrorEncryptionKeyDisabled',
        `the ${describeKey(id)} expired at ${expires.toISOString()}`,
        {
          hint: 'add a new version of the key (or extend its expiry)',
        },
      );
    }
    if (key.id === undefined || version === undefined) {
      throw new PgkeepError('SystemErrorInternal', `Key Vault returned the ${describeKey(configured)} without its id`);
    }
    return key;
  }

  return {
    provider: 'azureKeyVault',
    async currentKeyId() {
      return (await currentKey()).id!;
    },
    async wrap(dataKey): Promise<WrappedDataKey> {
      const key = await currentKey();
      const id = parseKeyVaultKeyId(key.id!, 'the key id');
      const algorithm = wrapAlgorithmFor(key);
      try {
        const result = await new CryptographyClient(key, options.credential, options.clientOptions).wrapKey(
          algorithm,
          dataKey,
        );
        return {
          keyProvider: 'azureKeyVault',
          keyId: key.id!,
          keyWrapAlgorithm: algorithm,
          wrappedKey: Buffer.from(result.result).toString('base64'),
        };
      } catch (err) {
        throw mapKeyError(err, id, 'wrap a data key');
      }
    },
    async unwrap(wrapped) {
      const id = parseKeyVaultKeyId(wrapped.keyId, 'the manifest keyId');
      if (id.version === undefined) {
        throw new PgkeepError(
          'SystemErrorIntegrityCheckFailed',
          `the manifest names ${describeKey(id)} without a version`,
        );
      }
      let client = cryptoClients.get(wrapped.keyId);
      if (!client) {
        client = new CryptographyClient(wrapped.keyId, options.credential, options.clientOptions);
        cryptoClients.set(wrapped.keyId, client);
      }
      try {
        const result = await client.unwrapKey(
          wrapped.keyWrapAlgorithm as KeyWrapAlgorithm,
          Buffer.from(wrapped.wrappedKey, 'base64'),
        );
        return Buffer.from(result.result);
      } catch (err) {
        // A failed client may hold a stale view of the key: the next attempt starts afresh.
        cryptoClients.delete(wrapped.keyId);
        throw mapKeyError(err, id, 'unwrap the data key');
      }
    },
  };
}
