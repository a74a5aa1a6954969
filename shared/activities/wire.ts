// Wraps an activity so that every failure crosses the activity boundary with its PgkeepError code (see
// workflows/task-errors.ts). Unknown errors become SystemErrorInternal; their text goes to the log only.

import { PgkeepError, toPgkeepError } from '../errors';
import { encodeWireError } from '../workflows/task-errors';

export function wireActivity<I, O>(
  name: string,
  fn: (input: I) => Promise<O>,
  log: (message: string) => void,
): (input: I) => Promise<O> {
  return async (input: I) => {
    try {
      return await fn(input);
    } catch (err) {
      if (!(err instanceof PgkeepError)) {
        log(
          `activity ${name} failed unexpectedly: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
        );
      }
      const e = toPgkeepError(err);
      throw new Error(encodeWireError({ code: e.code, message: e.message, hint: e.hint }));
    }
  };
}
