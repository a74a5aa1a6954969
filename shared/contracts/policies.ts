// Backup policies over the API (design §3, §4): the body is Azure's BackupPolicy JSON, bare or wrapped in
// `properties`, and is validated by the domain's parsePolicy (its own JSON paths), not by a zod schema; the resource
// returns the document exactly as accepted.

import { z } from 'zod';
import { PgkeepError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { dataStores, tagNames, type Policy } from '../domain/types';
import { isoInstant } from './validation';
import { listSchema, resourceSchema, resourceTypes } from './resources';

/** The policy in words (domain/describe.ts summarizePolicy), next to `properties` when asked for with $expand=summary. */
export const policySummarySchema = z.object({
  backupRuleName: z.string(),
  schedule: z.string(),
  timeZone: z.string(),
  retention: z
    .array(
      z.object({
        tag: z.enum(tagNames),
        appliesTo: z.string(),
        vaultStore: z.string(),
        archiveStore: z.string().optional(),
        text: z.string(),
      }),
    )
    .readonly(),
});
export type PolicySummary = z.infer<typeof policySummarySchema>;

/** GET /backupPolicies[/{name}]?$expand=summary */
export const policyQuerySchema = z.object({
  $expand: z.literal('summary', { message: 'must be "summary"' }).optional(),
});

export const policyResourceSchema = resourceSchema(resourceTypes.policy, z.record(z.string(), z.unknown())).extend({
  summary: policySummarySchema.optional(),
});
export type PolicyResource = z.infer<typeof policyResourceSchema>;
export const policyListSchema = listSchema(policyResourceSchema);

/**
 * The bare BackupPolicy from a body that may be wrapped in `properties` (Azure's resource shape); `at` is where the
 * policy sits in the request body (`.policy` for POST /backupPolicies/simulate), for the JSON paths of problems.
 */
function unwrap(body: unknown, at = ''): { document: Record<string, unknown>; pathPrefix: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PgkeepError('UserErrorInvalidPolicy', 'the policy must be a JSON object', { target: `$${at}` });
  }
  const obj = body as Record<string, unknown>;
  const props = obj.properties;
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    return { document: props as Record<string, unknown>, pathPrefix: `$${at}.properties` };
  }
  return { document: obj, pathPrefix: `$${at}` };
}

/**
 * A `PUT backupPolicies/{name}` body as the API accepts it (the API and the CLI both check with this): the bare
 * document and the parsed policy, or UserErrorInvalidPolicy naming every problem by its JSON path in the body. As in
 * ARM, the route names the resource: a body without a name (Azure's own policies carry none) is valid.
 */
export function parsePolicyBody(
  body: unknown,
  name: string,
  at = '',
): { document: Record<string, unknown>; policy: Policy } {
  const { document, pathPrefix } = unwrap(body, at);
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

// --- POST /backupPolicies/simulate: what a policy would keep over the years, before it is saved -----------------

export const policySimulationRequestSchema = z.object({
  /** A BackupPolicy as PUT takes it (bare or wrapped in properties); validated by the domain's parser. */
  policy: z.record(z.string(), z.unknown(), { message: 'must be a BackupPolicy JSON object' }),
  /** Start of the simulation; default now. */
  from: isoInstant().optional(),
  years: z.int('must be a whole number').min(1, 'must be at least 1').max(10, 'must be at most 10').optional(),
});
export type PolicySimulationRequest = z.infer<typeof policySimulationRequestSchema>;

/** Points per tag and tier (every tag and tier present, 0 when none). */
export const pointCountsSchema = z.record(z.enum(tagNames), z.record(z.enum(dataStores), z.number()));

export const policySimulationSchema = z.object({
  summary: policySummarySchema,
  from: z.string(),
  to: z.string(),
  /** Monthly samples from `from` to `to`: how many points of each tag each tier holds then. */
  samples: z.array(z.object({ at: z.string(), counts: pointCountsSchema })),
});
export type PolicySimulation = z.infer<typeof policySimulationSchema>;
