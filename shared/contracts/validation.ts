// zod validation that names every offending field by JSON path (design §9): both doors, the HTTP API and the
// restore-requests queue, validate their input with it, so a bad field reads the same in a 400 and in a queue result.

import { z } from 'zod';
import { PgkeepError, type ErrorDetail } from '../errors';

/** A zod issue path as a JSON path: ['properties', 'policyRules', 2, 'name'] → `$.properties.policyRules[2].name`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Validates with a zod schema, naming every offending field by JSON path. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, what = 'request body'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: ErrorDetail[] = result.error.issues.map((issue) => ({
    code: 'UserErrorInvalidRequest',
    target: jsonPath(issue.path),
    message: issue.message,
  }));
  throw new PgkeepError(
    'UserErrorInvalidRequest',
    `the ${what} is invalid: ${details.map((d) => d.target).join(', ')}`,
    {
      details,
    },
  );
}

/** An ISO 8601 instant with its zone, as query parameters and response times carry them. */
export function isoInstant(message = 'must be an ISO 8601 date-time with a zone') {
  return z.iso.datetime({ offset: true, message });
}
