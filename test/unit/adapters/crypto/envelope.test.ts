import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  dataKeyOf,
  encryptionOf,
  keyEncryptionKeysFromSettings,
  newDataKey,
  rewrapEncryption,
  type EncryptionManifest,
} from '../../../../shared/adapters/crypto/envelope';
import { failureOf } from '../../../support/failures';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const keysWith = (current: 'k1' | 'k2', extra: Record<string, string> = {}) =>
  keyEncryptionKeysFromSettings(
    {
      BACKUP_ENCRYPTION_KEY_URI: '',
      BACKUP_KEYRING: JSON.stringify({ current, keys: { k1: k1.toString('base64'), k2: k2.toString('base64') } }),
      BACKUP_ENCRYPTION_KEY: '',
      BACKUP_ENCRYPTION_KEY_ID: '',
      ...extra,
    },
    undefined,
  );
const NOW = '2026-03-10T12:00:00.000Z';

describe('newDataKey', () => {
  it('draws a fresh 32-byte data key per backup and records only its wrapping under the current KEK', async () => {
    const keys = keysWith('k1');
    const a = await newDataKey(keys.current!);
    const b = await newDataKey(keys.current!);
    expect(a.dataKey).toHaveLength(32);
    expect(a.dataKey.equals(b.dataKey)).toBe(false);
    expect(a.encryption).toMatchObject({
      algorithm: 'AES-256-GCM',
      format: 'PGKEEPE1',
      segmentBytes: 1024 * 1024,
      keyProvider: 'keyring',
      keyId: 'k1',
      keyWrapAlgorithm: 'A256KW',
    });
    expect(JSON.stringify(a.encryption)).not.toContain(a.dataKey.toString('base64'));
    expect((await dataKeyOf(a.encryption, keys)).equals(a.dataKey)).toBe(true);
  });
});

describe('dataKeyOf', () => {
  it("reads a pre-envelope point's keyId as the keyring entry that is its raw key", async () => {
    const legacy: EncryptionManifest = { algorithm: 'AES-256-GCM', format: 'PGKEEPE1', segmentBytes: 1, keyId: 'old' };
    const keys = keyEncryptionKeysFromSettings(
      {
        BACKUP_ENCRYPTION_KEY_URI: '',
        BACKUP_KEYRING: '',
        BACKUP_ENCRYPTION_KEY: k1.toString('base64'),
        BACKUP_ENCRYPTION_KEY_ID: 'old',
      },
      undefined,
    );
    expect((await dataKeyOf(legacy, keys)).equals(k1)).toBe(true);
    expect((await failureOf(dataKeyOf({ ...legacy, keyId: 'other' }, keys))).code).toBe(
      'UserErrorEncryptionKeyNotFound',
    );
  });

  it('fails UserErrorMissingPermissionsOnKey for a Key Vault wrapping when no identity is available', async () => {
    const err = await failureOf(
      dataKeyOf(
        {
          algorithm: 'AES-256-GCM',
          format: 'PGKEEPE1',
          segmentBytes: 1,
          keyId: 'https://v.vault.azure.net/keys/kek/0123',
          keyProvider: 'azureKeyVault',
          keyWrapAlgorithm: 'RSA-OAEP-256',
          wrappedKey: 'AAAA',
        },
        keysWith('k1'),
      ),
    );
    expect(err.code).toBe('UserErrorMissingPermissionsOnKey');
  });
});

describe('rewrapEncryption', () => {
  it('rewraps the same data key under the current KEK and stamps when; a current one is left alone', async () => {
    const first = await newDataKey(keysWith('k1').current!);
    const rotated = keysWith('k2');
    const next = await rewrapEncryption(first.encryption, rotated, NOW);
    expect(next).toMatchObject({ keyId: 'k2', rewrappedAt: NOW, segmentBytes: first.encryption.segmentBytes });
    expect((await dataKeyOf(next!, rotated)).equals(first.dataKey)).toBe(true);
    expect(await rewrapEncryption(next!, rotated, NOW)).toBeUndefined();
  });

  it('turns a pre-envelope point into an envelope one whose data key is its old raw key', async () => {
    const legacy: EncryptionManifest = { algorithm: 'AES-256-GCM', format: 'PGKEEPE1', segmentBytes: 1, keyId: 'k1' };
    const keys = keysWith('k2');
    const next = await rewrapEncryption(legacy, keys, NOW);
    expect(next).toMatchObject({ keyId: 'k2', keyProvider: 'keyring' });
    expect((await dataKeyOf(next!, keys)).equals(k1)).toBe(true);
  });

  it('refuses without a current KEK', async () => {
    const legacy: EncryptionManifest = { algorithm: 'AES-256-GCM', format: 'PGKEEPE1', segmentBytes: 1, keyId: 'k1' };
    const noCurrent = keyEncryptionKeysFromSettings(
      {
        BACKUP_ENCRYPTION_KEY_URI: '',
        BACKUP_KEYRING: JSON.stringify({ keys: { k1: k1.toString('base64') } }),
        BACKUP_ENCRYPTION_KEY: '',
        BACKUP_ENCRYPTION_KEY_ID: '',
      },
      undefined,
    );
    expect(noCurrent.current).toBeUndefined();
    expect((await failureOf(rewrapEncryption(legacy, noCurrent, NOW))).code).toBe('UserErrorInvalidRequest');
  });
});

describe('encryptionOf', () => {
  it('returns nothing for a dump that is not encrypted', () => {
    expect(encryptionOf({ encryption: null })).toBeUndefined();
    expect(encryptionOf({})).toBeUndefined();
  });

  it.each([
    [{ algorithm: 'AES-128-CBC', format: 'PGKEEPE1', keyId: 'k' }, 'unknown algorithm'],
    [{ algorithm: 'AES-256-GCM', format: 'PGKEEPE1' }, 'no keyId'],
    [{ algorithm: 'AES-256-GCM', format: 'PGKEEPE1', keyId: 'k', wrappedKey: 'not base64!' }, 'not base64'],
    [
      { algorithm: 'AES-256-GCM', format: 'PGKEEPE1', keyId: 'k', wrappedKey: 'AAAA', keyProvider: 'vault' },
      'keyProvider',
    ],
  ])('refuses a malformed block with SystemErrorIntegrityCheckFailed (%j)', (block, message) => {
    expect(() => encryptionOf({ encryption: block })).toThrow(message);
  });
});
