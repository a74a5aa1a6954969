// Time zone names: IANA ids pass through, Windows names map through CLDR's windowsZones, the rest are unknown.
import windowsZones from 'cldr-core/supplemental/windowsZones.json';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, test } from 'vitest';
import { resolveTimeZone } from '../../../shared/domain/timezone';

describe('resolveTimeZone', () => {
  test.each(['Europe/Berlin', 'America/New_York', 'UTC', 'Etc/UTC', 'Asia/Kolkata', 'Australia/Lord_Howe'])(
    'passes the IANA id %s through',
    (name) => {
      expect(resolveTimeZone(name)).toBe(name);
    },
  );

  test('normalises the case of an IANA id', () => {
    expect(resolveTimeZone('europe/berlin')).toBe('Europe/Berlin');
  });

  test.each([
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['Eastern Standard Time', 'America/New_York'],
    ['GMT Standard Time', 'Europe/London'],
    ['Pacific Standard Time', 'America/Los_Angeles'],
    ['India Standard Time', 'Asia/Calcutta'],
    ['AUS Eastern Standard Time', 'Australia/Sydney'],
  ])('maps the Windows name %s to %s', (name, iana) => {
    expect(resolveTimeZone(name)).toBe(iana);
  });

  test('maps the Windows name UTC to the IANA id UTC', () => {
    expect(resolveTimeZone('UTC')).toBe('UTC');
  });

  test('matches Windows names regardless of case and surrounding spaces', () => {
    expect(resolveTimeZone(' w. europe standard time ')).toBe('Europe/Berlin');
  });

  test('maps every Windows name in the CLDR table to a zone Temporal can use', () => {
    // The CLDR table is data we did not write: a row Temporal cannot use must not reach the scheduler.
    const names = windowsZones.supplemental.windowsZones.mapTimezones
      .map((entry) => entry.mapZone)
      .filter((zone) => zone._territory === '001')
      .map((zone) => zone._other);
    expect(names.length).toBeGreaterThan(100);
    for (const name of names) {
      const iana = resolveTimeZone(name);
      expect(iana, name).toBeDefined();
      expect(() => Temporal.Now.zonedDateTimeISO(iana ?? '')).not.toThrow();
    }
  });

  test.each(['', 'Nowhere/City', 'Middle Earth Standard Time', '+01:00', 'UTC+01:00', 'CET+1'])(
    'answers undefined for the unknown name %j',
    (name) => {
      expect(resolveTimeZone(name)).toBeUndefined();
    },
  );
});
