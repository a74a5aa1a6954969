// `pgkeep servers` over a scripted API (real HTTP on loopback): the request each command sends (checked with the
// API's schema first), what it prints, and exit 1 when a bulk protect leaves databases unprotected.
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../../cli/main';
import { captureIo, startScriptedApi, type Answer, type ScriptedApi } from './cli-support';

let api: ScriptedApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function pgkeepAgainst(answer: Answer, ...argv: string[]) {
  api = await startScriptedApi(() => answer);
  const io = captureIo({ PGKEEP_API_URL: api.url });
  const code = await run(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

describe('pgkeep servers databases', () => {
  it('prints each database with its size, its instance, and why it cannot be protected', async () => {
    const out = await pgkeepAgainst(
      {
        status: 200,
        body: {
          value: [
            { name: 'sales', sizeInBytes: 10 * 1024 * 1024, protectable: true, protectedBy: 'pg1-sales' },
            { name: 'postgres', sizeInBytes: 8000000, protectable: false, notProtectableReason: 'a system database' },
          ],
        },
      },
      'servers',
      'databases',
      'pg1',
    );
    expect(out.code).toBe(0);
    expect(api!.seen[0]!.url.pathname).toBe('/api/servers/pg1/databases');
    expect(out.stdout).toMatch(/^sales +10(\.0)? MiB +pg1-sales/m);
    expect(out.stdout).toMatch(/^postgres .*not protectable: a system database$/m);
  });
});

describe('pgkeep servers protect', () => {
  const result = (status: string) => ({
    status,
    jobId: 'j1',
    value: [
      { database: 'sales_a', instanceName: 'pg1-sales_a', outcome: 'Created', message: 'protected by pg1-sales_a' },
      {
        database: 'hr',
        instanceName: 'pg1-hr',
        outcome: 'NotReady',
        message: 'not ready: userCanReadDatabase failed',
        failedChecks: [{ name: 'userCanReadDatabase', status: 'Failed', message: 'm', remediation: 'GRANT SELECT …' }],
      },
    ],
  });

  it('sends the policy, selection and globs, prints a line per database, and exits 1 unless all succeeded', async () => {
    const out = await pgkeepAgainst(
      { status: 200, body: result('PartiallySucceeded') },
      'servers',
      'protect',
      'pg1',
      '--policy',
      'weekly',
      '--all',
      '--include',
      'sales_*,hr',
      '--exclude',
      '*_tmp',
      '--ready-only',
    );
    expect(JSON.parse(api!.seen[0]!.body)).toEqual({
      policyId: 'weekly',
      databases: 'all',
      include: ['sales_*', 'hr'],
      exclude: ['*_tmp'],
      protectReadyOnly: true,
    });
    expect(out.stdout).toMatch(/^PartiallySucceeded \(job j1\)$/m);
    expect(out.stdout).toMatch(/^sales_a +pg1-sales_a +Created/m);
    expect(out.stdout).toMatch(/^ {2}hr: userCanReadDatabase: GRANT SELECT …$/m);
    expect(out.code).toBe(1);
  });

  it('exits 0 when every database is protected, and refuses --all with --databases before sending anything', async () => {
    const ok = await pgkeepAgainst(
      { status: 200, body: { ...result('Succeeded'), value: [] } },
      'servers',
      'protect',
      'pg1',
      '--policy',
      'weekly',
      '--databases',
      'a,b',
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(api!.seen[0]!.body)).toMatchObject({ databases: ['a', 'b'] });
    await api!.close();
    const both = await pgkeepAgainst(
      { status: 200, body: {} },
      'servers',
      'protect',
      'pg1',
      '--policy',
      'weekly',
      '--all',
      '--databases',
      'a',
    );
    expect(both.code).toBe(2);
    expect(api!.seen).toHaveLength(0);
  });
});

describe('pgkeep servers list and show', () => {
  it('shows the limit in force and the auto-protect rule', async () => {
    const server = {
      id: '/v/servers/pg1',
      name: 'pg1',
      type: 'Microsoft.DataProtection/backupVaults/servers',
      properties: {
        resourceID: 'onprem/pg1',
        datasourceAuthCredentials: {
          objectType: 'SecretStoreBasedAuthCredentials',
          secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://PG1' },
        },
        effectiveMaxConcurrentBackups: 2,
        slotKey: 'db:5432',
        autoProtect: { policyId: '/v/backupPolicies/weekly', include: ['sales_*'] },
      },
    };
    const shown = await pgkeepAgainst({ status: 200, body: server }, 'servers', 'show', 'pg1');
    expect(shown.stdout).toMatch(/^backups at once: +2 \(default\)$/m);
    expect(shown.stdout).toMatch(/^auto-protect: +weekly {2}include sales_\* {2}exclude -$/m);
    await api!.close();
    const listed = await pgkeepAgainst({ status: 200, body: { value: [server] } }, 'servers', 'list');
    expect(listed.stdout).toMatch(/^pg1 +onprem\/pg1 +2 +weekly/m);
  });
});
