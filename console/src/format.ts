// How the console writes times, sizes and durations: times in the browser's zone (UTC on hover), sizes in binary
// units, durations from the API's ISO 8601 form in words.

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const localDate = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const utc = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function localTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : local.format(d);
}

export function localDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : localDate.format(d);
}

/** The hover text of a time: its UTC reading. */
export function utcTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${utc.format(d)} UTC`;
}

/** "in 3 days", "5 minutes ago". */
export function relativeTime(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000 * 365, 'year'],
    [86_400_000 * 30, 'month'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const n = Math.round(abs / size);
      const phrase = `${n} ${unit}${n === 1 ? '' : 's'}`;
      return ms < 0 ? `${phrase} ago` : `in ${phrase}`;
    }
  }
  return ms < 0 ? 'just now' : 'in a moment';
}

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

/** PT1H2M3S → "1 h 2 min 3 s". */
export function isoDuration(text: string | undefined): string {
  const m = text ? /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text) : null;
  if (!m) return text ?? '—';
  const [, h, min, s] = m;
  const parts = [h && `${h} h`, min && `${min} min`, s && `${Math.round(Number(s))} s`].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

export function seconds(total: number): string {
  if (!Number.isFinite(total) || total < 0) return '—';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.round(total % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

export function count(n: number): string {
  return new Intl.NumberFormat().format(n);
}

/** The last segment of an ARM-style id, or the id itself. */
export function lastSegment(id: string): string {
  return id.split('/').filter(Boolean).at(-1) ?? id;
}

/** "…/servers/pg1/databases/orders" → "pg1"; any other id as it is. */
export function serverOf(resourceID: string): string {
  const m = /\/(?:flexibleServers|servers)\/([^/]+)/i.exec(resourceID);
  return m?.[1] ?? resourceID;
}
