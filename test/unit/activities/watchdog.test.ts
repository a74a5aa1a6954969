// The watchdog over the fake stores and a clock moved by hand: a slot with no backup past the grace is recorded as a
// missed Backup job (raising BackupMissed) once and claimed from the scheduler; health changes raise HealthChanged
// once each.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWatchdog, missedJobId } from '../../../shared/activities/watchdog';
import {
  runScheduler,
  scheduledOrchestrationId,
  type OrchestrationStarter,
} from '../../../shared/activities/scheduler';
import { createEventRaiser } from '../../../shared/events/outbox';
import { withOutcomeEvents } from '../../../shared/events/job-outcomes';
import { apiLinks } from '../../../shared/events/records';
import type { InstanceRecord } from '../../../shared/ports';
import type { BackupOrchestratorInput } from '../../../shared/workflows/names';
import { createFakeStores } from '../../support/fake-stores';
import { createFakeAlertStores } from '../../support/fake-alert-stores';
import { sampleInstance, samplePoint } from '../../contract/stores.contract';
import { channel, ManualClock } from '../events/events-support';

// default-weekly: Sundays 02:00 UTC.
const weekly = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../../../shared/fixtures/policies/default-weekly.json'), 'utf8'),
) as Record<string, unknown>;
const S0 = '2026-03-08T02:00:00.000Z';
const S1 = '2026-03-01T02:00:00.000Z';
const at = (iso: string, minutes: number) => Date.parse(iso) + minutes * 60_000;
const GRACE = 30 * 60_000;

async function setup(nowMs: number, extra: Partial<InstanceRecord> = {}, settings = { startLateBackup: false }) {
  const clock = new ManualClock(nowMs);
  const stores = createFakeStores(clock);
  const alerts = createFakeAlertStores();
  await alerts.channels.put(channel('ops', { events: ['BackupMissed', 'HealthChanged'] }));
  await stores.policies.create({
    name: 'weekly',
    document: { ...weekly, name: 'weekly' },
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  await stores.instances.create(
    sampleInstance('orders', 'local/orders', {
      protectedSince: '2026-02-01T00:00:00.000Z',
      lastScheduledSlot: S1,
      ...extra,
    }),
  );
  const raiser = createEventRaiser({ ...alerts, clock });
  const links = apiLinks('https://app.example.net');
  const jobs = withOutcomeEvents(stores.jobs, {
    raiser,
    source: 'vault',
    links,
    nowIso: () => clock.now().toISOString(),
  });
  const running = new Set<string>();
  const started: { id: string; input: BackupOrchestratorInput }[] = [];
  const starter: OrchestrationStarter = {
    exists: (id) => Promise.resolve(running.has(id)),
    start: (id, input) => {
      running.add(id);
      started.push({ id, input });
      return Promise.resolve();
    },
  };
  const logs: string[] = [];
  const run = () =>
    runWatchdog({
      ...stores,
      jobs,
      health: alerts.health,
      raiser,
      clock,
      starter,
      graceMs: GRACE,
      settings,
      source: 'vault',
      links,
      log: (m) => logs.push(m),
    });
  return { clock, stores, alerts, jobs, run, running, started, starter };
}

const eventNames = (alerts: ReturnType<typeof createFakeAlertStores>) => alerts.outbox.events.map((e) => e.name);

describe('runWatchdog: missed slots', () => {
  it('records a slot with no backup past the grace as a failed job, raises BackupMissed once and claims the slot', async () => {
    const w = await setup(at(S0, 31));
    const result = await w.run();
    expect(result.missed).toEqual([{ instance: 'orders', slot: S0, jobId: missedJobId('orders', S0) }]);
    const job = await w.stores.jobs.get(missedJobId('orders', S0));
    expect(job).toMatchObject({
      operation: 'Backup',
      status: 'Failed',
      trigger: 'Scheduled',
      error: { code: 'UserErrorBackupMissed' },
      extra: { scheduledSlot: S0, missedSlots: 1 },
    });
    expect(job?.error?.message).toContain(S0);
    expect((await w.stores.instances.get('orders'))?.value.lastScheduledSlot).toBe(S0);
    expect(eventNames(w.alerts).filter((n) => n === 'BackupMissed')).toHaveLength(1);
    // Claimed: a second run and a late scheduler tick leave it alone; no late backup was started.
    expect((await w.run()).missed).toEqual([]);
    const tick = await runScheduler({ ...w.stores, clock: w.clock, starter: w.starter, log: () => undefined });
    expect(tick.started).toEqual([]);
    expect(eventNames(w.alerts).filter((n) => n === 'BackupMissed')).toHaveLength(1);
  });

  it('waits for the grace before calling a slot missed', async () => {
    const w = await setup(at(S0, 29));
    expect((await w.run()).missed).toEqual([]);
  });

  it('counts every slot missed since the last one started', async () => {
    const w = await setup(at(S0, 31), { lastScheduledSlot: '2026-02-15T02:00:00.000Z' });
    await w.run();
    const job = await w.stores.jobs.get(missedJobId('orders', S0));
    // 2026-02-22, 03-01 and 03-08: one job for the latest, counting all three.
    expect(job?.extra).toMatchObject({ missedSlots: 3 });
    expect(job?.error?.message).toContain('3 slots missed');
  });

  it('does not call a slot missed when the scheduler started its backup', async () => {
    const w = await setup(at(S0, 31));
    w.running.add(scheduledOrchestrationId('orders', S0));
    expect((await w.run()).missed).toEqual([]);
  });

  it('owes nothing to a stopped instance, nor slots before protection started', async () => {
    const stopped = await setup(at(S0, 31), { protectionState: 'ProtectionStopped' });
    expect((await stopped.run()).missed).toEqual([]);
    const young = await setup(at(S0, 31), { protectedSince: new Date(at(S0, 1)).toISOString() });
    expect((await young.run()).missed).toEqual([]);
  });

  it('starts a late backup for the missed slot only when MISSED_SLOT_START_LATE_BACKUP says so', async () => {
    const w = await setup(at(S0, 31), {}, { startLateBackup: true });
    await w.run();
    expect(w.started).toEqual([
      {
        id: scheduledOrchestrationId('orders', S0),
        input: { instanceName: 'orders', trigger: 'Scheduled', scheduledSlot: S0 },
      },
    ]);
    // Marked pending before the start, as the scheduler marks its own: a crash before the record is recognised.
    expect((await w.stores.instances.get('orders'))?.value).toMatchObject({ pendingSlot: S0, lastScheduledSlot: S0 });
  });
});

describe('runWatchdog: health changes', () => {
  it('raises HealthChanged once per change: Warning when a slot was missed, Critical two intervals later', async () => {
    const w = await setup(at(S0, 31));
    await w.stores.recoveryPoints.create(samplePoint('orders', new Date(at(S1, 1)).toISOString()));
    const first = await w.run();
    expect(first.changed).toEqual([{ instance: 'orders', from: 'Unknown', to: 'Warning' }]);
    expect((await w.run()).changed).toEqual([]);
    w.clock.advance(14 * 86_400_000);
    const later = await w.run();
    expect(later.changed).toEqual([{ instance: 'orders', from: 'Warning', to: 'Critical' }]);
    const changes = w.alerts.outbox.events.filter((e) => e.name === 'HealthChanged');
    expect(changes.map((e) => [e.data['previousStatus'], e.data['status']])).toEqual([
      ['Unknown', 'Warning'],
      ['Warning', 'Critical'],
    ]);
    expect(new Set(changes.map((e) => e.id)).size).toBe(2);
    expect((await w.alerts.health.get('orders'))?.value).toMatchObject({ changes: 2, health: { status: 'Critical' } });
  });

  it('records a first Healthy or Unknown quietly, and raises when it later changes', async () => {
    const w = await setup(at(S0, 31), { lastScheduledSlot: S0 });
    await w.stores.recoveryPoints.create(samplePoint('orders', new Date(at(S0, 1)).toISOString()));
    expect((await w.run()).changed).toEqual([]);
    expect((await w.alerts.health.get('orders'))?.value.health.status).toBe('Healthy');
    const stored = await w.stores.instances.get('orders');
    await w.stores.instances.update({ ...stored!.value, protectionState: 'ProtectionStopped' }, stored!.etag);
    expect((await w.run()).changed).toEqual([{ instance: 'orders', from: 'Healthy', to: 'Unknown' }]);
  });

  it('forgets the recorded health of an instance that is gone', async () => {
    const w = await setup(at(S0, 31));
    await w.run();
    await w.stores.instances.delete('orders');
    await w.run();
    expect(await w.alerts.health.get('orders')).toBeUndefined();
    expect((await w.alerts.health.lastRuns()).watchdog).toBe(w.clock.now().toISOString());
  });
});
