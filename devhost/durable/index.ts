// Entry point of devhost's Durable Functions support: wires the Azure-Storage-backed engine and its HTTP API
// behind the DurableHost interface that the rest of devhost uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionRegistry } from '../core-shim';
import { DurableEngine } from './engine';
import { DurableHttpApi } from './httpApi';
import { DurableStore } from './store';

export interface DurableHostOptions {
  registry: FunctionRegistry;
  hubName: string;
  storageConnectionString: string; // Azurite or real storage: histories, timers, pending work live here
  publicBaseUrl: string; // e.g. http://localhost:7071 (for management URLs)
  rpcBaseUrl: string; // e.g. http://127.0.0.1:7071/durabletask/ (served by the same http server)
  log: (msg: string) => void;
  maxConcurrentActivities?: number;
}

export interface DurableHost {
  clientBindingData(): object;
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  start(): Promise<void>;
  /** Takes no new work and resolves once running episodes and activities have ended. */
  stop(): Promise<void>;
  /** Gives up on running activities (they run again after the next start); returns how many. */
  abandon(): number;
  /** The engine, for tests and diagnostics. */
  readonly engine: DurableEngine;
}

export async function createDurableHost(opts: DurableHostOptions): Promise<DurableHost> {
  const store = new DurableStore(opts.storageConnectionString, opts.hubName);
  await store.init();
  const engine = new DurableEngine({
    registry: opts.registry,
    store,
    log: opts.log,
    maxConcurrentActivities: opts.maxConcurrentActivities ?? 20,
  });
  const rpcPath = new URL(opts.rpcBaseUrl).pathname.replace(/\/?$/, '/');
  const api = new DurableHttpApi({
    engine,
    hubName: opts.hubName,
    publicBaseUrl: opts.publicBaseUrl.replace(/\/$/, ''),
    rpcPath,
  });
  return {
    engine,
    clientBindingData: () => api.clientBindingData(opts.rpcBaseUrl),
    handleHttp: (req, res, url) => api.handle(req, res, url),
    start: () => engine.start(),
    stop: () => engine.stop(),
    abandon: () => engine.abandon(),
  };
}
