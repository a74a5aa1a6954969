// Schedule expansion: weekly slots at the start's local weekday and time, DST gaps and overlaps, bounds, catch-up.
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, test } from 'vitest';
import {
  lastOccurrenceAtOrBefore,
  localSlotOf,
  occurrences,
  parseRepeatingInterval,
} from '../../../shared/domain/schedule';
import type { RepeatingInterval, Schedule } from '../../../shared/domain/types';

function interval(text: string): RepeatingInterval {
  const parsed = parseRepeatingInterval(text);
  if (!parsed.ok) throw new Error(`test setup: ${parsed.message}`);
  return parsed.value;
}

function weekly(timeZone: string, ...starts: string[]): Schedule {
  return { timeZone, timeZoneAsWritten: timeZone, intervals: starts.map((s) => interval(`R/${s}/P1W`)) };
}

describe('parseRepeatingInterval', () => {
  test('keeps the start as written and as a UTC instant', () => {
    expect(interval('R/2024-01-07T01:30:00+01:00/P1W')).toMatchObject({
      text: 'R/2024-01-07T01:30:00+01:00/P1W',
      start: '2024-01-07T01:30:00+01:00',
      startUtc: '2024-01-07T00:30:00.000Z',
      period: { text: 'P1W', weeks: 1 },
    });
  });

  test('accepts Z as the offset', () => {
    expect(interval('R/2024-01-07T01:30:00Z/P1W').startUtc).toBe('2024-01-07T01:30:00.000Z');
  });

  test.each([
    ['R/2024-01-07T01:30:00+01:00/P1D', 'only weekly (P1W)'],
    ['R/2024-01-07T01:30:00+01:00/P2W', 'only weekly (P1W)'],
    ['R/2024-01-07T01:30:00+01:00/P7D', 'only weekly (P1W)'],
    ['R/2024-01-07T01:30:00+01:00/week', "period 'week' is not an ISO 8601 duration"],
    ['R5/2024-01-07T01:30:00+01:00/P1W', 'repetition count (R5)'],
    ['X/2024-01-07T01:30:00+01:00/P1W', 'must start with R/'],
    ['R/2024-01-07T01:30:00/P1W', 'needs a UTC offset or Z'],
    ['R/2024-13-07T01:30:00+01:00/P1W', 'is not an ISO 8601 date-time'],
    ['R/tomorrow/P1W', 'is not an ISO 8601 date-time'],
    ['R/2024-01-07T01:30:00+01:00', 'expected R/<start>/P1W'],
    ['', 'expected R/<start>/P1W'],
  ])('refuses %j, saying %j', (text, message) => {
    const parsed = parseRepeatingInterval(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  test('names the refused period in the message', () => {
    const parsed = parseRepeatingInterval('R/2024-01-07T01:30:00+01:00/P1D');
    expect(parsed).toEqual({
      ok: false,
      message:
        "'R/2024-01-07T01:30:00+01:00/P1D': period P1D is not supported: only weekly (P1W) schedules are supported",
    });
  });
});

describe('localSlotOf', () => {
  test('is the weekday and time of the start in the policy zone, not in the offset it was written with', () => {
    // Sunday 22:00 UTC is Monday 00:00 in Berlin (summer time).
    expect(localSlotOf(interval('R/2021-08-15T22:00:00+00:00/P1W'), 'Europe/Berlin')).toEqual({
      dayOfWeek: 1,
      time: '00:00:00',
    });
  });
});

describe('occurrences', () => {
  test.each([
    {
      rule: 'a Sunday 02:30 Berlin slot moves to 03:30 on the spring-forward Sunday (gap)',
      schedule: weekly('Europe/Berlin', '2024-01-07T02:30:00+01:00'),
      from: '2024-03-20T00:00:00Z',
      to: '2024-04-10T00:00:00Z',
      expected: ['2024-03-24T01:30:00.000Z', '2024-03-31T01:30:00.000Z', '2024-04-07T00:30:00.000Z'],
    },
    {
      rule: 'a Sunday 02:30 Berlin slot takes the earlier (CEST) 02:30 on the fall-back Sunday (overlap)',
      schedule: weekly('Europe/Berlin', '2024-01-07T02:30:00+01:00'),
      from: '2024-10-19T00:00:00Z',
      to: '2024-11-04T00:00:00Z',
      expected: ['2024-10-20T00:30:00.000Z', '2024-10-27T00:30:00.000Z', '2024-11-03T01:30:00.000Z'],
    },
    {
      rule: 'a Sunday 02:30 New York slot moves to 03:30 on the spring-forward Sunday (gap)',
      schedule: weekly('America/New_York', '2024-01-07T02:30:00-05:00'),
      from: '2024-03-01T00:00:00Z',
      to: '2024-03-20T00:00:00Z',
      expected: ['2024-03-03T07:30:00.000Z', '2024-03-10T07:30:00.000Z', '2024-03-17T06:30:00.000Z'],
    },
    {
      rule: 'a Sunday 01:30 New York slot takes the earlier (EDT) 01:30 on the fall-back Sunday (overlap)',
      schedule: weekly('America/New_York', '2024-01-07T01:30:00-05:00'),
      from: '2024-10-26T00:00:00Z',
      to: '2024-11-12T00:00:00Z',
      expected: ['2024-10-27T05:30:00.000Z', '2024-11-03T05:30:00.000Z', '2024-11-10T06:30:00.000Z'],
    },
    {
      rule: 'several entries fire on several weekdays, merged in time order',
      schedule: weekly('Europe/Berlin', '2024-01-10T01:30:00+01:00', '2024-01-07T01:30:00+01:00'),
      from: '2024-01-01T00:00:00Z',
      to: '2024-01-22T00:00:00Z',
      expected: [
        '2024-01-07T00:30:00.000Z',
        '2024-01-10T00:30:00.000Z',
        '2024-01-14T00:30:00.000Z',
        '2024-01-17T00:30:00.000Z',
        '2024-01-21T00:30:00.000Z',
      ],
    },
    {
      rule: 'nothing is scheduled before the start instant',
      schedule: weekly('UTC', '2024-01-10T12:00:00Z'),
      from: '2023-12-01T00:00:00Z',
      to: '2024-01-18T00:00:00Z',
      expected: ['2024-01-10T12:00:00.000Z', '2024-01-17T12:00:00.000Z'],
    },
    {
      rule: 'a start written as the later instant of an overlap is not preceded by the earlier one',
      schedule: weekly('Europe/Berlin', '2024-10-27T02:30:00+01:00'),
      from: '2024-10-20T00:00:00Z',
      to: '2024-11-04T00:00:00Z',
      expected: ['2024-11-03T01:30:00.000Z'],
    },
    {
      rule: 'from is inclusive and to is exclusive',
      schedule: weekly('UTC', '2024-01-07T02:00:00Z'),
      from: '2024-01-14T02:00:00Z',
      to: '2024-01-28T02:00:00Z',
      expected: ['2024-01-14T02:00:00.000Z', '2024-01-21T02:00:00.000Z'],
    },
    {
      rule: 'an empty window has no occurrences',
      schedule: weekly('UTC', '2024-01-07T02:00:00Z'),
      from: '2024-01-14T02:00:00Z',
      to: '2024-01-14T02:00:00Z',
      expected: [],
    },
    {
      rule: 'the weekday is taken in the policy zone: Sunday 22:00 UTC is a Monday 00:00 slot in Berlin',
      schedule: weekly('Europe/Berlin', '2021-08-15T22:00:00+00:00'),
      from: '2024-01-01T00:00:00Z',
      to: '2024-01-16T00:00:00Z',
      expected: ['2024-01-07T23:00:00.000Z', '2024-01-14T23:00:00.000Z'],
    },
  ])('$rule', ({ schedule, from, to, expected }) => {
    expect(occurrences(schedule, from, to)).toEqual(expected);
  });

  test('keeps the slot across ten years without drifting', () => {
    const found = occurrences(
      weekly('Europe/Berlin', '2024-01-07T01:30:00+01:00'),
      '2033-12-01T00:00:00Z',
      '2034-01-01T00:00:00Z',
    );
    expect(found).toEqual([
      '2033-12-04T00:30:00.000Z',
      '2033-12-11T00:30:00.000Z',
      '2033-12-18T00:30:00.000Z',
      '2033-12-25T00:30:00.000Z',
    ]);
  });
});

describe('lastOccurrenceAtOrBefore', () => {
  const schedule = weekly('Europe/Berlin', '2024-01-07T02:30:00+01:00', '2024-01-10T01:30:00+01:00');

  test('is the slot itself when asked at the slot', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-03-31T01:30:00.000Z')).toBe('2024-03-31T01:30:00.000Z');
  });

  test('is the previous slot one millisecond before a slot', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-03-31T01:29:59.999Z')).toBe('2024-03-27T00:30:00.000Z');
  });

  test('picks the latest among several entries', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-04-05T00:00:00Z')).toBe('2024-04-02T23:30:00.000Z');
  });

  test('is undefined before the schedule starts', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-01-07T01:29:59.999Z')).toBeUndefined();
  });

  test('is the start at the start', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-01-07T01:30:00Z')).toBe('2024-01-07T01:30:00.000Z');
  });

  test('finds the earlier-instant slot on a fall-back Sunday', () => {
    expect(lastOccurrenceAtOrBefore(schedule, '2024-10-27T01:00:00Z')).toBe('2024-10-27T00:30:00.000Z');
  });
});

describe('schedule properties', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'UTC',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'America/Sao_Paulo',
  ];
  const minMs = Date.UTC(2000, 0, 1);
  const maxMs = Date.UTC(2035, 0, 1);
  const dayMs = 86_400_000;

  const arbInstant = fc.integer({ min: minMs, max: maxMs }).map((ms) => ms - (ms % 60_000));
  const arbSchedule = fc
    .record({ zone: fc.constantFrom(...zones), starts: fc.array(arbInstant, { minLength: 1, maxLength: 3 }) })
    .map(({ zone, starts }) => weekly(zone, ...starts.map((ms) => new Date(ms).toISOString())));
  const arbWindow = fc
    .record({ from: arbInstant, lengthDays: fc.integer({ min: 0, max: 400 }) })
    .map(({ from, lengthDays }) => ({ from, to: from + lengthDays * dayMs }));

  const iso = (ms: number): string => new Date(ms).toISOString();

  test('occurrences are sorted, unique, within [from, to) and never before their schedule starts', () => {
    fc.assert(
      fc.property(arbSchedule, arbWindow, (schedule, { from, to }) => {
        const found = occurrences(schedule, iso(from), iso(to)).map((s) => Date.parse(s));
        const earliestStart = Math.min(...schedule.intervals.map((i) => Date.parse(i.startUtc)));
        for (let i = 0; i < found.length; i++) {
          const at = found[i] ?? NaN;
          expect(at).toBeGreaterThanOrEqual(from);
          expect(at).toBeLessThan(to);
          expect(at).toBeGreaterThanOrEqual(earliestStart);
          if (i > 0) expect(at).toBeGreaterThan(found[i - 1] ?? NaN);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("every occurrence is at an entry's local weekday and time, unless that local time falls in a gap", () => {
    fc.assert(
      fc.property(arbSchedule, arbWindow, (schedule, { from, to }) => {
        const slots = schedule.intervals.map((i) => localSlotOf(i, schedule.timeZone));
        for (const at of occurrences(schedule, iso(from), iso(to))) {
          const local = Temporal.Instant.from(at).toZonedDateTimeISO(schedule.timeZone);
          const matches = slots.some((slot) => {
            const wanted = local.toPlainDate().toPlainDateTime(Temporal.PlainTime.from(slot.time));
            if (local.dayOfWeek === slot.dayOfWeek && local.toPlainTime().toString() === slot.time) return true;
            // In a gap the wall time does not exist: the slot moves forward by the gap's length.
            const inGap = (() => {
              try {
                wanted.toZonedDateTime(schedule.timeZone, { disambiguation: 'reject' });
                return false;
              } catch {
                return true;
              }
            })();
            const resolved = wanted.toZonedDateTime(schedule.timeZone, { disambiguation: 'compatible' });
            return inGap && resolved.toInstant().equals(local.toInstant());
          });
          expect(matches, `${at} in ${schedule.timeZone}`).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('one entry fires once a week: consecutive occurrences are 7 days apart give or take a DST shift', () => {
    fc.assert(
      fc.property(arbSchedule, arbWindow, (schedule, { from, to }) => {
        const single: Schedule = { ...schedule, intervals: schedule.intervals.slice(0, 1) };
        const found = occurrences(single, iso(from), iso(to)).map((s) => Date.parse(s));
        for (let i = 1; i < found.length; i++) {
          const gapHours = ((found[i] ?? NaN) - (found[i - 1] ?? NaN)) / 3_600_000;
          expect(gapHours).toBeGreaterThanOrEqual(7 * 24 - 2);
          expect(gapHours).toBeLessThanOrEqual(7 * 24 + 2);
        }
        const start = Date.parse(single.intervals[0]?.startUtc ?? '');
        const coveredFrom = Math.max(from, start);
        if (to - coveredFrom >= 7 * dayMs + 2 * 3_600_000) expect(found.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  test('splitting a window in two gives the same occurrences', () => {
    fc.assert(
      fc.property(arbSchedule, arbWindow, fc.double({ min: 0, max: 1, noNaN: true }), (schedule, w, cut) => {
        const mid = Math.floor(w.from + (w.to - w.from) * cut);
        const whole = occurrences(schedule, iso(w.from), iso(w.to));
        const halves = [...occurrences(schedule, iso(w.from), iso(mid)), ...occurrences(schedule, iso(mid), iso(w.to))];
        expect(halves).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  test('lastOccurrenceAtOrBefore is the last occurrence up to and including that instant', () => {
    fc.assert(
      fc.property(arbSchedule, arbInstant, (schedule, atMs) => {
        const window = occurrences(schedule, iso(atMs - 15 * dayMs), iso(atMs + 1));
        expect(lastOccurrenceAtOrBefore(schedule, iso(atMs))).toBe(window.at(-1));
      }),
      { numRuns: 200 },
    );
  });
});
