// Runs one function invocation the way the Node worker's InvocationHandler does (protocol §1.3): the library's own
// InvocationModel builds the arguments from RPC-shaped data, hooks run around the handler, and the response comes
// back RPC-shaped for the caller (HTTP server, queue/timer triggers, durable engine) to interpret.
import { randomUUID } from 'node:crypto';
import type { FunctionRegistry } from './core-shim';

export type RpcTypedData = {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  int?: number;
  double?: number;
  http?: unknown;
};

export interface InvokeRequest {
  functionName: string;
  inputData: { name: string; data: RpcTypedData | undefined }[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number; exception?: unknown };
  /** The id the app sees as context.invocationId; a fresh UUID when absent. */
  invocationId?: string;
}

export interface InvokeResult {
  returnValue?: RpcTypedData;
  outputData: { name: string; data: RpcTypedData }[];
  error?: Error;
  /** The invocation id given to the app (context.invocationId). */
  invocationId?: string;
}

interface CoreInvocationContext {
  invocationId: string;
  request: Record<string, unknown>;
  metadata: Record<string, unknown>;
  state: string | undefined;
  log(level: string, category: string, msg: string): void;
}

interface InvocationModelLike {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: (...args: unknown[]) => unknown): Promise<unknown>;
  getResponse(
    context: unknown,
    result: unknown,
  ): Promise<{ returnValue?: RpcTypedData | null; outputData?: { name: string; data: RpcTypedData }[] | null }>;
}

interface ProgrammingModelLike {
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModelLike;
}

function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  // Same spirit as the library's ensureErrorType: keep the value readable without losing it.
  const e = new Error(typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)));
  (e as Error & { thrownValue?: unknown }).thrownValue = err;
  return e;
}

/** Invokes a registered function. Throws only for host errors (unknown function, no programming model). */
export async function invokeFunction(registry: FunctionRegistry, req: InvokeRequest): Promise<InvokeResult> {
  const fn = registry.functions.get(req.functionName);
  if (!fn) throw new Error(`function "${req.functionName}" is not registered`);
  const pm = registry.getProgrammingModel() as ProgrammingModelLike | undefined;
  if (!pm) throw new Error('no programming model registered: did the app load @azure/functions after the core shim?');

  const invocationId = req.invocationId ?? randomUUID();
  let invocationContext: unknown;
  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.functionId,
      inputData: req.inputData,
      triggerMetadata: req.triggerMetadata,
      retryContext: req.retryContext,
    },
    metadata: {
      name: fn.name,
      functionId: fn.functionId,
      bindings: fn.bindings,
      retryOptions: fn.retryOptions,
    },
    state: undefined,
    log: (level, category, msg) => registry.log(level, category, msg, invocationContext),
  };

  try {
    const model = pm.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    invocationContext = context;

    const hookData: Record<string, unknown> = {};
    const pre = {
      hookData,
      appHookData: registry.appHookData,
      invocationContext: context,
      inputs,
      functionCallback: fn.callback,
    };
    coreCtx.state = 'preInvocationHooks';
    await registry.runHooks('preInvocation', pre);

    coreCtx.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
      error = err;
    }

    coreCtx.state = 'postInvocationHooks';
    const post = {
      hookData,
      appHookData: registry.appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    try {
      await registry.runHooks('postInvocation', post);
    } catch (err) {
      post.error = err;
    }
    if (post.error !== undefined && post.error !== null) {
      return { outputData: [], error: toError(post.error), invocationId };
    }

    const response = await model.getResponse(context, post.result);
    const out: InvokeResult = { outputData: response.outputData ?? [], invocationId };
    if (response.returnValue !== undefined && response.returnValue !== null) out.returnValue = response.returnValue;
    return out;
  } catch (err) {
    return { outputData: [], error: toError(err), invocationId };
  } finally {
    coreCtx.state = undefined;
  }
}

/** Decodes an RPC value the way the library's fromRpcTypedData does for the common fields (no HttpRequest). */
export function decodeRpcTypedData(data: RpcTypedData | undefined | null): unknown {
  if (!data) return undefined;
  if (data.string !== undefined) return data.string;
  if (data.json !== undefined) return JSON.parse(data.json) as unknown;
  if (data.bytes !== undefined) return Buffer.from(data.bytes);
  if (data.int !== undefined) return Number(data.int);
  if (data.double !== undefined) return Number(data.double);
  if (data.http !== undefined) return data.http;
  return undefined;
}
