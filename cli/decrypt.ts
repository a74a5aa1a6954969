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
import type { CommandGroup } from './context';

export interface DecryptOptions {
  /** The encrypted dump (`<point>.dump.enc`, exactly the stored bytes). */
  readonly in: string;
  /** Its manifest (`<point>.manifest.json`): the wrapped data key and the key that wrapped it. */
  readonly manifest: string;
  /** Where the pg_restore-ready dump goes; stdout when absent. */
  readonly out?: string;
  /** A keyring file (BACKUP_KEYRING's JSON) instead of the environment's BACKUP_KEYRING. */
  readonly keyring?: string;
}

export interface DecryptIo {
  /** Where the dump goes without --out. */
  readonly stdout: Writable;
  /** BACKUP_KEYRING, BACKUP_ENCRYPTION_KEY, BACKUP_ENCRYPTION_KEY_ID are read from here. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The Azure identity for Key Vault keys. */
  readonly credential: () => TokenCredential;
  /** Tests: trust a stand-in's certificate. */
  readonly keyVaultOptions?: KeyClientOptions;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new PgkeepError('UserErrorInvalidRequest', `cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/**
 * Decrypts and decompresses `options.in` into `options.out` (or io.stdout); resolves with the KEK id that unwrapped
 * the data key. Throws PgkeepError: the key codes of the registry (disabled, not found, no permission),
 * SystemErrorIntegrityCheckFailed (the file is not the one the manifest describes, or does not decrypt), or
 * UserErrorInvalidRequest (unreadable files, a manifest without encryption). Leaves no output file on failure.
 */
export async function decryptDump(options: DecryptOptions, io: DecryptIo): Promise<string> {
  let partial: string | undefined;
  try {
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
    }
    return encryption.keyId;
  } finally {
    if (partial !== undefined) await rm(partial, { force: true });
  }
}

/** `pgkeep decrypt`: registered with the other command groups (commands/index.ts). */
export const decryptCommand: CommandGroup = (program, { io }) => {
  program
    .command('decrypt')
    .summary('turn an encrypted dump from a restore as files into a pg_restore-ready one (offline)')
    .description(
      "Decrypt and decompress a dump that a restore as files delivered encrypted (<point>.dump.enc), into the pg_restore-ready custom-format dump. The data key is unwrapped with the key-encryption key the manifest names: a Key Vault key through your Azure login (az login, environment or managed identity; you need unwrapKey on that key version), or a keyring entry from BACKUP_KEYRING (environment) or --keyring. The file is checked against the manifest's SHA-256; on any failure no output file is left behind. Needs the zstd command.",
    )
    .requiredOption('--in <file>', 'the encrypted dump (<point>.dump.enc)')
    .requiredOption('--manifest <file>', 'its manifest (<point>.manifest.json)')
    .option('--out <file>', 'where the dump goes (default: stdout)')
    .option('--keyring <file>', "a file with BACKUP_KEYRING's JSON (keys are never taken from the command line)")
    .action(async (opts: DecryptOptions) => {
      const keyId = await decryptDump(opts, {
        stdout: process.stdout,
        env: io.env ?? {},
        credential: () => new DefaultAzureCredential(),
      });
      if (opts.out !== undefined) io.stderr(`pgkeep: wrote ${opts.out} (data key unwrapped with ${keyId})\n`);
    });
};
