// Framework-free HTTP plumbing for the API (design §3): requests in, Azure-shaped responses and errors out.
// functions/ adapts @azure/functions' HttpRequest to ApiRequest; everything here is testable without a host.

import type { z } from 'zod';
import { PgkeepError, toPgkeepError, type ErrorDetail } from '../errors';

export interface ApiRequest {
  readonly method: string;
  /** Route parameters, already URL-decoded. */
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  readonly headers: { get(name: string): string | null };
  /** The raw body; undefined when there was none. */
  readonly body?: string;
  /** The request URL (for Location headers). */
  readonly url: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly jsonBody?: unknown;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse>;

export function json(status: number, body: unknown, headers?: Record<string, string>): ApiResponse {
  return headers ? { status, jsonBody: body, headers } : { status, jsonBody: body };
}

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

/** Parses a JSON body, failing with 400 UserErrorInvalidRequest (never a 500) when it is missing or not JSON. */
export function parseJsonBody(req: ApiRequest, options: { optional?: boolean } = {}): unknown {
  const text = req.body;
  if (text === undefined || text.trim() === '') {
    if (options.optional) return undefined;
    throw new PgkeepError('UserErrorInvalidRequest', 'the request body is required and must be JSON', { target: '$' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PgkeepError('UserErrorInvalidRequest', 'the request body is not valid JSON', { target: '$' });
  }
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

export interface Logger {
  error(message: string, props?: Record<string, unknown>): void;
}

/** Runs a handler so that every failure becomes an Azure error body: PgkeepError → its status; anything else → 500. */
export async function runHandler(handler: Handler, req: ApiRequest, log: Logger): Promise<ApiResponse> {
  try {
    return await handler(req);
  } catch (err) {
    const e = toPgkeepError(err);
    if (!(err instanceof PgkeepError)) {
      // The cause stays in the log, never in the response: it may carry internals.
      log.error('unhandled error in HTTP handler', { error: err instanceof Error ? err.message : String(err) });
    }
    return json(e.status, e.toBody());
  }
}

export function notFound(kind: string, name: string): PgkeepError {
  return new PgkeepError('UserErrorNotFound', `${kind} '${name}' was not found`, { target: name });
}

/** A required route parameter (the route template guarantees it; this keeps the types honest). */
export function param(req: ApiRequest, name: string): string {
  const value = req.params[name];
  if (value === undefined || value === '') {
    throw new PgkeepError('UserErrorInvalidRequest', `the route parameter '${name}' is missing`, { target: name });
  }
  return value;
}
