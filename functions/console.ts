// Registration of the host's catch-all: the web console's files at the root (shared/adapters/functions/console-files),
// and the Azure 404 error body for every other route, /api/… included. The real host tries routes in the order of
// their function names (case-insensitive), so this one's name must sort after every other HTTP function's
// (test/unit/api/http.test.ts checks it against the route table).

import path from 'node:path';
import { app, type HttpRequest } from '@azure/functions';
import { PgkeepError } from '../shared/errors';
import { catchAllFunctionName } from '../shared/api/routes';
import { createConsoleFiles } from '../shared/adapters/functions/console-files';

const files = createConsoleFiles(path.resolve(__dirname, '../console/public'));

async function serve(req: HttpRequest) {
  const { pathname } = new URL(req.url);
  if (req.method === 'GET' || req.method === 'HEAD') {
    const hit = await files.serve(pathname, {
      acceptEncoding: req.headers.get('accept-encoding'),
      head: req.method === 'HEAD',
    });
    if (hit) return { status: hit.status, headers: hit.headers, ...(hit.body ? { body: hit.body } : {}) };
  }
  const e = new PgkeepError('UserErrorNotFound', `no route ${req.method} ${pathname}`, {
    hint: 'see the API routes in the README',
  });
  return { status: 404, jsonBody: e.toBody() };
}

app.http(catchAllFunctionName, {
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: (req) => serve(req),
});
