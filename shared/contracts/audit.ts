// The audit log over the API (issue 16): the query of GET /api/auditLog and its entries. An entry says who
// (principal), what (action, target), when, from where (client address) and the outcome; never a body or a secret.

import { z } from 'zod';
import { errorCodes } from '../errors';
import { isoInstant } from './validation';
import { listSchema } from './resources';

export const auditPrincipalKinds = ['user', 'functionKey', 'queue', 'anonymous'] as const;

/** GET /auditLog?from=&to=&principal= (default window: the last 7 days). */
export const auditQuerySchema = z.object({
  from: isoInstant().optional(),
  to: isoInstant().optional(),
  principal: z.string().min(1).max(512).optional(),
});

export const auditEntrySchema = z.object({
  id: z.string(),
  time: z.string(),
  principal: z.string(),
  principalKind: z.enum(auditPrincipalKinds),
  action: z.string(),
  target: z.string(),
  clientIp: z.string(),
  outcome: z.enum(['Succeeded', 'Failed']),
  status: z.number(),
  errorCode: z.enum(errorCodes).optional(),
  jobId: z.string().optional(),
});

export type AuditEntryBody = z.infer<typeof auditEntrySchema>;
export const auditListSchema = listSchema(auditEntrySchema);
