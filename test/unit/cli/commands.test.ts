// Commands over a scripted API (real HTTP on loopback): what they print for answers the running app does not give
// yet — the wave 2 health body, operations and statuses added later — and the exit codes those answers mean.
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

const vaultHealth = (status: string) => ({
  status,
  time: '2026-03-10T12:00:00.000Z',
  counts: { Healthy: 3, Warning: 1, Critical: status === 'Critical' ? 1 : 0, Unknown: 0 },
  instances: [
    {
      name: 'orders',
      health: { status: 'Warning', reasons: [{ code: 'BackupMissed', message: 'the 02:00 slot was missed' }] },
    },
  ],
  lastSchedulerRun: '2026-03-10T11:55:00.000Z',
  lastExpiryRun: null,
});

describe('pgkeep health', () => {
  it('prints the status, the counts and each instance that is not Healthy with its reasons; exit 0 unless Critical', async () => {
    const out = await pgkeepAgainst({ status: 200, body: vaultHealth('Warning') }, 'health');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^status: +Warning$/m);
    expect(out.stdout).toMatch(/^instances: +Healthy 3, Warning 1, Critical 0, Unknown 0$/m);
    expect(out.stdout).toMatch(/^last expiry run: +never$/m);
    expect(out.stdout).toMatch(/^orders +Warning +BackupMissed: the 02:00 slot was missed$/m);
    expect(api!.seen[0]!.url.pathname).toBe('/api/health');
  });

  it('exits 1 when the API answers 503 Critical, still printing the body (--json: exactly as sent)', async () => {
    const body = vaultHealth('Critical');
    const out = await pgkeepAgainst({ status: 503, body }, 'health', '--json');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe(`${JSON.stringify(body)}\n`);
    expect(out.stderr).toBe('');
  });
});

describe('pgkeep jobs show', () => {
  it('shows operations, statuses and extras this CLI does not know as they are', async () => {
    const body = {
      id: '/v/backupJobs/j9',
      name: 'j9',
      type: 'Microsoft.DataProtection/backupVaults/backupJobs',
      properties: {
        id: 'j9',
        operation: 'RestoreTest',
        operationCategory: 'RestoreTest',
        backupInstance: 'orders',
        backupInstanceId: '/v/backupInstances/orders',
        status: 'Queued',
        trigger: 'Scheduled',
        isUserTriggered: false,
        startTime: '2026-03-10T12:00:00.000Z',
        duration: 'PT2M5S',
        progress: { bytes: 0 },
        extendedInfo: { queuePosition: 3 },
      },
    };
    const out = await pgkeepAgainst({ status: 200, body }, 'jobs', 'show', 'j9');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^operation: +RestoreTest$/m);
    expect(out.stdout).toMatch(/^status: +Queued$/m);
    expect(out.stdout).toMatch(/^duration: +2m5s$/m);
    expect(out.stdout).toMatch(/^queuePosition: +3$/m);
  });
});
