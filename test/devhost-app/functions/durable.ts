// Sample orchestrations and activities that exercise devhost's Durable engine: sequences, fan-out, failures with
// error codes, retries, timers, events, sub-orchestrations, continue-as-new, restart resume and non-determinism.
import fs from 'node:fs';
import { app, type HttpRequest, type HttpResponse, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient, OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { TableClient } from '@azure/data-tables';

// Carries an error's `code` (and `retryable`) across the activity boundary as FailureDetails properties — the same
// mechanism pgkeep uses; the orchestrator reads err.failureDetails.properties.code from the TaskFailedError.
df.app.setExceptionPropertiesProvider({
  getExceptionProperties(error: unknown) {
    if (error && typeof error === 'object' && 'code' in error) {
      const e = error as { code: unknown; retryable?: unknown };
      return { code: e.code, retryable: e.retryable ?? false };
    }
    return undefined;
  },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- activities ------------------------------------------------------------------------------------------------

df.app.activity('durHello', {
  handler: (input: unknown) => `Hello ${typeof input === 'string' ? input : JSON.stringify(input)}`,
});
df.app.activity('durDouble', { handler: (n: number) => n * 2 });
df.app.activity('durNothing', { handler: () => undefined });

class CodedError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}

df.app.activity('durFail', {
  handler: (input: { message: string; code?: string }) => {
    if (input.code) throw new CodedError(input.message, input.code, false);
    throw new Error(input.message);
  },
});

// Fails until attempt `succeedOn` (per key), recording when each attempt ran: retries are performed by the host.
const attempts = new Map<string, number[]>();
df.app.activity('durFlaky', {
  handler: (input: { key: string; succeedOn: number }) => {
    const times = [...(attempts.get(input.key) ?? []), Date.now()];
    attempts.set(input.key, times);
    if (times.length < input.succeedOn) throw new Error(`flaky attempt ${times.length}`);
    return { attempts: times.length, times };
  },
});

// Fails on its first two calls per key, then returns the call number (no retry of its own).
const onceCalls = new Map<string, number>();
df.app.activity('durFlakyOnce', {
  handler: (key: string) => {
    const n = (onceCalls.get(key) ?? 0) + 1;
    onceCalls.set(key, n);
    if (n < 3) throw new Error(`child attempt ${n} failed`);
    return n;
  },
});

/** Records side effects in a table so a test can count them across a devhost crash and restart. */
async function record(key: string, what: string): Promise<void> {
  const conn = process.env.AzureWebJobsStorage ?? '';
  const table = TableClient.fromConnectionString(conn, 'durableSideEffects', { allowInsecureConnection: true });
  await table.createTable();
  await table.createEntity({ partitionKey: key, rowKey: `${what}-${Date.now()}-${Math.random()}`, what });
}

df.app.activity('durSlowCount', {
  handler: async (input: { key: string; ms: number }) => {
    await record(input.key, 'started');
    await sleep(input.ms);
    await record(input.key, 'completed');
    return `slept ${input.ms}`;
  },
});

// ---- orchestrations ---------------------------------------------------------------------------------------------

df.app.orchestration('durSequence', function* (ctx: OrchestrationContext) {
  const a: unknown = yield ctx.df.callActivity('durHello', 'Tokyo');
  const b: unknown = yield ctx.df.callActivity('durHello', { city: 'Seattle' });
  const nothing: unknown = yield ctx.df.callActivity('durNothing');
  yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 1000));
  ctx.df.setCustomStatus({ step: 'done' });
  return [a, b, nothing ?? null];
});

df.app.orchestration('durFanOut', function* (ctx: OrchestrationContext) {
  const n = ctx.df.getInput<number>();
  const tasks = Array.from({ length: n }, (_, i) => ctx.df.callActivity('durDouble', i + 1));
  const results = (yield ctx.df.Task.all(tasks)) as number[];
  return results.reduce((s, x) => s + x, 0);
});

df.app.orchestration('durFailUncaught', function* (ctx: OrchestrationContext) {
  yield ctx.df.callActivity('durFail', { message: 'activity boom' });
  return 'unreachable';
});

df.app.orchestration('durFailCaught', function* (ctx: OrchestrationContext) {
  try {
    yield ctx.df.callActivity('durFail', { message: 'no space left', code: 'PGK_TEST_CODE' });
    return 'unreachable';
  } catch (err) {
    const e = err as df.TaskFailedError;
    return {
      isTaskFailedError: err instanceof df.TaskFailedError,
      message: e.message,
      code: e.failureDetails?.properties?.code ?? null,
      retryable: e.failureDetails?.properties?.retryable ?? null,
      errorType: e.failureDetails?.errorType ?? null,
    };
  }
});

df.app.orchestration('durRetry', function* (ctx: OrchestrationContext) {
  const input = ctx.df.getInput<{ key: string; succeedOn: number; maxAttempts: number }>();
  const opts = new df.RetryOptions(400, input.maxAttempts);
  opts.backoffCoefficient = 2;
  try {
    return (yield ctx.df.callActivityWithRetry('durFlaky', opts, {
      key: input.key,
      succeedOn: input.succeedOn,
    })) as unknown;
  } catch (err) {
    return { exhausted: true, message: (err as Error).message };
  }
});

// A retry inside Task.all while siblings complete, then more work: the host's retry ids interleave with the
// orchestrator's own ids exactly as DTFx allocates them (protocol §2.6, §2.7).
df.app.orchestration('durFanOutRetry', function* (ctx: OrchestrationContext) {
  const key = ctx.df.getInput<string>();
  const opts = new df.RetryOptions(300, 3);
  const results = (yield ctx.df.Task.all([
    ctx.df.callActivity('durDouble', 1),
    ctx.df.callActivityWithRetry('durFlaky', opts, { key, succeedOn: 3 }),
    ctx.df.callActivity('durDouble', 3),
  ])) as [number, { attempts: number }, number];
  const after = (yield ctx.df.callActivity('durDouble', 10)) as number;
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60_000));
  const flaky2 = ctx.df.callActivityWithRetry('durFlaky', opts, { key: `${key}-any`, succeedOn: 2 });
  const winner: unknown = yield ctx.df.Task.any([flaky2, timer]);
  if (winner === flaky2) timer.cancel();
  return {
    first: results[0],
    attempts: results[1].attempts,
    third: results[2],
    after,
    anyAttempts: (flaky2.result as { attempts: number }).attempts,
  };
});

df.app.orchestration('durSubRetry', function* (ctx: OrchestrationContext) {
  const key = ctx.df.getInput<string>();
  const opts = new df.RetryOptions(200, 3);
  return (yield ctx.df.callSubOrchestratorWithRetry('durFlakyChild', opts, key)) as unknown;
});

df.app.orchestration('durFlakyChild', function* (ctx: OrchestrationContext) {
  const key = ctx.df.getInput<string>();
  // durFlaky keeps per-key attempt counts: each child run is one attempt of the parent's retry.
  const res = (yield ctx.df.callActivity('durFlakyOnce', key)) as number;
  return { childAttempt: res, child: ctx.df.instanceId };
});

df.app.orchestration('durApproval', function* (ctx: OrchestrationContext) {
  const { timeoutSeconds } = ctx.df.getInput<{ timeoutSeconds: number }>();
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + timeoutSeconds * 1000));
  const approval = ctx.df.waitForExternalEvent('Approve');
  const winner: unknown = yield ctx.df.Task.any([approval, timer]);
  if (winner === approval) {
    timer.cancel();
    return { approved: approval.result };
  }
  return 'timed out';
});

df.app.orchestration('durEarlyEvent', function* (ctx: OrchestrationContext) {
  const slept: unknown = yield ctx.df.callActivity('durSlowCount', { key: ctx.df.instanceId, ms: 1500 });
  const go: unknown = yield ctx.df.waitForExternalEvent('Go');
  return { slept, go };
});

df.app.orchestration('durChild', function* (ctx: OrchestrationContext) {
  const input = ctx.df.getInput<{ n: number; fail?: boolean }>();
  if (input.fail) yield ctx.df.callActivity('durFail', { message: `child ${input.n} failed` });
  const doubled: unknown = yield ctx.df.callActivity('durDouble', input.n);
  return { child: ctx.df.instanceId, parent: ctx.df.parentInstanceId ?? null, doubled };
});

df.app.orchestration('durParent', function* (ctx: OrchestrationContext) {
  const auto: unknown = yield ctx.df.callSubOrchestrator('durChild', { n: 1 });
  const explicit: unknown = yield ctx.df.callSubOrchestrator('durChild', { n: 2 }, `${ctx.df.instanceId}-explicit`);
  let failure = '';
  try {
    yield ctx.df.callSubOrchestrator('durChild', { n: 3, fail: true });
  } catch (err) {
    failure = (err as Error).message;
  }
  return { auto, explicit, failure };
});

df.app.orchestration('durCounter', function* (ctx: OrchestrationContext) {
  const n = ctx.df.getInput<number>();
  const doubled = (yield ctx.df.callActivity('durDouble', n)) as number;
  if (n < 3) {
    ctx.df.continueAsNew(n + 1);
    return undefined;
  }
  return { generation: n, doubled };
});

df.app.orchestration('durResume', function* (ctx: OrchestrationContext) {
  const input = ctx.df.getInput<{ key: string; timerSeconds: number; activityMs: number }>();
  yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + input.timerSeconds * 1000));
  const slept: unknown = yield ctx.df.callActivity('durSlowCount', { key: input.key, ms: input.activityMs });
  return { slept };
});

// Reads a flag file on every replay — deliberately non-deterministic, so the engine's check can be exercised.
df.app.orchestration('durNonDeterministic', function* (ctx: OrchestrationContext) {
  const flagFile = ctx.df.getInput<string>();
  const flag = fs.readFileSync(flagFile, 'utf8').trim();
  yield flag === 'A' ? ctx.df.callActivity('durHello', 'A') : ctx.df.callActivity('durDouble', 2);
  yield ctx.df.waitForExternalEvent('Continue');
  return flag;
});

df.app.orchestration('durWaitForever', function* (ctx: OrchestrationContext) {
  ctx.df.setCustomStatus('waiting for Never');
  yield ctx.df.waitForExternalEvent('Never');
  return 'unreachable';
});

const callHttpOrchestrator: OrchestrationHandler = function* (ctx: OrchestrationContext) {
  yield ctx.df.callHttp({ method: 'GET', url: 'http://127.0.0.1:9/nothing' });
  return 'unreachable';
};
df.app.orchestration('durCallHttp', callHttpOrchestrator);

df.app.orchestration('durCallEntity', function* (ctx: OrchestrationContext) {
  yield ctx.df.callEntity(new df.EntityId('counter', 'k'), 'add', 1);
  return 'unreachable';
});

// ---- HTTP starters through the durable client (df.getClient via df.app.client.http) ---------------------------

df.app.client.http('durStart', {
  route: 'durable/start/{name}/{id?}',
  methods: ['POST'],
  handler: async (req: HttpRequest, client: DurableClient, _ctx: InvocationContext): Promise<HttpResponse> => {
    const text = await req.text();
    const instanceId = await client.startNew(req.params.name ?? '', {
      ...(req.params.id ? { instanceId: req.params.id } : {}),
      ...(text ? { input: JSON.parse(text) as unknown } : {}),
    });
    return client.createCheckStatusResponse(req, instanceId);
  },
});

app.http('durStatus', {
  route: 'durable/status/{id}',
  methods: ['GET'],
  extraInputs: [df.input.durableClient()],
  handler: async (req: HttpRequest, ctx: InvocationContext) => {
    const client = df.getClient(ctx);
    const status = await client.getStatus(req.params.id ?? '', { showInput: true });
    return { jsonBody: status };
  },
});

app.http('durRaise', {
  route: 'durable/raise/{id}/{event}',
  methods: ['POST'],
  extraInputs: [df.input.durableClient()],
  handler: async (req: HttpRequest, ctx: InvocationContext) => {
    await df.getClient(ctx).raiseEvent(req.params.id ?? '', req.params.event ?? '', await req.json());
    return { status: 202 };
  },
});
