import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lifecycleOf } from '../../../shared/domain/lifecycle';
import {
  minimumLengthMs,
  planRetention,
  previewRetention,
  type ProtectionState,
} from '../../../shared/domain/retention';
import { addDuration } from '../../../shared/domain/duration';
import type { PointView, RetentionAction, TagName } from '../../../shared/domain/types';
import { buildPolicy, duration, gfsPolicy, point } from './retention-support';

// Monthly: six months in the vault, then 24 in the archive. Default: three months, never archived.
const policy = buildPolicy({ Default: { vault: 'P3M' }, Monthly: { vault: 'P6M', archive: 'P24M' } }, 'Europe/Berlin');
const jan15 = '2024-01-15T01:00:00.000Z';
const monthlyVaultUntil = '2024-07-15T00:00:00.000Z'; // 02:00 CEST
const monthlyDeleteAt = '2026-07-15T00:00:00.000Z';
const defaultDeleteAt = '2024-04-15T00:00:00.000Z'; // 02:00 CEST
const newest = point('newest', '2030-01-01T00:00:00.000Z'); // keeps the floor off the points under test

function ms(iso: string, deltaMs: number): string {
  return new Date(Date.parse(iso) + deltaMs).toISOString();
}

/** What the expiry executor does with a plan: moved → ArchiveStore, deleted → gone, rehydrated copy expired. */
function apply(points: readonly PointView[], actions: readonly RetentionAction[]): PointView[] {
  const byId = new Map(points.map((p) => [p.id, p]));
  for (const a of actions) {
    const p = byId.get(a.pointId)!;
    if (a.kind === 'delete') byId.delete(a.pointId);
    else if (a.kind === 'moveToArchive') byId.set(a.pointId, { ...p, dataStore: 'ArchiveStore', archivedAt: a.due });
    else byId.set(a.pointId, { ...p, rehydratedUntil: undefined });
  }
  return [...byId.values()];
}

describe('planRetention', () => {
  it('moves a point to the archive at the first instant ≥ its vault expiry, not one millisecond before', () => {
    const points = [point('m', jan15, { tag: 'Monthly' }), newest];
    expect(planRetention(points, policy, ms(monthlyVaultUntil, -1), 'Protected')).toEqual([]);
    expect(planRetention(points, policy, monthlyVaultUntil, 'Protected')).toEqual([
      { kind: 'moveToArchive', pointId: 'm', due: monthlyVaultUntil },
    ]);
  });

  it('deletes an archived point at the first instant ≥ its deleteAt, counted from the scheduled move', () => {
    // Moved three weeks late by an expiry run that did not happen: the lifetime still counts from vaultUntil.
    const points = [
      point('m', jan15, { tag: 'Monthly', dataStore: 'ArchiveStore', archivedAt: '2024-08-05T00:00:00.000Z' }),
      newest,
    ];
    expect(planRetention(points, policy, ms(monthlyDeleteAt, -1), 'Protected')).toEqual([]);
    expect(planRetention(points, policy, monthlyDeleteAt, 'Protected')).toEqual([
      { kind: 'delete', pointId: 'm', due: monthlyDeleteAt, reason: 'expired' },
    ]);
  });

  it('deletes a point past both expiries directly, never moving it first', () => {
    const points = [point('m', jan15, { tag: 'Monthly' }), newest];
    expect(planRetention(points, policy, '2027-01-01T00:00:00.000Z', 'Protected')).toEqual([
      { kind: 'delete', pointId: 'm', due: monthlyDeleteAt, reason: 'expired' },
    ]);
  });

  it('deletes a point whose rule does not archive when its vault lifetime ends', () => {
    const points = [point('d', jan15), newest];
    expect(planRetention(points, policy, ms(defaultDeleteAt, -1), 'Protected')).toEqual([]);
    expect(planRetention(points, policy, defaultDeleteAt, 'Protected')).toEqual([
      { kind: 'delete', pointId: 'd', due: defaultDeleteAt, reason: 'expired' },
    ]);
  });

  it('finishes an interrupted delete (status Deleting) whatever its dates say', () => {
    const points = [point('d', jan15, { status: 'Deleting' }), newest];
    expect(planRetention(points, policy, '2024-02-01T00:00:00.000Z', 'Protected')).toEqual([
      { kind: 'delete', pointId: 'd', due: '2024-02-01T00:00:00.000Z', reason: 'expired' },
    ]);
    expect(planRetention(points, policy, '2024-06-01T00:00:00.000Z', 'Protected')).toEqual([
      { kind: 'delete', pointId: 'd', due: defaultDeleteAt, reason: 'expired' },
    ]);
  });

  it('ignores points already Deleted', () => {
    const points = [point('gone', jan15, { status: 'Deleted' }), newest];
    expect(planRetention(points, policy, '2029-01-01T00:00:00.000Z', 'Protected')).toEqual([]);
  });

  it('expires a rehydrated copy at the first instant ≥ rehydratedUntil', () => {
    const until = '2025-03-10T00:00:00.000Z';
    const points = [point('m', jan15, { tag: 'Monthly', dataStore: 'ArchiveStore', rehydratedUntil: until }), newest];
    expect(planRetention(points, policy, ms(until, -1), 'Protected')).toEqual([]);
    expect(planRetention(points, policy, until, 'Protected')).toEqual([
      { kind: 'expireRehydrated', pointId: 'm', due: until },
    ]);
  });

  it('leaves a point a restore is reading alone: no move, no delete, no rehydrated-copy expiry', () => {
    const inUse = { inUseUntil: '2028-01-01T00:00:00.000Z', rehydratedUntil: '2025-01-01T00:00:00.000Z' };
    const points = [point('m', jan15, { tag: 'Monthly', ...inUse }), point('d', jan15, inUse), newest];
    expect(planRetention(points, policy, '2027-06-01T00:00:00.000Z', 'Protected')).toEqual([]);
    expect(planRetention(points, policy, '2027-06-01T00:00:00.000Z', 'StoppedDeleteData')).toEqual([
      { kind: 'delete', pointId: 'newest', due: '2027-06-01T00:00:00.000Z', reason: 'protectionStoppedDeleteData' },
    ]);
    expect(planRetention(points, policy, '2028-01-01T00:00:00.000Z', 'Protected').map((a) => a.pointId)).toEqual([
      'd',
      'm',
    ]);
  });

  it('never deletes the newest Available point of a protected instance, even past its expiry', () => {
    const points = [
      point('old', '2024-01-01T01:00:00.000Z'),
      point('last', jan15),
      point('broken', '2024-02-01T00:00:00.000Z', { status: 'Deleting' }),
    ];
    const now = '2025-01-01T00:00:00.000Z';
    expect(planRetention(points, policy, now, 'Protected').map((a) => a.pointId)).toEqual(['old', 'broken']);
  });

  it('still moves the floor point to the archive when its rule says so', () => {
    const points = [point('m', jan15, { tag: 'Monthly' })];
    expect(planRetention(points, policy, '2027-01-01T00:00:00.000Z', 'Protected')).toEqual([
      { kind: 'moveToArchive', pointId: 'm', due: monthlyVaultUntil },
    ]);
  });

  it('keeps no floor once protection is stopped: points expire by their own dates', () => {
    const points = [point('last', jan15)];
    expect(planRetention(points, policy, defaultDeleteAt, 'Stopped')).toEqual([
      { kind: 'delete', pointId: 'last', due: defaultDeleteAt, reason: 'expired' },
    ]);
    expect(planRetention(points, policy, ms(defaultDeleteAt, -1), 'Stopped')).toEqual([]);
  });

  it('deletes every point now when protection stopped with deleteBackupData', () => {
    const now = '2024-02-01T00:00:00.000Z';
    const points = [point('b', jan15, { tag: 'Monthly', dataStore: 'ArchiveStore' }), point('a', jan15), newest];
    expect(planRetention(points, policy, now, 'StoppedDeleteData')).toEqual(
      ['a', 'b', 'newest'].map((pointId) => ({
        kind: 'delete',
        pointId,
        due: now,
        reason: 'protectionStoppedDeleteData',
      })),
    );
  });

  it('orders actions by point time, then id', () => {
    const points = [point('c', '2024-01-02T00:00:00.000Z'), point('b', jan15), point('a', jan15), newest];
    expect(planRetention(points, policy, '2025-01-01T00:00:00.000Z', 'Protected').map((a) => a.pointId)).toEqual([
      'c',
      'a',
      'b',
    ]);
  });

  it('keeps a point whose tag the policy no longer has by the Default rule', () => {
    const points = [point('y', jan15, { tag: 'Yearly' }), newest];
    expect(planRetention(points, policy, defaultDeleteAt, 'Protected')).toEqual([
      { kind: 'delete', pointId: 'y', due: defaultDeleteAt, reason: 'expired' },
    ]);
  });

  it('plans 100,000 live points of a ten-year GFS history, acting on only the few that are due', () => {
    // The steady state expiry sees every day: each point somewhere inside its own lifetime, a few of them due.
    const gfs = gfsPolicy('Europe/Berlin');
    const now = Date.parse('2034-06-01T00:00:00.000Z');
    const lifetimeDays: Record<TagName, [vault: number, total: number]> = {
      Default: [14, 14],
      Weekly: [56, 56],
      Monthly: [91, 91 + 730],
      Yearly: [365, 3652],
    };
    const tags: TagName[] = ['Default', 'Weekly', 'Monthly', 'Yearly'];
    const points = Array.from({ length: 100_000 }, (_, i) => {
      const tag = tags[i % tags.length]!;
      const [vault, total] = lifetimeDays[tag];
      const ageDays = ((i * 7919) % (total * 100)) / 100;
      return point(`p${i}`, new Date(now - ageDays * 86_400_000).toISOString(), {
        tag,
        dataStore: ageDays > vault + 1 && vault !== total ? 'ArchiveStore' : 'VaultStore',
      });
    });
    const actions = planRetention(points, gfs, new Date(now).toISOString(), 'Protected');
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.length).toBeLessThan(5000);
  });
  it('plans 100,000 points that are all due (expiry after a long outage), deleting every one', () => {
    const gfs = gfsPolicy('Europe/Berlin');
    const tags: TagName[] = ['Default', 'Weekly', 'Monthly', 'Yearly'];
    const start = Date.UTC(2005, 0, 1);
    const points = Array.from({ length: 100_000 }, (_, i) =>
      point(`p${i}`, new Date(start + i * 1_800_000).toISOString(), { tag: tags[i % tags.length]! }),
    );
    const actions = planRetention(points, gfs, '2030-01-01T00:00:00.000Z', 'Stopped');
    expect(actions).toHaveLength(100_000);
  });
});

describe('minimumLengthMs', () => {
  it.each(['P7D', 'P1M', 'P3M', 'P1Y', 'P10Y', 'P1Y6M', 'P8W', 'PT12H'])(
    'is never longer than %s added on any calendar date in a DST zone',
    (text) => {
      const d = duration(text);
      for (let day = 0; day < 366 * 4; day += 1) {
        const start = new Date(Date.UTC(2023, 0, 1) + day * 86_400_000 + 1_800_000).toISOString();
        for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
          const end = Date.parse(addDuration(start, d, zone));
          expect(end - Date.parse(start)).toBeGreaterThanOrEqual(minimumLengthMs(d));
        }
      }
    },
  );
});

describe('previewRetention', () => {
  it('shows each point with its tag, tier, move and delete dates, floor and the action at asOf', () => {
    const points = [
      point('m', jan15, { tag: 'Monthly' }),
      point('d', jan15),
      point('gone', jan15, { status: 'Deleted' }),
      point('last', '2024-06-01T00:00:00.000Z'),
    ];
    const asOf = '2024-07-20T00:00:00.000Z';
    expect(previewRetention(points, policy, asOf, 'Protected')).toEqual([
      {
        id: 'd',
        time: jan15,
        tag: 'Default',
        dataStore: 'VaultStore',
        status: 'Available',
        deleteAt: defaultDeleteAt,
        floorProtected: false,
        actionsAtAsOf: [{ kind: 'delete', pointId: 'd', due: defaultDeleteAt, reason: 'expired' }],
      },
      {
        id: 'm',
        time: jan15,
        tag: 'Monthly',
        dataStore: 'VaultStore',
        status: 'Available',
        movesToArchiveAt: monthlyVaultUntil,
        deleteAt: monthlyDeleteAt,
        floorProtected: false,
        actionsAtAsOf: [{ kind: 'moveToArchive', pointId: 'm', due: monthlyVaultUntil }],
      },
      {
        id: 'last',
        time: '2024-06-01T00:00:00.000Z',
        tag: 'Default',
        dataStore: 'VaultStore',
        status: 'Available',
        deleteAt: '2024-09-01T00:00:00.000Z',
        floorProtected: true,
        actionsAtAsOf: [],
      },
    ]);
  });

  it('lists exactly the actions planRetention returns at the same instant', () => {
    const points = [
      point('m', jan15, { tag: 'Monthly' }),
      point('d', jan15),
      point('r', '2024-03-01T00:00:00.000Z', { status: 'Deleting' }),
    ];
    const asOf = '2024-08-01T00:00:00.000Z';
    const fromPreview = previewRetention(points, policy, asOf, 'Protected').flatMap((e) => e.actionsAtAsOf);
    expect(fromPreview).toEqual(planRetention(points, policy, asOf, 'Protected'));
  });
});

// Random instances: points over three years, all tags, both tiers, some in use, some rehydrated, some Deleting.
const day = 86_400_000;
const base = Date.UTC(2022, 0, 1);
const gfsBerlin = gfsPolicy('Europe/Berlin');
const arbPoint = fc.record({
  offsetMinutes: fc.integer({ min: 0, max: 3 * 365 * 24 * 60 }),
  tag: fc.constantFrom<TagName>('Default', 'Weekly', 'Monthly', 'Yearly'),
  archived: fc.boolean(),
  status: fc.constantFrom<PointView['status']>('Available', 'Available', 'Available', 'Deleting', 'Deleted'),
  inUseDays: fc.option(fc.integer({ min: -30, max: 30 }), { freq: 4 }),
  rehydratedDays: fc.option(fc.integer({ min: -30, max: 30 }), { freq: 4 }),
});
const arbCase = fc.record({
  raw: fc.array(arbPoint, { maxLength: 60 }),
  nowDays: fc.integer({ min: 0, max: 12 * 365 }),
  protection: fc.constantFrom<ProtectionState>('Protected', 'Stopped', 'StoppedDeleteData'),
});

type Case = typeof arbCase extends fc.Arbitrary<infer C> ? C : never;

function instance(raw: Case): { now: string; points: PointView[]; protection: ProtectionState } {
  const now = new Date(base + raw.nowDays * day).toISOString();
  const points: PointView[] = raw.raw.map((r, i) => {
    const time = new Date(base + r.offsetMinutes * 60_000).toISOString();
    return point(`p${String(i).padStart(3, '0')}`, time, {
      tag: r.tag,
      dataStore: r.archived && gfsBerlin.retention[r.tag]!.lifecycles.length > 1 ? 'ArchiveStore' : 'VaultStore',
      status: r.status,
      ...(r.inUseDays === null ? {} : { inUseUntil: new Date(Date.parse(now) + r.inUseDays * day).toISOString() }),
      ...(r.rehydratedDays === null
        ? {}
        : { rehydratedUntil: new Date(Date.parse(now) + r.rehydratedDays * day).toISOString() }),
    });
  });
  return { now, points, protection: raw.protection };
}

describe('planRetention invariants (property)', () => {
  it('deletes nothing before its deleteAt except on StoppedDeleteData or an interrupted delete', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { now, points, protection } = instance(c);
        const byId = new Map(points.map((p) => [p.id, p]));
        for (const a of planRetention(points, gfsBerlin, now, protection)) {
          const p = byId.get(a.pointId)!;
          if (a.kind !== 'delete' || protection === 'StoppedDeleteData' || p.status === 'Deleting') continue;
          expect(Date.parse(now)).toBeGreaterThanOrEqual(Date.parse(lifecycleOf(gfsBerlin, p.time, p.tag).deleteAt));
          expect(a.due).toBe(lifecycleOf(gfsBerlin, p.time, p.tag).deleteAt);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves nothing before its vaultUntil and only vault points whose rule archives them', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { now, points, protection } = instance(c);
        const byId = new Map(points.map((p) => [p.id, p]));
        for (const a of planRetention(points, gfsBerlin, now, protection)) {
          if (a.kind !== 'moveToArchive') continue;
          const p = byId.get(a.pointId)!;
          const lc = lifecycleOf(gfsBerlin, p.time, p.tag);
          expect(lc.movesToArchive).toBe(true);
          expect(p.dataStore).toBe('VaultStore');
          expect(Date.parse(now)).toBeGreaterThanOrEqual(Date.parse(lc.vaultUntil));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never deletes the newest Available point of a protected instance, and never touches a point in use', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { now, points, protection } = instance(c);
        const actions = planRetention(points, gfsBerlin, now, protection);
        const available = points.filter((p) => p.status === 'Available');
        const newestAvailable = available.reduce<PointView | undefined>(
          (best, p) =>
            best === undefined || p.time > best.time || (p.time === best.time && p.id > best.id) ? p : best,
          undefined,
        );
        if (protection === 'Protected' && newestAvailable !== undefined) {
          expect(actions.filter((a) => a.kind === 'delete' && a.pointId === newestAvailable.id)).toEqual([]);
        }
        const inUse = new Set(points.filter((p) => p.inUseUntil !== undefined && p.inUseUntil > now).map((p) => p.id));
        expect(actions.filter((a) => inUse.has(a.pointId))).toEqual([]);
        const gone = new Set(points.filter((p) => p.status === 'Deleted').map((p) => p.id));
        expect(actions.filter((a) => gone.has(a.pointId))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('plans nothing more at the same instant once its plan is applied (idempotent)', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { now, points, protection } = instance(c);
        const first = planRetention(points, gfsBerlin, now, protection);
        expect(planRetention(apply(points, first), gfsBerlin, now, protection)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('gives each point at most one move or delete, in time-then-id order', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { now, points, protection } = instance(c);
        const actions = planRetention(points, gfsBerlin, now, protection);
        const tiering = actions.filter((a) => a.kind !== 'expireRehydrated').map((a) => a.pointId);
        expect(new Set(tiering).size).toBe(tiering.length);
        const timeOf = new Map(points.map((p) => [p.id, p.time]));
        const keys = actions.map((a) => `${timeOf.get(a.pointId)!}|${a.pointId}`);
        expect(keys).toEqual([...keys].sort());
      }),
      { numRuns: 300 },
    );
  });
});
