import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, it } from 'vitest';
import { PgkeepError } from '../../../shared/errors';
import { tagForBackup, type TaggedPoint } from '../../../shared/domain/tagging';
import { buildPolicy, gfsPolicy } from './retention-support';

const scheduled = (time: string, tag: TaggedPoint['tag'] = 'Default'): TaggedPoint => ({
  time,
  tag,
  trigger: 'Scheduled',
});

describe('tagForBackup', () => {
  const berlin = gfsPolicy('Europe/Berlin');
  const newYork = gfsPolicy('America/New_York');

  it('tags the first scheduled backup ever Yearly: the highest-priority criterion it meets wins', () => {
    expect(tagForBackup(berlin, '2024-05-06T00:30:00.000Z', [], 'Scheduled')).toBe('Yearly');
  });

  it.each([
    // [zone policy, existing, new point, expected, why]
    [
      'Berlin Monday 00:30 local is a new ISO week although it is still Sunday in UTC',
      berlin,
      ['2024-05-05T20:00:00.000Z', '2024-05-02T08:00:00.000Z'],
      '2024-05-05T22:30:00.000Z',
      'Weekly',
    ],
    [
      'Berlin Sunday 23:30 local belongs to the week that started on Monday',
      berlin,
      ['2024-04-29T08:00:00.000Z', '2024-05-02T08:00:00.000Z'],
      '2024-05-05T21:30:00.000Z',
      'Default',
    ],
    [
      'New York 31 March 23:00 EDT is still March although it is April in UTC',
      newYork,
      ['2024-03-01T12:00:00.000Z', '2024-03-25T12:00:00.000Z'],
      '2024-04-01T03:00:00.000Z',
      'Default',
    ],
    [
      'New York 1 April 01:00 EDT is the first of April',
      newYork,
      ['2024-03-01T12:00:00.000Z', '2024-04-01T03:00:00.000Z'],
      '2024-04-01T05:00:00.000Z',
      'Monthly',
    ],
    [
      'Berlin 1 January 00:30 local is the first of the year although UTC still says 31 December',
      berlin,
      ['2024-12-30T10:00:00.000Z'],
      '2024-12-31T23:30:00.000Z',
      'Yearly',
    ],
    [
      'Berlin 31 December 23:30 local is not the first of the new year',
      berlin,
      ['2024-01-01T10:00:00.000Z', '2024-12-30T10:00:00.000Z', '2024-12-01T10:00:00.000Z'],
      '2024-12-31T22:30:00.000Z',
      'Default',
    ],
    [
      'a first of month whose week is taken is Monthly, not Weekly (Monthly outranks Weekly)',
      berlin,
      ['2024-04-29T08:00:00.000Z', '2024-01-03T08:00:00.000Z'],
      '2024-05-01T08:00:00.000Z',
      'Monthly',
    ],
    [
      'an ISO week that began in December is taken by a December point in the first days of January',
      buildPolicy({ Default: { vault: 'P7D' }, Weekly: { vault: 'P4W' } }, 'Europe/Berlin'),
      ['2024-12-30T08:00:00.000Z'],
      '2025-01-02T08:00:00.000Z',
      'Default',
    ],
  ] as const)('%s', (_why, policy, existing, time, expected) => {
    expect(
      tagForBackup(
        policy,
        time,
        existing.map((t) => scheduled(t)),
        'Scheduled',
      ),
    ).toBe(expected);
  });

  it('tags the first of a month that starts on a DST change day by the zone calendar (New York, 1 Nov 2026)', () => {
    // 1 November 2026 is a Sunday and the day New York leaves daylight saving time at 02:00 EDT.
    const existing = [scheduled('2026-10-01T12:00:00.000Z'), scheduled('2026-11-01T03:59:00.000Z')]; // Oct 31 23:59 EDT
    const firstOfNovember = '2026-11-01T05:30:00.000Z'; // 01:30 EDT, the earlier of the two 01:30s
    expect(tagForBackup(newYork, firstOfNovember, existing, 'Scheduled')).toBe('Monthly');
    const secondOneThirty = '2026-11-01T06:30:00.000Z'; // 01:30 EST, one hour later
    expect(tagForBackup(newYork, secondOneThirty, [...existing, scheduled(firstOfNovember)], 'Scheduled')).toBe(
      'Default',
    );
  });

  it('tags the first of a month that starts on a DST change day (Berlin spring-forward on 31 March shifts the month start)', () => {
    // Berlin's month starts at 22:00Z or 23:00Z depending on the offset at local midnight.
    const existing = [scheduled('2024-03-04T08:00:00.000Z')];
    expect(tagForBackup(berlin, '2024-03-31T21:59:00.000Z', existing, 'Scheduled')).toBe('Weekly'); // 23:59 CEST
    expect(tagForBackup(berlin, '2024-03-31T22:00:00.000Z', existing, 'Scheduled')).toBe('Monthly'); // 00:00 CEST
  });

  it('gives the slot to the first successful backup when the first attempt of the month failed', () => {
    const policy = gfsPolicy('UTC');
    // 1 May 02:00 failed, so it never reached `existing`; the 3 May backup is the first successful one.
    const existing = [scheduled('2024-04-29T02:00:00.000Z', 'Weekly'), scheduled('2024-01-01T02:00:00.000Z', 'Yearly')];
    expect(tagForBackup(policy, '2024-05-03T02:00:00.000Z', existing, 'Scheduled')).toBe('Monthly');
  });

  it('tags a scheduled backup that ran late by its own time, not by its slot', () => {
    // Scheduled 31 May 23:00 Berlin, retried and taken 1 June 01:00 Berlin: the first point of June.
    const existing = [scheduled('2024-05-27T08:00:00.000Z'), scheduled('2024-01-02T08:00:00.000Z')];
    expect(tagForBackup(berlin, '2024-05-31T23:00:00.000Z', existing, 'Scheduled')).toBe('Monthly');
  });

  it('gives an on-demand backup the override, or Default, never a first-of tag', () => {
    expect(tagForBackup(berlin, '2024-05-01T08:00:00.000Z', [], 'OnDemand')).toBe('Default');
    expect(tagForBackup(berlin, '2024-05-01T08:00:00.000Z', [], 'OnDemand', 'Monthly')).toBe('Monthly');
  });

  it('does not let an on-demand backup consume the month slot of the next scheduled backup', () => {
    const onDemand: TaggedPoint = { time: '2024-05-01T08:00:00.000Z', tag: 'Monthly', trigger: 'OnDemand' };
    const existing = [onDemand, scheduled('2024-01-01T08:00:00.000Z', 'Yearly')];
    expect(tagForBackup(berlin, '2024-05-02T08:00:00.000Z', existing, 'Scheduled')).toBe('Monthly');
  });

  it('ignores the override for a scheduled backup: the policy decides', () => {
    expect(tagForBackup(berlin, '2024-05-01T08:00:00.000Z', [], 'Scheduled', 'Default')).toBe('Yearly');
  });

  it('refuses an override naming a tag the policy has no rule for', () => {
    const weeklyOnly = buildPolicy({ Default: { vault: 'P7D' }, Weekly: { vault: 'P4W' } });
    const call = (): unknown => tagForBackup(weeklyOnly, '2024-05-01T08:00:00.000Z', [], 'OnDemand', 'Yearly');
    expect(call).toThrow(PgkeepError);
    expect(call).toThrow(/no retention rule for tag 'Yearly'/);
  });

  it('tags the first of the month Weekly when the policy has no Monthly tag', () => {
    const weeklyOnly = buildPolicy({ Default: { vault: 'P7D' }, Weekly: { vault: 'P4W' } });
    const existing = [scheduled('2024-04-24T08:00:00.000Z')];
    expect(tagForBackup(weeklyOnly, '2024-05-01T08:00:00.000Z', existing, 'Scheduled')).toBe('Weekly');
  });

  it('tags everything Default when the policy has only the Default tag', () => {
    const plain = buildPolicy({ Default: { vault: 'P3M' } });
    expect(tagForBackup(plain, '2024-01-01T08:00:00.000Z', [], 'Scheduled')).toBe('Default');
  });

  it('accepts existing points in any order', () => {
    const existing = [scheduled('2024-05-02T08:00:00.000Z'), scheduled('2023-05-09T08:00:00.000Z')];
    expect(tagForBackup(berlin, '2024-05-01T08:00:00.000Z', existing.reverse(), 'Scheduled')).toBe('Default');
  });

  const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'UTC', 'Pacific/Apia'];

  it('gives each month one Monthly-or-Yearly point, the first successful one, and each year one Yearly (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.array(fc.integer({ min: 1, max: 9 * 24 * 60 }), { minLength: 1, maxLength: 150 }),
        fc.array(fc.boolean(), { minLength: 150, maxLength: 150 }),
        (zone, gapsInMinutes, failed) => {
          const policy = gfsPolicy(zone);
          const tagged: TaggedPoint[] = [];
          let t = Date.UTC(2023, 10, 20);
          gapsInMinutes.forEach((gap, i) => {
            t += gap * 60_000;
            if (failed[i]) return; // a failed backup never becomes a point
            const time = new Date(t).toISOString();
            tagged.push(scheduled(time, tagForBackup(policy, time, tagged, 'Scheduled')));
          });
          const local = (p: TaggedPoint): Temporal.ZonedDateTime =>
            Temporal.Instant.from(p.time).toZonedDateTimeISO(zone);
          const firstOf = (key: (z: Temporal.ZonedDateTime) => string): Map<string, string> => {
            const first = new Map<string, string>();
            for (const p of tagged) if (!first.has(key(local(p)))) first.set(key(local(p)), p.time);
            return first;
          };
          const monthKey = (z: Temporal.ZonedDateTime): string => `${z.year}-${z.month}`;
          const yearKey = (z: Temporal.ZonedDateTime): string => `${z.year}`;
          const weekKey = (z: Temporal.ZonedDateTime): string => `${z.yearOfWeek}-W${z.weekOfYear}`;
          const firstOfMonth = new Set(firstOf(monthKey).values());
          const firstOfYear = new Set(firstOf(yearKey).values());
          const firstOfWeek = new Set(firstOf(weekKey).values());
          for (const p of tagged) {
            const expected = firstOfYear.has(p.time)
              ? 'Yearly'
              : firstOfMonth.has(p.time)
                ? 'Monthly'
                : firstOfWeek.has(p.time)
                  ? 'Weekly'
                  : 'Default';
            expect(p.tag).toBe(expected);
          }
          const yearly = tagged.filter((p) => p.tag === 'Yearly').map((p) => yearKey(local(p)));
          expect(new Set(yearly).size).toBe(yearly.length);
          const monthly = tagged.filter((p) => p.tag === 'Monthly').map((p) => monthKey(local(p)));
          expect(new Set(monthly).size).toBe(monthly.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
