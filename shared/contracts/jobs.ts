// Backup jobs over the API (design §3, §9): the list query and the job resource. The job vocabulary (operations,
// statuses, triggers) is declared here once; the job store's records (ports.ts) use the same types.

import { z } from 'zod';
import { errorCodes } from '../errors';
import { isoInstant } from './validation';
import { listSchema, resourceSchema, resourceTypes } from './resources';

export const jobOperations = [
  'Backup',
  'Restore',
  'Rehydrate',
  'Expiry',
  'RestoreTest',
  'Verify',
  'Rewrap',
  'Discovery',
] as const;
export type JobOperation = (typeof jobOperations)[number];
// Queued: a backup waiting for a concurrency slot of its server or of the host (issue 15), with its position in
// extendedInfo.queue.
export const jobStatuses = ['NotStarted', 'Queued', 'InProgress', 'Succeeded', 'Failed', 'Cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const jobTriggers = ['Scheduled', 'OnDemand', 'Queue'] as const;
export type JobTrigger = (typeof jobTriggers)[number];

const instant = isoInstant('must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T00:00:00Z');

/** GET /backupJobs?backupInstance=&operation=&status=&from=&to= */
export const jobQuerySchema = z.object({
  backupInstance: z.string().min(1).optional(),
  operation: z.enum(jobOperations).optional(),
  status: z.enum(jobStatuses).optional(),
  from: instant.optional(),
  to: instant.optional(),
});

export const jobPropertiesSchema = z.object({
  id: z.string(),
  operation: z.enum(jobOperations),
  operationCategory: z.enum(jobOperations),
  backupInstance: z.string(),
  backupInstanceId: z.string(),
  status: z.enum(jobStatuses),
  trigger: z.enum(jobTriggers),
  isUserTriggered: z.boolean(),
  startTime: z.string(),
  /** ISO 8601 duration from start to end (or to now while running), e.g. PT1H2M3S. */
  duration: z.string(),
  progress: z.object({ bytes: z.number(), percent: z.number().optional() }),
  endTime: z.string().optional(),
  recoveryPointId: z.string().optional(),
  error: z.object({ code: z.enum(errorCodes), message: z.string(), hint: z.string() }).optional(),
  warnings: z
    .array(z.object({ code: z.string(), message: z.string() }))
    .readonly()
    .optional(),
  /** Operation-specific extras (restore target, retention tag override…). */
  extendedInfo: z.record(z.string(), z.unknown()).optional(),
});

export const jobResourceSchema = resourceSchema(resourceTypes.job, jobPropertiesSchema);
export type JobResource = z.infer<typeof jobResourceSchema>;
export const jobListSchema = listSchema(jobResourceSchema);
