// Adapts @azure/functions' HttpRequest/HttpResponseInit to the API's framework-free ApiRequest/ApiResponse,
// enforcing the body size limit before the body is read whole.

import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { PgkeepError } from '../../errors';
import type { ApiRequest, ApiResponse } from '../../contracts/http';

const tooLarge = (max: number) =>
  new PgkeepError('UserErrorInvalidRequest', `the request body is larger than ${max} bytes`, {
    status: 413,
    target: '$',
    hint: 'send a smaller body (MAX_REQUEST_BODY_BYTES)',
  });

export async function toApiRequest(req: HttpRequest, maxBodyBytes: number): Promise<ApiRequest> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
  let body: string | undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.body) {
    const bytes = Buffer.from(await req.arrayBuffer());
    if (bytes.length > maxBodyBytes) throw tooLarge(maxBodyBytes);
    body = bytes.length > 0 ? bytes.toString('utf8') : undefined;
  }
  return {
    method: req.method,
    params: req.params,
    query: new URLSearchParams(req.query),
    headers: req.headers,
    url: req.url,
    ...(body !== undefined ? { body } : {}),
  };
}

export function toHttpResponse(res: ApiResponse): HttpResponseInit {
  const init: HttpResponseInit = { status: res.status };
  if (res.headers) init.headers = res.headers;
  if (res.jsonBody !== undefined) init.jsonBody = res.jsonBody;
  return init;
}
