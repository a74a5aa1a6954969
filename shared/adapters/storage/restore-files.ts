// Restore as files (design §6): writes a pg_restore-ready custom-format dump (decompressed on the way), the
// manifest and a short restore script into the caller's container, and deletes them again when the check fails.
// An encrypted dump leaves the vault encrypted: it is delivered as stored (`.dump.enc`, proven to decrypt and
// decompress on the way) and the script turns it into the dump with `pgkeep decrypt`, which needs the KEK.
import type { ContainerClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { PgkeepError } from '../../errors';
import { normalizeFilePrefix } from '../../contracts/restores';
import { isRestError, isTransportError } from '../azure/azure-rest-errors';
import { integrityError, matchesManifest, openDecompressedSource, type SourceDigest } from './restore-source';
import { chooseBlockSize, chooseMaxInFlight } from './staged-blocks';

export interface RestoreAsFilesOptions {
  /** The stored (zstd-compressed) dump bytes, e.g. a blob download stream. Called once. */
  readonly source: () => Promise<NodeJS.ReadableStream>;
  readonly expectedSha256: string;
  readonly expectedBytes: number;
  /** Written as JSON next to the dump. */
  readonly manifest: unknown;
  /** The target container (targetDetails.url), built by the caller with its credential. */
  readonly container: ContainerClient;
  /** targetDetails.filePrefix: a folder inside the container ('' for its root). */
  readonly filePrefix: string;
  readonly pointId: string;
  readonly abortSignal?: AbortSignal;
  /** Stored bytes read so far. */
  readonly onProgress?: (bytesRead: number) => void;
  /** Default `zstd` from PATH. */
  readonly zstdPath?: string;
  /**
   * The data key of a client-side encrypted dump. The dump is then delivered encrypted (`<point>.dump.enc`), after
   * the whole of it was decrypted and decompressed here as a check.
   */
  readonly decryptionKey?: Buffer;
}

export interface RestoreAsFilesResult {
  /** What was written, in writing order: manifest, dump, script. */
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
}

/** Custom-format dumps of typical databases compress 3–10× with zstd -1..3; sizes the upload's blocks. */
const ASSUMED_COMPRESSION_RATIO = 10;

/** The blob names a restore as files writes; an encrypted dump is delivered as `<point>.dump.enc`. */
export function restoreFileNames(
  prefix: string,
  pointId: string,
  encrypted = false,
): { manifest: string; dump: string; script: string } {
  return {
    manifest: `${prefix}${pointId}.manifest.json`,
    dump: `${prefix}${pointId}.dump${encrypted ? '.enc' : ''}`,
    script: `${prefix}${pointId}-restore.sh`,
  };
}

/**
 * Writes `<prefix><pointId>.manifest.json` (first: it doubles as the access check), `<prefix><pointId>.dump` and
 * `<prefix><pointId>-restore.sh` (last). Throws PgkeepError: UserErrorInvalidRequest (filePrefix, pointId),
 * UserErrorContainerNotAccessible (missing container, no permission, storage unreachable),
 * SystemErrorIntegrityCheckFailed (stored bytes ≠ manifest), SystemErrorRestoreFailed; on every failure after the
 * first write, what was written is deleted.
 */
export async function restoreAsFiles(options: RestoreAsFilesOptions): Promise<RestoreAsFilesResult> {
  const prefix = normalizeFilePrefix(options.filePrefix);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(options.pointId)) {
    // The id lands in blob names and in the script: a safe alphabet keeps both unambiguous.
    throw new PgkeepError('UserErrorInvalidRequest', 'pointId must be 1–200 letters, digits, ".", "_" or "-"', {
      target: 'pointId',
    });
  }
  const encrypted = options.decryptionKey !== undefined;
  const names = restoreFileNames(prefix, options.pointId, encrypted);
  const { container } = options;
  const where = `container ${container.containerName}`;
  const written: string[] = [];
  const cleanUp = async (failure: PgkeepError): Promise<never> => {
    const left: string[] = [];
    for (const name of written) {
      try {
        await container.getBlobClient(name).deleteIfExists();
      } catch {
        left.push(name);
      }
    }
    if (left.length === 0) throw failure;
    throw new PgkeepError(
      failure.code,
      `${failure.message} (could not delete ${left.join(', ')}: delete them by hand)`,
      {
        cause: failure,
      },
    );
  };

  const manifestText = `${JSON.stringify(options.manifest, null, 2)}\n`;
  try {
    written.push(names.manifest);
    await container.getBlockBlobClient(names.manifest).upload(manifestText, Buffer.byteLength(manifestText), {
      abortSignal: options.abortSignal,
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  } catch (err) {
    written.pop();
    throw storageError(err, where);
  }

  let digest: SourceDigest;
  let archive: { bytes: number; sha256: string };
  try {
    ({ digest, archive } = await uploadDump(options, names.dump, () => written.push(names.dump)));
  } catch (err) {
    return cleanUp(err instanceof PgkeepError ? err : storageError(err, where));
  }
  if (options.abortSignal?.aborted === true) {
    return cleanUp(new PgkeepError('SystemErrorRestoreFailed', `the restore into ${where} was cancelled`));
  }
  if (digest.sourceError !== undefined) {
    return cleanUp(
      new PgkeepError('SystemErrorRestoreFailed', `reading the recovery point failed: ${digest.sourceError.message}`),
    );
  }
  if (!matchesManifest(digest, options.expectedSha256, options.expectedBytes)) {
    return cleanUp(integrityError(digest, options.expectedSha256, options.expectedBytes));
  }
  if (!digest.decompressed) {
    return cleanUp(
      new PgkeepError('SystemErrorRestoreFailed', `zstd cannot decompress the recovery point: ${digest.zstdError}`),
    );
  }

  const script = restoreScript(options.pointId, archive.sha256, pgDumpVersionOf(options.manifest), encrypted);
  try {
    written.push(names.script);
    await container.getBlockBlobClient(names.script).upload(script, Buffer.byteLength(script), {
      abortSignal: options.abortSignal,
      blobHTTPHeaders: { blobContentType: 'text/x-shellscript' },
    });
  } catch (err) {
    return cleanUp(storageError(err, where));
  }
  return {
    files: [
      { name: names.manifest, bytes: Buffer.byteLength(manifestText) },
      { name: names.dump, bytes: encrypted ? digest.bytes : archive.bytes },
      { name: names.script, bytes: Buffer.byteLength(script) },
    ],
  };
}

/**
 * source → digest → zstd -d → (SHA-256 of the archive) → uploadStream, with bounded buffers. An encrypted dump
 * uploads the stored bytes instead, while the archive is hashed and dropped.
 */
async function uploadDump(
  options: RestoreAsFilesOptions,
  name: string,
  onStarted: () => void,
): Promise<{ digest: SourceDigest; archive: { bytes: number; sha256: string } }> {
  const source = await openDecompressedSource(options.source, {
    ...(options.onProgress === undefined ? {} : { onBytes: options.onProgress }),
    ...(options.zstdPath === undefined ? {} : { zstdPath: options.zstdPath }),
    ...(options.decryptionKey === undefined ? {} : { decryptionKey: options.decryptionKey, teeStored: true }),
  });
  const onAbort = (): void => source.destroy();
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  if (options.abortSignal?.aborted === true) onAbort();
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  source.archive.pipe(tap);
  // What is delivered: the archive, or (encrypted) the stored bytes while the archive is only hashed.
  let body: NodeJS.ReadableStream = tap;
  let blockSize = chooseBlockSize(options.expectedBytes * ASSUMED_COMPRESSION_RATIO);
  if (source.stored !== undefined) {
    tap.resume();
    body = source.stored;
    blockSize = chooseBlockSize(options.expectedBytes);
  }
  onStarted();
  try {
    await options.container
      .getBlockBlobClient(name)
      .uploadStream(body as Readable, blockSize, chooseMaxInFlight(blockSize), {
        abortSignal: options.abortSignal,
        blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
      });
  } catch (err) {
    // The upload stopped reading: stop the source too, or `done` would wait on a blocked zstd forever.
    source.destroy();
    const digest = await source.done;
    if (digest.sourceError !== undefined) {
      throw new PgkeepError(
        'SystemErrorRestoreFailed',
        `reading the recovery point failed: ${digest.sourceError.message}`,
      );
    }
    throw err;
  } finally {
    options.abortSignal?.removeEventListener('abort', onAbort);
  }
  const digest = await source.done;
  return { digest, archive: { bytes, sha256: hash.digest('hex') } };
}

function storageError(err: unknown, where: string): PgkeepError {
  if (err instanceof PgkeepError) return err;
  if (isRestError(err) && (err.statusCode === 403 || err.statusCode === 404 || err.statusCode === 401)) {
    return new PgkeepError(
      'UserErrorContainerNotAccessible',
      `cannot write to ${where}: ${err.statusCode} ${err.code ?? ''}`.trim(),
      { target: 'targetDetails.url', cause: err },
    );
  }
  if (isTransportError(err)) {
    return new PgkeepError('UserErrorContainerNotAccessible', `cannot reach ${where}: ${(err as Error).message}`, {
      target: 'targetDetails.url',
      cause: err,
    });
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return new PgkeepError('SystemErrorRestoreFailed', `the restore into ${where} was cancelled`, { cause: err });
  }
  const text = err instanceof Error ? err.message : String(err);
  return new PgkeepError('SystemErrorRestoreFailed', `writing to ${where} failed: ${text}`, { cause: err });
}

function pgDumpVersionOf(manifest: unknown): string | undefined {
  const value = (manifest as { pgDumpVersion?: unknown } | null)?.pgDumpVersion;
  return typeof value === 'string' && /^[0-9][0-9A-Za-z. ()+~-]*$/.test(value) ? value : undefined;
}

/**
 * A POSIX sh script restoring the dump with stock tools. It reads the connection from libpq's environment
 * (PGHOST, PGPORT, PGUSER, PGSSLMODE, PGPASSWORD or ~/.pgpass) and holds no credentials. Same defaults as
 * restoreAsDatabase: a new database from template0, objects owned by the restoring user, no tablespaces.
 */
export function restoreScript(
  pointId: string,
  archiveSha256: string,
  pgDumpVersion?: string,
  encrypted = false,
): string {
  const needs =
    pgDumpVersion === undefined ? '' : ` (written by pg_dump ${pgDumpVersion}: use pg_restore of that major or newer)`;
  const decrypt = encrypted
    ? `# The dump is encrypted (${pointId}.dump.enc): pgkeep decrypt unwraps its data key with the key named in the
# manifest (Key Vault with your Azure login, or BACKUP_KEYRING / --keyring) and writes the plain dump. PGKEEP names
# the command when it is not "pgkeep" on the PATH (e.g. PGKEEP="node /opt/pgkeep/dist/cli/pgkeep.js").
if [ ! -f "$dump" ]; then
  \${PGKEEP:-pgkeep} decrypt --in "$dir/${pointId}.dump.enc" --manifest "$dir/${pointId}.manifest.json" --out "$dump"
fi
`
    : '';
  return `#!/bin/sh
# Restores pgkeep recovery point ${pointId} into a NEW database with stock PostgreSQL tools${needs}.
# Connection: the usual libpq variables PGHOST, PGPORT, PGUSER, PGSSLMODE, and PGPASSWORD or ~/.pgpass.
# Usage: sh ${pointId}-restore.sh NEW_DATABASE_NAME [DUMP_FILE]
set -eu
db="\${1:?usage: sh $0 NEW_DATABASE_NAME [DUMP_FILE]}"
dir="$(dirname "$0")"
dump="\${2:-$dir/${pointId}.dump}"
${decrypt}if command -v sha256sum >/dev/null 2>&1; then
  echo "${archiveSha256}  $dump" | sha256sum -c --quiet -
fi
createdb --template=template0 -- "$db"
# Exit code 1 with "errors ignored on restore" usually means ownership or privilege statements the server refused.
pg_restore --no-owner --no-tablespaces --dbname="$db" "$dump"
`;
}
