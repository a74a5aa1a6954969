// NotificationSender over Node's fetch: one POST, no redirects followed (a redirect could lead past the URL checks),
// a timeout, and failures described without the URL (notification URLs carry credentials in their path or query).

import type { NotificationSender, OutboundResult } from '../../ports';
import { networkErrnos } from '../network-errors';

/** Retry-After as seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code !== undefined && networkErrnos.has(code)) return `connection failed (${code})`;
  if (code !== undefined) return `request failed (${code})`;
  return 'request failed';
}

export function createNotificationSender(): NotificationSender {
  return {
    async post(request): Promise<OutboundResult> {
      try {
        const res = await fetch(request.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(request.timeoutMs),
        });
        // The body is not read (it is not trusted, nor shown): release the connection.
        await res.body?.cancel().catch(() => undefined);
        const retryAfter = retryAfterSeconds(res.headers.get('retry-after'), Date.now());
        return {
          kind: 'response',
          status: res.status,
          ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
        };
      } catch (err) {
        return { kind: 'error', message: describeFailure(err, request.timeoutMs) };
      }
    },
  };
}
