import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDatabase } from '../../shared/adapters/postgres/pg-manifest';
import { PgkeepError } from '../../shared/errors';
import { freePort } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';

const DB = 'varied';

describe('describeDatabase', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
    await seedVariedDatabase(server, DB, 2_000);
    await server.query(`CREATE ROLE "Report Reader"; CREATE ROLE sales_owner`);
    await server.query(
      `GRANT SELECT ON customers TO "Report Reader";
       ALTER TABLE "Sales Ops"."Quarterly Targets" OWNER TO sales_owner;`,
      DB,
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('records the server version, size, encoding and extensions of the database', async () => {
    const facts = await describeDatabase(server.connectionFor(DB));
    expect(facts).toMatchObject({ database: DB, serverMajor: 15, encoding: 'UTF8', owner: 'postgres' });
    expect(facts.serverVersion).toMatch(/^15\./);
    expect(facts.databaseSizeBytes).toBeGreaterThan(1024 * 1024);
    expect(facts.extensions.map((e) => e.name)).toContain('plpgsql');
    expect(facts.largeObjects).toBe(1);
  });

  it('lists user schemas and relations with row estimates, leaving out the system catalogs', async () => {
    const facts = await describeDatabase(server.connectionFor(DB));
    expect(facts.schemas.map((s) => s.name)).toEqual(['Sales Ops', 'public']);
    const events = facts.relations.find((r) => r.schema === 'public' && r.name === 'events');
    expect(events).toMatchObject({ kind: 'table', rowEstimate: 2_000 });
    expect(facts.relations.find((r) => r.name === 'Quarterly Targets')).toMatchObject({
      schema: 'Sales Ops',
      kind: 'table',
      rowEstimate: 2,
    });
    expect(facts.relations.find((r) => r.name === 'happy_customers')).toMatchObject({
      kind: 'view',
      rowEstimate: null,
    });
    expect(facts.relations.find((r) => r.name === 'invoice_no')?.kind).toBe('sequence');
    expect(facts.relations.some((r) => r.schema === 'pg_catalog' || r.schema === 'information_schema')).toBe(false);
  });

  it('names every role the dump refers to as owner or grantee', async () => {
    const facts = await describeDatabase(server.connectionFor(DB));
    expect(facts.rolesReferenced).toEqual(expect.arrayContaining(['postgres', 'Report Reader', 'sales_owner']));
  });

  it('throws the readiness code when the server cannot be reached', async () => {
    const closed = { ...server.connectionFor(DB), port: await freePort() };
    await expect(describeDatabase(closed)).rejects.toThrow(PgkeepError);
    await expect(describeDatabase(closed)).rejects.toMatchObject({
      code: 'UserErrorMissingNetworkSecurityPermissions',
    });
  });
});
