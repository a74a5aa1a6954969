// Timer schedules as the host reads them: 6-field NCRONTAB in WEBSITE_TIME_ZONE, or an hh:mm:ss interval.
import { describe, expect, it } from 'vitest';
import { parseSchedule, resolveTimerZone } from '../../devhost/triggers/timer';

describe('parseSchedule', () => {
  it('puts seconds first and refuses 5-field cron', () => {
    expect(parseSchedule('30 0 * * * *', 'UTC').next(new Date('2024-01-01T10:00:00Z'))).toEqual(
      new Date('2024-01-01T10:00:30Z'),
    );
    expect(() => parseSchedule('0 */5 * * *', 'UTC')).toThrow(/6-field NCRONTAB/);
  });

  it('computes occurrences in the configured zone across daylight saving', () => {
    const s = parseSchedule('0 0 9 * * *', resolveTimerZone('W. Europe Standard Time'));
    expect(s.next(new Date('2024-01-15T00:00:00Z'))).toEqual(new Date('2024-01-15T08:00:00Z'));
    expect(s.next(new Date('2024-07-15T00:00:00Z'))).toEqual(new Date('2024-07-15T07:00:00Z'));
  });

  it('requires both day-of-month and day-of-week to match, as NCRONTAB does', () => {
    const fridayThe13th = parseSchedule('0 0 0 13 * Fri', 'UTC');
    expect(fridayThe13th.next(new Date('2024-01-01T00:00:00Z'))).toEqual(new Date('2024-09-13T00:00:00Z'));
  });

  it('accepts the hh:mm:ss interval form', () => {
    const s = parseSchedule('00:00:30', 'UTC');
    expect(s.next(new Date('2024-01-01T00:00:00Z'))).toEqual(new Date('2024-01-01T00:00:30Z'));
    expect(s.intervalMs()).toBe(30_000);
  });

  it('measures the recurrence so sub-minute schedules are not monitored by default', () => {
    expect(parseSchedule('*/1 * * * * *', 'UTC').intervalMs()).toBe(1000);
    expect(parseSchedule('0 */5 * * * *', 'UTC').intervalMs()).toBe(300_000);
  });
});

describe('resolveTimerZone', () => {
  it('defaults to UTC, keeps IANA names, maps Windows names, and refuses anything else', () => {
    expect(resolveTimerZone(undefined)).toBe('UTC');
    expect(resolveTimerZone('America/New_York')).toBe('America/New_York');
    expect(resolveTimerZone('Eastern Standard Time')).toBe('America/New_York');
    expect(() => resolveTimerZone('Mars/Olympus')).toThrow(/WEBSITE_TIME_ZONE "Mars\/Olympus"/);
  });
});
