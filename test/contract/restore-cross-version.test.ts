import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPgTools } from '../../shared/adapters/postgres/pg-binaries';
import { pickPgRestore } from '../../shared/adapters/postgres/pg-restore-tools';
import { readTargetServerMajor, restoreAsDatabase } from '../../shared/adapters/postgres/restore-pipeline';
import { PgkeepError } from '../../shared/errors';
import type { PgClientTools } from '../../shared/ports';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { tableChecksums } from '../support/table-checksums';
import { blobSource, dumpToBlob } from './restore-support';

const installed = (...majors: number[]): PgClientTools[] =>
  majors.map((major) => ({
    major,
    version: `${major}.2`,
    binDir: `/opt/pg${major}/bin`,
    pgDump: `/opt/pg${major}/bin/pg_dump`,
    pgRestore: `/opt/pg${major}/bin/pg_restore`,
  }));

describe('pickPgRestore', () => {
  it('picks the highest pg_restore that reads the dump and is not newer than the target server', () => {
    expect(pickPgRestore('15.18', installed(13, 15, 16, 17), 16).major).toBe(16);
    expect(pickPgRestore('pg_dump (PostgreSQL) 13.4', installed(13, 15, 17), 14).major).toBe(13);
  });

  it('picks the highest qualifying one when every qualifying one is newer than the target, or no target is known', () => {
    expect(pickPgRestore('15.18', installed(13, 16, 17), 14).major).toBe(17);
    expect(pickPgRestore('13.4', installed(13, 15, 17)).major).toBe(17);
  });

  it('fails UserErrorPgDumpVersionMismatch naming the installed majors when none reads the dump', () => {
    let caught: unknown;
    try {
      pickPgRestore('17.2', installed(13, 15), 17);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PgkeepError);
    expect((caught as PgkeepError).code).toBe('UserErrorPgDumpVersionMismatch');
    expect((caught as PgkeepError).message).toContain('installed majors: 13, 15');
  });
});

describe('restoreAsDatabase across major versions', () => {
  let source: TestPostgres;
  let target: TestPostgres;
  let azurite: AzuriteInstance;
  let container: ContainerClient;

  beforeAll(async () => {
    [source, target, azurite] = await Promise.all([
      startPostgres({ major: 13 }),
      startPostgres({ major: 17 }),
      startAzurite(),
    ]);
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('dumps');
    await Promise.all([container.create(), seedVariedDatabase(source, 'varied', 20_000)]);
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop(), azurite?.stop()]);
  });

  it('restores a PostgreSQL 13 database dumped with pg_dump 15 into PostgreSQL 17 with every row equal', async () => {
    const dump = await dumpToBlob(container, 'pg13.dump.zst', source.connectionFor('varied'));
    const conn = target.connectionFor('from_13');
    expect(await readTargetServerMajor(conn)).toBe(17);
    const tools = pickPgRestore(dump.result.pgDumpVersion, await discoverPgTools({ pathDirs: [] }), 17);
    expect(tools.major).toBe(15);

    const result = await restoreAsDatabase({
      source: blobSource(container, dump.blobName),
      expectedSha256: dump.result.sha256,
      expectedBytes: dump.result.bytes,
      target: conn,
      tools,
    });
    expect(result.status).toBe('Succeeded');
    expect(await tableChecksums(conn)).toEqual(await tableChecksums(source.connectionFor('varied')));
  });
});
