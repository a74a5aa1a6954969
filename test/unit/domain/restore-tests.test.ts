import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dueSlot,
  isLeftover,
  LEFTOVER_GRACE_MS,
  lastSlot,
  ownedScratch,
  parseScratchComment,
  scratchComment,
  scratchDatabaseName,
  selectPoint,
  type SelectablePoint,
} from '../../../shared/domain/restore-tests';

const NOW = '2026-06-15T12:00:00.000Z';
const point = (id: string, time: string, extra: Partial<SelectablePoint> = {}): SelectablePoint => ({
  id,
  time,
  status: 'Available',
  dataStore: 'VaultStore',
  ...extra,
});

describe('selectPoint', () => {
  const points = [
    point('old', '2025-01-01T00:00:00Z', { dataStore: 'ArchiveStore' }),
    point('spring', '2026-03-01T00:00:00Z'),
    point('newest-deleting', '2026-06-14T00:00:00Z', { status: 'Deleting' }),
    point('june', '2026-06-10T00:00:00Z'),
  ];

  it('takes the newest Available point for latest, archived or not', () => {
    expect(selectPoint(points, 'latest', NOW, 'job')?.id).toBe('june');
    expect(selectPoint([points[0]!], 'latest', NOW, 'job')?.id).toBe('old');
    expect(selectPoint([], 'latest', NOW, 'job')).toBeUndefined();
  });

  it('draws only among Available points inside the window, the same point for the same seed', () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const chosen = selectPoint(points, { random: { window: 'P6M' } }, NOW, seed);
        expect(['spring', 'june']).toContain(chosen?.id);
        expect(selectPoint(points, { random: { window: 'P6M' } }, NOW, seed)).toEqual(chosen);
      }),
    );
    expect(selectPoint(points, { random: { window: 'P2Y' } }, NOW, 'x')).toBeDefined();
    expect(selectPoint(points, { random: { window: 'P1D' } }, NOW, 'x')).toBeUndefined();
  });

  it('reaches every point of the window over many seeds (old and archived ones included)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(selectPoint(points, { random: { window: 'P2Y' } }, NOW, `job-${i}`)!.id);
    expect([...seen].sort()).toEqual(['june', 'old', 'spring']);
  });
});

describe('lastSlot and dueSlot', () => {
  it('finds the latest NCRONTAB slot at or before now in the plan time zone', () => {
    expect(lastSlot('0 0 3 * * *', 'UTC', NOW)).toBe('2026-06-15T03:00:00.000Z');
    expect(lastSlot('0 0 3 * * *', 'W. Europe Standard Time', NOW)).toBe('2026-06-15T01:00:00.000Z');
    expect(lastSlot('0 0 12 * * *', 'UTC', NOW)).toBe(NOW);
  });

  it('owes a run only for a slot newer than the last one started and than the plan', () => {
    const plan = { schedule: '0 0 3 * * *', timeZone: 'UTC', enabled: true, createdAt: '2026-06-01T00:00:00Z' };
    expect(dueSlot(plan, undefined, NOW)).toBe('2026-06-15T03:00:00.000Z');
    expect(dueSlot(plan, '2026-06-15T03:00:00.000Z', NOW)).toBeUndefined();
    expect(dueSlot({ ...plan, createdAt: '2026-06-15T04:00:00Z' }, undefined, NOW)).toBeUndefined();
    expect(dueSlot({ ...plan, enabled: false }, undefined, NOW)).toBeUndefined();
    expect(dueSlot({ timeZone: 'UTC', enabled: true, createdAt: plan.createdAt }, undefined, NOW)).toBeUndefined();
  });
});

describe('scratch databases', () => {
  it('names a scratch database pgkeep_verify_<job> within 63 bytes', () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const name = scratchDatabaseName(id);
        expect(name).toMatch(/^pgkeep_verify_[a-z0-9]+$/);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      }),
    );
  });

  it('recognises a database as a test’s own only when its name and its comment name the same job', () => {
    const mark = { jobId: '6f1c2d3e-aaaa-bbbb-cccc-0123456789ab', instanceName: 'orders', deadline: NOW };
    const comment = scratchComment(mark);
    expect(parseScratchComment(comment)).toEqual(mark);
    expect(ownedScratch(scratchDatabaseName(mark.jobId), comment)).toEqual(mark);
    expect(ownedScratch(scratchDatabaseName('another-job'), comment)).toBeUndefined();
    expect(ownedScratch(scratchDatabaseName(mark.jobId), null)).toBeUndefined();
    expect(ownedScratch(scratchDatabaseName(mark.jobId), 'customer data, keep')).toBeUndefined();
    expect(ownedScratch('orders', comment)).toBeUndefined();
  });

  it('treats a scratch database as a leftover when its job ended or is unknown, or ran past its deadline and grace', () => {
    const mark = { jobId: 'j', instanceName: 'orders', deadline: NOW };
    expect(isLeftover(mark, 'Succeeded', NOW)).toBe(true);
    expect(isLeftover(mark, 'Failed', NOW)).toBe(true);
    expect(isLeftover(mark, undefined, NOW)).toBe(true);
    expect(isLeftover(mark, 'InProgress', NOW)).toBe(false);
    const later = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();
    expect(isLeftover(mark, 'InProgress', later(LEFTOVER_GRACE_MS))).toBe(false);
    expect(isLeftover(mark, 'InProgress', later(LEFTOVER_GRACE_MS + 1000))).toBe(true);
  });
});
