// The notification worker (issue 13; docs/decisions.md "Health and alerts"): each tick it reads the outbox's pending
// deliveries, takes the due ones with a lease (the row's etag decides between workers), posts each to its channel and
// records the outcome. 2xx: Delivered. 408, 429, 5xx, a timeout or a connection error: retried with exponential
// backoff (Retry-After honoured) for NOTIFICATION_RETRY_HOURS. Any other answer: Failed at once. Every attempt of an
// event carries the same event id.

import { PgkeepError } from '../errors';
import { notificationUrlProblem } from '../domain/outbound-urls';
import {
  ConcurrencyError,
  type ChannelKind,
  type ChannelRecord,
  type ChannelStore,
  type Clock,
  type DeliveryRecord,
  type EventRecord,
  type NotificationSender,
  type OutboxStore,
  type SecretResolver,
  type Stored,
} from '../ports';
import { renderForChannel } from './formats';

export interface DeliverySettings {
  readonly timeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Failed attempts are retried until this long after the event was raised (at least 24 h). */
  readonly retryForMs: number;
  readonly leaseMs: number;
  /** Finished deliveries are pruned after this long. */
  readonly retentionMs: number;
  readonly allowHttpLoopback: boolean;
  /** Deliveries sent at once per tick. */
  readonly concurrency: number;
}

export interface DeliveryDeps {
  readonly outbox: OutboxStore;
  readonly channels: ChannelStore;
  readonly secrets: SecretResolver;
  readonly sender: NotificationSender;
  readonly clock: Clock;
  readonly settings: DeliverySettings;
  readonly log: (message: string) => void;
  /** Telemetry: one call per attempt. */
  readonly onAttempt?: (kind: ChannelKind, outcome: AttemptResult['outcome']) => void;
}

export type AttemptResult =
  | { readonly outcome: 'delivered'; readonly httpStatus: number }
  | {
      readonly outcome: 'retry';
      readonly httpStatus?: number;
      readonly error: string;
      readonly retryAfterSeconds?: number;
    }
  | { readonly outcome: 'failed'; readonly httpStatus?: number; readonly error: string };

/** Where the endpoint field of a channel body is, for errors. */
const endpointTarget = (c: ChannelRecord) =>
  'url' in c.endpoint ? '$.properties.endpoint.url' : '$.properties.endpoint.secretStoreResource.uri';

/**
 * The URL and signing key of a channel, resolved now. PgkeepError (target = the channel body's field) when a secret
 * does not resolve or the URL is not allowed; its message never holds the URL or a secret.
 */
export async function resolveChannelTarget(
  secrets: SecretResolver,
  channel: ChannelRecord,
  options: { readonly allowHttpLoopback: boolean },
): Promise<{ url: string; signingSecret?: string }> {
  const named = async (what: string, target: string, resolve: () => Promise<string>) => {
    try {
      return (await resolve()).trim();
    } catch (err) {
      if (!(err instanceof PgkeepError)) throw err;
      throw new PgkeepError(err.code, `the ${what} of channel '${channel.name}' does not resolve: ${err.message}`, {
        target,
        hint: err.hint,
        status: 400,
      });
    }
  };
  const endpoint = channel.endpoint;
  const url =
    'url' in endpoint
      ? endpoint.url
      : await named('endpoint', endpointTarget(channel), () => secrets.resolve(endpoint.secret));
  const problem = notificationUrlProblem(url, options);
  if (problem !== undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', `the endpoint URL of channel '${channel.name}' ${problem}`, {
      target: endpointTarget(channel),
    });
  }
  const signing = channel.signingSecret;
  if (signing === undefined) return { url };
  const signingSecret = await named('signing secret', '$.properties.signingSecret.secretStoreResource.uri', () =>
    secrets.resolve(signing),
  );
  return { url, signingSecret };
}

/** 2xx delivered; 408, 429 and 5xx worth retrying; every other answer (3xx included: never followed) final. */
export function classifyStatus(status: number): AttemptResult['outcome'] {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** One attempt of one event to one channel. */
export async function attemptDelivery(
  deps: Pick<DeliveryDeps, 'secrets' | 'sender' | 'clock' | 'settings'>,
  channel: ChannelRecord,
  event: EventRecord,
): Promise<AttemptResult> {
  let target: { url: string; signingSecret?: string };
  try {
    target = await resolveChannelTarget(deps.secrets, channel, deps.settings);
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    // A URL the rules refuse stays refused; a secret that does not resolve may be fixed within the retry window.
    const error = `${err.code}: ${err.message}`;
    return err.code === 'UserErrorInvalidRequest' ? { outcome: 'failed', error } : { outcome: 'retry', error };
  }
  const rendered = renderForChannel(channel.kind, event, {
    ...(target.signingSecret !== undefined ? { signingSecret: target.signingSecret } : {}),
    nowSeconds: Math.floor(deps.clock.now().getTime() / 1000),
  });
  const result = await deps.sender.post({
    url: target.url,
    headers: { ...rendered.headers, 'user-agent': 'pgkeep-notifications' },
    body: rendered.body,
    timeoutMs: deps.settings.timeoutMs,
  });
  if (result.kind === 'error') return { outcome: 'retry', error: result.message };
  const outcome = classifyStatus(result.status);
  if (outcome === 'delivered') return { outcome, httpStatus: result.status };
  const error = `the endpoint answered HTTP ${result.status}`;
  return outcome === 'retry'
    ? {
        outcome,
        httpStatus: result.status,
        error,
        ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
      }
    : { outcome, httpStatus: result.status, error };
}

/** The wait before the next attempt after `attempts` failed ones: base × 2^(attempts−1), capped; Retry-After wins if longer. */
export function retryDelayMs(settings: DeliverySettings, attempts: number, retryAfterSeconds?: number): number {
  const backoff = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  const asked = retryAfterSeconds === undefined ? 0 : Math.min(settings.retryMaxMs, retryAfterSeconds * 1000);
  return Math.max(backoff, asked);
}

export interface DeliveryRunSummary {
  delivered: number;
  failed: number;
  retried: number;
  /** Due, but another worker held or took them. */
  skipped: number;
  pruned: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function runPool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** The worker, with the little state it keeps between ticks (when it last pruned). */
export function createDeliveryWorker(deps: DeliveryDeps) {
  let lastPruneHour = -1;
  const { settings } = deps;
  const leaseMs = Math.max(settings.leaseMs, settings.timeoutMs + 5_000);

  async function finish(row: Stored<DeliveryRecord>, summary: DeliveryRunSummary): Promise<void> {
    const d = row.value;
    const { leaseUntil: _lease, ...rest } = d;
    const finishedAt = d.finishedAt ?? deps.clock.now().toISOString();
    await deps.outbox.finish({ ...rest, status: d.status as 'Delivered' | 'Failed', finishedAt }, row.etag);
    if (d.status === 'Delivered') summary.delivered++;
    else summary.failed++;
  }

  async function deliverOne(
    row: Stored<DeliveryRecord>,
    channels: Map<string, ChannelRecord>,
    summary: DeliveryRunSummary,
  ): Promise<void> {
    const startMs = deps.clock.now().getTime();
    let etag: string;
    try {
      etag = await deps.outbox.update({ ...row.value, leaseUntil: iso(startMs + leaseMs) }, row.etag);
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
      summary.skipped++;
      return;
    }
    const d = row.value;
    const channel = channels.get(d.channel);
    const result: AttemptResult = channel
      ? await attemptDelivery(deps, channel, d.event)
      : { outcome: 'failed', error: `channel '${d.channel}' no longer exists` };
    if (channel) deps.onAttempt?.(channel.kind, result.outcome);
    const nowMs = deps.clock.now().getTime();
    const attempts = d.attempts + 1;
    const { leaseUntil: _lease, lastError: _e, lastHttpStatus: _s, ...base } = d;
    const attempted: DeliveryRecord = {
      ...base,
      attempts,
      lastAttemptAt: iso(nowMs),
      ...(result.httpStatus !== undefined ? { lastHttpStatus: result.httpStatus } : {}),
      ...(result.outcome !== 'delivered' ? { lastError: result.error } : {}),
    };
    const giveUp = result.outcome === 'retry' && nowMs - Date.parse(d.createdAt) >= settings.retryForMs;
    try {
      if (result.outcome === 'retry' && !giveUp) {
        const wait = retryDelayMs(settings, attempts, result.retryAfterSeconds);
        await deps.outbox.update({ ...attempted, nextAttemptAt: iso(nowMs + wait) }, etag);
        summary.retried++;
        return;
      }
      const status = result.outcome === 'delivered' ? 'Delivered' : 'Failed';
      const lastError = giveUp ? `gave up after ${attempts} attempts: ${result.error}` : attempted.lastError;
      await finish(
        {
          value: { ...attempted, status, finishedAt: iso(nowMs), ...(lastError !== undefined ? { lastError } : {}) },
          etag,
        },
        summary,
      );
    } catch (err) {
      // Our lease ran out and another worker took the row: its record wins (the receiver dedupes by id).
      if (!(err instanceof ConcurrencyError)) throw err;
      deps.log(`notifications: delivery ${d.id} was taken over while it was sent`);
    }
  }

  return {
    async run(): Promise<DeliveryRunSummary> {
      const summary: DeliveryRunSummary = { delivered: 0, failed: 0, retried: 0, skipped: 0, pruned: 0 };
      const nowMs = deps.clock.now().getTime();
      const halfMoved: Stored<DeliveryRecord>[] = [];
      const due: Stored<DeliveryRecord>[] = [];
      for await (const row of deps.outbox.listPending()) {
        const d = row.value;
        if (d.status !== 'Pending') halfMoved.push(row);
        else if (
          Date.parse(d.nextAttemptAt) <= nowMs &&
          (d.leaseUntil === undefined || Date.parse(d.leaseUntil) <= nowMs)
        ) {
          due.push(row);
        }
      }
      for (const row of halfMoved) {
        try {
          await finish(row, summary);
        } catch (err) {
          if (!(err instanceof ConcurrencyError)) throw err;
        }
      }
      if (due.length > 0) {
        due.sort((a, b) => a.value.nextAttemptAt.localeCompare(b.value.nextAttemptAt));
        const channels = new Map<string, ChannelRecord>();
        for await (const c of deps.channels.list()) channels.set(c.name, c);
        await runPool(due, settings.concurrency, (row) => deliverOne(row, channels, summary));
      }
      const hour = Math.floor(nowMs / 3_600_000);
      if (hour !== lastPruneHour) {
        lastPruneHour = hour;
        summary.pruned = await deps.outbox.prune(iso(nowMs - settings.retentionMs));
      }
      return summary;
    },
  };
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;
