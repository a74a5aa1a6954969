// Small helpers for driving devhost's Durable HTTP API from tests: start through the sample starter, poll status.
import { expect } from 'vitest';

export interface DurableStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: { EventType: string; [k: string]: unknown }[];
}

export const TERMINAL = ['Completed', 'Failed', 'Terminated'];

export function durableClient(baseUrl: string) {
  const api = `${baseUrl}/runtime/webhooks/durabletask`;
  return {
    api,
    /** Starts through the sample's df.app.client.http starter (so df.getClient is exercised) and returns the id. */
    async start(name: string, input?: unknown, instanceId?: string): Promise<string> {
      const res = await fetch(`${baseUrl}/api/durable/start/${name}${instanceId ? `/${instanceId}` : ''}`, {
        method: 'POST',
        body: input === undefined ? '' : JSON.stringify(input),
      });
      const body = (await res.json()) as { id: string; statusQueryGetUri: string };
      expect(res.status, JSON.stringify(body)).toBe(202);
      return body.id;
    },
    async status(id: string, query = ''): Promise<{ code: number; body: DurableStatus }> {
      const res = await fetch(`${api}/instances/${encodeURIComponent(id)}${query}`);
      return { code: res.status, body: (res.status === 404 ? undefined : await res.json()) as DurableStatus };
    },
    /** Polls until the predicate holds (default: a terminal status) or the deadline passes. */
    async waitFor(
      id: string,
      pred: (s: DurableStatus) => boolean = (s) => TERMINAL.includes(s.runtimeStatus),
      timeoutMs = 20_000,
      query = '',
    ): Promise<DurableStatus> {
      const until = Date.now() + timeoutMs;
      let last: DurableStatus | undefined;
      for (;;) {
        try {
          const s = await this.status(id, query);
          last = s.body;
          if (s.code !== 404 && pred(s.body)) return s.body;
        } catch {
          // the host may be restarting
        }
        if (Date.now() > until)
          throw new Error(`instance ${id} did not reach the expected state: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async raise(id: string, event: string, data: unknown): Promise<number> {
      const res = await fetch(`${api}/instances/${encodeURIComponent(id)}/raiseEvent/${event}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(data),
      });
      await res.arrayBuffer();
      return res.status;
    },
  };
}
