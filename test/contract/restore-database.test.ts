import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPgTools } from '../../shared/adapters/postgres/pg-binaries';
import { pickPgRestore } from '../../shared/adapters/postgres/pg-restore-tools';
import {
  PgRestoreOutput,
  restoreAsDatabase,
  type RestoreAsDatabaseOptions,
} from '../../shared/adapters/postgres/restore-pipeline';
import type { PgClientTools } from '../../shared/ports';
import { freePort, startAzurite, type AzuriteInstance } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { tableChecksums, type DatabaseChecksums } from '../support/table-checksums';
import { blobSource, childCommandLines, corruptCopy, dumpToBlob, type StoredDump } from './restore-support';
import { expectNoSecret, failureOf } from '../support/failures';

const SOURCE_DB = 'varied';

describe('restoreAsDatabase', () => {
  let server: TestPostgres;
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  let tools: PgClientTools;
  let varied: StoredDump;
  let owned: StoredDump;
  let orphaned: StoredDump;
  let sourceSums: DatabaseChecksums;
  let seq = 0;
  const newName = (label: string): string => `restored_${label}_${++seq}`;

  const restore = (
    dump: StoredDump,
    database: string,
    overrides: Partial<RestoreAsDatabaseOptions> = {},
  ): ReturnType<typeof restoreAsDatabase> =>
    restoreAsDatabase({
      source: blobSource(container, dump.blobName),
      expectedSha256: dump.result.sha256,
      expectedBytes: dump.result.bytes,
      target: server.connectionFor(database),
      tools,
      ...overrides,
    });

  const databaseExists = async (name: string): Promise<boolean> =>
    (await server.query(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length === 1;

  const tableOwners = async (db: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (
        await server.query<{ t: string; o: string }>(
          "SELECT schemaname || '.' || tablename AS t, tableowner AS o FROM pg_tables WHERE schemaname = 'app'",
          db,
        )
      ).map((r) => [r.t, r.o]),
    );

  beforeAll(async () => {
    [server, azurite] = await Promise.all([startPostgres(), startAzurite()]);
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('dumps');
    await Promise.all([container.create(), seedVariedDatabase(server, SOURCE_DB)]);
    // A database whose objects belong to a non-superuser role, for the owner modes.
    await server.query(
      'CREATE ROLE app_owner; CREATE ROLE restorer; CREATE ROLE ghost_owner; CREATE ROLE ghost_reader',
    );
    await server.query('CREATE DATABASE owned');
    await server.query(
      `CREATE SCHEMA app AUTHORIZATION app_owner;
       CREATE TABLE app.items (id int PRIMARY KEY, label text); INSERT INTO app.items VALUES (1, 'one'), (2, 'two');
       ALTER TABLE app.items OWNER TO app_owner;`,
      'owned',
    );
    // …and one whose owner role will not exist when it is restored.
    await server.query('CREATE DATABASE orphaned');
    await server.query(
      `CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY); INSERT INTO app.items VALUES (7);
       ALTER TABLE app.items OWNER TO ghost_owner; GRANT SELECT ON app.items TO ghost_reader;`,
      'orphaned',
    );
    [varied, owned, orphaned] = await Promise.all([
      dumpToBlob(container, 'varied.dump.zst', server.connectionFor(SOURCE_DB)),
      dumpToBlob(container, 'owned.dump.zst', server.connectionFor('owned')),
      dumpToBlob(container, 'orphaned.dump.zst', server.connectionFor('orphaned')),
    ]);
    await server.query('DROP DATABASE orphaned');
    await server.query('DROP ROLE ghost_owner; DROP ROLE ghost_reader');
    tools = pickPgRestore(varied.result.pgDumpVersion, await discoverPgTools({ pathDirs: [] }), 15);
    sourceSums = await tableChecksums(server.connectionFor(SOURCE_DB));
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), azurite?.stop()]);
  });

  it('restores every row, sequence and large object of the varied database, streamed, with the password only in the environment', async () => {
    const name = newName('full');
    const progress: number[] = [];
    const cmdlines: string[] = [];
    const result = await restore(varied, name, {
      onProgress: (bytes) => {
        progress.push(bytes);
        if (cmdlines.length === 0) cmdlines.push(...childCommandLines('pg_restore'));
      },
    });

    expect(result).toEqual({
      status: 'Succeeded',
      warnings: [],
      bytesRead: varied.result.bytes,
      sha256: varied.result.sha256,
    });
    const restored = await tableChecksums(server.connectionFor(name));
    expect(Object.keys(restored.tables)).toContain('Sales Ops.Quarterly Targets');
    expect(Object.keys(restored.largeObjects)).toHaveLength(1);
    expect(restored).toEqual(sourceSums);
    expect(progress.at(-1)).toBe(varied.result.bytes);
    expect(cmdlines).toHaveLength(1);
    expect(cmdlines[0]).not.toContain(server.password);
  });

  it('restores one schema only when options.schemas names it', async () => {
    const name = newName('schema');
    const result = await restore(varied, name, { options: { schemas: ['Sales Ops'] } });
    expect(result.status).toBe('Succeeded');
    const restored = await tableChecksums(server.connectionFor(name));
    expect(restored.tables).toEqual({
      'Sales Ops.Quarterly Targets': sourceSums.tables['Sales Ops.Quarterly Targets'],
    });
  });

  it('restores exactly the tables options.tables names, bare or schema-qualified', async () => {
    const bare = newName('tables');
    await restore(varied, bare, { options: { tables: ['documents', 'events'] } });
    const restored = await tableChecksums(server.connectionFor(bare));
    expect(restored.tables).toEqual({
      'public.documents': sourceSums.tables['public.documents'],
      'public.events': sourceSums.tables['public.events'],
    });

    const qualified = newName('qualified');
    await restore(varied, qualified, { options: { tables: ['Sales Ops.Quarterly Targets'] } });
    expect(Object.keys((await tableChecksums(server.connectionFor(qualified))).tables)).toEqual([
      'Sales Ops.Quarterly Targets',
    ]);
  });

  it('refuses tables of different schemas in one restore with UserErrorInvalidRequest and creates nothing', async () => {
    const name = newName('mixed');
    const err = await failureOf(restore(varied, name, { options: { tables: ['public.customers', 'Sales Ops.x'] } }));
    expect(err.code).toBe('UserErrorInvalidRequest');
    expect(err.target).toBe('options.tables');
    expect(await databaseExists(name)).toBe(false);
  });

  it('fails SystemErrorRestoreFailed naming the missing type, and drops the database, when a selected table depends on an unselected type', async () => {
    const name = newName('dependent');
    const err = await failureOf(restore(varied, name, { options: { tables: ['customers'] } }));
    expect(err.code).toBe('SystemErrorRestoreFailed');
    expect(err.message).toMatch(/type "public.mood" does not exist/);
    expect(await databaseExists(name)).toBe(false);
  });

  it('fails UserErrorInvalidRequest and drops the database when the selection matches nothing in the dump', async () => {
    const name = newName('nothing');
    const err = await failureOf(restore(varied, name, { options: { schemas: ['no_such_schema'] } }));
    expect(err.code).toBe('UserErrorInvalidRequest');
    expect(await databaseExists(name)).toBe(false);
  });

  it('gives every object to the restoring user by default (owner none)', async () => {
    const name = newName('owner_none');
    const result = await restore(owned, name);
    expect(result.status).toBe('Succeeded');
    expect(await tableOwners(name)).toEqual({ 'app.items': 'postgres' });
  });

  it('keeps the dump’s owners with owner keep', async () => {
    const name = newName('owner_keep');
    const result = await restore(owned, name, { options: { owner: 'keep' } });
    expect(result.status).toBe('Succeeded');
    expect(await tableOwners(name)).toEqual({ 'app.items': 'app_owner' });
  });

  it('makes the named role own the database and every object with owner { role }', async () => {
    const name = newName('owner_role');
    await restore(owned, name, { options: { owner: { role: 'restorer' } } });
    expect(await tableOwners(name)).toEqual({ 'app.items': 'restorer' });
    const [db] = await server.query<{ o: string }>(
      `SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = '${name}'`,
    );
    expect(db?.o).toBe('restorer');
  });

  it('succeeds with warnings that list the ownership and privilege statements a missing role made fail', async () => {
    const name = newName('owner_missing');
    const result = await restore(orphaned, name, { options: { owner: 'keep' } });
    expect(result.status).toBe('SucceededWithWarnings');
    expect(result.warnings.map((w) => w.code).sort()).toEqual(['OwnerNotSet', 'PrivilegeNotSet']);
    for (const w of result.warnings) expect(w.message).toMatch(/role "ghost_(owner|reader)" does not exist/);
    expect(await server.query('SELECT id FROM app.items', name)).toEqual([{ id: 7 }]);
  });

  it('restores in parallel from a 0600 temp file that is gone afterwards (jobs 2)', async () => {
    const name = newName('jobs');
    const tempDir = await mkdtemp(path.join(tmpdir(), 'pgkeep-restore-test-'));
    try {
      const modes: number[] = [];
      const result = await restore(varied, name, {
        tempDir,
        options: { jobs: 2 },
        onProgress: () => {
          for (const dir of readdirSync(tempDir)) {
            for (const file of readdirSync(path.join(tempDir, dir))) {
              modes.push(statSync(path.join(tempDir, dir, file)).mode & 0o777);
            }
          }
        },
      });
      expect(modes.length).toBeGreaterThan(0);
      expect(new Set(modes)).toEqual(new Set([0o600]));
      expect(result.status).toBe('Succeeded');
      expect(await tableChecksums(server.connectionFor(name))).toEqual(sourceSums);
      expect(await readdir(tempDir)).toEqual([]);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  });

  it.each([1, 2])(
    'fails SystemErrorIntegrityCheckFailed for a blob with one flipped byte and leaves no database (jobs %i)',
    async (jobs) => {
      const blobName = `corrupt-${jobs}.dump.zst`;
      await corruptCopy(container, varied.blobName, blobName);
      const name = newName('corrupt');
      const err = await failureOf(restore({ ...varied, blobName }, name, { options: { jobs } }));
      expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
      expect(await databaseExists(name)).toBe(false);
    },
  );

  it('fails SystemErrorIntegrityCheckFailed when the manifest’s SHA-256 differs even though the bytes decompress', async () => {
    const name = newName('sha');
    const err = await failureOf(restore(varied, name, { expectedSha256: '0'.repeat(64) }));
    expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
    expect(await databaseExists(name)).toBe(false);
  });

  it('never overwrites: an existing name fails UserErrorDatabaseNameAlreadyInUse and the database stays as it was', async () => {
    const name = newName('taken');
    await server.query(`CREATE DATABASE ${name}`);
    await server.query('CREATE TABLE marker (v text); INSERT INTO marker VALUES ($$keep me$$)', name);
    const err = await failureOf(restore(varied, name));
    expect(err.code).toBe('UserErrorDatabaseNameAlreadyInUse');
    expect(err.message).toContain(name);
    expect(await server.query('SELECT v FROM marker', name)).toEqual([{ v: 'keep me' }]);
    expect(await server.query("SELECT 1 FROM pg_tables WHERE tablename = 'customers'", name)).toEqual([]);
  });

  it('fails with the readiness codes when the target is unreachable or refuses the login, without the password', async () => {
    const closedPort = await freePort();
    const unreachable = await failureOf(
      restore(varied, 'never', { target: { ...server.connectionFor('never'), port: closedPort } }),
    );
    expect(unreachable.code).toBe('UserErrorMissingNetworkSecurityPermissions');

    const wrong = `${server.password}-wrong`;
    const badLogin = await failureOf(
      restore(varied, 'never', { target: server.connectionFor('never', 'postgres', wrong) }),
    );
    expect(badLogin.code).toBe('UserErrorDBUserAuthFailed');
    expectNoSecret(badLogin, wrong);
    expect(await databaseExists('never')).toBe(false);
  });

  it('restores a client-side encrypted dump with its key, and fails (dropping the database) with a wrong key', async () => {
    const key = randomBytes(32);
    const encrypted = await dumpToBlob(container, 'encrypted.dump.zst', server.connectionFor(SOURCE_DB), {
      key,
      keyId: 'k1',
    });
    const name = newName('encrypted');
    const result = await restore(encrypted, name, { decryptionKey: key });
    expect(result.status).toBe('Succeeded');
    expect(await tableChecksums(server.connectionFor(name))).toEqual(sourceSums);

    const wrongKey = newName('wrong_key');
    const err = await failureOf(restore(encrypted, wrongKey, { decryptionKey: randomBytes(32) }));
    expect(err.code).toBe('SystemErrorRestoreFailed');
    expect(err.message).toMatch(/decryption failed/);
    expect(await databaseExists(wrongKey)).toBe(false);
  });

  it('stops pg_restore, drops the database and fails "cancelled" when the caller aborts', async () => {
    const name = newName('aborted');
    const controller = new AbortController();
    const err = await failureOf(
      restore(varied, name, { abortSignal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(err.code).toBe('SystemErrorRestoreFailed');
    expect(err.message).toMatch(/cancelled/);
    expect(childCommandLines('pg_restore')).toEqual([]);
    expect(await databaseExists(name)).toBe(false);
  });

  it('fails SystemErrorRestoreFailed and drops the database when the source is not a dump at all', async () => {
    const name = newName('garbage');
    const garbage = Buffer.from('not a zstd stream');
    const err = await failureOf(
      restore(varied, name, {
        source: () => Promise.resolve(Readable.from([garbage])),
        expectedBytes: garbage.length,
        expectedSha256: (await import('node:crypto')).createHash('sha256').update(garbage).digest('hex'),
      }),
    );
    expect(err.code).toBe('SystemErrorRestoreFailed');
    expect(await databaseExists(name)).toBe(false);
  });
});

describe('PgRestoreOutput', () => {
  const parse = (stderr: string): PgRestoreOutput => {
    const out = new PgRestoreOutput();
    // Split mid-line on purpose: stderr arrives in arbitrary chunks.
    for (let i = 0; i < stderr.length; i += 7) out.push(stderr.slice(i, i + 7));
    out.end();
    return out;
  };

  it('counts ownership and privilege failures as warnings and everything else, multi-line commands included, as fatal', () => {
    const out = parse(
      [
        'pg_restore: creating TABLE "public.t"',
        'pg_restore: while PROCESSING TOC:',
        'pg_restore: from TOC entry 216; 1259 16393 TABLE t ghost',
        'pg_restore: error: could not execute query: ERROR:  role "ghost" does not exist',
        'Command was: ALTER TABLE public.t OWNER TO ghost;',
        '',
        'pg_restore: from TOC entry 3350; 0 0 ACL TABLE t ghost',
        'pg_restore: error: could not execute query: ERROR:  role "reader" does not exist',
        'Command was: GRANT SELECT ON TABLE public.t TO reader;',
        '',
        'pg_restore: from TOC entry 217; 1259 16394 TABLE u postgres',
        'pg_restore: error: could not execute query: ERROR:  type "public.mood" does not exist',
        'LINE 3:     m public.mood',
        'Command was: CREATE TABLE public.u (',
        '    m public.mood',
        ');',
        '',
        'pg_restore: processing data for table "public.t"',
        'pg_restore: warning: errors ignored on restore: 3',
        '',
      ].join('\n'),
    );
    expect(out.warningCount).toBe(2);
    expect(out.warnings.map((w) => w.code)).toEqual(['OwnerNotSet', 'PrivilegeNotSet']);
    expect(out.fatalCount).toBe(1);
    expect(out.describeFailure()).toMatch(
      /TABLE u postgres: ERROR: type "public.mood" does not exist.*CREATE TABLE public.u/,
    );
    expect(out.ignoredReported).toBe(3);
    expect(out.restoredItems).toBe(2);
    expect(out.connectionLost).toBe(false);
  });

  it('treats an ownership statement that failed because the connection dropped as a lost connection, not a warning', () => {
    const out = parse(
      [
        'pg_restore: error: could not execute query: server closed the connection unexpectedly',
        '\tThis probably means the server terminated abnormally',
        'Command was: ALTER TABLE public.t OWNER TO app;',
        '',
      ].join('\n'),
    );
    expect(out.connectionLost).toBe(true);
    expect(out.warningCount).toBe(0);
    expect(out.fatalCount).toBe(1);
  });
});

describe('restoreAsDatabase when the target server dies mid-restore', () => {
  let source: TestPostgres;
  let target: TestPostgres;
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  let dump: StoredDump;

  beforeAll(async () => {
    [source, target, azurite] = await Promise.all([startPostgres(), startPostgres(), startAzurite()]);
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('dumps');
    await Promise.all([container.create(), source.query('CREATE DATABASE big')]);
    await source.query(
      `CREATE TABLE noise AS SELECT g AS id, encode(sha256(g::text::bytea), 'base64') AS payload
       FROM generate_series(1, 300000) AS g`,
      'big',
    );
    dump = await dumpToBlob(container, 'big.dump.zst', source.connectionFor('big'));
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop(), azurite?.stop()]);
  });

  it('fails (never success) when the target server is killed once bytes flow', async () => {
    const tools = pickPgRestore(dump.result.pgDumpVersion, await discoverPgTools({ pathDirs: [] }));
    let killed: Promise<void> | undefined;
    const progress: number[] = [];
    const download = blobSource(container, dump.blobName);
    // Half-way through the dump (pg_restore is then copying rows) the server is killed, and the rest is held back
    // until it is dead, so the restore cannot finish first whatever the machine's speed.
    const gated = async (): Promise<NodeJS.ReadableStream> => {
      const body = await download();
      return Readable.from(
        (async function* () {
          let passed = 0;
          for await (const chunk of body as AsyncIterable<Buffer>) {
            if (passed > dump.result.bytes / 2) {
              killed ??= target.kill();
              await killed;
            }
            passed += chunk.length;
            yield chunk;
          }
        })(),
      );
    };
    const err = await failureOf(
      restoreAsDatabase({
        source: gated,
        expectedSha256: dump.result.sha256,
        expectedBytes: dump.result.bytes,
        target: target.connectionFor('victim'),
        tools,
        onProgress: (bytes) => progress.push(bytes),
      }),
    );
    expect(killed).toBeDefined();
    expect(progress[0]).toBeGreaterThan(0);
    expect(['UserErrorServerConnectionClosed', 'SystemErrorRestoreFailed']).toContain(err.code);
    expect(err.code).toBe('UserErrorServerConnectionClosed');
    expectNoSecret(err, target.password);
    expect(childCommandLines('pg_restore')).toEqual([]);
  });
});
