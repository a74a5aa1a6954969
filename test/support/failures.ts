// Assertions on expected failures: the PgkeepError a call throws, and that it carries no secret.
import { expect } from 'vitest';
import { PgkeepError } from '../../shared/errors';

export async function failureOf(promise: Promise<unknown>): Promise<PgkeepError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PgkeepError) return err;
    throw err;
  }
  throw new Error('expected a PgkeepError, but the call succeeded');
}

/** No part of the error a caller could see (message, hint, body) contains the secret. */
export function expectNoSecret(err: PgkeepError, secret: string): void {
  for (const text of [err.message, err.hint, JSON.stringify(err.toBody())]) expect(text).not.toContain(secret);
}
