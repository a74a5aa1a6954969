// Setup shared by the restore contract tests: dumps a database into Azurite with the real dump pipeline, hands the
// blob back as a restore source, corrupts a blob, and inspects child processes and failures.
import type { ContainerClient } from '@azure/storage-blob';
import { childrenRunning, spaced } from '../support/processes';
import type { DumpEncryptionKey } from '../../shared/adapters/crypto/dump-encryption';
import { runDump, type DumpResult } from '../../shared/adapters/postgres/dump-pipeline';
import { discoverPgTools, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { blockBlobSink } from '../../shared/adapters/storage/staged-blocks';
import type { PgConnection } from '../../shared/ports';

export interface StoredDump {
  readonly blobName: string;
  readonly result: DumpResult;
}

/** Dumps `conn.database` with the system pg_dump 15 into `container/blobName`, as a backup would. */
export async function dumpToBlob(
  container: ContainerClient,
  blobName: string,
  conn: PgConnection,
  encryption?: DumpEncryptionKey,
): Promise<StoredDump> {
  const tools = pickPgDump(15, await discoverPgTools({ pathDirs: [] }));
  const result = await runDump({
    conn,
    tools,
    sink: blockBlobSink(container.getBlockBlobClient(blobName)),
    zstdLevel: 1,
    stallTimeoutMs: 20_000,
    expectedSizeBytes: 50 * 1024 * 1024,
    ...(encryption === undefined ? {} : { encryption }),
  });
  return { blobName, result };
}

/** The restore source over a blob: a fresh download stream per call. */
export function blobSource(container: ContainerClient, blobName: string): () => Promise<NodeJS.ReadableStream> {
  return async () => {
    const body = (await container.getBlobClient(blobName).download()).readableStreamBody;
    if (body === undefined) throw new Error(`blob ${blobName} has no body`);
    return body;
  };
}

/** Copies a blob with one byte flipped in the middle (download, modify, re-upload): a silently corrupted backup. */
export async function corruptCopy(container: ContainerClient, from: string, to: string): Promise<void> {
  const bytes = await container.getBlobClient(from).downloadToBuffer();
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await container.getBlockBlobClient(to).uploadData(bytes);
}

/** Command lines of this worker's live children whose argv mentions `tool`. */
export function childCommandLines(tool: string): string[] {
  return childrenRunning(tool).map((p) => spaced(p.cmdline));
}
