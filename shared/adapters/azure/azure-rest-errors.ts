// Tells apart the failures of Azure SDK calls that adapters map to pgkeep codes: HTTP answers by status, and
// transport failures where nothing answered. Anything else is left to the caller to rethrow.

import { networkErrnos } from '../network-errors';

/** The shape of @azure/core-rest-pipeline's RestError, recognised by name so no transitive package is imported. */
export interface RestErrorLike extends Error {
  name: 'RestError';
  statusCode?: number;
  code?: string;
  details?: unknown;
}

export function isRestError(err: unknown): err is RestErrorLike {
  return err instanceof Error && err.name === 'RestError';
}

// Node's socket and DNS codes, and the pipeline's own code for a request that could not be sent.
const transportCodes: ReadonlySet<string> = new Set([...networkErrnos, 'REQUEST_SEND_ERROR']);

/** Nothing answered: refused, reset, timed out, or the host name did not resolve. TLS failures are not included. */
export function isTransportError(err: unknown): boolean {
  return isRestError(err) && err.statusCode === undefined && err.code !== undefined && transportCodes.has(err.code);
}

/** The service answered but could not serve now (throttled or failed), after the SDK's own retries. */
export function isServiceUnavailable(err: unknown): boolean {
  return isRestError(err) && err.statusCode !== undefined && (err.statusCode === 429 || err.statusCode >= 500);
}

/** Key Vault's `error.innererror.code` (ForbiddenByRbac, ForbiddenByFirewall, SecretDisabled, KeyDisabled, …). */
export function keyVaultInnerCode(err: RestErrorLike): string | undefined {
  const error = (err.details as { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } })
    ?.error;
  const code = error?.innerError?.code ?? error?.innererror?.code;
  return typeof code === 'string' ? code : undefined;
}
