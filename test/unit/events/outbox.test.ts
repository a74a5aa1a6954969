import { describe, expect, it } from 'vitest';
import { createEventRaiser } from '../../../shared/events/outbox';
import { withOutcomeEvents } from '../../../shared/events/job-outcomes';
import { apiLinks, eventId } from '../../../shared/events/records';
import type { EventRecord, JobRecord, JobStore } from '../../../shared/ports';
import { createFakeJobStore } from '../../support/fake-stores';
import { createFakeAlertStores } from '../../support/fake-alert-stores';
import { channel, ManualClock } from './events-support';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');

function event(name: EventRecord['name'], subject: string, id = `${name}-${subject}`): EventRecord {
  return { id, name, type: 'pgkeep.x.y', source: 'vault', subject, time: '2026-03-10T12:00:00.000Z', data: {} };
}

async function pendingIds(outbox: ReturnType<typeof createFakeAlertStores>['outbox']): Promise<string[]> {
  const ids: string[] = [];
  for await (const p of outbox.listPending()) ids.push(p.value.id);
  return ids.sort();
}

describe('createEventRaiser', () => {
  it('queues one delivery per channel subscribed to the event and to its instance', async () => {
    const stores = createFakeAlertStores();
    await stores.channels.put(channel('all'));
    await stores.channels.put(channel('orders-only', { backupInstances: ['orders'] }));
    await stores.channels.put(channel('health-only', { events: ['HealthChanged'] }));
    const raiser = createEventRaiser({ ...stores, clock: new ManualClock(NOW) });
    await raiser.raise([event('BackupFailed', 'orders'), event('BackupFailed', 'billing')]);
    expect(await pendingIds(stores.outbox)).toEqual([
      'BackupFailed-billing.all',
      'BackupFailed-orders.all',
      'BackupFailed-orders.orders-only',
    ]);
  });

  it('keeps no event that no channel subscribes to', async () => {
    const stores = createFakeAlertStores();
    await stores.channels.put(channel('health-only', { events: ['HealthChanged'] }));
    await createEventRaiser({ ...stores, clock: new ManualClock(NOW) }).raise([event('BackupFailed', 'orders')]);
    expect(stores.outbox.events).toEqual([]);
  });

  it('sends vault-wide events (subject *) through instance filters', async () => {
    const stores = createFakeAlertStores();
    await stores.channels.put(channel('orders-only', { events: ['ExpiryFailed'], backupInstances: ['orders'] }));
    await createEventRaiser({ ...stores, clock: new ManualClock(NOW) }).raise([event('ExpiryFailed', '*')]);
    expect(await pendingIds(stores.outbox)).toEqual(['ExpiryFailed-*.orders-only']);
  });
});

const links = apiLinks('https://app.example.net');
const job: JobRecord = {
  id: 'job-1',
  operation: 'Backup',
  backupInstance: 'orders',
  status: 'InProgress',
  trigger: 'OnDemand',
  startTime: '2026-03-10T11:00:00.000Z',
  progress: { bytes: 0 },
};
const failure = {
  status: 'Failed' as const,
  endTime: '2026-03-10T11:05:00.000Z',
  error: { code: 'SystemErrorDumpFailed' as const, message: 'pg_dump died', hint: 'retry' },
};

/** A job store whose next `n` patches fail after the events were raised: a crash between the two writes. */
function crashingPatches(inner: JobStore, n: number): JobStore {
  let left = n;
  return {
    ...inner,
    patch: (id, fields) => (left-- > 0 ? Promise.reject(new Error('host died')) : inner.patch(id, fields)),
  };
}

function setup(failPatches = 0) {
  const clock = new ManualClock(NOW);
  const stores = createFakeAlertStores();
  const inner = createFakeJobStore(clock);
  const ended: JobRecord[] = [];
  const jobs = withOutcomeEvents(crashingPatches(inner, failPatches), {
    raiser: createEventRaiser({ ...stores, clock }),
    source: 'vault',
    links,
    nowIso: () => clock.now().toISOString(),
    onEnded: (j) => ended.push(j),
  });
  return { stores, inner, jobs, ended };
}

describe('withOutcomeEvents', () => {
  it('raises the outcome events before it writes the ending status', async () => {
    const { stores, inner, jobs, ended } = setup();
    await stores.channels.put(channel('ops'));
    await jobs.create(job);
    await jobs.patch('job-1', { progress: { bytes: 10 } });
    expect(stores.outbox.events).toEqual([]);
    await jobs.patch('job-1', failure);
    expect(stores.outbox.events.map((e) => e.id)).toEqual([eventId('job:job-1:BackupFailed')]);
    expect(stores.outbox.events[0]?.data).toMatchObject({ jobId: 'job-1', error: { code: 'SystemErrorDumpFailed' } });
    expect((await inner.get('job-1'))?.status).toBe('Failed');
    expect(await pendingIds(stores.outbox)).toEqual([`${eventId('job:job-1:BackupFailed')}.ops`]);
    expect(ended.map((j) => j.status)).toEqual(['Failed']);
  });

  it('keeps the event of a crash between the outbox write and the job write, and raises it once on the retry', async () => {
    const { stores, inner, jobs } = setup(1);
    await stores.channels.put(channel('ops'));
    await jobs.create(job);
    await expect(jobs.patch('job-1', failure)).rejects.toThrow('host died');
    expect((await inner.get('job-1'))?.status).toBe('InProgress');
    expect(stores.outbox.events).toHaveLength(1);
    await jobs.patch('job-1', failure);
    expect((await inner.get('job-1'))?.status).toBe('Failed');
    expect(stores.outbox.events).toHaveLength(1);
    expect(await pendingIds(stores.outbox)).toHaveLength(1);
  });

  it('does not raise again when a job that ended is written with the same status', async () => {
    const { stores, jobs, ended } = setup();
    await stores.channels.put(channel('ops'));
    await jobs.create(job);
    await jobs.patch('job-1', failure);
    await jobs.patch('job-1', failure);
    expect(stores.outbox.events).toHaveLength(1);
    expect(ended).toHaveLength(1);
  });

  it('raises for a job created already ended (the watchdog records missed slots so)', async () => {
    const { stores, jobs } = setup();
    await stores.channels.put(channel('ops'));
    await jobs.create({
      ...job,
      id: 'missed-1',
      trigger: 'Scheduled',
      status: 'Failed',
      error: { code: 'UserErrorBackupMissed', message: 'no backup ran', hint: 'check the host' },
    });
    expect(stores.outbox.events.map((e) => e.name)).toEqual(['BackupMissed']);
  });
});
