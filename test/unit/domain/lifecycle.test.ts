import { describe, expect, it } from 'vitest';
import { lifecycleOf } from '../../../shared/domain/lifecycle';
import type { Policy } from '../../../shared/domain/types';
import { buildPolicy, gfsPolicy } from './retention-support';

describe('lifecycleOf', () => {
  it.each([
    ['P3M from 31 January ends on 30 April', 'P3M', 'UTC', '2023-01-31T02:00:00.000Z', '2023-04-30T02:00:00.000Z'],
    [
      'P3M from 31 January ends on 30 April at the same Berlin wall time across the DST change',
      'P3M',
      'Europe/Berlin',
      '2024-01-31T00:30:00.000Z', // 01:30 CET
      '2024-04-29T23:30:00.000Z', // 01:30 CEST on 30 April
    ],
    [
      'P3M from 30 November reaches 29 February in a leap year',
      'P3M',
      'UTC',
      '2023-11-30T02:00:00.000Z',
      '2024-02-29T02:00:00.000Z',
    ],
    ['P1Y from 29 February ends on 28 February', 'P1Y', 'UTC', '2024-02-29T02:00:00.000Z', '2025-02-28T02:00:00.000Z'],
    ['P4Y from 29 February ends on 29 February', 'P4Y', 'UTC', '2024-02-29T02:00:00.000Z', '2028-02-29T02:00:00.000Z'],
    [
      'P7D across the New York fall-back keeps the wall time (a 169-hour week)',
      'P7D',
      'America/New_York',
      '2024-10-29T06:00:00.000Z', // 02:00 EDT
      '2024-11-05T07:00:00.000Z', // 02:00 EST
    ],
  ])('%s', (_rule, vault, zone, time, vaultUntil) => {
    const policy = buildPolicy({ Default: { vault } }, zone);
    expect(lifecycleOf(policy, time, 'Default')).toEqual({ vaultUntil, movesToArchive: false, deleteAt: vaultUntil });
  });

  it('counts the archive lifetime from the scheduled move: six months in the vault, then 24 in the archive', () => {
    const policy = buildPolicy({ Default: { vault: 'P3M' }, Monthly: { vault: 'P6M', archive: 'P24M' } });
    expect(lifecycleOf(policy, '2024-01-15T22:00:00.000Z', 'Monthly')).toEqual({
      vaultUntil: '2024-07-15T22:00:00.000Z',
      movesToArchive: true,
      deleteAt: '2026-07-15T22:00:00.000Z',
    });
  });

  it('adds the archive lifetime on the local calendar from the month-end clamped move date', () => {
    // 31 August + P6M = 29 February 2024 (clamped); + P1M from there = 29 March, not 31 March.
    const policy = buildPolicy({ Default: { vault: 'P3M' }, Monthly: { vault: 'P6M', archive: 'P1M' } });
    const lc = lifecycleOf(policy, '2023-08-31T02:00:00.000Z', 'Monthly');
    expect(lc.vaultUntil).toBe('2024-02-29T02:00:00.000Z');
    expect(lc.deleteAt).toBe('2024-03-29T02:00:00.000Z');
  });

  it('uses the rule of the tag the point carries', () => {
    const policy = gfsPolicy('UTC');
    const time = '2024-01-01T02:00:00.000Z';
    expect(lifecycleOf(policy, time, 'Default').deleteAt).toBe('2024-01-15T02:00:00.000Z');
    expect(lifecycleOf(policy, time, 'Weekly').deleteAt).toBe('2024-02-26T02:00:00.000Z');
    expect(lifecycleOf(policy, time, 'Yearly')).toEqual({
      vaultUntil: '2025-01-01T02:00:00.000Z',
      movesToArchive: true,
      deleteAt: '2034-01-01T02:00:00.000Z',
    });
  });

  it('answers the same question twice with the same dates (the cache is keyed by tag and time)', () => {
    const policy = gfsPolicy('Europe/Berlin');
    const first = lifecycleOf(policy, '2024-03-31T00:30:00.000Z', 'Monthly');
    expect(lifecycleOf(policy, '2024-03-31T00:30:00.000Z', 'Weekly')).not.toEqual(first);
    expect(lifecycleOf(policy, '2024-03-31T00:30:00.000Z', 'Monthly')).toEqual(first);
  });

  it('refuses a tag without a retention rule with a policy error naming the tag', () => {
    const policy = buildPolicy({ Default: { vault: 'P3M' } });
    expect(() => lifecycleOf(policy, '2024-01-01T00:00:00.000Z', 'Monthly')).toThrow(
      /tag 'Monthly': no retention rule/,
    );
  });

  it('refuses a copy-on-expiry rule without an ArchiveStore lifecycle', () => {
    const base = buildPolicy({ Default: { vault: 'P3M' }, Monthly: { vault: 'P6M', archive: 'P24M' } });
    const monthly = base.retention.Monthly!;
    const broken: Policy = {
      ...base,
      retention: { ...base.retention, Monthly: { ...monthly, lifecycles: monthly.lifecycles.slice(0, 1) } },
    };
    expect(() => lifecycleOf(broken, '2024-01-01T00:00:00.000Z', 'Monthly')).toThrow(/no ArchiveStore lifecycle/);
  });
});
