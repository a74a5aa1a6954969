// The health of one backup instance (issue 13; README "Health and alerts"): from its schedule, its newest available
// recovery point and its recent jobs, at an instant. Pure: the API, the watchdog and GET /api/health all call it.
//
//   Healthy   the latest scheduled slot produced an available recovery point (one taken at or after the slot)
//   Warning   that slot failed or was missed, but an available point exists within two schedule intervals of it
//   Critical  no such point; or the newest backup failed a readiness check that will not pass by itself; or the
//             newest available point failed its integrity check
//   Unknown   no slot owed yet (the first one is not due), or protection is stopped (no alarm)
//
// A slot whose backup is still running, or that is younger than the missed-slot grace with no job yet, is not
// judged: the slot before it is.

import { lastOccurrenceAtOrBefore, occurrences } from './schedule';
import type { Schedule } from './types';
import type { ErrorCode } from '../errors';

export const healthStatuses = ['Healthy', 'Warning', 'Critical', 'Unknown'] as const;
export type HealthStatus = (typeof healthStatuses)[number];

export const healthReasonCodes = [
  'BackupFailed',
  'BackupMissed',
  'NoRecentRecoveryPoint',
  'ReadinessFailed',
  'IntegrityCheckFailed',
  'ProtectionStopped',
  'PolicyUnavailable',
  'FirstBackupNotDue',
  'RestoreTestFailed',
  'DatasourceMissing',
] as const;
export type HealthReasonCode = (typeof healthReasonCodes)[number];

export interface HealthReason {
  readonly code: HealthReasonCode;
  readonly message: string;
}

export interface InstanceHealth {
  readonly status: HealthStatus;
  readonly reasons: readonly HealthReason[];
  readonly evaluatedAt: string;
}

/**
 * Readiness failures that do not pass by themselves (design §8): rotated credentials, revoked grants, a missing
 * secret. An unreachable server (retryable) is not among them: it is a failed backup like any other.
 */
export const persistentReadinessCodes: readonly ErrorCode[] = [
  'UserErrorMSIMissingPermissions',
  'UserErrorMissingPermissionsOnSecretStore',
  'UserErrorInvalidSecret',
  'UserErrorSecretValueInUnsupportedFormat',
  'UserErrorDBUserAuthFailed',
  'UserErrorMissingDBPermissions',
  'UserErrorPgDumpVersionMismatch',
];

/** What health reads of a job. */
export interface HealthJob {
  readonly id: string;
  readonly operation: string;
  readonly status: string;
  readonly startTime: string;
  /** The schedule slot a scheduled (or missed) backup was for. */
  readonly scheduledSlot?: string;
  readonly recoveryPointId?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface HealthInput {
  readonly nowUtc: string;
  readonly protection: 'Protected' | 'Stopped';
  /** Slots before this instant are not owed: the instance's creation, or its last resume. */
  readonly protectedSince: string;
  /** The policy's schedule; undefined when the policy is missing or no longer valid. */
  readonly schedule: Schedule | undefined;
  readonly newestAvailablePoint: { readonly id: string; readonly time: string } | undefined;
  /** The instance's jobs started at or after healthWindowStart(), newest first. */
  readonly jobs: readonly HealthJob[];
  /** MISSED_SLOT_GRACE_MINUTES in ms: how long a slot may go without a job before it counts as missed. */
  readonly graceMs: number;
  /** Since when discovery no longer finds the database on its server (issue 15). */
  readonly datasourceMissingSince?: string;
}

const WEEK_MS = 7 * 86_400_000;
const isBackup = (j: HealthJob) => j.operation === 'Backup';
/** a at or after b, as instants (the inputs come from different writers: compare times, not strings). */
const atOrAfter = (a: string, b: string) => Date.parse(a) >= Date.parse(b);
const terminal = new Set(['Succeeded', 'Failed', 'Cancelled']);
const severity: Record<HealthStatus, number> = { Unknown: 0, Healthy: 1, Warning: 2, Critical: 3 };
const reasonStatus: Record<HealthReasonCode, HealthStatus> = {
  BackupFailed: 'Warning',
  BackupMissed: 'Warning',
  NoRecentRecoveryPoint: 'Critical',
  ReadinessFailed: 'Critical',
  IntegrityCheckFailed: 'Critical',
  ProtectionStopped: 'Unknown',
  PolicyUnavailable: 'Critical',
  FirstBackupNotDue: 'Unknown',
  RestoreTestFailed: 'Critical',
  // The database is gone from its server (issue 15): its points are kept; the operator stops protection or it returns.
  DatasourceMissing: 'Warning',
};

/** The worse of two statuses (Unknown < Healthy < Warning < Critical). */
export function worseHealth(a: HealthStatus, b: HealthStatus): HealthStatus {
  return severity[a] >= severity[b] ? a : b;
}

/** The slot before `slotUtc`, or undefined at the schedule's start. */
export function previousSlot(schedule: Schedule, slotUtc: string): string | undefined {
  return lastOccurrenceAtOrBefore(schedule, new Date(Date.parse(slotUtc) - 1).toISOString());
}

/**
 * The earliest job start evaluateHealth may need at `nowUtc`: the slot before the latest one (its backup decides
 * while the latest one is still running). Callers query jobs from here (or earlier) once for many instances.
 */
export function healthWindowStart(schedule: Schedule | undefined, nowUtc: string): string {
  const fallback = new Date(Date.parse(nowUtc) - WEEK_MS).toISOString();
  if (!schedule) return fallback;
  const latest = lastOccurrenceAtOrBefore(schedule, nowUtc);
  const before = latest === undefined ? undefined : previousSlot(schedule, latest);
  return before === undefined || atOrAfter(before, fallback) ? fallback : before;
}

/** Whether the slot can be judged: its backup ended, or it is past the grace without one running. */
function settled(input: HealthInput, slot: string): boolean {
  const point = input.newestAvailablePoint;
  if (point !== undefined && atOrAfter(point.time, slot)) return true;
  const forSlot = input.jobs.filter((j) => isBackup(j) && j.scheduledSlot === slot);
  if (forSlot.some((j) => terminal.has(j.status))) return true;
  if (forSlot.length > 0) return false;
  return Date.parse(input.nowUtc) >= Date.parse(slot) + input.graceMs;
}

function overlays(input: HealthInput): HealthReason[] {
  const reasons: HealthReason[] = [];
  if (input.datasourceMissingSince !== undefined) {
    reasons.push({
      code: 'DatasourceMissing',
      message: `discovery has not found the database on its server since ${input.datasourceMissingSince}; its recovery points are kept`,
    });
  }
  const lastEnded = input.jobs.find((j) => isBackup(j) && terminal.has(j.status));
  const code = lastEnded?.error?.code;
  if (lastEnded?.status === 'Failed' && code !== undefined && (persistentReadinessCodes as string[]).includes(code)) {
    reasons.push({
      code: 'ReadinessFailed',
      message: `the newest backup (job ${lastEnded.id}) failed its readiness check with ${code}: ${lastEnded.error?.message ?? ''}`,
    });
  }
  const point = input.newestAvailablePoint;
  const broken =
    point &&
    input.jobs.find(
      (j) =>
        j.status === 'Failed' && j.error?.code === 'SystemErrorIntegrityCheckFailed' && j.recoveryPointId === point.id,
    );
  if (point && broken) {
    reasons.push({
      code: 'IntegrityCheckFailed',
      message: `the newest recovery point ${point.id} failed its integrity check (job ${broken.id})`,
    });
  }
  // Restore tests (issue 17): the newest one that ended, within the jobs read, decides until a later one passes.
  const test = input.jobs.find((j) => j.operation === 'RestoreTest' && terminal.has(j.status));
  if (test?.status === 'Failed') {
    reasons.push({
      code: 'RestoreTestFailed',
      message: `the newest restore test (job ${test.id}${test.recoveryPointId ? `, recovery point ${test.recoveryPointId}` : ''}) failed${
        test.error ? `: ${test.error.code}: ${test.error.message}` : ''
      }`,
    });
  }
  return reasons;
}

function slotReasons(input: HealthInput, schedule: Schedule, slot: string): HealthReason[] {
  const point = input.newestAvailablePoint;
  if (point !== undefined && atOrAfter(point.time, slot)) return [];
  const ended = input.jobs.find((j) => isBackup(j) && j.scheduledSlot === slot && terminal.has(j.status));
  const reasons: HealthReason[] = [
    ended === undefined || ended.error?.code === 'UserErrorBackupMissed'
      ? { code: 'BackupMissed', message: `no backup ran for the scheduled slot ${slot}` }
      : {
          code: 'BackupFailed',
          message: `the backup for the scheduled slot ${slot} failed (job ${ended.id})${
            ended.error ? `: ${ended.error.code}: ${ended.error.message}` : ''
          }`,
        },
  ];
  const before = previousSlot(schedule, slot);
  const intervalMs = before === undefined ? WEEK_MS : Date.parse(slot) - Date.parse(before);
  const windowStart = new Date(Date.parse(slot) - 2 * intervalMs).toISOString();
  if (point === undefined || !atOrAfter(point.time, windowStart)) {
    reasons.push({
      code: 'NoRecentRecoveryPoint',
      message:
        point === undefined
          ? 'there is no available recovery point'
          : `the newest available recovery point (${point.time}) is older than two schedule intervals before ${slot}`,
    });
  }
  return reasons;
}

function verdict(reasons: HealthReason[], nowUtc: string, fallback: HealthStatus): InstanceHealth {
  const status = reasons.reduce<HealthStatus>((s, r) => worseHealth(s, reasonStatus[r.code]), fallback);
  return { status, reasons, evaluatedAt: nowUtc };
}

export function evaluateHealth(input: HealthInput): InstanceHealth {
  const now = input.nowUtc;
  if (input.protection === 'Stopped') {
    return verdict(
      [{ code: 'ProtectionStopped', message: 'protection is stopped: no backups are owed' }],
      now,
      'Unknown',
    );
  }
  const schedule = input.schedule;
  if (!schedule) {
    return verdict(
      [{ code: 'PolicyUnavailable', message: "the instance's backup policy is missing or no longer valid" }],
      now,
      'Critical',
    );
  }
  const reasons = overlays(input);
  let slot = lastOccurrenceAtOrBefore(schedule, now);
  if (slot !== undefined && !settled(input, slot)) slot = previousSlot(schedule, slot);
  if (slot === undefined || !atOrAfter(slot, input.protectedSince)) {
    if (reasons.length > 0) return verdict(reasons, now, 'Unknown');
    return verdict(
      [{ code: 'FirstBackupNotDue', message: 'no scheduled backup has been due since protection started' }],
      now,
      'Unknown',
    );
  }
  return verdict([...slotReasons(input, schedule, slot), ...reasons], now, 'Healthy');
}

/** The overall status of many instances: the worst, where Healthy beats Unknown (nothing to judge). */
export function overallHealth(statuses: Iterable<HealthStatus>): HealthStatus {
  let overall: HealthStatus = 'Unknown';
  for (const s of statuses) overall = worseHealth(overall, s);
  return overall;
}

/**
 * The slots owed to an instance that no backup was started for, `graceMs` after they were due: the latest such slot
 * and how many there are. Owed = after the latest slot the scheduler started (`lastScheduledSlot`) and not before
 * protection started. Undefined when none is missed.
 */
export function missedSlots(input: {
  readonly schedule: Schedule;
  readonly nowUtc: string;
  readonly graceMs: number;
  readonly lastScheduledSlot: string | undefined;
  readonly protectedSince: string;
}): { latest: string; count: number } | undefined {
  const dueBy = new Date(Date.parse(input.nowUtc) - input.graceMs).toISOString();
  const latest = lastOccurrenceAtOrBefore(input.schedule, dueBy);
  if (latest === undefined || !atOrAfter(latest, input.protectedSince)) return undefined;
  const last = input.lastScheduledSlot;
  if (last !== undefined && atOrAfter(last, latest)) return undefined;
  const fromMs = Math.max(Date.parse(input.protectedSince), last === undefined ? 0 : Date.parse(last) + 1);
  const count = occurrences(
    input.schedule,
    new Date(fromMs).toISOString(),
    new Date(Date.parse(latest) + 1).toISOString(),
  ).length;
  return { latest, count: Math.max(1, count) };
}
