// Restore tests over the API (issue 17): the plan a PUT /restoreTestPlans/{name} carries, the plan resource, and
// the evidence a test leaves — on its recovery point (`restoreTest`), in the instance's history and on its job.

import { z } from 'zod';
import { Cron } from 'croner';
import { errorCodes } from '../errors';
import { parseDuration } from '../domain/duration';
import { resolveTimeZone } from '../domain/timezone';
import { mismatchKinds } from '../domain/contents';
import { authCredentialsSchema } from './instances';
import { listSchema, resourceSchema, resourceNamePattern } from './resources';

export const restoreTestPlanType = 'Microsoft.DataProtection/backupVaults/restoreTestPlans';
export const restoreTestType = 'Microsoft.DataProtection/backupVaults/backupInstances/restoreTests';

/** Longest time limit of one test: a day (a restore that takes longer is not a routine test). */
export const MAX_TIME_LIMIT_MS = 24 * 3600_000;
const MIN_TIME_LIMIT_MS = 60_000;

/** An ISO duration of exact time (days, hours, minutes, seconds) in ms, or undefined. */
export function exactDurationMs(text: string): number | undefined {
  const d = parseDuration(text);
  if (d === undefined || d.years !== 0 || d.months !== 0) return undefined;
  return ((((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60 + d.seconds) * 1000;
}

const ncrontab = z.string().refine(
  (text) => {
    if (text.trim().split(/\s+/).length !== 6) return false;
    try {
      new Cron(text.trim(), { paused: true, domAndDow: true });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a 6-field NCRONTAB expression (second minute hour day month weekday), e.g. "0 0 3 * * 0"' },
);

const timeLimit = z.string().refine(
  (t) => {
    const ms = exactDurationMs(t);
    return ms !== undefined && ms >= MIN_TIME_LIMIT_MS && ms <= MAX_TIME_LIMIT_MS;
  },
  { message: 'must be an ISO 8601 duration from PT1M to P1D in days, hours, minutes or seconds, e.g. "PT2H"' },
);

const window = z.string().refine((t) => parseDuration(t) !== undefined && t !== 'P0D', {
  message: 'must be an ISO 8601 duration, e.g. "P6M"',
});

/** Which point of each instance a test restores: the newest, or one chosen at random among those in the window. */
export const pointSelectionSchema = z.union(
  [z.literal('latest'), z.strictObject({ random: z.strictObject({ window }) })],
  { message: 'must be "latest" or { "random": { "window": "P6M" } }' },
);
export type PointSelection = z.infer<typeof pointSelectionSchema>;

const instanceName = z.string().regex(resourceNamePattern, 'must be a backup instance name');
const assertionSql = z.string().min(1, 'is required').max(4000, 'is longer than 4000 characters');

const planFields = {
  /** Restore: restore into a scratch database and compare; Verify: only read the blob back (no target). */
  mode: z.enum(['Restore', 'Verify']).default('Restore'),
  schedule: ncrontab.optional(),
  timeZone: z
    .string()
    .refine((tz) => resolveTimeZone(tz) !== undefined, { message: 'must be an IANA or Windows time zone name' })
    .default('UTC'),
  enabled: z.boolean().default(true),
  backupInstances: z.array(instanceName).min(1).max(500).optional(),
  /** Every instance protected by this policy (by name). */
  policy: z.string().min(1).optional(),
  /** Every instance whose datasource resourceID is on this server: `<server id>/databases/<db>`. */
  server: z.string().min(1).optional(),
  point: pointSelectionSchema.default('latest'),
  rehydrationPriority: z.enum(['Standard', 'High']).default('Standard'),
  target: z
    .strictObject({
      datasourceAuthCredentials: authCredentialsSchema,
      allowSourceServer: z.boolean().default(false),
    })
    .optional(),
  /** Per instance: SQL that must return one row with one boolean column, true. */
  assertions: z.record(instanceName, z.array(assertionSql).max(20)).default({}),
  timeLimit: timeLimit.default('PT2H'),
};

export const restoreTestPlanPropertiesSchema = z.strictObject(planFields).superRefine((p, ctx) => {
  const selectors = [p.backupInstances, p.policy, p.server].filter((s) => s !== undefined).length;
  if (selectors !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['backupInstances'],
      message: 'name the instances with exactly one of backupInstances, policy or server',
    });
  }
  if (p.mode === 'Restore' && p.target === undefined) {
    ctx.addIssue({ code: 'custom', path: ['target'], message: 'a Restore plan needs a scratch target' });
  }
  if (p.mode === 'Verify' && Object.keys(p.assertions).length > 0) {
    ctx.addIssue({ code: 'custom', path: ['assertions'], message: 'assertions need a restore (mode Restore)' });
  }
  if (p.backupInstances !== undefined) {
    for (const name of Object.keys(p.assertions)) {
      if (!p.backupInstances.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['assertions', name], message: 'is not one of backupInstances' });
      }
    }
  }
});

export const restoreTestPlanBodySchema = z.object({ properties: restoreTestPlanPropertiesSchema });
export type RestoreTestPlanProperties = z.infer<typeof restoreTestPlanPropertiesSchema>;

export const restoreTestPlanResourceSchema = resourceSchema(
  restoreTestPlanType,
  z.object({
    ...planFields,
    createdAt: z.string(),
    updatedAt: z.string(),
    /** The latest schedule slot a run was started for. */
    lastScheduledRun: z.string().optional(),
    /** The next slot of the schedule, when it has one and is enabled. */
    nextScheduledRun: z.string().optional(),
  }),
);
export type RestoreTestPlanResource = z.infer<typeof restoreTestPlanResourceSchema>;
export const restoreTestPlanListSchema = listSchema(restoreTestPlanResourceSchema);

export const restoreTestStatuses = ['Passed', 'Failed'] as const;

export const contentsMismatchSchema = z.object({
  kind: z.enum(mismatchKinds),
  object: z.string(),
  expected: z.union([z.string(), z.number()]),
  actual: z.union([z.string(), z.number(), z.null()]),
});

export const assertionResultSchema = z.object({
  sql: z.string(),
  passed: z.boolean(),
  /** Why it did not pass: false, not one boolean, or the error PostgreSQL gave. */
  message: z.string().optional(),
});

/**
 * What a test's or verify's SHA-256 check covered. `StoredBlob`: the bytes in the vault — pg_dump's custom-format
 * archive compressed by zstd, then encrypted (AES-256-GCM, PGKEEPE1 segments) when the point is encrypted. The
 * manifest of contents, by contrast, covers the archive's rows before compression and encryption.
 */
export const integrityEvidenceSchema = z.object({
  sha256: z.string(),
  bytes: z.number(),
  covers: z.literal('StoredBlob'),
  storedAs: z.enum(['zstd', 'zstd+AES-256-GCM']),
  /** The key (with its version) that wraps the point's data key, when the point is encrypted. */
  encryptionKeyId: z.string().optional(),
});
export type IntegrityEvidence = z.infer<typeof integrityEvidenceSchema>;

/** The evidence of one restore test (the point's `restoreTest`, an entry of the instance's history). */
export const restoreTestResultSchema = z.object({
  jobId: z.string(),
  planName: z.string(),
  recoveryPointId: z.string(),
  time: z.string(),
  status: z.enum(restoreTestStatuses),
  durationMs: z.number(),
  /** Whether the point had a manifest of contents to compare with (older points are checked by SHA-256 only). */
  contentsChecked: z.boolean(),
  tables: z.number(),
  rowsCompared: z.number(),
  mismatches: z.array(contentsMismatchSchema),
  /** All mismatches found (the list above is capped). */
  mismatchCount: z.number(),
  assertions: z.array(assertionResultSchema),
  targetServerVersion: z.string().nullable(),
  scratchDatabase: z.string(),
  /** The SHA-256 the restore matched before pg_restore read a byte; absent when the restore did not get that far. */
  integrity: integrityEvidenceSchema.optional(),
  /** Why the test could not compare: the restore failed (integrity, pg_restore…), or its time limit passed. */
  error: z.object({ code: z.enum(errorCodes), message: z.string() }).optional(),
});
export type RestoreTestResult = z.infer<typeof restoreTestResultSchema>;

export const restoreTestResourceSchema = resourceSchema(restoreTestType, restoreTestResultSchema);
export type RestoreTestResource = z.infer<typeof restoreTestResourceSchema>;
export const restoreTestListSchema = listSchema(restoreTestResourceSchema);

/** The integrity evidence of a point whose stored bytes matched its recorded SHA-256. */
export function integrityEvidence(point: {
  readonly sha256: string;
  readonly bytes: number;
  readonly encryptionKeyId?: string;
}): IntegrityEvidence {
  return {
    sha256: point.sha256,
    bytes: point.bytes,
    covers: 'StoredBlob',
    storedAs: point.encryptionKeyId === undefined ? 'zstd' : 'zstd+AES-256-GCM',
    ...(point.encryptionKeyId === undefined ? {} : { encryptionKeyId: point.encryptionKeyId }),
  };
}

/** Caps of what a point row carries (Table Storage properties hold 64 KiB); the history row and job hold the same. */
export const MAX_LISTED_MISMATCHES = 50;
