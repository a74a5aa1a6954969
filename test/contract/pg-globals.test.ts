// The PostgreSQL side of fleets against a real PostgreSQL 15: listing a server's databases with sizes,
// pg_dumpall --globals-only without passwords, and creating missing roles from such a script on a server whose
// login may not create everything (as on managed servers): refusals are warnings naming the role, never failures;
// a pg_dumpall that fails says why with a code of the registry.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMissingRoles, dumpGlobals, listDatabases, parseGlobals } from '../../shared/adapters/postgres/discovery';
import { discoverPgTools, pickPgDump } from '../../shared/adapters/postgres/pg-binaries';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { freePort } from '../support/azurite';
import type { PgkeepError } from '../../shared/errors';

let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres({ major: 15 }), startPostgres({ major: 15 })]);
  await source.query(
    `CREATE ROLE app_owner NOLOGIN; CREATE ROLE "Mixed Case" LOGIN PASSWORD 'pw-secret-123';
     CREATE ROLE admin_like SUPERUSER NOLOGIN; GRANT app_owner TO "Mixed Case"`,
  );
  await source.query('CREATE DATABASE sales');
  await target.query("CREATE ROLE restorer LOGIN CREATEROLE CREATEDB PASSWORD 'restorer-pw'");
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('listDatabases', () => {
  it('lists every database with templates marked and a size for those the login may connect to', async () => {
    const dbs = await listDatabases(source.connectionFor('postgres'));
    const byName = new Map(dbs.map((d) => [d.name, d]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['postgres', 'sales', 'template0', 'template1']));
    expect(byName.get('template1')).toMatchObject({ isTemplate: true });
    expect(byName.get('template0')).toMatchObject({ allowConnections: false });
    expect(byName.get('template0')?.sizeBytes).toBeUndefined();
    expect(byName.get('sales')?.sizeBytes).toBeGreaterThan(1_000_000);
  });

  it('fails with the readiness code when the login is refused', async () => {
    await expect(listDatabases(source.connectionFor('postgres', 'postgres', 'wrong'))).rejects.toMatchObject({
      code: 'UserErrorDBUserAuthFailed',
    });
  });
});

describe('dumpGlobals and parseGlobals', () => {
  it('writes the roles, their attributes and memberships, and never a password', async () => {
    const tools = pickPgDump(15, await discoverPgTools());
    const dump = await dumpGlobals(source.connectionFor('postgres'), tools);
    expect(dump.script).toMatch(/^CREATE ROLE app_owner;$/m);
    expect(dump.script).not.toContain('pw-secret-123');
    expect(dump.script).not.toMatch(/PASSWORD '/);
    const parsed = parseGlobals(dump.script);
    expect([...parsed.roles.keys()]).toEqual(expect.arrayContaining(['app_owner', 'Mixed Case', 'admin_like']));
    expect(parsed.memberships).toContainEqual(expect.objectContaining({ role: 'app_owner', member: 'Mixed Case' }));
  });
});

describe('a failed pg_dumpall says what to fix with the code the readiness checks use', () => {
  it('UserErrorDBUserAuthFailed for a refused login, without the password', async () => {
    const tools = pickPgDump(15, await discoverPgTools());
    const wrong = source.connectionFor('postgres', 'postgres', 'wrong-pw-4711');
    const failure = await dumpGlobals(wrong, tools).then(
      () => undefined,
      (err: unknown) => err as PgkeepError,
    );
    expect(failure).toMatchObject({ code: 'UserErrorDBUserAuthFailed' });
    expect(failure?.message).not.toContain('wrong-pw-4711');
  });

  it('UserErrorMissingNetworkSecurityPermissions when nothing listens on the port', async () => {
    const tools = pickPgDump(15, await discoverPgTools());
    const nowhere = { ...source.connectionFor('postgres'), port: await freePort() };
    await expect(dumpGlobals(nowhere, tools)).rejects.toMatchObject({
      code: 'UserErrorMissingNetworkSecurityPermissions',
    });
  });
});

describe('createMissingRoles', () => {
  async function asRestorer<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ ...target.connectionFor('postgres', 'restorer', 'restorer-pw'), ssl: false });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  it('creates the needed roles that are missing with their memberships; what the login may not grant is a warning', async () => {
    const tools = pickPgDump(15, await discoverPgTools());
    const { script } = await dumpGlobals(source.connectionFor('postgres'), tools);
    const result = await asRestorer((c) =>
      createMissingRoles(c, script, ['app_owner', 'Mixed Case', 'admin_like', 'ghost']),
    );
    expect([...result.created].sort()).toEqual(['Mixed Case', 'admin_like', 'app_owner']);
    const codes = result.warnings.map((w) => w.code);
    // A CREATEROLE login cannot grant SUPERUSER: the role exists without it, and a warning says so.
    expect(result.warnings).toContainEqual(
      expect.objectContaining({
        code: 'RoleAttributeNotSet',
        message: expect.stringContaining('admin_like') as string,
      }),
    );
    expect(result.warnings).toContainEqual({
      code: 'RoleNotInGlobals',
      message: `role "ghost" is not in the server's globals`,
    });
    expect(codes).not.toContain('RoleNotCreated');
    const rows = await target.query<{ rolname: string; rolsuper: boolean }>(
      "SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('app_owner', 'Mixed Case', 'admin_like') ORDER BY 1",
    );
    expect(rows).toEqual([
      { rolname: 'Mixed Case', rolsuper: false },
      { rolname: 'admin_like', rolsuper: false },
      { rolname: 'app_owner', rolsuper: false },
    ]);
    const member = await target.query<{ ok: boolean }>("SELECT pg_has_role('Mixed Case', 'app_owner', 'MEMBER') AS ok");
    expect(member).toEqual([{ ok: true }]);
  });

  it('never alters a role that exists, and reports a role it may not create as a warning', async () => {
    await target.query('CREATE ROLE keepme NOLOGIN CONNECTION LIMIT 3');
    const script = 'CREATE ROLE keepme;\nALTER ROLE keepme WITH LOGIN CONNECTION LIMIT -1;\nCREATE ROLE pg_nope;\n';
    const none = await asRestorer((c) => createMissingRoles(c, script));
    expect(none).toEqual({ created: [], warnings: [] });
    expect(
      await target.query<{ rolconnlimit: number }>("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'keepme'"),
    ).toEqual([{ rolconnlimit: 3 }]);
    await target.query("CREATE ROLE weak LOGIN PASSWORD 'weak-pw'");
    const weak = new pg.Client({ ...target.connectionFor('postgres', 'weak', 'weak-pw'), ssl: false });
    await weak.connect();
    try {
      const refused = await createMissingRoles(weak, 'CREATE ROLE newbie;\n');
      expect(refused.created).toEqual([]);
      expect(refused.warnings).toEqual([
        expect.objectContaining({ code: 'RoleNotCreated', message: expect.stringContaining('newbie') as string }),
      ]);
    } finally {
      await weak.end();
    }
  });
});
