// Sample HTTP functions: route templates, constraints, bodies, cookies, status mapping, errors, settings, auth.
import { app, output, type HttpRequest, type HttpResponseInit } from '@azure/functions';

app.http('echo', {
  methods: ['GET', 'POST'],
  route: 'echo/{id:int}/{name?}',
  handler: (req: HttpRequest): HttpResponseInit => ({
    jsonBody: { params: req.params, query: Object.fromEntries(req.query), method: req.method, url: req.url },
  }),
});

app.http('itemsCatchAll', {
  methods: ['GET'],
  route: 'items/{*rest}',
  handler: (req: HttpRequest): HttpResponseInit => ({
    jsonBody: { handler: 'catchAll', rest: req.params.rest ?? null },
  }),
});

app.http('itemsLiteral', {
  methods: ['GET'],
  route: 'items/special',
  handler: (): HttpResponseInit => ({ jsonBody: { handler: 'literal' } }),
});

app.http('byGuid', {
  methods: ['GET'],
  route: 'kinds/{g:guid}',
  handler: (req: HttpRequest): HttpResponseInit => ({ jsonBody: { kind: 'guid', value: req.params.g } }),
});

app.http('byBool', {
  methods: ['GET'],
  route: 'kinds/{b:bool}',
  handler: (req: HttpRequest): HttpResponseInit => ({ jsonBody: { kind: 'bool', value: req.params.b } }),
});

app.http('byAlpha', {
  methods: ['GET'],
  route: 'kinds/{a:alpha}',
  handler: (req: HttpRequest): HttpResponseInit => ({ jsonBody: { kind: 'alpha', value: req.params.a } }),
});

app.put('putOnly', {
  route: 'put-only',
  handler: (): HttpResponseInit => ({ body: 'put' }),
});

app.http('body', {
  methods: ['POST'],
  handler: async (req: HttpRequest): Promise<HttpResponseInit> => {
    if ((req.headers.get('content-type') ?? '').startsWith('application/json')) {
      return { jsonBody: { received: await req.json() } };
    }
    // Binary in, binary out (reversed) proves bytes pass through untouched both ways.
    const bytes = Buffer.from(await req.arrayBuffer());
    return { body: Buffer.from(bytes).reverse(), headers: { 'content-type': 'application/octet-stream' } };
  },
});

app.get('cookies', {
  handler: (): HttpResponseInit => ({
    body: 'with cookies',
    cookies: [
      { name: 'session', value: 'abc', httpOnly: true, path: '/', sameSite: 'Strict' },
      { name: 'theme', value: 'dark', maxAge: 60 },
    ],
    headers: { 'x-sample': 'yes' },
  }),
});

app.get('nocontent', { handler: (): HttpResponseInit => ({ status: 204, body: 'dropped by the host' }) });

app.get('created', { handler: (): HttpResponseInit => ({ status: 201, jsonBody: { ok: true } }) });

app.get('nothing', { handler: () => Promise.resolve(undefined as unknown as HttpResponseInit) });

app.get('boom', {
  handler: (): HttpResponseInit => {
    throw new Error('sensitive detail that must not reach the caller');
  },
});

app.get('env', {
  handler: (): HttpResponseInit => ({
    jsonBody: {
      FROM_FILE: process.env.FROM_FILE ?? null,
      OVERRIDDEN: process.env.OVERRIDDEN ?? null,
      FUNCTIONS_WORKER_RUNTIME: process.env.FUNCTIONS_WORKER_RUNTIME ?? null,
      AZURE_FUNCTIONS_ENVIRONMENT: process.env.AZURE_FUNCTIONS_ENVIRONMENT ?? null,
      WEBSITE_HOSTNAME: process.env.WEBSITE_HOSTNAME ?? null,
    },
  }),
});

app.get('secured', { authLevel: 'function', handler: (): HttpResponseInit => ({ body: 'function level' }) });
app.get('adminOnly', { authLevel: 'admin', handler: (): HttpResponseInit => ({ body: 'admin level' }) });

app.get('disabledHttp', { handler: (): HttpResponseInit => ({ body: 'should be disabled' }) });

const sampleQueue = output.storageQueue({ queueName: '%SAMPLE_QUEUE%', connection: 'AzureWebJobsStorage' });
app.post('enqueue', {
  extraOutputs: [sampleQueue],
  handler: async (req, context): Promise<HttpResponseInit> => {
    context.extraOutputs.set(sampleQueue, await req.json());
    return { status: 202 };
  },
});
