// Backup policies over the API (design §3, §4): the body is Azure's BackupPolicy JSON, bare or wrapped in
// `properties`, and is validated by the domain's parsePolicy (its own JSON paths), not by a zod schema; the resource
// returns the document exactly as accepted.

import { z } from 'zod';
import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import type { Policy } from '../domain/types';
import { listSchema, resourceSchema, resourceTypes } from './resources';

export const policyResourceSchema = resourceSchema(resourceTypes.policy, z.record(z.string(), z.unknown()));
export type PolicyResource = z.infer<typeof policyResourceSchema>;
export const policyListSchema = listSchema(policyResourceSchema);

/** The bare BackupPolicy from a body that may be wrapped in `properties` (Azure's resource shape). */
function unwrap(body: unknown): { document: Record<string, unknown>; pathPrefix: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PgkeepError('UserErrorInvalidPolicy', 'the policy must be a JSON object', { target: '$' });
  }
  const obj = body as Record<string, unknown>;
  const props = obj.properties;
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    return { document: props as Record<string, unknown>, pathPrefix: '$.properties' };
  }
  return { document: obj, pathPrefix: '$' };
}

/**
 * A `PUT backupPolicies/{name}` body as the API accepts it (the API and the CLI both check with this): the bare
 * document and the parsed policy, or UserErrorInvalidPolicy naming every problem by its JSON path in the body. As in
 * ARM, the route names the resource: a body without a name (Azure's own policies carry none) is valid.
 */
export function parsePolicyBody(body: unknown, name: string): { document: Record<string, unknown>; policy: Policy } {
  const { document, pathPrefix } = unwrap(body);
  const parsed = parsePolicy(document, { name });
  if (!parsed.ok) {
    const details = parsed.errors.map((e) => ({
      code: 'UserErrorInvalidPolicy' as const,
      message: e.message,
      target: pathPrefix + e.path.slice(1),
    }));
    throw new PgkeepError('UserErrorInvalidPolicy', `policy '${name}' is invalid (${details.length} problems)`, {
      details,
    });
  }
  return { document, policy: parsed.value };
}
