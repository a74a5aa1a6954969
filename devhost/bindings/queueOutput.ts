// Queue output bindings: turns a function's RPC output values into messages, written only after success, encoded as
// host.json says (base64 by default), as the host's queue extension does.
import type { BindingMetadata } from '../core-shim';
import type { RpcTypedData } from '../invoke';
import type { QueueOptions } from '../settings';
import { resolveSettingRefs } from '../settings';
import { normaliseQueueName, queueService } from '../storage';

/** One RPC value becomes zero or more message bodies (JSON arrays fan out, one message per element). */
export function messagesFromRpc(data: RpcTypedData | undefined): Buffer[] {
  if (!data) return [];
  if (data.string !== undefined) return [Buffer.from(data.string, 'utf8')];
  if (data.bytes !== undefined) return [Buffer.from(data.bytes)];
  if (data.int !== undefined || data.double !== undefined) return [Buffer.from(String(data.int ?? data.double))];
  if (data.json !== undefined) {
    const v = JSON.parse(data.json) as unknown;
    if (v === null || v === undefined) return [];
    if (Array.isArray(v)) {
      return v.map((el) => Buffer.from(typeof el === 'string' ? el : JSON.stringify(el), 'utf8'));
    }
    return [Buffer.from(data.json, 'utf8')];
  }
  return [];
}

export function encodeMessage(body: Buffer, encoding: QueueOptions['messageEncoding']): string {
  return encoding === 'base64' ? body.toString('base64') : body.toString('utf8');
}

/** Writes every queue output the invocation produced; throws on the first failure so the invocation fails. */
export async function writeQueueOutputs(
  bindings: Record<string, BindingMetadata>,
  outputs: { name: string; data: RpcTypedData | undefined }[],
  options: QueueOptions,
): Promise<number> {
  let written = 0;
  for (const { name, data } of outputs) {
    const binding = Object.entries(bindings).find(([key, b]) => key === name || b.name === name)?.[1];
    if (!binding || binding.type !== 'queue' || binding.direction !== 'out') continue;
    const bodies = messagesFromRpc(data);
    if (bodies.length === 0) continue;
    const queueName = normaliseQueueName(resolveSettingRefs(String(binding.queueName)));
    const queue = queueService(binding.connection).getQueueClient(queueName);
    await queue.createIfNotExists();
    for (const body of bodies) {
      await queue.sendMessage(encodeMessage(body, options.messageEncoding));
      written++;
    }
  }
  return written;
}
