// `pgkeep tests …` and `pgkeep points verify` over a scripted API (real HTTP on loopback): the requests they send
// and what they print, and `tests run --wait` exiting 1 unless every test passed.
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../../cli/main';
import type { RestoreTestResult } from '../../../shared/contracts/restore-tests';
import { captureIo, startScriptedApi, type Answer, type ScriptedApi, type SeenRequest } from './cli-support';

let api: ScriptedApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function pgkeep(answer: (req: SeenRequest) => Answer, ...argv: string[]) {
  api = await startScriptedApi(answer);
  const io = captureIo({ PGKEEP_API_URL: api.url });
  const code = await run(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const test = (over: Partial<RestoreTestResult> = {}): RestoreTestResult => ({
  jobId: 't1',
  planName: 'nightly',
  recoveryPointId: '8228-abc',
  time: '2026-03-10T03:00:00.000Z',
  status: 'Failed',
  durationMs: 5000,
  contentsChecked: true,
  tables: 4,
  rowsCompared: 25003,
  mismatches: [{ kind: 'Checksum', object: 'public.customers', expected: '0123', actual: '4567' }],
  mismatchCount: 1,
  assertions: [{ sql: 'SELECT count(*) > 0 FROM events', passed: false, message: 'returned false' }],
  targetServerVersion: '17.2',
  scratchDatabase: 'pgkeep_verify_t1',
  ...over,
});

const job = (name: string, status: string) => ({
  id: `/v/backupJobs/${name}`,
  name,
  type: 'Microsoft.DataProtection/backupVaults/backupJobs',
  properties: {
    id: name,
    operation: 'RestoreTest',
    operationCategory: 'RestoreTest',
    backupInstance: 'orders',
    backupInstanceId: '/v/backupInstances/orders',
    status,
    trigger: 'OnDemand',
    isUserTriggered: true,
    startTime: '2026-03-10T03:00:00.000Z',
    duration: 'PT5S',
    progress: { bytes: 0 },
    ...(status === 'Failed'
      ? {
          error: { code: 'SystemErrorRestoreTestFailed', message: 'public.customers differs', hint: 'see restoreTest' },
        }
      : {}),
  },
});

describe('pgkeep tests history', () => {
  it('lists the tests of an instance, and with --last shows the integrity checked, every mismatch and assertion', async () => {
    const integrity = {
      sha256: 'ab'.repeat(32),
      bytes: 123456,
      covers: 'StoredBlob' as const,
      storedAs: 'zstd+AES-256-GCM' as const,
      encryptionKeyId: 'k1',
    };
    const body = { value: [{ id: 'x', name: 't1', type: 'x', properties: test({ integrity }) }] };
    const table = await pgkeep(() => ({ status: 200, body }), 'tests', 'history', 'orders');
    expect(table.code).toBe(0);
    expect(api!.seen[0]!.url.pathname).toBe('/api/backupInstances/orders/restoreTests');
    expect(table.stdout).toMatch(/Failed +8228-abc +nightly +4 +25003 +1 +0\/1 +17\.2/);
    await api!.close();
    const last = await pgkeep(() => ({ status: 200, body }), 'tests', 'history', 'orders', '--last');
    expect(last.stdout).toMatch(/^mismatch 1: +public\.customers: Checksum \(expected 0123, got 4567\)$/m);
    expect(last.stdout).toMatch(
      /^integrity: +SHA-256 (ab){32} of the 123,456 stored bytes \(zstd\+AES-256-GCM, key k1\)$/m,
    );
    expect(last.stdout).toMatch(/^assertion 1: +FAILED: returned false {2}SELECT count\(\*\) > 0 FROM events$/m);
  });
});

describe('pgkeep tests run', () => {
  it('starts the plan and, with --wait, follows each job and exits 1 when one failed', async () => {
    const out = await pgkeep(
      (req) =>
        req.method === 'POST'
          ? { status: 202, body: { value: [job('a', 'NotStarted'), job('b', 'NotStarted')] } }
          : {
              status: 200,
              body: job(
                req.url.pathname.endsWith('/a') ? 'a' : 'b',
                req.url.pathname.endsWith('/a') ? 'Succeeded' : 'Failed',
              ),
            },
      'tests',
      'run',
      'nightly',
      '--wait',
    );
    expect(api!.seen[0]).toMatchObject({ method: 'POST' });
    expect(api!.seen[0]!.url.pathname).toBe('/api/restoreTestPlans/nightly/run');
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^status: +Succeeded$/m);
    expect(out.stdout).toMatch(/^status: +Failed$/m);
    expect(out.stderr).toContain('SystemErrorRestoreTestFailed');
  });
});

describe('pgkeep points verify', () => {
  it('posts verify for the newest point when asked for latest', async () => {
    const out = await pgkeep(
      (req) =>
        req.method === 'GET'
          ? { status: 200, body: { value: [{ name: '8228-abc' }] } }
          : {
              status: 202,
              body: {
                ...job('v1', 'NotStarted'),
                properties: { ...job('v1', 'NotStarted').properties, operation: 'Verify' },
              },
            },
      'points',
      'verify',
      'orders',
      'latest',
    );
    expect(out.code).toBe(0);
    expect(api!.seen[1]).toMatchObject({ method: 'POST' });
    expect(api!.seen[1]!.url.pathname).toBe('/api/backupInstances/orders/recoveryPoints/8228-abc/verify');
    expect(out.stdout).toContain('Verify job v1');
  });
});
