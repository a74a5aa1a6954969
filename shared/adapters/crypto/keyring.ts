// The local keyring KEK provider (BACKUP_KEYRING): named 32-byte keys, one of them current. Data keys are wrapped
// with AES Key Wrap (RFC 3394, JWA "A256KW"), which authenticates what it unwraps. The legacy BACKUP_ENCRYPTION_KEY
// joins the keyring as one more entry, so points written with it as their raw key keep restoring.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { PgkeepError } from '../../errors';
import type { KekProvider, WrappedDataKey } from '../../ports';

export const KEYRING_WRAP_ALGORITHM = 'A256KW';
/** RFC 3394's default initial value, the integrity check of the unwrap. */
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const ENTRY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface Keyring {
  /** The entry that wraps new data keys; undefined = the keyring only unwraps. */
  readonly current: string | undefined;
  readonly keys: ReadonlyMap<string, Buffer>;
}

const invalid = (setting: string, why: string): PgkeepError =>
  // The value is a secret: messages describe it, never echo it.
  new PgkeepError('UserErrorInvalidRequest', `${setting} ${why}`, {
    target: setting,
    hint: 'BACKUP_KEYRING is JSON {"current":"k2","keys":{"k1":"<base64 of 32 bytes>","k2":"<base64 of 32 bytes>"}}',
  });

function decodeKey(setting: string, name: string, value: unknown): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(value)) {
    throw invalid(setting, `entry "${name}" is not 32 bytes in base64`);
  }
  return Buffer.from(value, 'base64');
}

/**
 * The keyring of BACKUP_KEYRING (JSON) merged with the legacy BACKUP_ENCRYPTION_KEY (an entry named
 * BACKUP_ENCRYPTION_KEY_ID, or "default"). Without BACKUP_KEYRING the legacy key is current. Throws
 * UserErrorInvalidRequest naming the setting, never its value.
 */
export function parseKeyring(settings: {
  readonly BACKUP_KEYRING: string;
  readonly BACKUP_ENCRYPTION_KEY: string;
  readonly BACKUP_ENCRYPTION_KEY_ID: string;
}): Keyring {
  const keys = new Map<string, Buffer>();
  let current: string | undefined;
  if (settings.BACKUP_KEYRING.trim() !== '') {
    let doc: unknown;
    try {
      doc = JSON.parse(settings.BACKUP_KEYRING);
    } catch {
      throw invalid('BACKUP_KEYRING', 'is not valid JSON');
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw invalid('BACKUP_KEYRING', 'is not an object');
    const { current: cur, keys: entries } = doc as { current?: unknown; keys?: unknown };
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      throw invalid('BACKUP_KEYRING', 'has no "keys" object');
    }
    for (const [name, value] of Object.entries(entries)) {
      if (!ENTRY_NAME.test(name))
        throw invalid('BACKUP_KEYRING', 'has an entry name that is not 1-64 of A-Z a-z 0-9 . _ -');
      keys.set(name, decodeKey('BACKUP_KEYRING', name, value));
    }
    if (cur !== undefined) {
      if (typeof cur !== 'string' || !keys.has(cur))
        throw invalid('BACKUP_KEYRING', '"current" does not name one of its keys');
      current = cur;
    }
  }
  if (settings.BACKUP_ENCRYPTION_KEY !== '') {
    const name = settings.BACKUP_ENCRYPTION_KEY_ID || 'default';
    const legacy = decodeKey('BACKUP_ENCRYPTION_KEY', name, settings.BACKUP_ENCRYPTION_KEY);
    const same = keys.get(name);
    if (same !== undefined && !same.equals(legacy)) {
      throw invalid('BACKUP_KEYRING', `and BACKUP_ENCRYPTION_KEY both define "${name}" with different keys`);
    }
    keys.set(name, legacy);
    if (settings.BACKUP_KEYRING.trim() === '') current = name;
  }
  return { current, keys };
}

function entry(keyring: Keyring, name: string): Buffer {
  const key = keyring.keys.get(name);
  if (key === undefined) {
    throw new PgkeepError('UserErrorEncryptionKeyNotFound', `keyring entry "${name}" is not in the keyring`, {
      target: 'BACKUP_KEYRING',
    });
  }
  return key;
}

/** A256KW of `dataKey` (a multiple of 8 bytes) under `kek`. */
export function aesKeyWrap(kek: Buffer, dataKey: Buffer): Buffer {
  const cipher = createCipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([cipher.update(dataKey), cipher.final()]);
}

/** The inverse of aesKeyWrap; undefined when `kek` did not wrap these bytes (the RFC 3394 integrity check fails). */
export function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv('id-aes256-wrap', kek, KW_IV);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** The keyring as a KEK provider: wraps with the current entry, unwraps with the entry a record names. */
export function keyringKekProvider(keyring: Keyring): KekProvider & { rawKey(name: string): Buffer } {
  return {
    provider: 'keyring',
    currentKeyId() {
      if (keyring.current === undefined) {
        return Promise.reject(
          new PgkeepError('UserErrorInvalidRequest', 'the keyring has no current entry to wrap new data keys with', {
            target: 'BACKUP_KEYRING',
          }),
        );
      }
      return Promise.resolve(keyring.current);
    },
    async wrap(dataKey): Promise<WrappedDataKey> {
      const keyId = await this.currentKeyId();
      return {
        keyProvider: 'keyring',
        keyId,
        keyWrapAlgorithm: KEYRING_WRAP_ALGORITHM,
        wrappedKey: aesKeyWrap(entry(keyring, keyId), dataKey).toString('base64'),
      };
    },
    unwrap(wrapped) {
      return Promise.resolve().then(() => {
        if (wrapped.keyWrapAlgorithm !== KEYRING_WRAP_ALGORITHM) {
          throw new PgkeepError(
            'SystemErrorIntegrityCheckFailed',
            `the data key is wrapped with ${wrapped.keyWrapAlgorithm}, which the keyring does not do`,
          );
        }
        const plain = aesKeyUnwrap(entry(keyring, wrapped.keyId), Buffer.from(wrapped.wrappedKey, 'base64'));
        if (plain === undefined) {
          throw new PgkeepError(
            'SystemErrorIntegrityCheckFailed',
            `keyring entry "${wrapped.keyId}" does not unwrap this data key: the entry holds another key than the one that wrapped it, or the manifest was altered`,
          );
        }
        return plain;
      });
    },
    rawKey: (name) => entry(keyring, name),
  };
}
