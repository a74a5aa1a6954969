// A scheduled restore test that draws an archived point (issue 17: "a random point in a window so old and archived
// points are exercised too, with rehydration when needed"), under devhost with Azurite and PostgreSQL: an instance
// with four points, the two newest moved to the archive tier and the two oldest aged past the plan's window, and a
// plan `point: { random: { window } }` on a daily schedule whose slot comes due a few seconds after it is saved. The
// restore-test scheduler (its timer every 2 s here, RESTORE_TEST_SCHEDULER_SCHEDULE) starts the slot by itself; the
// test rehydrates the drawn point (a Rehydrate job and a rehydrated copy), restores it, passes, leaves its evidence
// on that archived point and in the history, and drops its scratch database.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- response bodies are checked by the assertions, not by types */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoveryPointId, type RecoveryPointStore } from '../../shared/ports';
import { jobEnded, pollUntil } from './backup-support';
import { startRestoreTestEnv, type RestoreTestEnv } from './restore-test-e2e-support';
import { devhostStores } from '../support/devhost';

let env: RestoreTestEnv;
let points: RecoveryPointStore;
/** Oldest first. */
const ids: string[] = [];
const DAY = 86_400_000;

beforeAll(async () => {
  env = await startRestoreTestEnv({ rows: 2_000 });
  points = devhostStores(env.dh.storage).recoveryPoints;
  for (let i = 0; i < 4; i++) ids.push(await env.backup('orders'));
  // The two oldest points are made a month and more old: each row is written again under the id of its earlier time
  // (ids encode the time), pointing at the same blobs. The plan's P7D window then holds the archived two only.
  for (const [i, ageDays] of [
    [0, 45],
    [1, 30],
  ] as const) {
    const { value } = (await points.get('orders', ids[i]!))!;
    const time = new Date(Date.now() - ageDays * DAY).toISOString();
    const id = recoveryPointId(time, value.id.split('-')[1]!);
    await points.create({ ...value, id, time });
    await points.delete('orders', value.id);
    ids[i] = id;
  }
  // The two newest move to the archive tier, as the lifecycle would move them: blob tier first, then the row.
  for (const id of ids.slice(2)) {
    const stored = (await points.get('orders', id))!;
    await env.blobs.getBlobClient(stored.value.blobName).setAccessTier('Archive');
    await points.update(
      { ...stored.value, dataStore: 'ArchiveStore', archivedAt: new Date().toISOString() },
      stored.etag,
    );
  }
}, 300_000);

afterAll(async () => {
  await env?.stop();
});

/** A daily NCRONTAB schedule whose one slot a day is `at` (UTC, whole seconds). */
function dailyAt(at: Date): string {
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

describe('a scheduled restore test drawing a random point in a window of archived points', () => {
  it('starts on its slot, rehydrates the drawn archived point, restores it, passes, records the evidence there and drops the scratch database', async () => {
    const archived = ids.slice(2);
    const slot = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
    const put = await env.putPlan('monthly-archive', {
      schedule: dailyAt(slot),
      backupInstances: ['orders'],
      point: { random: { window: 'P7D' } },
      rehydrationPriority: 'High',
      assertions: { orders: ['SELECT count(*) > 0 FROM events'] },
      timeLimit: 'PT30M',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(put.body.properties.nextScheduledRun).toBe(slot.toISOString());

    // Nobody runs the plan: the scheduler's timer starts the slot once it is due.
    const found = await pollUntil(
      () => env.api.call('GET', 'backupJobs?backupInstance=orders&operation=RestoreTest'),
      (res) => (res.body.value as any[]).length > 0,
      90_000,
      'a RestoreTest job started by the schedule',
    );
    const [started, ...others] = found.body.value as any[];
    expect(others).toEqual([]);
    const job = (await jobEnded(env.api, started.name as string, 240_000)).body;
    expect(job.properties, JSON.stringify(job.properties)).toMatchObject({
      operation: 'RestoreTest',
      trigger: 'Scheduled',
      status: 'Succeeded',
    });
    // What the test's start recorded on its job outlives the rehydration step's own note on it.
    expect(job.properties.extendedInfo).toMatchObject({
      planName: 'monthly-archive',
      scheduledSlot: slot.toISOString(),
      scratchDatabase: expect.stringMatching(/^pgkeep_verify_/),
      scratchServer: `${env.scratch.host}:${env.scratch.port}`,
      targetServerVersion: expect.stringMatching(/^15\./),
      rehydrateJobId: `${started.name}-rehydrate`,
    });
    const plan = (await env.api.call('GET', 'restoreTestPlans/monthly-archive')).body;
    expect(plan.properties.lastScheduledRun).toBe(slot.toISOString());

    // The drawn point is one of the archived two, and it was rehydrated for the test: a Rehydrate job that
    // succeeded, and a rehydrated copy the point row now names (the point itself stays in ArchiveStore).
    const pointId = job.properties.recoveryPointId as string;
    expect(archived).toContain(pointId);
    const rehydrate = (await env.api.call('GET', `backupJobs/${started.name}-rehydrate`)).body;
    expect(rehydrate.properties).toMatchObject({ operation: 'Rehydrate', status: 'Succeeded' });
    const row = (await points.get('orders', pointId))!.value;
    expect(row.dataStore).toBe('ArchiveStore');
    expect(row.rehydratedBlobName).toBeDefined();
    const copy = await env.blobs.getBlobClient(row.rehydratedBlobName!).getProperties();
    expect(copy.accessTier).not.toBe('Archive');
    expect((await env.blobs.getBlobClient(row.blobName).getProperties()).accessTier).toBe('Archive');

    // The evidence sits on that archived point, in the history, and the scratch database is gone.
    const point = (await env.api.call('GET', `backupInstances/orders/recoveryPoints/${pointId}`)).body;
    expect(point.properties.recoveryPointDataStoresDetails[0].type).toBe('ArchiveStore');
    expect(point.properties.restoreTest).toMatchObject({
      jobId: started.name,
      planName: 'monthly-archive',
      recoveryPointId: pointId,
      status: 'Passed',
      contentsChecked: true,
      tables: 4,
      mismatchCount: 0,
      assertions: [{ sql: 'SELECT count(*) > 0 FROM events', passed: true }],
      integrity: { sha256: row.sha256, covers: 'StoredBlob' },
    });
    expect(point.properties.restoreTest.rowsCompared).toBeGreaterThan(2_000);
    const history = (await env.api.call('GET', 'backupInstances/orders/restoreTests')).body;
    expect(history.value.map((t: any) => [t.name, t.properties.recoveryPointId, t.properties.status])).toEqual([
      [started.name, pointId, 'Passed'],
    ]);
    // No other point carries evidence: the test touched only the one it drew.
    for (const id of ids.filter((i) => i !== pointId)) {
      const other = (await env.api.call('GET', `backupInstances/orders/recoveryPoints/${id}`)).body;
      expect(other.properties.restoreTest, id).toBeUndefined();
    }
    expect(await env.scratchDatabases()).toEqual([]);
  }, 400_000);
});
