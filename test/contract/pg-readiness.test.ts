import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPgTools, pgDumpReadinessCheck, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { assertReady, checkDatabaseReadiness, readinessCheckNames } from '../../shared/adapters/postgres/pg-readiness';
import { PgkeepError } from '../../shared/errors';
import type { DbReadinessReport, ReadinessCheck } from '../../shared/ports';
import { freePort } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';

const DB = 'varied';
// Distinctive so that any echo of it in a message is caught.
const SECRET = 'S3cr3t-pw:never;shown';

function check(report: DbReadinessReport, name: string): ReadinessCheck {
  const found = report.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check ${name}`);
  return found;
}

function thrown(fn: () => void): PgkeepError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgkeepError) return err;
    throw err;
  }
  throw new Error('expected a PgkeepError');
}

/** Grants `role` read access to everything in the seeded database, as a DBA preparing a backup user would. */
async function grantReadAll(server: TestPostgres, role: string): Promise<void> {
  await server.query(
    `GRANT USAGE ON SCHEMA public, "Sales Ops" TO ${role};
     GRANT SELECT ON ALL TABLES IN SCHEMA public, "Sales Ops" TO ${role};
     GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, "Sales Ops" TO ${role};
     DO $$ DECLARE o oid; BEGIN
       FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP
         EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO ${role}', o);
       END LOOP; END $$;`,
    DB,
  );
}

describe('checkDatabaseReadiness', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
    await seedVariedDatabase(server, DB, 1_000);
    for (const role of ['reader', 'partial', 'nobody']) {
      await server.query(`CREATE ROLE ${role} LOGIN PASSWORD '${SECRET}'`);
    }
    await grantReadAll(server, 'reader');
    await grantReadAll(server, 'partial');
    await server.query('REVOKE SELECT ON "Sales Ops"."Quarterly Targets" FROM partial', DB);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('passes every check, with the server version, for a user who can read everything', async () => {
    const report = await checkDatabaseReadiness(server.connectionFor(DB, 'reader', SECRET));
    expect(report.checks.map((c) => c.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']);
    expect(report.serverMajor).toBe(15);
    expect(report.serverVersion).toMatch(/^15\./);
    expect(() => assertReady(report)).not.toThrow();
  });

  it('fails naming exactly the table the user cannot SELECT, and its GRANT script fixes that', async () => {
    const conn = server.connectionFor(DB, 'partial', SECRET);
    const report = await checkDatabaseReadiness(conn);
    const privileges = check(report, readinessCheckNames.privileges);
    expect(privileges).toMatchObject({ status: 'Failed', code: 'UserErrorMissingDBPermissions' });
    expect(privileges.details?.map((d) => d.target)).toEqual(['table "Sales Ops"."Quarterly Targets"']);
    expect(privileges.message).toContain('"Sales Ops"."Quarterly Targets"');
    expect(thrown(() => assertReady(report))).toMatchObject({
      code: 'UserErrorMissingDBPermissions',
      hint: privileges.remediation,
    });

    await server.query(privileges.remediation ?? '', DB);
    const after = await checkDatabaseReadiness(conn);
    expect(check(after, readinessCheckNames.privileges).status).toBe('Succeeded');
  });

  it('names schemas, tables, sequences and large objects a user without grants misses, and the script grants them all', async () => {
    const conn = server.connectionFor(DB, 'nobody', SECRET);
    const privileges = check(await checkDatabaseReadiness(conn), readinessCheckNames.privileges);
    const targets = privileges.details?.map((d) => d.target) ?? [];
    expect(targets).toContain('schema "Sales Ops"');
    expect(targets).toContain('table "public"."events"');
    expect(targets).toContain('table "Sales Ops"."Quarterly Targets"');
    expect(targets).toContain('sequence "public"."invoice_no"');
    expect(targets.some((t) => /^large object \d+$/.test(t))).toBe(true);
    // Views are not read by pg_dump, so they are not required.
    expect(targets).not.toContain('table "public"."happy_customers"');

    await server.query(privileges.remediation ?? '', DB);
    const after = await checkDatabaseReadiness(conn);
    expect(check(after, readinessCheckNames.privileges)).toMatchObject({ status: 'Succeeded' });
  });

  it('reports UserErrorDBUserAuthFailed for a wrong password, without the password in any message', async () => {
    const wrong = `${SECRET}-wrong`;
    const report = await checkDatabaseReadiness(server.connectionFor(DB, 'reader', wrong));
    expect(check(report, readinessCheckNames.reachable).status).toBe('Succeeded');
    expect(check(report, readinessCheckNames.login)).toMatchObject({
      status: 'Failed',
      code: 'UserErrorDBUserAuthFailed',
    });
    expect(check(report, readinessCheckNames.privileges).status).toBe('NotApplicable');
    expect(report.serverMajor).toBeUndefined();
    const err = thrown(() => assertReady(report));
    expect(err.code).toBe('UserErrorDBUserAuthFailed');
    for (const text of [JSON.stringify(report), err.message, JSON.stringify(err.toBody())]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it('reports UserErrorMissingNetworkSecurityPermissions when nothing listens on the port', async () => {
    const closed = { ...server.connectionFor(DB, 'reader', SECRET), port: await freePort() };
    const report = await checkDatabaseReadiness(closed, { connectTimeoutMs: 3_000 });
    expect(check(report, readinessCheckNames.reachable)).toMatchObject({
      status: 'Failed',
      code: 'UserErrorMissingNetworkSecurityPermissions',
    });
    expect(report.checks.slice(1).map((c) => c.status)).toEqual(['NotApplicable', 'NotApplicable', 'NotApplicable']);
    expect(JSON.stringify(report)).not.toContain(SECRET);
  });

  it('reports UserErrorNotFound naming a database that does not exist', async () => {
    const report = await checkDatabaseReadiness(server.connectionFor('no_such_db', 'reader', SECRET));
    expect(check(report, readinessCheckNames.login).status).toBe('Succeeded');
    const database = check(report, readinessCheckNames.database);
    expect(database).toMatchObject({ status: 'Failed', code: 'UserErrorNotFound' });
    expect(database.message).toContain('"no_such_db"');
  });
});

describe('readiness against a newer server than the installed pg_dump', () => {
  let pg17: TestPostgres;
  beforeAll(async () => {
    pg17 = await startPostgres({ major: 17 });
  });
  afterAll(async () => {
    await pg17?.stop();
  });

  it('reads major 17 and fails the pg_dump check with UserErrorPgDumpVersionMismatch', async () => {
    const report = await checkDatabaseReadiness(pg17.connectionFor('postgres'));
    expect(report.serverMajor).toBe(17);
    const installed = await discoverPgTools({ pathDirs: [] });
    const dumpCheck = pgDumpReadinessCheck(report.serverMajor, installed);
    expect(dumpCheck).toMatchObject({ status: 'Failed', code: 'UserErrorPgDumpVersionMismatch' });
    expect(dumpCheck.message).toContain('17');
    expect(() => pickPgDump(17, installed)).toThrow(PgkeepError);
  });
});
