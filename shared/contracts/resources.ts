// What every resource of the API shares (design §3, §9): Azure's resource envelope {id, name, type, properties}, the
// list {value, nextLink?}, resource names, and the error body. One file per resource builds on these; api/resources.ts
// builds the responses typed by them, and API clients (console, CLI) parse with them.

import { z } from 'zod';
import { errorCodes, type ErrorBody } from '../errors';

export const resourceTypes = {
  policy: 'Microsoft.DataProtection/backupVaults/backupPolicies',
  instance: 'Microsoft.DataProtection/backupVaults/backupInstances',
  recoveryPoint: 'Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints',
  job: 'Microsoft.DataProtection/backupVaults/backupJobs',
  // pgkeep's own resources (no Azure Data Protection counterpart), named under the same vault id.
  notificationChannel: 'pgkeep/backupVaults/notificationChannels',
  notification: 'pgkeep/backupVaults/notifications',
} as const;

export const resourceNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export function validName(name: string): boolean {
  return resourceNamePattern.test(name);
}

/** Azure's resource envelope around a resource's properties. */
export function resourceSchema<T extends string, P extends z.ZodType>(type: T, properties: P) {
  return z.object({ id: z.string(), name: z.string(), type: z.literal(type), properties });
}

/** A collection as GET returns it. */
export function listSchema<I extends z.ZodType>(item: I) {
  return z.object({ value: z.array(item), nextLink: z.string().optional() });
}
export type List<T> = { value: T[]; nextLink?: string };

const errorCodeSchema = z.enum(errorCodes);

/** The body of every failed request (PgkeepError.toBody()). */
export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    target: z.string().optional(),
    details: z
      .array(
        z.object({
          code: errorCodeSchema,
          message: z.string(),
          target: z.string(),
          remediation: z.string().optional(),
        }),
      )
      .optional(),
    hint: z.string().optional(),
  }),
}) satisfies z.ZodType<ErrorBody>;
