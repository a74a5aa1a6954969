import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDuration, durationOf } from '../../../shared/domain/duration';
import { fastAddDuration } from '../../../shared/domain/fast-calendar';
import { duration } from './retention-support';

// Zones with the awkward cases: 30-minute DST (Lord Howe), DST at midnight (Santiago, Havana), negative DST (Dublin),
// Ramadan suspensions (Casablanca), a skipped date (Apia, 2011), no DST (Kolkata), and UTC.
const zones = [
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'America/Santiago',
  'America/Havana',
  'Europe/Dublin',
  'Africa/Casablanca',
  'Pacific/Apia',
  'Asia/Kolkata',
  'UTC',
];

describe('fastAddDuration', () => {
  it('equals addDuration for any instant, duration and zone (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2005, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.record({
          years: fc.integer({ min: 0, max: 10 }),
          months: fc.integer({ min: 0, max: 30 }),
          weeks: fc.integer({ min: 0, max: 10 }),
          days: fc.integer({ min: 0, max: 40 }),
          hours: fc.integer({ min: 0, max: 30 }),
          minutes: fc.integer({ min: 0, max: 90 }),
          seconds: fc.constantFrom(0, 1, 59),
        }),
        (zone, ms, parts) => {
          const start = new Date(ms).toISOString();
          const d = durationOf(parts);
          expect(fastAddDuration(start, d, zone)).toBe(addDuration(start, d, zone));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['month end constrained', '2024-01-31T00:30:00.000Z', 'P1M', 'Europe/Berlin'],
    ['into a spring-forward gap', '2024-02-10T07:30:00.000Z', 'P1M', 'America/New_York'], // 02:30 EST → gap on 10 Mar
    ['into a fall-back overlap', '2024-10-03T05:30:00.000Z', 'P1M', 'America/New_York'], // 01:30 EDT → 3 Nov
    ['across the skipped Samoan date', '2011-12-29T10:00:00.000Z', 'P1D', 'Pacific/Apia'],
    ['leap day to leap day', '2024-02-29T12:00:00.000Z', 'P4Y', 'UTC'],
  ])('equals addDuration %s', (_case, start, text, zone) => {
    expect(fastAddDuration(start, duration(text), zone)).toBe(addDuration(start, duration(text), zone));
  });
});
