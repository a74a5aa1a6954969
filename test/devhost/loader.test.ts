// What devhost refuses at load time, with a clear message, instead of silently not running a function.
import { describe, expect, it } from 'vitest';
import type { FunctionRegistry, RegisteredFunction } from '../../devhost/core-shim';
import { checkCapabilities, validateRegistrations } from '../../devhost/loader';

function registryOf(fns: Omit<RegisteredFunction, 'functionId' | 'callback'>[], capabilities = {}): FunctionRegistry {
  const functions = new Map(fns.map((f) => [f.name, { ...f, functionId: f.name, callback: () => undefined }]));
  return {
    functions,
    getProgrammingModel: () => ({ getCapabilities: () => Promise.resolve(capabilities) }),
  } as unknown as FunctionRegistry;
}

const trigger = (type: string) => ({ t: { type, direction: 'in' as const, name: 't' } });

describe('validateRegistrations', () => {
  it('accepts http, timer, queue and durable triggers with queue and http outputs and durable clients', () => {
    const reg = registryOf([
      { name: 'a', bindings: { ...trigger('httpTrigger'), $return: { type: 'http', direction: 'out', name: 'r' } } },
      { name: 'b', bindings: { ...trigger('timerTrigger'), q: { type: 'queue', direction: 'out', name: 'q' } } },
      { name: 'c', bindings: { ...trigger('queueTrigger'), d: { type: 'durableClient', direction: 'in', name: 'd' } } },
      { name: 'd', bindings: trigger('orchestrationTrigger') },
      { name: 'e', bindings: trigger('activityTrigger') },
    ]);
    expect(() => validateRegistrations(reg)).not.toThrow();
  });

  it('refuses unsupported triggers and bindings, naming each function and type', () => {
    const reg = registryOf([
      { name: 'counter', bindings: trigger('entityTrigger') },
      { name: 'blobby', bindings: { ...trigger('blobTrigger') } },
      { name: 'writer', bindings: { ...trigger('httpTrigger'), b: { type: 'blob', direction: 'out', name: 'b' } } },
    ]);
    expect(() => validateRegistrations(reg)).toThrow(
      /function counter: trigger type "entityTrigger"[\s\S]*function blobby: trigger type "blobTrigger"[\s\S]*function writer: output binding type "blob"/,
    );
  });
});

describe('checkCapabilities', () => {
  it('fails fast when the app turned on HTTP streaming', async () => {
    await expect(checkCapabilities(registryOf([], { HttpUri: 'http://localhost:55000' }))).rejects.toThrow(
      /HTTP streaming/,
    );
    await expect(checkCapabilities(registryOf([], {}))).resolves.toBeUndefined();
  });
});
