import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { childrenRunning } from '../support/processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPgTools, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { openDecompressedSource } from '../../shared/adapters/storage/restore-source';
import { blobSource } from './restore-support';
import { runDump, type RunDumpOptions } from '../../shared/adapters/postgres/dump-pipeline';
import { blockBlobSink } from '../../shared/adapters/storage/staged-blocks';
import type { BlockBlobSink, PgClientTools } from '../../shared/ports';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { expectNoSecret, failureOf } from '../support/failures';

const DB = 'varied';

/** The pg_dump processes this test process started (children of this worker). */
function ourPgDumps(): { pid: number; cmdline: string }[] {
  return childrenRunning('pg_dump').map(({ pid, cmdline }) => ({ pid, cmdline }));
}

/** Runs `pg_restore --list` on the decompressed blob and returns its TOC lines. */
async function listArchive(
  container: ContainerClient,
  blobName: string,
  tools: PgClientTools,
  decryptionKey?: Buffer,
): Promise<string[]> {
  const reader = await openDecompressedSource(blobSource(container, blobName), { decryptionKey });
  const restore = spawn(tools.pgRestore, ['--list'], { stdio: ['pipe', 'pipe', 'inherit'] });
  restore.stdin.on('error', () => undefined);
  reader.archive.pipe(restore.stdin);
  let out = '';
  restore.stdout.setEncoding('utf8');
  restore.stdout.on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => restore.once('close', resolve));
  reader.archive.resume();
  const digest = await reader.done;
  expect(digest).toMatchObject({ decompressed: true, zstdError: '' });
  expect(digest.sourceError).toBeUndefined();
  expect(code).toBe(0);
  return out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';'));
}

describe('runDump', () => {
  let server: TestPostgres;
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  let tools: PgClientTools;
  let seq = 0;

  const dumpInto = (blobName: string, overrides: Partial<RunDumpOptions> = {}): ReturnType<typeof runDump> =>
    runDump({
      conn: server.connectionFor(DB),
      tools,
      sink: blockBlobSink(container.getBlockBlobClient(blobName)),
      zstdLevel: 1,
      stallTimeoutMs: 10_000,
      expectedSizeBytes: 50 * 1024 * 1024,
      ...overrides,
    });

  beforeAll(async () => {
    [server, azurite] = await Promise.all([startPostgres(), startAzurite()]);
    tools = pickPgDump(15, await discoverPgTools({ pathDirs: [] }));
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('dumps');
    await Promise.all([container.create(), seedVariedDatabase(server, DB)]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), azurite?.stop()]);
  });

  it('stores the varied database as a committed zstd blob whose SHA-256, size and TOC match the result', async () => {
    const blobName = `ok-${++seq}.dump.zst`;
    const cmdlines: string[] = [];
    const progress: number[] = [];
    const result = await dumpInto(blobName, {
      onProgress: (bytes) => {
        progress.push(bytes);
        if (cmdlines.length === 0) cmdlines.push(...ourPgDumps().map((p) => p.cmdline));
      },
    });

    const downloaded = await container.getBlobClient(blobName).downloadToBuffer();
    expect(downloaded.length).toBe(result.bytes);
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(result.sha256);
    const blocks = await container.getBlockBlobClient(blobName).getBlockList('committed');
    expect(blocks.committedBlocks?.length).toBe(result.blockCount);
    expect(result.blockSize).toBe(8 * 1024 * 1024);
    expect(result.uncompressedBytes).toBeGreaterThan(result.bytes);
    expect(result.pgDumpVersion).toBe(tools.version);

    const toc = await listArchive(container, blobName, tools);
    expect(result.tocEntries).toBe(toc.length);
    const listing = toc.join('\n');
    for (const object of [
      'TABLE DATA public events',
      'TABLE DATA Sales Ops Quarterly Targets',
      'BLOB',
      'TYPE public mood',
    ]) {
      expect(listing).toContain(object);
    }

    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(result.uncompressedBytes);
    expect(cmdlines.length).toBe(1);
    expect(cmdlines[0]).not.toContain(server.password);
  });

  it('stages deterministic block ids, so a retried dump to the same blob replaces the first one', async () => {
    const blobName = `retry-${++seq}.dump.zst`;
    const first = await dumpInto(blobName);
    const second = await dumpInto(blobName);
    const blocks = await container.getBlockBlobClient(blobName).getBlockList('all');
    expect(blocks.committedBlocks?.map((b) => b.name)).toHaveLength(second.blockCount);
    expect(blocks.uncommittedBlocks ?? []).toHaveLength(0);
    const downloaded = await container.getBlobClient(blobName).downloadToBuffer();
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(second.sha256);
    expect(first.blockCount).toBe(second.blockCount);
  });

  it('fails SystemErrorDumpStalled when pg_dump waits on a lock, kills pg_dump and commits nothing', async () => {
    const blobName = `stalled-${++seq}.dump.zst`;
    const locker = new pg.Client({ ...server.connectionFor(DB), ssl: false });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const err = await failureOf(dumpInto(blobName, { stallTimeoutMs: 1_500 }));
      expect(err.code).toBe('SystemErrorDumpStalled');
      expect(Date.now() - started).toBeLessThan(8_000);
      expectNoSecret(err, server.password);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect(ourPgDumps()).toEqual([]);
    expect(await container.getBlobClient(blobName).exists()).toBe(false);
  });

  it("fails SystemErrorDumpFailed with pg_dump's message but without the password when login fails", async () => {
    const blobName = `badpw-${++seq}.dump.zst`;
    const wrong = `${server.password}-not-it`;
    const err = await failureOf(dumpInto(blobName, { conn: server.connectionFor(DB, 'postgres', wrong) }));
    expect(err.code).toBe('SystemErrorDumpFailed');
    expect(err.message).toMatch(/password authentication failed/);
    expectNoSecret(err, wrong);
    expect(await container.getBlobClient(blobName).exists()).toBe(false);
  });

  it('encrypts after compression when given a key, reads back only with that key, and reads contents before both', async () => {
    const blobName = `encrypted-${++seq}.dump.zst.enc`;
    const key = randomBytes(32);
    const result = await dumpInto(blobName, { encryption: { key, keyId: 'test-key-1' } });
    expect(result.encryption).toMatchObject({ algorithm: 'AES-256-GCM', keyId: 'test-key-1' });
    const downloaded = await container.getBlobClient(blobName).downloadToBuffer();
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(result.sha256);
    expect(downloaded.subarray(0, 8).toString('latin1')).toBe('PGKEEPE1');
    expect(JSON.stringify(result)).not.toContain(key.toString('base64'));
    // The manifest of contents is read from pg_dump's plain archive, before compression and encryption: the same as
    // a plain dump's of the same database.
    const plain = await dumpInto(`plain-${++seq}.dump.zst`);
    expect(result.contents).toMatchObject({ ok: true });
    expect(result.contents).toEqual(plain.contents);

    const toc = await listArchive(container, blobName, tools, key);
    expect(toc.length).toBe(result.tocEntries);
    const wrongKey = await openDecompressedSource(blobSource(container, blobName), { decryptionKey: randomBytes(32) });
    wrongKey.archive.resume();
    // The first segment fails authentication: zstd is stopped before a byte of plaintext reaches it.
    expect(await wrongKey.done).toMatchObject({
      decompressed: false,
      zstdError: expect.stringContaining('decryption failed') as string,
    });
  });

  it('fails SystemErrorDumpFailed, stops pg_dump and commits nothing when a block cannot be staged', async () => {
    let commits = 0;
    const refusing: BlockBlobSink = {
      stageBlock: () => Promise.reject(new Error('the storage account refused the block')),
      commitBlocks: () => {
        commits++;
        return Promise.resolve();
      },
    };
    const err = await failureOf(dumpInto('refused.dump.zst', { sink: refusing }));
    expect(err.code).toBe('SystemErrorDumpFailed');
    expect(err.message).toContain('refused the block');
    expect(commits).toBe(0);
    expect(ourPgDumps()).toEqual([]);
  });

  it('stops pg_dump and commits nothing when the caller aborts', async () => {
    const blobName = `aborted-${++seq}.dump.zst`;
    const controller = new AbortController();
    const err = await failureOf(
      dumpInto(blobName, { abortSignal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(err.code).toBe('SystemErrorDumpFailed');
    expect(err.message).toMatch(/cancelled/);
    expect(ourPgDumps()).toEqual([]);
    expect(await container.getBlobClient(blobName).exists()).toBe(false);
  });
});

describe('runDump when the server dies mid-dump', () => {
  let server: TestPostgres;
  let azurite: AzuriteInstance;
  let container: ContainerClient;

  beforeAll(async () => {
    [server, azurite] = await Promise.all([startPostgres(), startAzurite()]);
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('dumps');
    await container.create();
    await server.query('CREATE DATABASE big');
    // Hard-to-compress rows (a dump of ~75 MB), so the dump is far bigger than what the pipeline buffers while the
    // first block waits (4 in flight + 1 filling, 8 MiB each).
    await server.query(
      `CREATE TABLE noise AS SELECT g AS id, encode(sha256(g::text::bytea), 'base64') ||
         encode(sha256((g * 31)::text::bytea), 'base64') AS payload FROM generate_series(1, 1000000) AS g`,
      'big',
    );
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), azurite?.stop()]);
  });

  it('fails (connection closed) and commits nothing when the server is killed once bytes flow', async () => {
    const tools = pickPgDump(15, await discoverPgTools({ pathDirs: [] }));
    const real = blockBlobSink(container.getBlockBlobClient('killed.dump.zst'));
    let killed: Promise<void> | undefined;
    // Holds the first block until the server is dead, so the dump cannot finish first whatever the machine's speed.
    const sink: BlockBlobSink = {
      stageBlock: async (id, data, options) => {
        await killed;
        return real.stageBlock(id, data, options);
      },
      commitBlocks: (ids, options) => real.commitBlocks(ids, options),
    };
    const err = await failureOf(
      runDump({
        conn: server.connectionFor('big'),
        tools,
        sink,
        zstdLevel: 1,
        stallTimeoutMs: 20_000,
        expectedSizeBytes: 0,
        onProgress: () => {
          killed ??= server.kill();
        },
      }),
    );
    expect(killed).toBeDefined();
    expect(err.code).toBe('UserErrorServerConnectionClosed');
    expectNoSecret(err, server.password);
    expect(await container.getBlobClient('killed.dump.zst').exists()).toBe(false);
  });
});
