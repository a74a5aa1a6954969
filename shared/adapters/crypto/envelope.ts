// Envelope encryption of dumps: a fresh random data key per backup encrypts the dump (dump-encryption.ts), and a
// key-encryption key (KEK) wraps the data key. The manifest's `encryption` block records the wrapped key, the KEK's
// full id (with version) and the algorithms — never the data key — so any point restores with the KEK version that
// wrapped it, and a rewrap changes only the manifest, never the dump.
import { randomBytes } from 'node:crypto';
import { PgkeepError } from '../../errors';
import type { KekProvider, KeyEncryptionKeys, KeyProvider, WrappedDataKey } from '../../ports';
import { ENCRYPTION_SEGMENT_BYTES } from './dump-encryption';
import { keyringKekProvider, parseKeyring } from './keyring';
import { keyVaultKekProvider, type KeyVaultKekOptions } from '../azure/keyvault-keys';

/**
 * A manifest's `encryption` block. Points written before envelope encryption carry only algorithm, format, keyId
 * and segmentBytes: their keyId names the raw key (a keyring entry) that encrypted the dump itself.
 */
export interface EncryptionManifest {
  readonly algorithm: 'AES-256-GCM';
  readonly format: 'PGKEEPE1';
  readonly segmentBytes: number;
  /** The KEK's full id (with version); for a pre-envelope point, the raw key's keyring entry. */
  readonly keyId: string;
  readonly keyProvider?: KeyProvider;
  readonly keyWrapAlgorithm?: string;
  /** base64 of the data key wrapped by keyId. */
  readonly wrappedKey?: string;
  /** When the data key was last rewrapped (ISO UTC). */
  readonly rewrappedAt?: string;
}

/** The data key of a new backup and the block its manifest records. */
export interface NewDataKey {
  readonly dataKey: Buffer;
  readonly encryption: EncryptionManifest;
}

const DATA_KEY_BYTES = 32;

/** A fresh data key, wrapped by the current KEK (wrapping first: a backup never starts without a usable KEK). */
export async function newDataKey(current: KekProvider): Promise<NewDataKey> {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const wrapped = await current.wrap(dataKey);
  return {
    dataKey,
    encryption: {
      algorithm: 'AES-256-GCM',
      format: 'PGKEEPE1',
      segmentBytes: ENCRYPTION_SEGMENT_BYTES,
      ...wrapped,
    },
  };
}

const corrupt = (why: string) =>
  new PgkeepError('SystemErrorIntegrityCheckFailed', `the manifest's encryption block ${why}`, {
    hint: 'the manifest was altered or written by an unknown version; restore another recovery point and report this one',
  });

/** The `encryption` block of a manifest: undefined when the dump is not encrypted; throws when it is malformed. */
export function encryptionOf(manifest: unknown): EncryptionManifest | undefined {
  const block = (manifest as { encryption?: unknown } | null | undefined)?.encryption;
  if (block === undefined || block === null) return undefined;
  if (typeof block !== 'object' || Array.isArray(block)) throw corrupt('is not an object');
  const e = block as Record<string, unknown>;
  if (e.algorithm !== 'AES-256-GCM' || e.format !== 'PGKEEPE1') throw corrupt('names an unknown algorithm or format');
  if (typeof e.keyId !== 'string' || e.keyId === '') throw corrupt('has no keyId');
  if (e.wrappedKey !== undefined) {
    if (typeof e.wrappedKey !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(e.wrappedKey)) {
      throw corrupt('has a wrappedKey that is not base64');
    }
    if (e.keyProvider !== 'keyring' && e.keyProvider !== 'azureKeyVault') throw corrupt('names an unknown keyProvider');
    if (typeof e.keyWrapAlgorithm !== 'string') throw corrupt('has no keyWrapAlgorithm');
  }
  return block as EncryptionManifest;
}

/** The wrapped data key of an envelope block, or undefined for a pre-envelope (raw key) point. */
export function wrappedKeyOf(encryption: EncryptionManifest): WrappedDataKey | undefined {
  if (encryption.wrappedKey === undefined || encryption.keyProvider === undefined) return undefined;
  return {
    keyProvider: encryption.keyProvider,
    keyId: encryption.keyId,
    keyWrapAlgorithm: encryption.keyWrapAlgorithm ?? '',
    wrappedKey: encryption.wrappedKey,
  };
}

/** The key that decrypts the dump: the unwrapped data key, or a pre-envelope point's raw keyring entry. */
export async function dataKeyOf(encryption: EncryptionManifest, keys: KeyEncryptionKeys): Promise<Buffer> {
  const wrapped = wrappedKeyOf(encryption);
  const key = wrapped === undefined ? await keys.rawKey(encryption.keyId) : await keys.unwrap(wrapped);
  if (key.length !== DATA_KEY_BYTES) throw corrupt(`unwraps to ${key.length} bytes instead of ${DATA_KEY_BYTES}`);
  return key;
}

/** dataKeyOf, for a caller that may run without keys: UserErrorEncryptionKeyNotFound then, naming the key. */
export async function requireDataKey(
  encryption: EncryptionManifest,
  keys: KeyEncryptionKeys | undefined,
): Promise<Buffer> {
  if (keys === undefined) {
    throw new PgkeepError('UserErrorEncryptionKeyNotFound', `no key is configured to unwrap key ${encryption.keyId}`, {
      target: 'BACKUP_KEYRING',
    });
  }
  return dataKeyOf(encryption, keys);
}

/**
 * The block rewrapped under the current KEK, or undefined when it already is (same provider and full key id). A
 * pre-envelope point becomes an envelope one: its raw key is the data key, now wrapped, so it no longer depends on
 * the legacy setting.
 */
export async function rewrapEncryption(
  encryption: EncryptionManifest,
  keys: KeyEncryptionKeys,
  nowIso: string,
): Promise<EncryptionManifest | undefined> {
  const current = keys.current;
  if (current === undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', 'no key-encryption key is configured to rewrap with', {
      target: 'BACKUP_ENCRYPTION_KEY_URI',
      hint: 'set BACKUP_ENCRYPTION_KEY_URI or BACKUP_KEYRING (with "current") first',
    });
  }
  if (encryption.wrappedKey !== undefined && encryption.keyProvider === current.provider) {
    if (encryption.keyId === (await current.currentKeyId())) return undefined;
  }
  const dataKey = await dataKeyOf(encryption, keys);
  const wrapped = await current.wrap(dataKey);
  return { ...encryption, ...wrapped, rewrappedAt: nowIso };
}

/** The vault's KEKs: `current` wraps new backups, and unwrap goes to the provider a record names. */
export function createKeyEncryptionKeys(providers: {
  readonly current: KekProvider | undefined;
  readonly keyring: KekProvider & { rawKey(name: string): Buffer };
  /** Present when an identity is available; unwraps any Key Vault key a manifest names. */
  readonly azureKeyVault?: KekProvider;
}): KeyEncryptionKeys {
  return {
    current: providers.current,
    async unwrap(wrapped) {
      if (wrapped.keyProvider === 'keyring') return providers.keyring.unwrap(wrapped);
      if (!providers.azureKeyVault) {
        throw new PgkeepError(
          'UserErrorMissingPermissionsOnKey',
          `the data key is wrapped by Key Vault key ${wrapped.keyId}, and no Azure identity is available to unwrap it`,
        );
      }
      return providers.azureKeyVault.unwrap(wrapped);
    },
    rawKey: (keyId) => Promise.resolve().then(() => providers.keyring.rawKey(keyId)),
  };
}

/** The settings that choose the KEKs (shared/config.ts). */
export type KeySettings = Pick<
  import('../../config').Config,
  'BACKUP_ENCRYPTION_KEY_URI' | 'BACKUP_KEYRING' | 'BACKUP_ENCRYPTION_KEY' | 'BACKUP_ENCRYPTION_KEY_ID'
>;

/**
 * The KEKs the settings name: BACKUP_ENCRYPTION_KEY_URI wraps new backups when set, else BACKUP_KEYRING's current
 * entry, else the legacy BACKUP_ENCRYPTION_KEY; none = backups are not encrypted. Every provider still unwraps what
 * it wrapped. Throws UserErrorInvalidRequest naming a malformed setting.
 */
export function keyEncryptionKeysFromSettings(
  settings: KeySettings,
  keyVault: Omit<KeyVaultKekOptions, 'keyUri'> | undefined,
): KeyEncryptionKeys {
  const ring = parseKeyring(settings);
  const keyring = keyringKekProvider(ring);
  const uri = settings.BACKUP_ENCRYPTION_KEY_URI;
  const azureKeyVault = keyVault ? keyVaultKekProvider({ ...keyVault, ...(uri ? { keyUri: uri } : {}) }) : undefined;
  if (uri !== '' && azureKeyVault === undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', 'BACKUP_ENCRYPTION_KEY_URI needs an Azure identity', {
      target: 'BACKUP_ENCRYPTION_KEY_URI',
    });
  }
  return createKeyEncryptionKeys({
    current: uri !== '' ? azureKeyVault : ring.current !== undefined ? keyring : undefined,
    keyring,
    ...(azureKeyVault ? { azureKeyVault } : {}),
  });
}
