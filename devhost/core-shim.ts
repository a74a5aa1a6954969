// Provides the `@azure/functions-core` module that the Node worker normally supplies (protocol §1.1), so the real
// @azure/functions library registers the app's functions and hooks with devhost instead of falling into test mode.
import Module from 'node:module';
import { randomUUID } from 'node:crypto';

export interface BindingMetadata {
  type: string;
  direction: 'in' | 'out' | 'inout';
  name: string;
  [k: string]: unknown;
}

export interface RegisteredFunction {
  name: string;
  functionId: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
  callback: (...args: unknown[]) => unknown;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation';
export type LogFn = (level: string, category: string, msg: string) => void;

export interface FunctionRegistry {
  functions: Map<string, RegisteredFunction>; // by name
  getProgrammingModel(): unknown; // the library's ProgrammingModel (set on first app.* call)
  runHooks(name: HookName, ctx: object): Promise<void>;
  closeRegistration(): void; // after loading: further registerFunction throws
  /** Shared by every hook of the app, as the worker's `appHookData`. */
  appHookData: Record<string, unknown>;
  /** Shared by appStart/appTerminate hooks only, as the worker's app-level `hookData`. */
  appLevelHookData: Record<string, unknown>;
  /** Routes a log line through the app's `log` hooks (which may rewrite it) and then to devhost's log sink. */
  log(level: string, category: string, msg: string, invocationContext?: unknown): void;
  /** Replaces the log sink (the first installCoreShim call's `log`, or console). */
  setLogSink(log: LogFn): void;
}

/** Same contract as the worker's Disposable: `from()` combines, `dispose()` runs once. */
export class Disposable {
  static from(...inDisposables: { dispose(): unknown }[]): Disposable {
    let disposables: { dispose(): unknown }[] | undefined = inDisposables;
    return new Disposable(() => {
      if (disposables) {
        for (const d of disposables) {
          if (d && typeof d.dispose === 'function') d.dispose();
        }
        disposables = undefined;
      }
    });
  }
  #callOnDispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return typeof fn === 'function' ? fn() : undefined;
  }
}

type AnyHookName = HookName | 'log';
type HookCallback = (ctx: object) => unknown;

interface CoreFunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
}

const GLOBAL_KEY = Symbol.for('pgkeep.devhost.coreShim');

function defaultLog(level: string, category: string, msg: string): void {
  const line = `[${level}] ${category === 'user' ? '' : `(${category}) `}${msg}`;
  if (level === 'error' || level === 'critical') console.error(line);
  else console.log(line);
}

function createRegistry(initialLog: LogFn | undefined): { registry: FunctionRegistry; coreApi: object } {
  const functions = new Map<string, RegisteredFunction>();
  const hooks = new Map<AnyHookName, HookCallback[]>();
  let programmingModel: unknown;
  let registrationOpen = true;
  let sink: LogFn = initialLog ?? defaultLog;

  const registry: FunctionRegistry = {
    functions,
    appHookData: {},
    appLevelHookData: {},
    getProgrammingModel: () => programmingModel,
    async runHooks(name, ctx) {
      // Copy first: a hook may dispose itself (or register another) while running.
      for (const cb of [...(hooks.get(name) ?? [])]) await cb(ctx);
    },
    closeRegistration() {
      registrationOpen = false;
    },
    log(level, category, msg, invocationContext) {
      const logHooks = hooks.get('log') ?? [];
      if (logHooks.length === 0) {
        sink(level, category, msg);
        return;
      }
      // Log hooks run synchronously and may rewrite level/message, as in the worker.
      const ctx = { hookData: {}, appHookData: registry.appHookData, level, message: msg, category, invocationContext };
      for (const cb of [...logHooks]) {
        try {
          void cb(ctx);
        } catch (err) {
          sink('error', 'system', `log hook failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      sink(ctx.level, ctx.category, ctx.message);
    },
    setLogSink(log) {
      sink = log;
    },
  };

  const coreApi = {
    version: '3.10.1-devhost',
    hostVersion: '4.1037.0-devhost',
    Disposable,
    setProgrammingModel(pm: unknown) {
      programmingModel = pm;
    },
    getProgrammingModel: () => programmingModel,
    registerFunction(metadata: CoreFunctionMetadata, callback: (...args: unknown[]) => unknown): Disposable {
      if (!registrationOpen) throw new Error('A function can only be registered during app startup.');
      if (functions.has(metadata.name)) {
        throw new Error(`A function with name "${metadata.name}" has already been registered.`);
      }
      const functionId = metadata.functionId ?? randomUUID();
      for (const f of functions.values()) {
        if (f.functionId === functionId)
          throw new Error(`A function with id "${functionId}" has already been registered.`);
      }
      functions.set(metadata.name, {
        name: metadata.name,
        functionId,
        bindings: metadata.bindings,
        retryOptions: metadata.retryOptions,
        callback,
      });
      return new Disposable(() => {
        if (!registrationOpen) throw new Error('A function can only be disposed during app startup.');
        functions.delete(metadata.name);
      });
    },
    registerHook(name: AnyHookName, callback: HookCallback): Disposable {
      const list = hooks.get(name) ?? [];
      list.push(callback);
      hooks.set(name, list);
      return new Disposable(() => {
        const i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      });
    },
    log(level: string, category: string, message: string) {
      registry.log(level, category, message);
    },
  };
  return { registry, coreApi };
}

/**
 * Installs the `require('@azure/functions-core')` hook and returns the process-wide registry. Idempotent: later
 * calls return the same registry (a given `log` replaces the sink). Must run before the app's first `app.*` call.
 */
export function installCoreShim(log?: LogFn): FunctionRegistry {
  const g = globalThis as unknown as Record<symbol, { registry: FunctionRegistry } | undefined>;
  const existing = g[GLOBAL_KEY];
  if (existing) {
    if (log) existing.registry.setLogSink(log);
    return existing.registry;
  }
  const { registry, coreApi } = createRegistry(log);
  type RequireFn = (this: unknown, id: string) => unknown;
  const proto = Module.prototype as unknown as { require: RequireFn };
  const originalRequire = proto.require;
  proto.require = function (this: unknown, id: string): unknown {
    if (id === '@azure/functions-core') return coreApi;
    // eslint-disable-next-line prefer-rest-params
    return originalRequire.apply(this, arguments as unknown as [string]);
  };
  g[GLOBAL_KEY] = { registry };
  return registry;
}
