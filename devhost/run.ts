// One place every trigger goes through to invoke a function: adds durableClient inputs, logs Executing/Executed as
// the host does, and writes queue outputs only when the invocation succeeded.
import { randomUUID } from 'node:crypto';
import { writeQueueOutputs } from './bindings/queueOutput';
import type { FunctionRegistry, RegisteredFunction } from './core-shim';
import { invokeFunction, type InvokeRequest, type InvokeResult, type RpcTypedData } from './invoke';
import type { HostJson } from './settings';

export interface DurableClientSource {
  clientBindingData(): object;
}

export interface HostRuntime {
  registry: FunctionRegistry;
  hostJson: HostJson;
  log: (line: string) => void;
  /** Set once the durable host exists; durableClient inputs need it. */
  durable: DurableClientSource | undefined;
}

export interface RunRequest {
  reason: string;
  triggerData: RpcTypedData | undefined;
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: InvokeRequest['retryContext'];
}

function errorText(err: Error): string {
  return err.stack ?? `${err.name}: ${err.message}`;
}

export async function runFunction(rt: HostRuntime, fn: RegisteredFunction, req: RunRequest): Promise<InvokeResult> {
  const inputData: InvokeRequest['inputData'] = [];
  for (const [key, b] of Object.entries(fn.bindings)) {
    if (b.direction !== 'in') continue;
    if (/trigger$/i.test(b.type)) inputData.unshift({ name: key, data: req.triggerData });
    else if (b.type === 'durableClient') {
      if (!rt.durable) throw new Error(`function ${fn.name} uses a durable client but the durable host is not running`);
      inputData.push({ name: key, data: { string: JSON.stringify(rt.durable.clientBindingData()) } });
    }
  }
  // The worker gets its id from the host; devhost passes one so both log lines carry the id the app sees.
  const invocationId = randomUUID();
  const request: InvokeRequest & { invocationId: string } = {
    functionName: fn.name,
    inputData,
    invocationId,
    ...(req.triggerMetadata ? { triggerMetadata: req.triggerMetadata } : {}),
    ...(req.retryContext ? { retryContext: req.retryContext } : {}),
  };
  const started = Date.now();
  rt.log(`Executing 'Functions.${fn.name}' (Reason='${req.reason}', Id=${invocationId})`);
  const result = await invokeFunction(rt.registry, request);
  if (!result.error) {
    try {
      const outputs: { name: string; data: RpcTypedData | undefined }[] = [...result.outputData];
      if (fn.bindings.$return) outputs.push({ name: '$return', data: result.returnValue });
      await writeQueueOutputs(fn.bindings, outputs, rt.hostJson.queues);
    } catch (err) {
      result.error = err instanceof Error ? err : new Error(String(err));
    }
  }
  const id = result.invocationId ?? invocationId;
  const duration = Date.now() - started;
  if (result.error) {
    rt.log(`Executed 'Functions.${fn.name}' (Failed, Id=${id}, Duration=${duration}ms)\n  ${errorText(result.error)}`);
  } else {
    rt.log(`Executed 'Functions.${fn.name}' (Succeeded, Id=${id}, Duration=${duration}ms)`);
  }
  return result;
}
