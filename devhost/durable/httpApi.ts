// The Durable HTTP API (protocol §3.2) served under rpcBaseUrl and /runtime/webhooks/durabletask/, so that
// df.getClient(context) and plain HTTP callers work unchanged against the local engine.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StartConflictError, UnknownOrchestratorError, type DurableEngine } from './engine';
import { EventTypeName, TERMINAL, type InstanceState, type InstanceSummary, type RuntimeStatus } from './types';

export interface HttpApiOptions {
  engine: DurableEngine;
  hubName: string;
  publicBaseUrl: string;
  rpcPath: string; // e.g. /durabletask/
}

const WEBHOOK_PATH = '/runtime/webhooks/durabletask/';
const LOCAL_KEY = 'local';

/** .NET "s" format plus Z, as the extension writes createdTime/lastUpdatedTime. */
function dotnetTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
  res.end(text);
}

function statusObject(s: InstanceSummary, showInput: boolean): Record<string, unknown> {
  return {
    name: s.name,
    instanceId: s.instanceId,
    runtimeStatus: s.runtimeStatus,
    input: showInput ? (s.input ?? null) : null,
    customStatus: s.customStatus ?? null,
    output: s.output ?? null,
    createdTime: dotnetTime(s.createdTime),
    lastUpdatedTime: dotnetTime(s.lastUpdatedTime),
  };
}

function historyView(st: InstanceState): Record<string, unknown>[] {
  return st.history.map((e) => {
    const { EventType: t, IsPlayed: _p, ...rest } = e;
    return { EventType: EventTypeName[t] ?? t, ...rest };
  });
}

export class DurableHttpApi {
  readonly #o: HttpApiOptions;
  constructor(o: HttpApiOptions) {
    this.#o = o;
  }

  /** The management URLs for an instance, as createCheckStatusResponse / startNew return them. */
  managementPayload(id: string, base = this.#o.publicBaseUrl): Record<string, string> {
    const prefix = `${base}${WEBHOOK_PATH}instances/${encodeURIComponent(id)}`;
    const q = `taskHub=${encodeURIComponent(this.#o.hubName)}&connection=Storage&code=${LOCAL_KEY}`;
    return {
      id,
      statusQueryGetUri: `${prefix}?${q}`,
      sendEventPostUri: `${prefix}/raiseEvent/{eventName}?${q}`,
      terminatePostUri: `${prefix}/terminate?reason={text}&${q}`,
      rewindPostUri: `${prefix}/rewind?reason={text}&${q}`,
      purgeHistoryDeleteUri: `${prefix}?${q}`,
      restartPostUri: `${prefix}/restart?${q}`,
      suspendPostUri: `${prefix}/suspend?reason={text}&${q}`,
      resumePostUri: `${prefix}/resume?reason={text}&${q}`,
    };
  }

  clientBindingData(rpcBaseUrl: string): object {
    const base = `${this.#o.publicBaseUrl}${WEBHOOK_PATH.slice(0, -1)}`;
    const mgmt = this.managementPayload('INSTANCEID');
    // The template uses the literal placeholder, not its encoding.
    for (const k of Object.keys(mgmt)) mgmt[k] = mgmt[k]!.replace(encodeURIComponent('INSTANCEID'), 'INSTANCEID');
    return {
      taskHubName: this.#o.hubName,
      creationUrls: {
        createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?code=${LOCAL_KEY}`,
        createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${LOCAL_KEY}`,
      },
      managementUrls: mgmt,
      baseUrl: base,
      requiredQueryStringParameters: `code=${LOCAL_KEY}`,
      rpcBaseUrl,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    let rest: string | undefined;
    for (const prefix of [this.#o.rpcPath, WEBHOOK_PATH]) {
      if (url.pathname.startsWith(prefix)) rest = url.pathname.slice(prefix.length);
      else if (url.pathname === prefix.slice(0, -1)) rest = '';
      if (rest !== undefined) break;
    }
    if (rest === undefined) return false;
    const parts = rest.split('/').map((p) => decodeURIComponent(p));
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      await this.#route(method, parts, req, res, url);
    } catch (err) {
      if (!res.headersSent) send(res, 500, { message: err instanceof Error ? err.message : String(err) });
    }
    return true;
  }

  async #route(method: string, parts: string[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const e = this.#o.engine;
    const [head, id, op, arg] = parts;
    const q = url.searchParams;
    if (head === 'orchestrators' && method === 'POST' && id) {
      const body = await readBody(req);
      // axios posts JSON.stringify("") for startNew without input: the input is then "" (protocol §2.4 quirk).
      let input: unknown = null;
      try {
        if (body.length > 0) input = JSON.parse(body);
      } catch {
        return send(res, 400, { message: 'the request body must be JSON (the orchestration input)' });
      }
      const instanceId = op || undefined;
      let newId: string;
      try {
        newId = await e.startNew(id, instanceId, input, q.get('version') ?? undefined);
      } catch (err) {
        if (err instanceof UnknownOrchestratorError) return send(res, 400, { message: err.message });
        if (err instanceof StartConflictError) return send(res, 409, { message: err.message });
        throw err;
      }
      const payload = this.managementPayload(newId);
      const timeout = Number(q.get('timeout') ?? 0);
      if (timeout > 0) {
        const s = await e.waitForTerminal(newId, timeout * 1000);
        if (s && TERMINAL.includes(s.runtimeStatus)) return send(res, 200, s.output ?? null);
      }
      return send(res, 202, payload, { Location: payload.statusQueryGetUri!, 'Retry-After': '10' });
    }
    if (head === 'entities') {
      return send(res, 501, { message: 'devhost does not support Durable Entities' });
    }
    if (head !== 'instances') return send(res, 404, { message: `unknown durable route ${parts.join('/')}` });

    if (!id) {
      if (method === 'GET')
        return send(
          res,
          200,
          this.#query(q).map((s) => statusObject(s, q.get('showInput') === 'true')),
        );
      if (method === 'DELETE') {
        if (!q.get('createdTimeFrom')) return send(res, 400, { message: 'createdTimeFrom is required' });
        let n = 0;
        for (const s of this.#query(q)) if (await e.purge(s.instanceId)) n++;
        return n === 0 ? send(res, 404, undefined) : send(res, 200, { instancesDeleted: n });
      }
      return send(res, 405, undefined);
    }

    const summary = e.summaries.get(id);
    if (!summary) {
      // A purged or never-known instance; DELETE of an unknown id is 404 too (the client maps it to 0 deleted).
      return send(res, 404, undefined);
    }
    const terminal = TERMINAL.includes(summary.runtimeStatus);

    if (!op && method === 'GET') {
      const body = statusObject(summary, q.get('showInput') !== 'false');
      if (q.get('showHistory') === 'true') {
        const st = await e.getState(id);
        body.historyEvents = st ? historyView(st) : [];
      }
      if (terminal) {
        const failed500 = summary.runtimeStatus === 'Failed' && q.get('returnInternalServerErrorOnFailure') === 'true';
        return send(res, failed500 ? 500 : 200, body);
      }
      const loc = this.managementPayload(id).statusQueryGetUri!;
      return send(res, 202, body, { Location: loc, 'Retry-After': '5' });
    }
    if (!op && method === 'DELETE') {
      return (await e.purge(id)) ? send(res, 200, { instancesDeleted: 1 }) : send(res, 404, undefined);
    }
    if (method !== 'POST') return send(res, 405, undefined);
    const reason = q.get('reason') ?? '';
    switch (op) {
      case 'raiseEvent': {
        if (!arg) return send(res, 400, { message: 'event name missing' });
        const ct = req.headers['content-type'] ?? '';
        const body = await readBody(req);
        if (body.length > 0 && !/json/i.test(ct))
          return send(res, 400, { message: 'content type must be application/json' });
        if (terminal) return send(res, 410, undefined);
        await e.send(id, { type: 'event', event: { EventType: 15, Name: arg, Input: body.length ? body : null } });
        return send(res, 202, undefined);
      }
      case 'terminate':
      case 'suspend':
      case 'resume':
        if (terminal) return send(res, 410, undefined);
        await e.send(id, { type: op, reason });
        return send(res, 202, undefined);
      case 'restart': {
        const st = await e.getState(id);
        if (!st) return send(res, 404, undefined);
        try {
          await e.startNew(st.name, id, st.input, st.version ?? undefined);
        } catch (err) {
          if (err instanceof StartConflictError) return send(res, 409, { message: err.message });
          throw err;
        }
        return send(res, 202, this.managementPayload(id));
      }
      case 'rewind':
        return send(res, 501, { message: 'devhost does not support rewind' });
      default:
        return send(res, 404, undefined);
    }
  }

  #query(q: URLSearchParams): InstanceSummary[] {
    const from = q.get('createdTimeFrom');
    const to = q.get('createdTimeTo');
    const statuses = q.get('runtimeStatus')?.split(',').filter(Boolean) as RuntimeStatus[] | undefined;
    const prefix = q.get('instanceIdPrefix');
    const top = Number(q.get('top') ?? 0);
    let out = [...this.#o.engine.summaries.values()].filter(
      (s) =>
        (!from || Date.parse(s.createdTime) >= Date.parse(from)) &&
        (!to || Date.parse(s.createdTime) <= Date.parse(to)) &&
        (!statuses?.length || statuses.includes(s.runtimeStatus)) &&
        (!prefix || s.instanceId.startsWith(prefix)),
    );
    out.sort((a, b) => a.createdTime.localeCompare(b.createdTime));
    if (top > 0) out = out.slice(0, top);
    return out;
  }
}
