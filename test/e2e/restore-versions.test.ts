// Restores through HTTP under devhost across versions and into a target that dies: a PostgreSQL 13 database backed
// up by pgkeep comes back in a 17 server with every table equal, and a 17 server killed while pg_restore is copying
// rows leaves the job Failed with its code and nothing reported as success.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions, not by types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../support/table-checksums';
import { allCommandLines, pollUntil } from './backup-support';
import { databaseRequest, startRestoreEnv, type RestoreEnv } from './restore-e2e-support';

let env: RestoreEnv;
let pointId: string;

beforeAll(async () => {
  // 200,000 rows: a dump of some megabytes, so that a throttled restore takes seconds.
  env = await startRestoreEnv({}, { sourceMajor: 13, targetMajor: 17, rows: 200_000, targetViaProxy: true });
  pointId = await env.backup();
}, 300_000);

afterAll(async () => {
  await env?.stop();
});

/** A pg_restore writing into `database` (its --dbname names it), so that other test files' restores do not count. */
const pgRestoreInto = (database: string) =>
  allCommandLines().some((l) => l.includes('/pg_restore ') && l.includes(`--dbname=dbname='${database}'`));

describe('restore across versions and faults, through HTTP', () => {
  it('restores a backup of a PostgreSQL 13 database into a 17 server, every table, sequence and large object equal', async () => {
    const source = await env.pg.query('SHOW server_version_num');
    expect(Number(source[0]!['server_version_num'])).toBeLessThan(140000);
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(pointId, 'orders_on_17', env));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await env.waitJob(r.body.name as string, 120_000);
    expect(job.properties.status, JSON.stringify(job.properties.error)).toBe('Succeeded');
    const target = await env.target.query('SHOW server_version_num');
    expect(Number(target[0]!['server_version_num'])).toBeGreaterThanOrEqual(170000);
    expect(await tableChecksums(env.target.connectionFor('orders_on_17'))).toEqual(
      await tableChecksums(env.pg.connectionFor('orders')),
    );
  });

  it('fails the job with UserErrorServerConnectionClosed when the target server is killed mid-restore', async () => {
    // Slow enough that the restore is still copying rows when the server goes.
    env.targetProxy!.uploadBytesPerSecond = 500_000;
    const r = await env.call('POST', '/backupInstances/orders/restore', databaseRequest(pointId, 'orders_victim', env));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const jobId = r.body.name as string;
    const running = await pollUntil(
      () => env.call('GET', `/backupJobs/${jobId}`),
      (res) =>
        (Number(res.body.properties.progress?.bytes) > 0 && pgRestoreInto('orders_victim')) ||
        ['Succeeded', 'Failed'].includes(String(res.body.properties.status)),
      60_000,
      'restore bytes flowing into pg_restore',
    );
    expect(running.body.properties.status, JSON.stringify(running.body.properties)).toBe('InProgress');
    await env.target.kill();
    const job = await env.waitJob(jobId, 120_000);
    expect(job.properties.status, JSON.stringify(job.properties)).toBe('Failed');
    expect(job.properties.error.code, JSON.stringify(job.properties.error)).toBe('UserErrorServerConnectionClosed');
    expect(job.properties.error.hint).toEqual(expect.any(String));
    expect(JSON.stringify(job)).not.toContain(env.target.password);
    // The pg_restore of the failed run is gone too.
    expect(pgRestoreInto('orders_victim')).toBe(false);
  });
});
