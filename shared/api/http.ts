// Framework-free HTTP plumbing for the API (design §3): requests in, Azure-shaped responses and errors out.
// functions/ adapts @azure/functions' HttpRequest to ApiRequest (contracts/http.ts); everything here is testable
// without a host. Request validation is contracts/validation.ts.

import { PgkeepError, toPgkeepError } from '../errors';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { ConcurrencyError } from '../ports';

export type Handler = (req: ApiRequest) => Promise<ApiResponse>;

export function json(status: number, body: unknown, headers?: Record<string, string>): ApiResponse {
  return headers ? { status, jsonBody: body, headers } : { status, jsonBody: body };
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

export interface Logger {
  error(message: string, props?: Record<string, unknown>): void;
}

/**
 * Runs a read-modify-write of one stored resource again when another writer changed the row in between (a timer's
 * bookkeeping, a backup taking its lock, a second request): `write` re-reads the row and re-applies the request to it.
 * It gets the attempt (1 first), so a handler that read the row for its checks can write over that read at first.
 */
export async function retryOnConcurrentChange<T>(write: (attempt: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(attempt);
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= attempts) throw err;
    }
  }
}

/** A row that kept changing under a request: a 409 the caller may send again, never a 500. */
function concurrentChange(err: ConcurrencyError): PgkeepError {
  return new PgkeepError('UserErrorInvalidRequest', `${err.message}; nothing was changed by this request`, {
    status: 409,
    hint: 'the resource was changed by another request or by a running job at the same moment: send the request again',
  });
}

/**
 * Runs a handler so that every failure becomes an Azure error body: PgkeepError → its status; a store's
 * ConcurrencyError → 409; anything else → 500.
 */
export async function runHandler(handler: Handler, req: ApiRequest, log: Logger): Promise<ApiResponse> {
  try {
    return await handler(req);
  } catch (err) {
    if (err instanceof ConcurrencyError) return json(409, concurrentChange(err).toBody());
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
