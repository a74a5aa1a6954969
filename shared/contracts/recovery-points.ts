// Recovery points over the API (design §3, §7): the list's time range, the retention preview's asOf, and the
// recovery point resource with its data-store details.

import { z } from 'zod';
import { dataStores, recoveryPointStatuses, tagNames } from '../domain/types';
import { isoInstant } from './validation';
import { listSchema, resourceSchema, resourceTypes } from './resources';
import { restoreTestResultSchema } from './restore-tests';

export const recoveryPointTriggers = ['Scheduled', 'OnDemand'] as const;
export type RecoveryPointTrigger = (typeof recoveryPointTriggers)[number];

/** GET …/recoveryPoints?from=&to= */
export const recoveryPointRangeSchema = z.object({ from: isoInstant().optional(), to: isoInstant().optional() });

/** Largest page of GET …/recoveryPoints?$top= */
export const maxRecoveryPointPage = 1000;

/**
 * GET …/recoveryPoints?from=&to=&$top=&$skipToken=: without $top every point in one answer (as before); with it at
 * most $top points and a `nextLink` carrying the $skipToken of the next page while there may be more.
 */
export const recoveryPointListQuerySchema = recoveryPointRangeSchema.extend({
  $top: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(maxRecoveryPointPage, `must be at most ${maxRecoveryPointPage}`)
    .optional(),
  $skipToken: z
    .string()
    .regex(/^\d{13}-[A-Za-z0-9]{1,32}$/, 'must be the $skipToken of a nextLink')
    .optional(),
});
export type RecoveryPointListQuery = z.infer<typeof recoveryPointListQuerySchema>;

/** GET …/retentionPreview?asOf= */
export const retentionPreviewQuerySchema = z.object({ asOf: isoInstant().optional() });

export const recoveryPointPropertiesSchema = z.object({
  objectType: z.literal('AzureBackupDiscreteRecoveryPoint'),
  recoveryPointId: z.string(),
  recoveryPointTime: z.string(),
  recoveryPointType: z.literal('Full'),
  retentionTagName: z.enum(tagNames),
  policyName: z.string(),
  trigger: z.enum(recoveryPointTriggers),
  status: z.enum(recoveryPointStatuses),
  sizeInBytes: z.number(),
  sha256: z.string(),
  databaseName: z.string(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  expiryTime: z.string(),
  recoveryPointDataStoresDetails: z.array(
    z.object({
      type: z.enum(dataStores),
      creationTime: z.string(),
      expiryTime: z.string(),
      state: z.enum(['REHYDRATED', 'COMMITTED']),
      rehydrationExpiryTime: z.string().optional(),
      visible: z.boolean(),
    }),
  ),
  /** Present when a lifecycle moves the point to ArchiveStore. */
  movesToArchiveAt: z.string().optional(),
  /** The full id (with version) of the key-encryption key that wraps the dump's data key; absent = not encrypted. */
  encryptionKeyId: z.string().optional(),
  /** GET of one point only: its manifest (design §5.3), null when the blob is missing. */
  manifest: z.unknown().optional(),
  /** The latest restore test of the point (issue 17). */
  restoreTest: restoreTestResultSchema.optional(),
});

export const recoveryPointResourceSchema = resourceSchema(resourceTypes.recoveryPoint, recoveryPointPropertiesSchema);
export type RecoveryPointResource = z.infer<typeof recoveryPointResourceSchema>;
export const recoveryPointListSchema = listSchema(recoveryPointResourceSchema);

// --- the timeline of an instance's points (the console's chart) --------------------------------------------------

export const timelineBuckets = ['day', 'week', 'month'] as const;

const perStore = z.object({ VaultStore: z.number(), ArchiveStore: z.number() });

/**
 * GET …/recoveryPointTimeline: the instance's Available points counted per tier in consecutive UTC buckets from the
 * oldest point (or 14 buckets back, whichever is earlier) to now — days up to two months of history, ISO weeks up to
 * two years, months beyond — and the totals.
 */
export const recoveryPointTimelineSchema = z.object({
  bucket: z.enum(timelineBuckets),
  value: z.array(z.object({ start: z.string(), points: perStore, bytes: perStore })),
  totals: z.object({ points: perStore, bytes: perStore }),
  oldest: z.string().optional(),
  newest: z.string().optional(),
});
export type RecoveryPointTimeline = z.infer<typeof recoveryPointTimelineSchema>;
