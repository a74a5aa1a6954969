// Key rotation commands over a scripted API (real HTTP on loopback): `keys list` groups each instance's points by the
// key that wraps them; `instances rewrap` (all points as a job, or one point in the call) and `servers rewrap` send the
// right request and exit by the job's outcome; a name the API would refuse is a usage error before any request.
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../../cli/main';
import { keyUses } from '../../../cli/commands/keys';
import type { RecoveryPointResource } from '../../../shared/contracts/recovery-points';
import { captureIo, startScriptedApi, type Answer, type SeenRequest } from './cli-support';
import type { ScriptedApi } from './cli-support';

let api: ScriptedApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function pgkeepWith(answer: (req: SeenRequest) => Answer, ...argv: string[]) {
  api = await startScriptedApi(answer);
  const io = captureIo({ PGKEEP_API_URL: api.url, TZ: 'UTC' });
  const code = await run(argv, io);
  return { code, stdout: io.out(), stderr: io.err(), seen: api.seen.map((r) => `${r.method} ${r.url.pathname}`) };
}

const point = (name: string, time: string, keyId?: string) =>
  ({
    name,
    properties: { recoveryPointTime: time, ...(keyId === undefined ? {} : { encryptionKeyId: keyId }) },
  }) as unknown as RecoveryPointResource;

const job = (status: string, extra: Record<string, unknown> = {}) => ({
  id: '/v/backupJobs/j1',
  name: 'j1',
  type: 'Microsoft.DataProtection/backupVaults/backupJobs',
  properties: {
    id: 'j1',
    operation: 'Rewrap',
    backupInstance: 'orders',
    status,
    trigger: 'OnDemand',
    startTime: '2026-03-10T12:00:00.000Z',
    progress: { bytes: 0 },
    extendedInfo: extra,
  },
});

describe('keyUses', () => {
  it('counts the points under each key with the oldest and newest of them, unencrypted points under null', () => {
    const uses = keyUses('orders', [
      point('p4', '2026-03-04T00:00:00Z', 'k2'),
      point('p3', '2026-03-03T00:00:00Z', 'k1'),
      point('p2', '2026-03-02T00:00:00Z'),
      point('p1', '2026-03-01T00:00:00Z', 'k1'),
    ]);
    expect(uses).toEqual([
      { instance: 'orders', keyId: 'k2', points: 1, oldest: '2026-03-04T00:00:00Z', newest: '2026-03-04T00:00:00Z' },
      { instance: 'orders', keyId: 'k1', points: 2, oldest: '2026-03-01T00:00:00Z', newest: '2026-03-03T00:00:00Z' },
      { instance: 'orders', keyId: null, points: 1, oldest: '2026-03-02T00:00:00Z', newest: '2026-03-02T00:00:00Z' },
    ]);
  });
});

describe('pgkeep keys list', () => {
  it('reads every instance’s points and prints one row per instance and key', async () => {
    const out = await pgkeepWith(
      (req) => {
        if (req.url.pathname === '/api/backupInstances') return { status: 200, body: { value: [{ name: 'orders' }] } };
        return {
          status: 200,
          body: { value: [point('p2', '2026-03-02T00:00:00Z', 'k2'), point('p1', '2026-03-01T00:00:00Z')] },
        };
      },
      'keys',
      'list',
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.seen).toEqual(['GET /api/backupInstances', 'GET /api/backupInstances/orders/recoveryPoints']);
    expect(out.stdout).toMatch(/^k2 +orders +1 /m);
    expect(out.stdout).toMatch(/^\(not encrypted\) +orders +1 /m);
  });
});

describe('pgkeep instances rewrap', () => {
  it('starts the Rewrap job of every point and, without --wait, says how to watch it', async () => {
    const out = await pgkeepWith(() => ({ status: 202, body: job('NotStarted') }), 'instances', 'rewrap', 'orders');
    expect(out.code).toBe(0);
    expect(out.seen).toEqual(['POST /api/backupInstances/orders/rewrap']);
    expect(out.stdout).toContain('Rewrap job j1');
    expect(out.stdout).toContain('pgkeep jobs watch j1');
  });

  it('rewraps the newest point with --point latest and exits by the ended job: 0 Succeeded, 1 Failed', async () => {
    const answer = (status: string) => (req: SeenRequest) =>
      req.method === 'GET'
        ? { status: 200, body: { value: [point('p9', '2026-03-09T00:00:00Z', 'k1')] } }
        : { status: 200, body: job(status, { result: 'rewrapped', fromKeyId: 'k1', toKeyId: 'k2' }) };
    const ok = await pgkeepWith(answer('Succeeded'), 'instances', 'rewrap', 'orders', '--point', 'latest');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.seen).toEqual([
      'GET /api/backupInstances/orders/recoveryPoints',
      'POST /api/backupInstances/orders/recoveryPoints/p9/rewrap',
    ]);
    expect(ok.stdout).toMatch(/^toKeyId: +k2$/m);
    await api?.close();
    const failed = await pgkeepWith(answer('Failed'), 'instances', 'rewrap', 'orders', '--point', 'p9');
    expect(failed.code).toBe(1);
    expect(failed.seen).toEqual(['POST /api/backupInstances/orders/recoveryPoints/p9/rewrap']);
    expect(failed.stderr).toContain('Rewrap job j1');
  });

  it('refuses a name the API would refuse with exit 2, before any request', async () => {
    const out = await pgkeepWith(() => ({ status: 500 }), 'instances', 'rewrap', 'no/such');
    expect(out.code).toBe(2);
    expect(out.seen).toEqual([]);
    expect(out.stderr).toContain("<name> 'no/such' is not a valid name");
  });
});

describe('pgkeep servers rewrap', () => {
  it("starts the Rewrap job of the server's globals points and prints the API's JSON with --json", async () => {
    const body = job('NotStarted');
    const out = await pgkeepWith(() => ({ status: 202, body }), 'servers', 'rewrap', 'pg1', '--json');
    expect(out.code).toBe(0);
    expect(out.seen).toEqual(['POST /api/servers/pg1/rewrap']);
    expect(JSON.parse(out.stdout)).toEqual(body);
  });
});
