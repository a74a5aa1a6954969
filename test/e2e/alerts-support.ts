// Helpers for the alerts end-to-end test: a webhook receiver (a small HTTP server standing in for the operator's
// endpoint) that records every request and answers as the test says, and a Standard Webhooks signature check written
// from the specification, independent of pgkeep's signing code.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The webhook-id header. */
  readonly id: string;
  /** What the receiver answered. */
  readonly status: number;
  readonly at: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Decides the answer to each request (default 200). */
  respond: (req: { path: string; id: string; attempt: number }) => number;
  /** Resolves once `done` holds over the requests so far; rejects after the deadline. */
  waitFor(done: (requests: Received[]) => boolean, timeoutMs?: number, what?: string): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters = new Set<() => void>();
  const holder: { server?: Server } = {};
  const receiver: Receiver = {
    url: '',
    requests,
    respond: () => 200,
    waitFor(done, timeoutMs = 60_000, what = 'receiver condition') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(requests)) return;
          cleanup();
          resolve(requests);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `${what} not reached within ${timeoutMs} ms; received: ${JSON.stringify(requests.map((r) => [r.path, r.id, r.status]))}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        holder.server?.closeAllConnections();
        if (holder.server) holder.server.close(() => resolve());
        else resolve();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const path = req.url ?? '';
      const attempt = requests.filter((r) => r.id === id && r.path === path).length + 1;
      const status = receiver.respond({ path, id, attempt });
      requests.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        id,
        status,
        at: Date.now(),
      });
      res.writeHead(status).end();
      for (const w of [...waiters]) w();
    });
  });
  holder.server = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  (receiver as { url: string }).url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return receiver;
}

/**
 * Standard Webhooks verification by the specification: the key is the base64 after `whsec_` (else the raw bytes), the
 * signed content is `<webhook-id>.<webhook-timestamp>.<body>`, and webhook-signature holds space-separated
 * `v1,<base64 HMAC-SHA256>` entries, one of which must match. (No timestamp tolerance: the test moves the app's clock.)
 */
export function verifiesBySpec(secret: string, r: Received): boolean {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key)
    .update(`${String(r.headers['webhook-id'])}.${String(r.headers['webhook-timestamp'])}.${r.body}`)
    .digest();
  return String(r.headers['webhook-signature'] ?? '')
    .split(' ')
    .some((entry) => {
      const [version, sig] = entry.split(',');
      if (version !== 'v1' || sig === undefined) return false;
      const given = Buffer.from(sig, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** The CloudEvent of a received webhook. */
export function cloudEvent(r: Received): { id: string; type: string; subject: string; data: Record<string, unknown> } {
  return JSON.parse(r.body) as { id: string; type: string; subject: string; data: Record<string, unknown> };
}
