// The scratch server adapter against a real PostgreSQL (issue 17): CREATEDB is required, only databases whose name
// and comment both mark a restore test's job are listed or dropped (never another one, whatever it is called), and
// assertions pass only as one true boolean, read-only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropScratchDatabase,
  listScratchDatabases,
  probeScratchServer,
  runAssertions,
} from '../../shared/adapters/postgres/scratch-databases';
import { scratchComment, scratchDatabaseName } from '../../shared/domain/restore-tests';
import { PgkeepError } from '../../shared/errors';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { pollUntil } from '../e2e/backup-support';

let pg: TestPostgres;
const deadline = '2026-03-01T02:00:00.000Z';
const own = scratchDatabaseName('job-own');
const impostor = scratchDatabaseName('job-impostor');

beforeAll(async () => {
  pg = await startPostgres();
  // CREATE DATABASE runs alone (not in the implicit transaction of a multi-statement query).
  for (const sql of [
    "CREATE ROLE nocreate LOGIN PASSWORD 'pw-nocreate' NOCREATEDB",
    `CREATE DATABASE ${own}`,
    `COMMENT ON DATABASE ${own} IS '${scratchComment({ jobId: 'job-own', instanceName: 'orders', deadline })}'`,
    `CREATE DATABASE ${impostor}`,
    'CREATE DATABASE customer_data',
    `COMMENT ON DATABASE customer_data IS '${scratchComment({ jobId: 'job-x', instanceName: 'orders', deadline })}'`,
  ]) {
    await pg.query(sql);
  }
  await pg.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);', own);
});
afterAll(async () => {
  await pg?.stop();
});

const databases = async () =>
  (await pg.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);

describe('probeScratchServer', () => {
  it('answers the server version for a user with CREATEDB and refuses one without', async () => {
    const server = await probeScratchServer(pg.connectionFor('postgres'));
    expect(server.major).toBe(15);
    expect(server.serverVersion).toMatch(/^15\./);
    const refused = await probeScratchServer(pg.connectionFor('postgres', 'nocreate', 'pw-nocreate')).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(PgkeepError);
    expect((refused as PgkeepError).code).toBe('UserErrorRestoreTestTargetNotReady');
    expect((refused as PgkeepError).message).not.toContain('pw-nocreate');
  });
});

describe('listScratchDatabases and dropScratchDatabase', () => {
  it('list only databases whose name and comment mark the same job, and drop nothing else', async () => {
    const listed = await listScratchDatabases(pg.connectionFor('postgres'));
    expect(listed.map((d) => d.name)).toEqual([own]);
    const admin = pg.connectionFor('postgres');
    expect(await dropScratchDatabase(admin, impostor)).toBe(false);
    expect(await dropScratchDatabase(admin, 'customer_data')).toBe(false);
    expect(await dropScratchDatabase(admin, own, 'another-job')).toBe(false);
    expect(await databases()).toEqual(expect.arrayContaining([own, impostor, 'customer_data']));
  });

  it('drops its own database even with a session still in it', async () => {
    const busy = pg.query('SELECT pg_sleep(30)', own).catch(() => undefined);
    await pollUntil(
      () => pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${own}'`),
      (rows) => (rows[0]?.n ?? 0) > 0,
      10_000,
      'a session in the scratch database',
    );
    expect(await dropScratchDatabase(pg.connectionFor('postgres'), own, 'job-own')).toBe(true);
    await busy;
    expect(await databases()).not.toContain(own);
    expect(await dropScratchDatabase(pg.connectionFor('postgres'), own, 'job-own')).toBe(false);
  });
});

describe('runAssertions', () => {
  it('passes one true boolean only, reports why others fail, and cannot write', async () => {
    await pg.query('CREATE DATABASE asserted');
    await pg.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);', 'asserted');
    const sqls = [
      'SELECT count(*) = 2 FROM t',
      'SELECT count(*) = 3 FROM t',
      'SELECT id FROM t',
      'SELECT 1',
      'SELECT * FROM missing',
      'INSERT INTO t VALUES (3) RETURNING true',
    ];
    const { outcomes, serverVersion } = await runAssertions(pg.connectionFor('asserted'), sqls, Date.now() + 60_000);
    expect(serverVersion).toMatch(/^15\./);
    expect(outcomes.slice(0, 5)).toEqual([
      { sql: sqls[0], passed: true },
      { sql: sqls[1], passed: false, message: 'returned false' },
      { sql: sqls[2], passed: false, message: 'returned 2 row(s) of 1 column(s), not one boolean' },
      { sql: sqls[3], passed: false, message: 'returned 1, not a boolean' },
      { sql: sqls[4], passed: false, message: 'relation "missing" does not exist' },
    ]);
    expect(outcomes[5]).toMatchObject({ sql: sqls[5], passed: false });
    expect(outcomes[5]?.message).toContain('read-only transaction');
    expect(await pg.query('SELECT count(*)::int AS n FROM t', 'asserted')).toEqual([{ n: 2 }]);
  });
});
