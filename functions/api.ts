// Registration of the HTTP API (design §3): one function per route of shared/api/routes.ts, plus a catch-all
// that answers unknown routes with the Azure error body.

import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { apiDeps, getRuntime } from '../shared/composition';
import { PgkeepError } from '../shared/errors';
import { runHandler } from '../shared/api/http';
import { recordCall } from '../shared/api/audit';
import type { ApiRequest } from '../shared/contracts/http';
import { apiRoutes, requireRole, type Route } from '../shared/api/routes';
import { toApiRequest, toHttpResponse } from '../shared/adapters/functions/functions-http';

async function serve(route: Route, req: HttpRequest, context: InvocationContext) {
  const rt = getRuntime(getConfig);
  const log = { error: (message: string, props?: Record<string, unknown>) => context.error(message, props) };
  // The placeholder request only carries the URL: reading the body (and its size check) happens inside runHandler
  // so that a too-large body is answered like every other error.
  const placeholder: ApiRequest = {
    method: req.method,
    params: {},
    query: new URL(req.url).searchParams,
    headers: req.headers,
    url: req.url,
  };
  const response = await runHandler(
    async () => {
      const apiReq = await toApiRequest(req, rt.config.MAX_REQUEST_BODY_BYTES);
      if (rt.config.ENFORCE_CALLER_ROLES) requireRole(apiReq, route.role);
      return route.run(apiDeps(rt, df.getClient(context)), apiReq);
    },
    placeholder,
    log,
  );
  // Every state-changing call, refused ones included, is audited with who, what, when, from where and the outcome.
  await recordCall(rt.stores.auditLog, route.name, placeholder, response, rt.clock.now(), log.error);
  return toHttpResponse(response);
}

for (const route of apiRoutes) {
  app.http(route.name, {
    methods: [route.method],
    route: route.route,
    authLevel: route.role === 'Anonymous' ? 'anonymous' : 'function',
    extraInputs: [df.input.durableClient()],
    handler: (req, context) => serve(route, req, context),
  });
}

app.http('notFound', {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: (req) => {
    const e = new PgkeepError('UserErrorNotFound', `no route ${req.method} ${new URL(req.url).pathname}`, {
      hint: 'see the API routes in the README',
    });
    return Promise.resolve({ status: 404, jsonBody: e.toBody() });
  },
});
