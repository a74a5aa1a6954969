import { describe, expect, it } from 'vitest';
import { derivedId, runRestoreTestScheduler, type SchedulerDeps } from '../../../shared/activities/restore-test-runs';
import { restoreTestPlanPropertiesSchema } from '../../../shared/contracts/restore-tests';
import { createFakeStores } from '../../support/fake-stores';
import { createFakeRestoreTestPlanStore } from '../../support/fake-restore-test-stores';
import { sampleInstance } from '../../contract/stores.contract';

const target = {
  datasourceAuthCredentials: {
    objectType: 'SecretStoreBasedAuthCredentials',
    secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://SCRATCH_DB' },
  },
};

async function world(now: string) {
  const clock = { now: () => new Date(now) };
  const stores = createFakeStores(clock);
  const plans = createFakeRestoreTestPlanStore();
  const started: string[] = [];
  const orchestrations = new Set<string>();
  let ids = 0;
  const deps: SchedulerDeps = {
    plans,
    instances: stores.instances,
    jobs: stores.jobs,
    clock,
    newId: () => `id${++ids}`,
    exists: (id) => Promise.resolve(orchestrations.has(id)),
    startRestoreTest: (id) => {
      orchestrations.add(id);
      started.push(id);
      return Promise.resolve();
    },
    startVerify: (id) => {
      orchestrations.add(id);
      started.push(id);
      return Promise.resolve();
    },
    log: () => undefined,
  };
  await stores.instances.create(sampleInstance('orders', 'local/orders'));
  await stores.instances.create(sampleInstance('billing', 'local/billing'));
  return { deps, stores, plans, started, clock };
}

const planRecord = (properties: Record<string, unknown>, createdAt = '2026-01-01T00:00:00.000Z') => ({
  name: 'nightly',
  properties: restoreTestPlanPropertiesSchema.parse({ target, ...properties }),
  createdAt,
  updatedAt: createdAt,
});

describe('runRestoreTestScheduler', () => {
  it('starts each due slot once, one test per instance, with ids derived from the slot', async () => {
    const w = await world('2026-03-10T03:00:30.000Z');
    await w.plans.create(planRecord({ schedule: '0 0 3 * * *', backupInstances: ['orders', 'billing'] }));
    expect(await runRestoreTestScheduler(w.deps)).toEqual({ started: 2, failed: [] });
    expect(w.started).toEqual([
      'restoretest-nightly-orders-20260310T030000000Z',
      'restoretest-nightly-billing-20260310T030000000Z',
    ]);
    const job = await w.stores.jobs.get(derivedId('restoretest-nightly-orders-20260310T030000000Z'));
    expect(job).toMatchObject({
      operation: 'RestoreTest',
      trigger: 'Scheduled',
      status: 'NotStarted',
      extra: { scheduledSlot: '2026-03-10T03:00:00.000Z' },
    });
    expect((await w.plans.get('nightly'))?.value.lastScheduledSlot).toBe('2026-03-10T03:00:00.000Z');
    // The next tick of the same slot starts nothing.
    expect(await runRestoreTestScheduler(w.deps)).toEqual({ started: 0, failed: [] });
    expect(w.started).toHaveLength(2);
  });

  it('starts nothing for a disabled plan, a plan without a schedule, or a slot before the plan existed', async () => {
    const w = await world('2026-03-10T03:00:30.000Z');
    await w.plans.create({
      ...planRecord({ schedule: '0 0 3 * * *', backupInstances: ['orders'], enabled: false }),
      name: 'off',
    });
    await w.plans.create({ ...planRecord({ backupInstances: ['orders'] }), name: 'manual' });
    await w.plans.create({
      ...planRecord({ schedule: '0 0 3 * * *', backupInstances: ['orders'] }, '2026-03-10T03:00:10.000Z'),
      name: 'new',
    });
    expect(await runRestoreTestScheduler(w.deps)).toEqual({ started: 0, failed: [] });
  });

  it('starts Verify orchestrations for a plan in Verify mode', async () => {
    const w = await world('2026-03-10T03:00:30.000Z');
    await w.plans.create(planRecord({ mode: 'Verify', target: undefined, schedule: '0 0 3 * * *', policy: 'weekly' }));
    await runRestoreTestScheduler(w.deps);
    expect(w.started.sort()).toEqual([
      'verify-nightly-billing-20260310T030000000Z',
      'verify-nightly-orders-20260310T030000000Z',
    ]);
  });
});
