// Backup policies over the API (design §3, §4): the body is Azure's BackupPolicy JSON, bare or wrapped in
// `properties`, and is validated by the domain's parsePolicy (its own JSON paths), not by a zod schema; the resource
// returns the document exactly as accepted.

import { z } from 'zod';
import { listSchema, resourceSchema, resourceTypes } from './resources';

export const policyResourceSchema = resourceSchema(resourceTypes.policy, z.record(z.string(), z.unknown()));
export type PolicyResource = z.infer<typeof policyResourceSchema>;
export const policyListSchema = listSchema(policyResourceSchema);
