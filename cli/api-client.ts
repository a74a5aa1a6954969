// The CLI's one way to the pgkeep HTTP API: the base URL, the caller's credentials (a function key and/or an Entra ID
// token), one request at a time with a deadline. A failure becomes ApiError (exit 1, the API's error body as the API
// wrote it) or ApiUnreachableError (exit 3). Keys and tokens go into headers only: never into a message or a log line.

import { errorBodySchema } from '../shared/contracts/resources';
import { CliError, exitCodes } from './exit-codes';
import { formatError, type ErrorReport } from './print';

export const defaultApiUrl = 'http://localhost:7071/api';
const defaultTimeoutMs = 60_000;

export interface ApiClientOptions {
  /** The API's root, e.g. http://localhost:7071/api: no credentials, no query (checked by the caller). */
  readonly baseUrl: string;
  /** A function key, sent as `x-functions-key`. */
  readonly key?: string;
  /** An Entra ID scope (`api://<app id>/.default`): a token for it is sent as `Authorization: Bearer`. */
  readonly scope?: string;
  /** Where --verbose writes one line per request (method, URL, status, time; never headers or bodies). */
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
  /** Gets a token for a scope; DefaultAzureCredential when omitted. */
  readonly getToken?: (scope: string) => Promise<string>;
}

/** A successful answer: the status, the body exactly as sent (for --json) and parsed. */
export interface ApiAnswer<T = unknown> {
  readonly status: number;
  readonly text: string;
  readonly body: T;
}

export interface CallOptions {
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  /** Statuses ≥ 400 that are answers, not errors (GET /health answers 503 when something is Critical). */
  readonly accept?: readonly number[];
  /** Aborts the request (Ctrl-C while watching); the AbortError reaches the caller as it is. */
  readonly signal?: AbortSignal;
}

/** The API answered with an error: its code, message, details and hint are printed; exit 1. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly report: ErrorReport,
  ) {
    super(exitCodes.failed, `${report.code ? `${report.code}: ` : ''}${report.message}`);
  }

  override render(): string {
    return formatError(this.report);
  }
}

/** Nothing answered at the URL: exit 3, with the URL and how to start the API. */
export class ApiUnreachableError extends CliError {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(exitCodes.unreachable, `cannot reach the pgkeep API at ${url} (${reason})`);
  }

  override render(): string {
    return (
      `pgkeep: ${this.message}\n` +
      'hint: start it with `npm start` in a pgkeep checkout, or point --api (or PGKEEP_API_URL) at a running one\n'
    );
  }
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection broke',
};

function networkReason(err: unknown): string | undefined {
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'no answer in time';
  if (!(err instanceof TypeError)) return undefined;
  // undici: TypeError('fetch failed') caused by the socket's error (an AggregateError when several addresses failed).
  const cause = (err as { cause?: { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return networkReasons[code] ?? code;
  return typeof cause?.message === 'string' && cause.message !== '' ? cause.message : 'the request could not be sent';
}

const statusHints: Record<number, string> = {
  401: 'the API wants credentials: set PGKEEP_API_KEY to a function key (and PGKEEP_API_SCOPE for an Entra ID token)',
  403: 'the caller lacks the role this needs (Reader, Operator or Admin)',
  404: 'is --api (PGKEEP_API_URL) the root of the pgkeep API, ending in /api?',
};

/** The report of an error answer: the API's error body, or what can be said about a body that is not one. */
function errorReport(status: number, statusText: string, text: string): ErrorReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = errorBodySchema.safeParse(json);
  if (parsed.success) return parsed.data.error;
  // A newer API may send codes this CLI does not know yet: show them as they are.
  const loose = (json as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined)?.error;
  if (typeof loose?.code === 'string' && typeof loose.message === 'string') {
    return { code: loose.code, message: loose.message, ...(typeof loose.hint === 'string' && { hint: loose.hint }) };
  }
  const hint = statusHints[status] ?? (status >= 500 ? "the app's log has the details" : undefined);
  return { message: `the API answered ${status}${statusText ? ` ${statusText}` : ''}`, ...(hint && { hint }) };
}

async function entraToken(scope: string): Promise<string> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  try {
    return (await new DefaultAzureCredential().getToken(scope)).token;
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new ApiError(0, {
      message: `cannot get an Entra ID token for ${scope}: ${first}`,
      hint: 'sign in with `az login` (or give the process a managed identity or AZURE_CLIENT_ID/…), or unset PGKEEP_API_SCOPE',
    });
  }
}

export class ApiClient {
  private token: Promise<string> | undefined;

  constructor(private readonly options: ApiClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** One request; resolves with a 2xx (or accepted) answer, rejects with ApiError or ApiUnreachableError. */
  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer<T>> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}/${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.key) headers['x-functions-key'] = this.options.key;
    if (this.options.scope) {
      this.token ??= (this.options.getToken ?? entraToken)(this.options.scope);
      headers.authorization = `Bearer ${await this.token}`;
    }
    const deadline = AbortSignal.timeout(this.options.timeoutMs ?? defaultTimeoutMs);
    const began = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal: options.signal ? AbortSignal.any([options.signal, deadline]) : deadline,
      });
      text = await res.text();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const reason = networkReason(err);
      this.options.log?.(`${method} ${url.href} → ${reason ?? 'failed'} (${Date.now() - began} ms)`);
      if (reason !== undefined) throw new ApiUnreachableError(this.options.baseUrl, reason);
      throw err;
    }
    this.options.log?.(`${method} ${url.href} → ${res.status} (${Date.now() - began} ms)`);
    if (res.status >= 400 && !(options.accept ?? []).includes(res.status)) {
      throw new ApiError(res.status, errorReport(res.status, res.statusText, text));
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, {
        message: `the answer to ${method} ${url.href} is not JSON`,
        hint: statusHints[404],
      });
    }
    return { status: res.status, text, body: body as T };
  }
}
