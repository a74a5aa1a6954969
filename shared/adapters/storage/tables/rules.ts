// Store rules that do not depend on Table Storage, shared by the adapters and the in-memory fakes so both keep the
// same contract: size limits, recovery point ids versus times, the job list window and the terminal-status guard.

import { PgkeepError } from '../../../errors';
import {
  recoveryPointIdTime,
  type JobFilter,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type RecoveryPointRecord,
} from '../../../ports';

/** Table Storage caps one string property at 64 KiB of UTF-16; we stay below it with room to spare. */
export const MAX_PROPERTY_BYTES = 60 * 1024;

/** The size Table Storage counts for a string property (UTF-16 code units × 2). */
export function tableStringBytes(value: string): number {
  return value.length * 2;
}

/** The policy document as stored, refused when it would not fit one Table property. */
export function policyDocumentJson(name: string, document: Record<string, unknown>): string {
  const json = JSON.stringify(document);
  if (tableStringBytes(json) > MAX_PROPERTY_BYTES) {
    throw new PgkeepError('UserErrorInvalidPolicy', `policy ${name} is too large to store`, {
      target: '$',
      hint: `a policy document may take at most ${MAX_PROPERTY_BYTES / 1024} KiB (as UTF-16); remove unused rules or descriptions`,
    });
  }
  return json;
}

/** The record's epoch ms, checked against its id (the id encodes the time so reads and ranges need no index). */
export function checkRecoveryPointId(point: Pick<RecoveryPointRecord, 'id' | 'time' | 'instanceName'>): number {
  const idMs = recoveryPointIdTime(point.id);
  if (idMs === undefined || idMs !== Date.parse(point.time)) {
    throw new RangeError(
      `recovery point ${point.id} of ${point.instanceName} is not recoveryPointId(time, suffix) of its time`,
    );
  }
  return idMs;
}

/** Parses an ISO bound; PgkeepError naming the bound when it is not a time. */
export function boundMs(value: string | undefined, target: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new PgkeepError('UserErrorInvalidRequest', `${target} is not an ISO 8601 time`, { target });
  return ms;
}

/** JobStore.list's default window: the last 7 days when `from` is not given. */
export const DEFAULT_JOB_WINDOW_MS = 7 * 24 * 3_600_000;

export function jobWindow(filter: JobFilter, now: Date): { fromMs: number; toMs: number | undefined } {
  return {
    fromMs: boundMs(filter.from, 'from') ?? now.getTime() - DEFAULT_JOB_WINDOW_MS,
    toMs: boundMs(filter.to, 'to'),
  };
}

export const terminalStatuses: readonly JobStatus[] = ['Succeeded', 'Failed', 'Cancelled'];

export type JobPatch = Parameters<JobStore['patch']>[1];

/**
 * What of `fields` may be written to a job whose stored status is `current`. Once a job is terminal, progress
 * writes and non-terminal statuses are late heartbeats from a worker that lost the race: they are dropped, so a
 * finished job never goes back to InProgress. Everything else merges (last writer wins per field).
 */
export function guardJobPatch(current: JobStatus, fields: JobPatch): JobPatch {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (terminalStatuses.includes(current)) {
      if (key === 'progress') continue;
      if (key === 'status' && !terminalStatuses.includes(value as JobStatus)) continue;
    }
    kept[key] = value;
  }
  return kept;
}

/**
 * Warnings that fit one Table property: when there are too many (an expiry over thousands of points), the first
 * ones are kept and a last warning says how many were left out.
 */
export function fitWarnings(warnings: NonNullable<JobRecord['warnings']>): NonNullable<JobRecord['warnings']> {
  if (tableStringBytes(JSON.stringify(warnings)) <= MAX_PROPERTY_BYTES) return warnings;
  const kept: { code: string; message: string }[] = [];
  const budget = MAX_PROPERTY_BYTES - 512;
  let bytes = 2;
  for (const w of warnings) {
    const size = tableStringBytes(JSON.stringify(w)) + 2;
    if (bytes + size > budget) break;
    kept.push(w);
    bytes += size;
  }
  kept.push({ code: 'WarningsTruncated', message: `${warnings.length - kept.length} more warnings were left out` });
  return kept;
}

/** Refuses a JSON property that would not fit (extra, error): these are meant to be small. */
export function smallJson(value: unknown, what: string): string {
  const json = JSON.stringify(value);
  if (tableStringBytes(json) > MAX_PROPERTY_BYTES) throw new RangeError(`${what} is too large to store on a job`);
  return json;
}
