// Health of a backup instance and of the whole app (wave 2 contract): the status words are fixed; reasons carry a code
// and a message. The alerts work computes them (shared/domain/health.ts); the API, the console and the CLI show them.

import { z } from 'zod';

export const healthStatuses = ['Healthy', 'Warning', 'Critical', 'Unknown'] as const;
export type HealthStatus = (typeof healthStatuses)[number];

/** `properties.health` of a backup instance. Reason codes may grow: clients show unknown ones as they are. */
export const instanceHealthSchema = z.object({
  status: z.enum(healthStatuses),
  reasons: z.array(z.object({ code: z.string(), message: z.string() })),
  evaluatedAt: z.string(),
});
export type InstanceHealth = z.infer<typeof instanceHealthSchema>;

/** GET /api/health: anonymous callers get status and time only. */
export const appHealthSchema = z.object({
  status: z.enum(healthStatuses),
  time: z.string(),
  counts: z.record(z.enum(healthStatuses), z.number()).optional(),
  instances: z
    .array(z.object({ name: z.string(), health: instanceHealthSchema.omit({ evaluatedAt: true }).partial() }))
    .optional(),
  lastSchedulerRun: z.string().nullable().optional(),
  lastExpiryRun: z.string().nullable().optional(),
});
export type AppHealth = z.infer<typeof appHealthSchema>;
