// A restore test across majors under devhost (issue 17): points taken from a PostgreSQL 13 server are restored by
// pg_restore 15 into a scratch PostgreSQL 17 and compare equal to their manifest of contents.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions, not by types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestoreTestEnv, type RestoreTestEnv } from './restore-test-e2e-support';

let env: RestoreTestEnv;
let pointId: string;

beforeAll(async () => {
  env = await startRestoreTestEnv({ sourceMajor: 13, scratchMajor: 17, rows: 5_000 });
  pointId = await env.backup('orders');
}, 300_000);

afterAll(async () => {
  await env?.stop();
});

describe('a restore test whose scratch server is newer than the source', () => {
  it('tests a point taken from PostgreSQL 13 on a PostgreSQL 17 scratch server and passes', async () => {
    const source = await env.source.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    expect(Number(source[0]!.v)).toBeLessThan(140000);
    const put = await env.putPlan('across', {
      backupInstances: ['orders'],
      assertions: { orders: ['SELECT count(*) = 2 FROM "Sales Ops"."Quarterly Targets"'] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const [job] = await env.run('across');
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const point = await env.api.call('GET', `backupInstances/orders/recoveryPoints/${pointId}`);
    expect(point.body.properties.serverVersion).toMatch(/^13\./);
    expect(point.body.properties.restoreTest).toMatchObject({
      status: 'Passed',
      contentsChecked: true,
      mismatches: [],
      targetServerVersion: expect.stringMatching(/^17\./),
      assertions: [{ passed: true }],
    });
    expect(await env.scratchDatabases()).toEqual([]);
  });
});
