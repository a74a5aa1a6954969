// Resolves secret references (design §3): `appsetting://NAME` from the app's settings, and Key Vault secret URIs with
// the real SecretClient. Failures map narrowly to the readiness codes of design §8; values never reach an error.

import {
  AggregateAuthenticationError,
  AuthenticationError,
  CredentialUnavailableError,
  type TokenCredential,
} from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { isReservedAppSettingName } from '../../config';
import { PgkeepError } from '../../errors';
import { isRestError, isServiceUnavailable, isTransportError, keyVaultInnerCode } from './azure-rest-errors';
import type { SecretReference, SecretResolver } from '../../ports';

/** A reference taken apart: where the secret is and what it is called. */
export type LocatedSecret =
  | { readonly secretStoreType: 'AppSetting'; readonly uri: string; readonly settingName: string }
  | {
      readonly secretStoreType: 'AzureKeyVault';
      readonly uri: string;
      /** Everything before `/secrets/`: the URL the SecretClient is built for. */
      readonly vaultUrl: string;
      readonly name: string;
      readonly version: string | undefined;
    };

/** One problem in a secret reference; `path` is relative to the reference object (`['uri']`). */
export interface SecretReferenceIssue {
  readonly path: string[];
  readonly message: string;
}

export type ParseSecretReferenceResult =
  | { readonly ok: true; readonly value: LocatedSecret }
  | { readonly ok: false; readonly issues: SecretReferenceIssue[] };

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Key Vault object names are 1–127 alphanumerics and dashes; versions are 32 hex digits in practice.
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;
const SECRET_VERSION = /^[0-9A-Za-z]{1,64}$/;

function locateKeyVault(uri: string): LocatedSecret | string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be a Key Vault secret URI: https://<vault>.vault.azure.net/secrets/<name>[/<version>]';
  }
  if (url.protocol !== 'https:') return 'must be an https:// URI';
  if (url.username !== '' || url.password !== '') return 'must not contain user information';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  const m = /^(.*?)\/secrets\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (!m) return 'must have the form https://<vault>.vault.azure.net/secrets/<name>[/<version>]';
  const name = m[2] ?? '';
  const version = m[3];
  if (!SECRET_NAME.test(name)) return 'names a secret that is not 1-127 letters, digits and dashes';
  if (version !== undefined && !SECRET_VERSION.test(version)) return 'has a version that is not letters and digits';
  return {
    secretStoreType: 'AzureKeyVault',
    uri,
    vaultUrl: `${url.origin}${m[1] ?? ''}`,
    name,
    version,
  };
}

function locateAppSetting(uri: string): LocatedSecret | string {
  const m = /^appsetting:\/\/(.*)$/i.exec(uri);
  if (!m) return 'must have the form appsetting://<SETTING_NAME>';
  const settingName = (m[1] ?? '').replace(/\/$/, '');
  if (!SETTING_NAME.test(settingName)) return 'must name a setting of letters, digits and underscores';
  if (isReservedAppSettingName(settingName)) return "names one of pgkeep's own or the platform's settings";
  return { secretStoreType: 'AppSetting', uri, settingName };
}

/**
 * Validates a `secretStoreResource` object (`{ secretStoreType, uri }`), reporting every problem with the field it
 * is in. The uri is not secret, but messages still describe it rather than echo it.
 */
export function parseSecretReference(obj: unknown): ParseSecretReferenceResult {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, issues: [{ path: [], message: 'must be an object with secretStoreType and uri' }] };
  }
  const { secretStoreType, uri } = obj as Record<string, unknown>;
  const issues: SecretReferenceIssue[] = [];
  if (secretStoreType !== 'AzureKeyVault' && secretStoreType !== 'AppSetting') {
    issues.push({ path: ['secretStoreType'], message: 'must be AzureKeyVault or AppSetting' });
  }
  if (typeof uri !== 'string' || uri.trim() === '') {
    issues.push({ path: ['uri'], message: 'is required' });
  }
  if (issues.length > 0 || typeof uri !== 'string') return { ok: false, issues };
  const located = secretStoreType === 'AppSetting' ? locateAppSetting(uri.trim()) : locateKeyVault(uri.trim());
  if (typeof located === 'string') return { ok: false, issues: [{ path: ['uri'], message: located }] };
  return { ok: true, value: located };
}

/** The reference taken apart, or PgkeepError UserErrorInvalidRequest naming each problem. */
export function locateSecret(ref: SecretReference): LocatedSecret {
  const parsed = parseSecretReference(ref);
  if (parsed.ok) return parsed.value;
  const details = parsed.issues.map((i) => ({
    code: 'UserErrorInvalidRequest' as const,
    message: i.message,
    target: ['secretStoreResource', ...i.path].join('.'),
  }));
  throw new PgkeepError('UserErrorInvalidRequest', 'the secret reference is not valid', { details });
}

export interface SecretResolverDeps {
  /** Reads a user-named app setting; in the app, config.readAppSetting. */
  readAppSetting(name: string): string | undefined;
  keyVault: {
    /** The app's identity; in Azure a ManagedIdentityCredential or DefaultAzureCredential. */
    credential: TokenCredential;
    clientOptions?: SecretClientOptions;
  };
}

function mapKeyVaultError(err: unknown, secret: LocatedSecret & { secretStoreType: 'AzureKeyVault' }): unknown {
  const what = `secret ${secret.name} in key vault ${new URL(secret.vaultUrl).host}`;
  if (
    err instanceof CredentialUnavailableError ||
    err instanceof AuthenticationError ||
    err instanceof AggregateAuthenticationError
  ) {
    return new PgkeepError('UserErrorMissingPermissionsOnSecretStore', `could not get a token to read the ${what}`, {
      cause: err,
      hint: 'the app has no usable identity for Key Vault: enable its managed identity (or set the credential environment locally) and grant it Key Vault Secrets User on the vault',
    });
  }
  if (!isRestError(err)) return err;
  const status = err.statusCode;
  if (status === 401 || status === 403) {
    const inner = keyVaultInnerCode(err);
    if (inner === 'SecretDisabled') {
      return new PgkeepError('UserErrorInvalidSecret', `the ${what} is disabled`, {
        cause: err,
        hint: 'enable the secret (or its version) in the key vault, or point the backup instance at another one',
      });
    }
    return new PgkeepError('UserErrorMissingPermissionsOnSecretStore', `the app may not read the ${what}`, {
      cause: err,
      hint:
        inner === 'ForbiddenByFirewall'
          ? "allow the app's outbound addresses (or its virtual network) in the key vault's network rules"
          : undefined,
    });
  }
  if (status === 404) {
    return new PgkeepError(
      'UserErrorInvalidSecret',
      `the ${what} does not exist${secret.version === undefined ? '' : ' in that version'}`,
      { cause: err },
    );
  }
  if (isTransportError(err)) {
    return new PgkeepError(
      'UserErrorMissingNetworkSecurityPermissions',
      `could not reach key vault ${new URL(secret.vaultUrl).host}`,
      {
        cause: err,
        hint: "check the vault's host name and DNS, and allow the app in the key vault's network rules (firewall, private endpoint); the operation is retried",
      },
    );
  }
  if (isServiceUnavailable(err)) {
    return new PgkeepError(
      'SystemErrorInternal',
      `key vault ${new URL(secret.vaultUrl).host} is unavailable (HTTP ${String(status)})`,
      {
        cause: err,
        hint: 'Key Vault throttled or failed the request after the SDK retries; the operation is retried later',
      },
    );
  }
  return err;
}

/**
 * The SecretResolver port over app settings and Key Vault. SecretClients are cached per vault URL, so each vault
 * does its authentication challenge once per process.
 */
export function createSecretResolver(deps: SecretResolverDeps): SecretResolver {
  const clients = new Map<string, SecretClient>();
  const clientFor = (vaultUrl: string): SecretClient => {
    let client = clients.get(vaultUrl.toLowerCase());
    if (client === undefined) {
      client = new SecretClient(vaultUrl, deps.keyVault.credential, deps.keyVault.clientOptions);
      clients.set(vaultUrl.toLowerCase(), client);
    }
    return client;
  };

  return {
    async resolve(ref, options = {}) {
      const secret = locateSecret(ref);
      if (secret.secretStoreType === 'AppSetting') {
        const value = deps.readAppSetting(secret.settingName);
        if (value === undefined || value.trim() === '') {
          throw new PgkeepError('UserErrorInvalidSecret', `app setting ${secret.settingName} is not set`, {
            hint: `add the app setting ${secret.settingName} holding the connection string (locally: local.settings.json or the environment)`,
          });
        }
        return value;
      }
      let value: string | undefined;
      try {
        const got = await clientFor(secret.vaultUrl).getSecret(secret.name, {
          version: secret.version,
          abortSignal: options.abortSignal,
        });
        value = got.value;
      } catch (err) {
        throw mapKeyVaultError(err, secret);
      }
      if (value === undefined || value === '') {
        throw new PgkeepError(
          'UserErrorInvalidSecret',
          `the secret ${secret.name} in key vault ${new URL(secret.vaultUrl).host} is empty`,
        );
      }
      return value;
    },
  };
}
