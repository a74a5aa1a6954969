// Maps a policy's time zone (an IANA id, or a Windows name as Azure writes it) to the IANA id Temporal uses.
// Windows names come from Unicode CLDR's maintained windowsZones table (territory "001"), never a hand-typed list.
import { Temporal } from 'temporal-polyfill';
import windowsZonesJson from 'cldr-core/supplemental/windowsZones.json';

interface MapZone {
  readonly _other: string;
  readonly _type: string;
  readonly _territory: string;
}

const windowsToIana: ReadonlyMap<string, string> = buildWindowsMap(
  windowsZonesJson.supplemental.windowsZones.mapTimezones.map((entry) => entry.mapZone as MapZone),
);

function buildWindowsMap(zones: readonly MapZone[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const zone of zones) {
    // Territory 001 is CLDR's "golden zone" for a Windows name: exactly one IANA id per Windows name.
    if (zone._territory === '001') map.set(zone._other.toLowerCase(), zone._type);
  }
  return map;
}

/** The IANA id for an IANA name or a Windows name; undefined if neither. Offsets like "+01:00" are not zones. */
export function resolveTimeZone(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed === '' || /^[+-]/.test(trimmed)) return undefined;
  return ianaId(trimmed) ?? windowsToIana.get(trimmed.toLowerCase());
}

function ianaId(name: string): string | undefined {
  try {
    return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(name).timeZoneId;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}
