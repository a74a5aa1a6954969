import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesKeyUnwrap, aesKeyWrap, keyringKekProvider, parseKeyring } from '../../../../shared/adapters/crypto/keyring';
import { PgkeepError } from '../../../../shared/errors';
import { expectNoSecret, failureOf } from '../../../support/failures';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const settings = (
  over: Partial<Record<'BACKUP_KEYRING' | 'BACKUP_ENCRYPTION_KEY' | 'BACKUP_ENCRYPTION_KEY_ID', string>>,
) => ({
  BACKUP_KEYRING: '',
  BACKUP_ENCRYPTION_KEY: '',
  BACKUP_ENCRYPTION_KEY_ID: '',
  ...over,
});
const ring = (doc: unknown) => settings({ BACKUP_KEYRING: JSON.stringify(doc) });

function parseFailure(s: ReturnType<typeof settings>): PgkeepError {
  try {
    parseKeyring(s);
  } catch (err) {
    if (err instanceof PgkeepError) return err;
    throw err;
  }
  throw new Error('expected parseKeyring to fail');
}

describe('parseKeyring', () => {
  it('reads the current entry and every key of BACKUP_KEYRING', () => {
    const parsed = parseKeyring(ring({ current: 'k2', keys: { k1, k2 } }));
    expect(parsed.current).toBe('k2');
    expect([...parsed.keys.keys()]).toEqual(['k1', 'k2']);
    expect(parsed.keys.get('k1')?.toString('base64')).toBe(k1);
  });

  it('reads the legacy BACKUP_ENCRYPTION_KEY as a keyring of one, current, named by its id or "default"', () => {
    expect(parseKeyring(settings({ BACKUP_ENCRYPTION_KEY: k1, BACKUP_ENCRYPTION_KEY_ID: 'old' }))).toMatchObject({
      current: 'old',
    });
    const unnamed = parseKeyring(settings({ BACKUP_ENCRYPTION_KEY: k1 }));
    expect(unnamed.current).toBe('default');
    expect(unnamed.keys.get('default')?.toString('base64')).toBe(k1);
  });

  it('adds the legacy key to BACKUP_KEYRING as one more entry, without making it current', () => {
    const merged = parseKeyring({
      ...ring({ current: 'k2', keys: { k2 } }),
      BACKUP_ENCRYPTION_KEY: k1,
      BACKUP_ENCRYPTION_KEY_ID: 'old',
    });
    expect(merged.current).toBe('k2');
    expect([...merged.keys.keys()].sort()).toEqual(['k2', 'old']);
  });

  it.each([
    ['not JSON', settings({ BACKUP_KEYRING: `{"keys": {"k1": "${k1}"` }), 'is not valid JSON'],
    ['an array', settings({ BACKUP_KEYRING: '[]' }), 'is not an object'],
    ['without keys', ring({ current: 'k1' }), 'has no "keys" object'],
    ['a short key', ring({ keys: { k1: randomBytes(16).toString('base64') } }), 'entry "k1" is not 32 bytes'],
    ['a bad entry name', ring({ keys: { 'k/1': k1 } }), 'entry name'],
    ['current naming no key', ring({ current: 'k9', keys: { k1 } }), '"current" does not name'],
  ])('refuses %s with UserErrorInvalidRequest naming the setting and never echoing a key', (_what, s, message) => {
    const err = parseFailure(s);
    expect(err.code).toBe('UserErrorInvalidRequest');
    expect(err.target).toBe('BACKUP_KEYRING');
    expect(err.message).toContain(message);
    for (const key of [k1, k2, s.BACKUP_KEYRING]) expectNoSecret(err, key);
  });

  it('refuses a legacy key that contradicts the keyring entry of the same name', () => {
    const err = parseFailure({
      ...ring({ current: 'k1', keys: { k1 } }),
      BACKUP_ENCRYPTION_KEY: k2,
      BACKUP_ENCRYPTION_KEY_ID: 'k1',
    });
    expect(err.message).toContain('both define "k1"');
  });
});

describe('aesKeyWrap', () => {
  it('round-trips a data key and refuses to unwrap with another key (RFC 3394 integrity check)', () => {
    const kek = randomBytes(32);
    const dataKey = randomBytes(32);
    const wrapped = aesKeyWrap(kek, dataKey);
    expect(wrapped).toHaveLength(40);
    expect(aesKeyUnwrap(kek, wrapped)?.equals(dataKey)).toBe(true);
    expect(aesKeyUnwrap(randomBytes(32), wrapped)).toBeUndefined();
  });
});

describe('keyringKekProvider', () => {
  const provider = () => keyringKekProvider(parseKeyring(ring({ current: 'k2', keys: { k1, k2 } })));

  it('wraps with the current entry and names it; unwraps with the entry the record names', async () => {
    const kek = provider();
    const dataKey = randomBytes(32);
    const wrapped = await kek.wrap(dataKey);
    expect(wrapped).toMatchObject({ keyProvider: 'keyring', keyId: 'k2', keyWrapAlgorithm: 'A256KW' });
    expect(wrapped.wrappedKey).not.toContain(dataKey.toString('base64'));
    expect((await kek.unwrap(wrapped)).equals(dataKey)).toBe(true);
    const byK1 = {
      ...wrapped,
      keyId: 'k1',
      wrappedKey: aesKeyWrap(Buffer.from(k1, 'base64'), dataKey).toString('base64'),
    };
    expect((await kek.unwrap(byK1)).equals(dataKey)).toBe(true);
  });

  it('fails UserErrorEncryptionKeyNotFound for an entry no longer in the keyring, naming it', async () => {
    const kek = keyringKekProvider(parseKeyring(ring({ current: 'k2', keys: { k2 } })));
    const err = await failureOf(
      kek.unwrap({ keyProvider: 'keyring', keyId: 'k1', keyWrapAlgorithm: 'A256KW', wrappedKey: 'AAAA' }),
    );
    expect(err.code).toBe('UserErrorEncryptionKeyNotFound');
    expect(err.message).toContain('"k1"');
  });

  it('fails SystemErrorIntegrityCheckFailed when the entry holds another key than the one that wrapped', async () => {
    const wrapped = await provider().wrap(randomBytes(32));
    const changed = keyringKekProvider(parseKeyring(ring({ current: 'k2', keys: { k2: k1 } })));
    const err = await failureOf(changed.unwrap(wrapped));
    expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
    expect(err.message).toContain('"k2"');
    expectNoSecret(err, k1);
  });

  it('refuses to wrap without a current entry', async () => {
    const kek = keyringKekProvider(parseKeyring(ring({ keys: { k1 } })));
    expect((await failureOf(kek.wrap(randomBytes(32)))).target).toBe('BACKUP_KEYRING');
  });
});
