// The core shim registers the real @azure/functions app and invokeFunction drives it like the worker (§1.1–1.4).
import { describe, expect, it } from 'vitest';
import { app, output, type HttpRequest, type InvocationContext } from '@azure/functions';
import { installCoreShim } from '../../devhost/core-shim';
import { invokeFunction } from '../../devhost/invoke';

const registry = installCoreShim(() => undefined);
const hookLog: string[] = [];
const extraQueue = output.storageQueue({ queueName: 'outq', connection: 'AzureWebJobsStorage' });

app.hook.preInvocation((ctx) => {
  hookLog.push(`pre:${ctx.invocationContext.functionName}`);
  ctx.hookData.started = true;
});
app.hook.postInvocation((ctx) => {
  hookLog.push(
    `post:${ctx.invocationContext.functionName}:${ctx.hookData.started === true}:${ctx.error ? 'err' : 'ok'}`,
  );
});
app.http('hello', {
  route: 'hello/{name}',
  handler: (req: HttpRequest) => ({ status: 201, jsonBody: { hi: req.params.name, q: req.query.get('x') } }),
});
app.storageQueue('work', {
  queueName: 'jobs',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [extraQueue],
  handler: (msg: unknown, ctx: InvocationContext) => {
    if ((msg as { fail?: boolean }).fail) throw new Error('queue boom');
    ctx.extraOutputs.set(extraQueue, [{ seen: msg, dequeueCount: ctx.triggerMetadata?.dequeueCount }]);
  },
});
registry.closeRegistration();

function bindingName(fn: string, type: string): string {
  const f = registry.functions.get(fn);
  const b = f && Object.values(f.bindings).find((x) => x.type === type);
  if (!b) throw new Error(`no ${type} binding on ${fn}`);
  return b.name;
}

describe('core shim', () => {
  it('registers the app functions with their binding metadata', () => {
    expect([...registry.functions.keys()].sort()).toEqual(['hello', 'work']);
    expect(registry.functions.get('hello')?.bindings.$return?.type).toBe('http');
  });

  it('refuses registrations after loading is closed', () => {
    expect(() => app.http('late', { handler: () => ({}) })).toThrow(/during app startup/);
  });
});

describe('invokeFunction', () => {
  it('runs an http handler and returns the RPC http response, with hooks around it', async () => {
    const res = await invokeFunction(registry, {
      functionName: 'hello',
      inputData: [
        {
          name: bindingName('hello', 'httpTrigger'),
          data: {
            http: {
              method: 'GET',
              url: 'http://localhost:7071/api/hello/bob?x=1',
              headers: {},
              params: { name: 'bob' },
            },
          },
        },
      ],
    });
    expect(res.error).toBeUndefined();
    const http = res.returnValue?.http as { statusCode: string; body: { bytes: Uint8Array } };
    expect(http.statusCode).toBe('201');
    expect(JSON.parse(Buffer.from(http.body.bytes).toString('utf8'))).toEqual({ hi: 'bob', q: '1' });
    expect(hookLog).toContain('pre:hello');
    expect(hookLog).toContain('post:hello:true:ok');
  });

  it('passes trigger metadata and returns extra outputs by binding name', async () => {
    const res = await invokeFunction(registry, {
      functionName: 'work',
      inputData: [{ name: bindingName('work', 'queueTrigger'), data: { string: '{"a":1}' } }],
      triggerMetadata: { DequeueCount: { json: '2' } },
    });
    expect(res.error).toBeUndefined();
    expect(res.outputData).toEqual([
      { name: bindingName('work', 'queue'), data: { json: JSON.stringify([{ seen: { a: 1 }, dequeueCount: 2 }]) } },
    ]);
  });

  it('returns a handler error in `error` instead of throwing', async () => {
    const res = await invokeFunction(registry, {
      functionName: 'work',
      inputData: [{ name: bindingName('work', 'queueTrigger'), data: { json: '{"fail":true}' } }],
    });
    expect(res.error?.message).toBe('queue boom');
    expect(hookLog).toContain('post:work:true:err');
  });
});
