// The scheduler tick over the fake stores: the latest due slot once per instance, catch-up of the latest missed slot
// only, deterministic orchestration ids, and one broken instance not stopping the others.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  runScheduler,
  scheduledOrchestrationId,
  type OrchestrationStarter,
} from '../../../shared/activities/scheduler';
import type { BackupOrchestratorInput } from '../../../shared/workflows/names';
import { createFakeStores } from '../../support/fake-stores';
import { sampleInstance } from '../../contract/stores.contract';

// default-weekly: Sundays 02:00 UTC.
const weekly = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../../../shared/fixtures/policies/default-weekly.json'), 'utf8'),
) as Record<string, unknown>;

async function setup(now: { value: string }) {
  const stores = createFakeStores();
  await stores.policies.create({ name: 'weekly', document: { ...weekly, name: 'weekly' }, createdAt: now.value });
  const running = new Set<string>();
  const started: { id: string; input: BackupOrchestratorInput }[] = [];
  const asked: string[] = [];
  const starter: OrchestrationStarter = {
    exists: (id) => {
      asked.push(id);
      return Promise.resolve(running.has(id));
    },
    start: (id, input) => {
      running.add(id);
      started.push({ id, input });
      return Promise.resolve();
    },
  };
  const tick = () =>
    runScheduler({
      instances: stores.instances,
      policies: stores.policies,
      clock: { now: () => new Date(now.value) },
      starter,
      log: () => undefined,
    });
  return { stores, started, running, asked, tick };
}

describe('runScheduler', () => {
  it('starts the latest missed slot only after the host was down for weeks, and never starts it twice', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, started, tick } = await setup(now);
    await stores.instances.create(
      sampleInstance('orders', 'local/orders', { lastScheduledSlot: '2026-02-01T02:00:00.000Z' }),
    );
    const result = await tick();
    const slot = '2026-03-08T02:00:00.000Z';
    expect(result).toEqual({ started: [scheduledOrchestrationId('orders', slot)], failed: [] });
    expect(started).toEqual([
      {
        id: 'backup-orders-20260308T020000000Z',
        input: { instanceName: 'orders', trigger: 'Scheduled', scheduledSlot: slot },
      },
    ]);
    expect((await stores.instances.get('orders'))?.value.lastScheduledSlot).toBe(slot);
    now.value = '2026-03-10T12:05:00.000Z';
    expect((await tick()).started).toEqual([]);
    now.value = '2026-03-15T02:00:00.000Z';
    expect((await tick()).started).toEqual(['backup-orders-20260315T020000000Z']);
  });

  it('owes no slot from before the instance existed, and none while protection is stopped', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, tick } = await setup(now);
    await stores.instances.create(
      sampleInstance('fresh', 'local/fresh', { lastScheduledSlot: '2026-03-09T00:00:00.000Z' }),
    );
    await stores.instances.create(
      sampleInstance('stopped', 'local/stopped', {
        protectionState: 'ProtectionStopped',
        lastScheduledSlot: '2026-01-01T00:00:00.000Z',
      }),
    );
    expect((await tick()).started).toEqual([]);
  });

  it('starts a due slot without asking whether its orchestration exists, since no tick marked it pending', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, started, asked, tick } = await setup(now);
    await stores.instances.create(
      sampleInstance('orders', 'local/orders', { lastScheduledSlot: '2026-03-01T02:00:00.000Z' }),
    );
    expect((await tick()).started).toEqual(['backup-orders-20260308T020000000Z']);
    expect(started).toHaveLength(1);
    expect(asked).toEqual([]);
    expect((await stores.instances.get('orders'))?.value).toMatchObject({
      lastScheduledSlot: '2026-03-08T02:00:00.000Z',
      pendingSlot: '2026-03-08T02:00:00.000Z',
    });
  });

  it('after a tick cut off between a start and its record, asks, does not start the slot again, and records it', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, started, asked, tick } = await setup(now);
    await stores.instances.create(
      sampleInstance('orders', 'local/orders', { lastScheduledSlot: '2026-03-01T02:00:00.000Z' }),
    );
    // The first tick starts the slot, then cannot record it at all (neither in bulk nor one by one): as a crash would.
    const instances = stores.instances;
    const recordSlots = instances.recordSlots.bind(instances);
    const update = instances.update.bind(instances);
    instances.recordSlots = () => Promise.reject(new Error('host stopped'));
    instances.update = () => Promise.reject(new Error('host stopped'));
    const first = await tick();
    expect(first.started).toEqual(['backup-orders-20260308T020000000Z']);
    expect(first.failed.map((f) => f.instance)).toEqual(['orders']);
    instances.recordSlots = recordSlots;
    instances.update = update;
    expect((await instances.get('orders'))?.value.lastScheduledSlot).toBe('2026-03-01T02:00:00.000Z');

    const second = await tick();
    expect(second).toEqual({ started: [], failed: [] });
    expect(asked).toEqual(['backup-orders-20260308T020000000Z']);
    expect(started).toHaveLength(1);
    expect((await instances.get('orders'))?.value.lastScheduledSlot).toBe('2026-03-08T02:00:00.000Z');
  });

  it('does not start a slot it could not mark pending, and the next tick starts it', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, started, tick } = await setup(now);
    for (const name of ['orders', 'sales']) {
      await stores.instances.create(
        sampleInstance(name, `local/${name}`, { lastScheduledSlot: '2026-03-01T02:00:00.000Z' }),
      );
    }
    const instances = stores.instances;
    const mark = instances.markSlotsPending.bind(instances);
    instances.markSlotsPending = async (entries) => {
      await mark(entries.filter((e) => e.name !== 'orders'));
      return ['orders'];
    };
    const first = await tick();
    expect(first.started).toEqual(['backup-sales-20260308T020000000Z']);
    expect(first.failed).toEqual([{ instance: 'orders', message: expect.stringContaining('pending') as string }]);
    instances.markSlotsPending = mark;
    expect((await tick()).started).toEqual(['backup-orders-20260308T020000000Z']);
    expect(started.map((s) => s.id)).toEqual(['backup-sales-20260308T020000000Z', 'backup-orders-20260308T020000000Z']);
  });

  it.each([
    ['a bulk transaction fails', 'partial'],
    ['the bulk record throws', 'throws'],
  ] as const)('records every slot one by one when %s, keeping a change made to a row meanwhile', async (_, failure) => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, started, tick } = await setup(now);
    const names = Array.from({ length: 120 }, (_, i) => `db${String(i).padStart(3, '0')}`);
    for (const name of names) {
      await stores.instances.create(
        sampleInstance(name, `local/${name}`, { lastScheduledSlot: '2026-03-01T02:00:00.000Z' }),
      );
    }
    // A backup of db005 takes its lock after the listing; then the bulk record loses the first 40 rows (a failed
    // transaction) or everything (the ledger unreachable).
    const instances = stores.instances;
    const bulk = instances.recordSlots.bind(instances);
    instances.recordSlots = async (entries) => {
      const row = (await instances.get('db005'))!;
      await instances.update({ ...row.value, activeBackupJobId: 'job-on-demand' }, row.etag);
      if (failure === 'throws') throw new Error('ledger unreachable');
      await bulk(entries.slice(40));
      return entries.slice(0, 40).map((e) => e.name);
    };
    const result = await tick();
    expect(result.failed).toEqual([]);
    expect(started).toHaveLength(120);
    for (const name of names) {
      expect((await stores.instances.get(name))?.value.lastScheduledSlot).toBe('2026-03-08T02:00:00.000Z');
    }
    expect((await stores.instances.get('db005'))?.value.activeBackupJobId).toBe('job-on-demand');
  });

  it('reports an instance whose policy is missing and still schedules the others', async () => {
    const now = { value: '2026-03-10T12:00:00.000Z' };
    const { stores, tick } = await setup(now);
    await stores.instances.create(
      sampleInstance('broken', 'local/broken', { policyName: 'gone', lastScheduledSlot: '2026-03-01T00:00:00.000Z' }),
    );
    await stores.instances.create(
      sampleInstance('orders', 'local/orders', { lastScheduledSlot: '2026-03-01T00:00:00.000Z' }),
    );
    const result = await tick();
    expect(result.started).toEqual(['backup-orders-20260308T020000000Z']);
    expect(result.failed).toEqual([{ instance: 'broken', message: "policy 'gone' is missing or invalid" }]);
  });
});
