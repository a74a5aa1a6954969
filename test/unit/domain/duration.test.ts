// Durations: ISO 8601 parsing, local-calendar addition across month ends, leap years and DST, limit comparison.
import { describe, expect, test } from 'vitest';
import {
  addDuration,
  describeDuration,
  durationOf,
  formatDuration,
  isAtLeast,
  parseDuration,
} from '../../../shared/domain/duration';
import type { IsoDuration } from '../../../shared/domain/types';

function d(text: string): IsoDuration {
  const parsed = parseDuration(text);
  if (parsed === undefined) throw new Error(`test setup: ${text} does not parse`);
  return parsed;
}

describe('parseDuration', () => {
  test.each([
    ['P7D', { days: 7 }],
    ['P8W', { weeks: 8 }],
    ['P3M', { months: 3 }],
    ['P2Y', { years: 2 }],
    ['P1Y6M', { years: 1, months: 6 }],
    ['P1DT12H', { days: 1, hours: 12 }],
    ['PT30M', { minutes: 30 }],
    ['PT45S', { seconds: 45 }],
    ['P24M', { months: 24 }],
    ['P1Y2M3W4DT5H6M7S', { years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 }],
    ['P0D', {}],
  ])('reads %s into its calendar parts', (text, parts) => {
    expect(parseDuration(text)).toEqual({ ...durationOf(parts), text });
  });

  test.each([
    '',
    'P',
    'PT',
    'P1DT',
    '7D',
    'P-7D',
    '-P7D',
    'P1.5Y',
    'PT0.5S',
    'p7d',
    'P7',
    'P1M1Y',
    'P1H',
    'PT1D',
    ' P7D',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  test('refuses numbers too large to be exact', () => {
    expect(parseDuration('P99999999999999999999D')).toBeUndefined();
  });
});

describe('formatDuration', () => {
  test.each(['P7D', 'P1Y6M', 'P1DT12H', 'PT30M', 'P8W', 'P24M', 'P1Y2M3W4DT5H6M7S'])(
    'writes %s back as it was read',
    (text) => {
      expect(formatDuration(d(text))).toBe(text);
    },
  );

  test('writes a zero duration as P0D', () => {
    expect(formatDuration(durationOf({}))).toBe('P0D');
  });
});

describe('describeDuration', () => {
  test('names each part with its unit for messages', () => {
    expect(describeDuration(d('P7D'))).toBe('7 days');
    expect(describeDuration(d('P1Y6M'))).toBe('1 year 6 months');
  });
});

describe('addDuration', () => {
  test.each([
    // [start UTC, duration, zone, expected UTC]
    ['2024-01-31T10:00:00Z', 'P1M', 'UTC', '2024-02-29T10:00:00.000Z'],
    ['2023-01-31T10:00:00Z', 'P1M', 'UTC', '2023-02-28T10:00:00.000Z'],
    ['2024-01-31T10:00:00Z', 'P3M', 'UTC', '2024-04-30T10:00:00.000Z'],
    ['2024-02-29T10:00:00Z', 'P1Y', 'UTC', '2025-02-28T10:00:00.000Z'],
    ['2024-02-29T10:00:00Z', 'P4Y', 'UTC', '2028-02-29T10:00:00.000Z'],
    ['2024-01-31T10:00:00Z', 'P1Y1M', 'UTC', '2025-02-28T10:00:00.000Z'],
  ])('keeps the day of month within the month: %s + %s', (start, duration, zone, expected) => {
    expect(addDuration(start, d(duration), zone)).toBe(expected);
  });

  test('adds months on the local calendar: 31 Jan 10:00 Berlin + P3M = 30 Apr 10:00 Berlin (summer time)', () => {
    // 31 Jan 10:00 CET = 09:00Z; 30 Apr 10:00 CEST = 08:00Z.
    expect(addDuration('2024-01-31T09:00:00Z', d('P3M'), 'Europe/Berlin')).toBe('2024-04-30T08:00:00.000Z');
  });

  test('keeps local time across the spring-forward change in Europe/Berlin', () => {
    // Sat 30 Mar 2024 12:00 CET (11:00Z) + P1D = Sun 31 Mar 12:00 CEST (10:00Z): 23 hours later.
    expect(addDuration('2024-03-30T11:00:00Z', d('P1D'), 'Europe/Berlin')).toBe('2024-03-31T10:00:00.000Z');
    expect(addDuration('2024-03-24T11:00:00Z', d('P1W'), 'Europe/Berlin')).toBe('2024-03-31T10:00:00.000Z');
  });

  test('keeps local time across the fall-back change in America/New_York', () => {
    // Sat 2 Nov 2024 09:00 EDT (13:00Z) + P1D = Sun 3 Nov 09:00 EST (14:00Z): 25 hours later.
    expect(addDuration('2024-11-02T13:00:00Z', d('P1D'), 'America/New_York')).toBe('2024-11-03T14:00:00.000Z');
    expect(addDuration('2024-08-03T13:00:00Z', d('P3M'), 'America/New_York')).toBe('2024-11-03T14:00:00.000Z');
  });

  test('counts hours as elapsed time, not wall time, across a DST change', () => {
    // Sat 30 Mar 2024 12:00 CET + PT24H is 24 real hours later, 13:00 CEST local.
    expect(addDuration('2024-03-30T11:00:00Z', d('PT24H'), 'Europe/Berlin')).toBe('2024-03-31T11:00:00.000Z');
  });

  test('moves a local time that lands in a DST gap forward by the gap', () => {
    // Sat 30 Mar 2024 02:30 CET (01:30Z) + P1D = 02:30 on 31 Mar, which does not exist: 03:30 CEST (01:30Z).
    expect(addDuration('2024-03-30T01:30:00Z', d('P1D'), 'Europe/Berlin')).toBe('2024-03-31T01:30:00.000Z');
  });

  test('takes the earlier instant when the local time is ambiguous', () => {
    // Sat 26 Oct 2024 02:30 CEST (00:30Z) + P1D = 02:30 on 27 Oct, twice: the first is CEST (00:30Z).
    expect(addDuration('2024-10-26T00:30:00Z', d('P1D'), 'Europe/Berlin')).toBe('2024-10-27T00:30:00.000Z');
  });

  test('accepts instants with an offset and answers in UTC with milliseconds', () => {
    expect(addDuration('2024-01-07T01:30:00+01:00', d('P7D'), 'UTC')).toBe('2024-01-14T00:30:00.000Z');
  });
});

describe('isAtLeast', () => {
  test.each([
    ['P7D', 'P7D', true],
    ['P1W', 'P7D', true],
    ['P6D', 'P7D', false],
    ['PT168H', 'P7D', true],
    ['P24M', 'P2Y', true],
    ['P2Y', 'P24M', true],
    ['P23M', 'P2Y', false],
    ['P6M', 'P6M', true],
    ['P1Y', 'P6M', true],
    ['P10Y', 'P10Y', true],
    ['P9Y12M', 'P10Y', true],
    ['P10Y1D', 'P10Y', true],
    // Mixed units hold only if they hold from every start date.
    ['P26W', 'P6M', false], // 182 days; six months can be 184
    ['P184D', 'P6M', true],
    ['P183D', 'P6M', false],
    ['P1M', 'P28D', true], // a month is never shorter than 28 days
    ['P1M', 'P29D', false],
    ['P10Y', 'P3650D', true],
    ['P10Y', 'P3651D', false], // conservative: years count as 365 days against the longer side
  ])('%s is at least %s: %s', (a, b, expected) => {
    expect(isAtLeast(d(a), d(b))).toBe(expected);
  });
});
