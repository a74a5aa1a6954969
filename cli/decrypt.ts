// `pgkeep decrypt`: turns an encrypted dump delivered by a restore as files (`<point>.dump.enc` with its
// `<point>.manifest.json`) into the pg_restore-ready dump, without the app: it unwraps the data key with the key the
// manifest names — Key Vault through the operator's Azure login (DefaultAzureCredential), or a keyring — then streams
// file → SHA-256 check → AES-256-GCM → zstd -d → output. Key material only from the environment or a file, never argv.
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { KeyClientOptions } from '@azure/keyvault-keys';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dataKeyOf, encryptionOf, keyEncryptionKeysFromSettings } from '../shared/adapters/crypto/envelope';
import { integrityError, matchesManifest, openDecompressedSource } from '../shared/adapters/storage/restore-source';
import { PgkeepError } from '../shared/errors';

export const decryptUsage = `usage: pgkeep decrypt --in <dump.enc> --manifest <manifest.json> [--out <file>] [--keyring <file>]

  Decrypts and decompresses a dump that a restore as files delivered encrypted, into the pg_restore-ready
  custom-format dump (stdout without --out). The data key is unwrapped with the key-encryption key the manifest
  names: a Key Vault key through your Azure login (az login, environment or managed identity; you need the
  unwrapKey permission on that key version), or a keyring entry from BACKUP_KEYRING (environment) or --keyring
  (a file with the same JSON). The stored bytes are checked against the manifest's SHA-256; on any failure the
  output file is not left behind. Needs the zstd command.

exit codes: 0 ok, 1 the key, the file or its check failed, 2 usage error (this text)
`;

export interface DecryptIo {
  readonly stderr: (text: string) => void;
  /** Where the dump goes without --out. */
  readonly stdout: Writable;
  /** BACKUP_KEYRING, BACKUP_ENCRYPTION_KEY, BACKUP_ENCRYPTION_KEY_ID are read from here. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The Azure identity for Key Vault keys. */
  readonly credential: () => TokenCredential;
  /** Tests: trust a stand-in's certificate. */
  readonly keyVaultOptions?: KeyClientOptions;
}

const defaultIo = (): DecryptIo => ({
  stderr: (text) => process.stderr.write(text),
  stdout: process.stdout,
  env: process.env,
  credential: () => new DefaultAzureCredential(),
});

class UsageError extends Error {}

function parse(args: readonly string[]): { in: string; manifest: string; out?: string; keyring?: string } {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    const m = /^--(in|manifest|out|keyring)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unknown argument: ${arg}`);
    const value = m[2] ?? args[++i];
    if (value === undefined || value === '') throw new UsageError(`--${m[1]} needs a value`);
    values.set(m[1]!, value);
  }
  const input = values.get('in');
  const manifest = values.get('manifest');
  if (input === undefined || manifest === undefined) throw new UsageError('--in and --manifest are required');
  return {
    in: input,
    manifest,
    ...(values.has('out') ? { out: values.get('out')! } : {}),
    ...(values.has('keyring') ? { keyring: values.get('keyring')! } : {}),
  };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new PgkeepError('UserErrorInvalidRequest', `cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Runs `pgkeep decrypt <args>`; resolves to the exit code and never throws. */
export async function runDecrypt(args: readonly string[], overrides: Partial<DecryptIo> = {}): Promise<number> {
  const io = { ...defaultIo(), ...overrides };
  let partial: string | undefined;
  try {
    const options = parse(args);
    let manifest: unknown;
    try {
      manifest = JSON.parse(await readText(options.manifest, 'manifest'));
    } catch (err) {
      if (err instanceof PgkeepError) throw err;
      throw new PgkeepError('UserErrorInvalidRequest', `the manifest ${options.manifest} is not JSON`);
    }
    const encryption = encryptionOf(manifest);
    if (encryption === undefined) {
      throw new PgkeepError(
        'UserErrorInvalidRequest',
        `the manifest ${options.manifest} describes a dump that is not encrypted`,
      );
    }
    const keys = keyEncryptionKeysFromSettings(
      {
        BACKUP_ENCRYPTION_KEY_URI: '',
        BACKUP_KEYRING:
          options.keyring !== undefined ? await readText(options.keyring, 'keyring') : (io.env.BACKUP_KEYRING ?? ''),
        BACKUP_ENCRYPTION_KEY: io.env.BACKUP_ENCRYPTION_KEY ?? '',
        BACKUP_ENCRYPTION_KEY_ID: io.env.BACKUP_ENCRYPTION_KEY_ID ?? '',
      },
      { credential: io.credential(), ...(io.keyVaultOptions ? { clientOptions: io.keyVaultOptions } : {}) },
    );
    const dataKey = await dataKeyOf(encryption, keys);
    const expected = manifest as { sha256?: unknown; bytes?: unknown };
    const source = await openDecompressedSource(() => Promise.resolve(createReadStream(options.in)), {
      decryptionKey: dataKey,
    });
    // A file appears under its name only when complete and checked.
    if (options.out !== undefined) partial = `${options.out}.partial`;
    const sink: Writable = partial !== undefined ? createWriteStream(partial, { mode: 0o600 }) : io.stdout;
    try {
      await pipeline(source.archive, sink, { end: partial !== undefined });
    } catch (err) {
      source.destroy();
      await source.done;
      throw err;
    }
    const digest = await source.done;
    if (digest.sourceError !== undefined) {
      throw new PgkeepError('UserErrorInvalidRequest', `cannot read ${options.in}: ${digest.sourceError.message}`);
    }
    if (typeof expected.sha256 === 'string' && typeof expected.bytes === 'number') {
      if (!matchesManifest(digest, expected.sha256, expected.bytes)) {
        throw integrityError(digest, expected.sha256, expected.bytes);
      }
    }
    if (!digest.decompressed) {
      throw new PgkeepError(
        'SystemErrorIntegrityCheckFailed',
        `the dump cannot be decrypted or decompressed: ${digest.zstdError}`,
      );
    }
    if (partial !== undefined && options.out !== undefined) {
      await rename(partial, options.out);
      partial = undefined;
      io.stderr(`pgkeep: wrote ${options.out} (data key unwrapped with ${encryption.keyId})\n`);
    }
    return 0;
  } catch (err) {
    if (partial !== undefined) await rm(partial, { force: true });
    if (err instanceof UsageError) {
      io.stderr(`${err.message === '' ? '' : `pgkeep decrypt: ${err.message}\n\n`}${decryptUsage}`);
      return 2;
    }
    if (err instanceof PgkeepError) {
      io.stderr(`pgkeep decrypt: ${err.code}: ${err.message}\n  hint: ${err.hint}\n`);
      return 1;
    }
    io.stderr(`pgkeep decrypt: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
