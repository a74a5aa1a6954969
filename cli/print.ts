// The one text printer: tables, field lists, local times, sizes and error reports. The JSON printer is emit()'s other
// branch: it prints the API's answer exactly as it came.

import { Temporal } from 'temporal-polyfill';
import type { CliIo } from './io';

/** Columns padded to their widest cell, two spaces apart, trailing blanks trimmed; `header` first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `label: value` lines with the values aligned; entries whose value is undefined are left out. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[]): string {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}

/** The local time zone (TZ honoured). */
export function localZone(): string {
  return Temporal.Now.timeZoneId();
}

/** An ISO instant in the local zone, to the second (`2026-03-01 14:05:09`); anything unparsable as it is. */
export function localTime(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '-';
  try {
    return Temporal.Instant.from(iso)
      .toZonedDateTimeISO(localZone())
      .toPlainDateTime()
      .toString({ smallestUnit: 'second' })
      .replace('T', ' ');
  } catch {
    return iso;
  }
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units with one decimal from KiB on: `512 B`, `8.0 MiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An ISO 8601 duration as people write it: PT1H2M3S → 1h2m3s; anything else as it is. */
export function formatDuration(iso: string | undefined): string {
  if (iso === undefined) return '-';
  return /^PT(\d+H)?(\d+M)?(\d+S)?$/.test(iso) && iso !== 'PT' ? iso.slice(2).toLowerCase() : iso;
}

/** Seconds as `1h02m`, `4m05s` or `12s`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** What a failure says, in the API's terms: the error body's fields, or a job's `error`. */
export interface ErrorReport {
  readonly code?: string;
  readonly message: string;
  readonly target?: string;
  readonly details?: readonly { code?: string; message: string; target?: string; remediation?: string }[];
  readonly hint?: string;
}

/** `pgkeep: <code>: <message>`, one indented line per detail (with its remediation), then `hint: …`. */
export function formatError(report: ErrorReport): string {
  const lines = [`pgkeep: ${report.code ? `${report.code}: ` : ''}${report.message}`];
  for (const d of report.details ?? []) {
    const code = d.code && d.code !== report.code ? ` (${d.code})` : '';
    lines.push(`  ${d.target ? `${d.target}: ` : ''}${d.message}${code}`);
    if (d.remediation) lines.push(...d.remediation.split('\n').map((l) => `      ${l}`));
  }
  if (report.hint) lines.push(`hint: ${report.hint}`);
  return `${lines.join('\n')}\n`;
}

/** An API answer as a command prints it. */
export interface Printable {
  /** The answer's body exactly as the API sent it. */
  readonly text: string;
}

/** The one choice between the two printers: the API's JSON exactly (--json), or the command's text view. */
export function emit(io: CliIo, json: boolean, answer: Printable, view: () => string): void {
  if (json) {
    io.stdout(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
    return;
  }
  const text = view();
  io.stdout(text.endsWith('\n') ? text : `${text}\n`);
}
