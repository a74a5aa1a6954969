// Carries a PgkeepError's code across the activity boundary. Activities rethrow with the code embedded in the
// message as a tagged JSON marker, which every host (Azure's and devhost) passes through in the failure reason;
// FailureDetails.properties, when a host propagates them, are read first.

import type { JobError } from '../ports';
import { errorSpec, isErrorCode, type ErrorCode } from '../errors';

const MARKER = 'pgkeep-error:';

export interface WireError {
  code: ErrorCode;
  message: string;
  hint: string;
}

/** The message an activity throws: `<message> pgkeep-error:{"code":…,"message":…,"hint":…}`. */
export function encodeWireError(e: WireError): string {
  return `${e.message} ${MARKER}${JSON.stringify(e)}`;
}

function fromObject(value: unknown): JobError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isErrorCode(v.code) || typeof v.message !== 'string') return undefined;
  return { code: v.code, message: v.message, hint: typeof v.hint === 'string' ? v.hint : errorSpec(v.code).hint };
}

/** The job error behind a failed task; anything unrecognised is SystemErrorInternal (its text is not trusted). */
export function decodeTaskError(err: unknown): JobError {
  if (typeof err === 'object' && err !== null) {
    const details = (err as { failureDetails?: { properties?: Record<string, unknown> } }).failureDetails;
    const fromProps = fromObject(details?.properties?.pgkeepError);
    if (fromProps) return fromProps;
  }
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const at = text.indexOf(MARKER);
  if (at >= 0) {
    const rest = text.slice(at + MARKER.length);
    // The JSON object ends at its matching brace; hosts append details after it.
    let depth = 0;
    let inString = false;
    for (let i = 0; i < rest.length; i++) {
      const ch = rest[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        try {
          const decoded = fromObject(JSON.parse(rest.slice(0, i + 1)));
          if (decoded) return decoded;
        } catch {
          break;
        }
        break;
      }
    }
  }
  return { code: 'SystemErrorInternal', message: 'internal error', hint: errorSpec('SystemErrorInternal').hint };
}
