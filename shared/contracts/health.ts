// Health over the API (issue 13, wave 2 contract): an instance's `properties.health` and GET /api/health. The status
// values are fixed; reason codes are open (clients show unknown ones as they are): today's are domain/health.ts's.

import { z } from 'zod';
import { healthStatuses, type InstanceHealth } from '../domain/health';

export { healthStatuses };
export const healthStatusSchema = z.enum(healthStatuses);

export const healthReasonSchema = z.object({ code: z.string(), message: z.string() });

export const instanceHealthSchema = z.object({
  status: healthStatusSchema,
  reasons: z.array(healthReasonSchema).readonly(),
  evaluatedAt: z.string(),
});
export type InstanceHealthResource = z.infer<typeof instanceHealthSchema>;
/** What domain/health.ts computes is what the schema accepts (the schema's codes are open, the domain's closed). */
export const toInstanceHealthResource = (h: InstanceHealth): InstanceHealthResource => h;

/** GET /api/health. Anonymous callers get `status` and `time` only; Reader and above get everything. */
export const healthSummarySchema = z.object({
  status: healthStatusSchema,
  time: z.string(),
  counts: z.record(healthStatusSchema, z.number()).optional(),
  /** The instances that are not Healthy. */
  instances: z.array(z.object({ name: z.string(), health: instanceHealthSchema })).optional(),
  lastSchedulerRun: z.string().nullable().optional(),
  lastExpiryRun: z.string().nullable().optional(),
});
export type HealthSummary = z.infer<typeof healthSummarySchema>;
