// Registration of the HTTP API (design §3): one function per route of shared/api/routes.ts, under /api (host.json's
// routePrefix is "" so that the console can live at the root; functions/console.ts answers every other route).

import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { apiDeps, getRuntime } from '../shared/composition';
import { getConfig } from '../shared/config';
import { runHandler } from '../shared/api/http';
import { recordCall } from '../shared/api/audit';
import type { ApiRequest } from '../shared/contracts/http';
import { apiAuthLevel, apiRoutes, requireRole, type Route } from '../shared/api/routes';
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

// Read once at load: with caller roles enforced, App Service Authentication is the gate (no function key in the
// browser); without, function keys are. A setting that cannot be read keeps the keys.
const authLevel = apiAuthLevel(() => getConfig().ENFORCE_CALLER_ROLES);

for (const route of apiRoutes) {
  app.http(route.name, {
    methods: [route.method],
    route: `api/${route.route}`,
    authLevel: route.role === 'Anonymous' ? 'anonymous' : authLevel,
    extraInputs: [df.input.durableClient()],
    handler: (req, context) => serve(route, req, context),
  });
}
