// Writes a function's RPC HTTP response (protocol §1.4) to a node:http response, as the host's HTTP extension does.
import type { ServerResponse } from 'node:http';
import type { RpcTypedData } from '../invoke';

interface Nullable<T> {
  value?: T;
}
interface RpcHttpCookie {
  name: string;
  value: string;
  domain?: Nullable<string>;
  path?: Nullable<string>;
  expires?: Nullable<{ seconds?: number | string }>;
  secure?: Nullable<boolean>;
  httpOnly?: Nullable<boolean>;
  sameSite?: 'none' | 'lax' | 'strict' | 'explicitNone';
  maxAge?: Nullable<number>;
}
export interface RpcHttpResponse {
  statusCode?: string | number;
  headers?: Record<string, string>;
  cookies?: RpcHttpCookie[];
  body?: RpcTypedData;
}

export function serializeCookie(c: RpcHttpCookie): string {
  const parts = [`${c.name}=${c.value}`];
  if (c.domain?.value) parts.push(`domain=${c.domain.value}`);
  if (c.path?.value) parts.push(`path=${c.path.value}`);
  if (c.expires?.value?.seconds !== undefined) {
    parts.push(`expires=${new Date(Number(c.expires.value.seconds) * 1000).toUTCString()}`);
  }
  if (c.maxAge?.value !== undefined) parts.push(`max-age=${Math.trunc(c.maxAge.value)}`);
  if (c.secure?.value) parts.push('secure');
  if (c.sameSite === 'lax' || c.sameSite === 'strict') parts.push(`samesite=${c.sameSite}`);
  else if (c.sameSite === 'explicitNone') parts.push('samesite=none');
  if (c.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}

function bodyBytes(body: RpcTypedData | undefined): Buffer {
  if (!body) return Buffer.alloc(0);
  if (body.bytes !== undefined) return Buffer.from(body.bytes);
  if (body.string !== undefined) return Buffer.from(body.string, 'utf8');
  if (body.json !== undefined) return Buffer.from(body.json, 'utf8');
  if (body.int !== undefined || body.double !== undefined) return Buffer.from(String(body.int ?? body.double));
  return Buffer.alloc(0);
}

const NO_BODY = new Set([204, 205, 304]);

/** `http` is the RPC `{http: …}` payload, or undefined when the handler returned nothing (an empty 200). */
export function writeHttpResponse(res: ServerResponse, http: RpcHttpResponse | undefined, isHead: boolean): void {
  const status = http?.statusCode !== undefined ? Number(http.statusCode) : 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(http?.headers ?? {})) headers[k.toLowerCase()] = v;
  const cookies = (http?.cookies ?? []).map(serializeCookie);
  if (cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : [existing].flat()), ...cookies];
  }
  const body = NO_BODY.has(status) ? Buffer.alloc(0) : bodyBytes(http?.body);
  if (!NO_BODY.has(status)) headers['content-length'] = String(body.length);
  else delete headers['content-length'];
  res.writeHead(Number.isInteger(status) && status >= 100 && status <= 999 ? status : 500, headers);
  res.end(isHead ? undefined : body);
}
