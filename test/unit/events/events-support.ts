// Helpers for the event unit tests: a clock moved by hand, a scripted notification sender that records every request,
// secrets from a map, and a channel record.
import type {
  ChannelRecord,
  Clock,
  NotificationSender,
  OutboundPost,
  OutboundResult,
  SecretReference,
  SecretResolver,
} from '../../../shared/ports';
import { PgkeepError } from '../../../shared/errors';
import type { DeliverySettings } from '../../../shared/events/delivery';

export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface ScriptedSender extends NotificationSender {
  readonly requests: OutboundPost[];
  /** Answers in order; the last one repeats. */
  script: OutboundResult[];
}

export function scriptedSender(...script: OutboundResult[]): ScriptedSender {
  const sender: ScriptedSender = {
    requests: [],
    script,
    post(request) {
      sender.requests.push(request);
      const next = sender.script.length > 1 ? sender.script.shift()! : sender.script[0]!;
      return Promise.resolve(next);
    },
  };
  return sender;
}

export const status = (code: number, retryAfterSeconds?: number): OutboundResult => ({
  kind: 'response',
  status: code,
  ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
});

export function mapSecrets(values: Record<string, string>): SecretResolver {
  return {
    resolve(ref: SecretReference) {
      const name = ref.uri.replace(/^appsetting:\/\//, '');
      const v = values[name];
      if (v === undefined) {
        return Promise.reject(new PgkeepError('UserErrorInvalidSecret', `app setting '${name}' is not set`));
      }
      return Promise.resolve(v);
    },
  };
}

export function channel(name: string, extra: Partial<ChannelRecord> = {}): ChannelRecord {
  return {
    name,
    kind: 'Webhook',
    endpoint: { secret: { secretStoreType: 'AppSetting', uri: 'appsetting://HOOK_URL' } },
    events: ['BackupFailed', 'BackupMissed', 'HealthChanged'],
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
    ...extra,
  };
}

export const settings: DeliverySettings = {
  timeoutMs: 5_000,
  retryBaseMs: 30_000,
  retryMaxMs: 3_600_000,
  retryForMs: 24 * 3_600_000,
  leaseMs: 120_000,
  retentionMs: 30 * 86_400_000,
  allowHttpLoopback: false,
  concurrency: 4,
};
