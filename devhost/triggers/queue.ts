// Storage queue triggers as the host's queue extension runs them: poll in batches with a lease, decode base64,
// delete on success, make a failed message visible again after visibilityTimeout, and after maxDequeueCount attempts
// move the original text to <queue>-poison.
import type { QueueClient, DequeuedMessageItem } from '@azure/storage-queue';
import type { RegisteredFunction } from '../core-shim';
import type { RpcTypedData } from '../invoke';
import { runFunction, type HostRuntime } from '../run';
import { resolveSettingRefs } from '../settings';
import { normaliseQueueName, queueService } from '../storage';

// The lease keeps a message invisible while it runs; long enough for any local handler.
const LEASE_SECONDS = 600;
const MIN_POLL_MS = 100;

export class QueueTrigger {
  readonly queueName: string;
  private readonly queue: QueueClient;
  private readonly poison: QueueClient | undefined;
  private stopped = false;
  private abandoned = false;
  /** Messages being handled, by id: abandon() makes them visible again. */
  private readonly inFlight = new Map<string, DequeuedMessageItem>();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pollDelayMs = MIN_POLL_MS;

  constructor(
    private readonly rt: HostRuntime,
    private readonly fn: RegisteredFunction,
    binding: Record<string, unknown>,
  ) {
    this.queueName = normaliseQueueName(resolveSettingRefs(String(binding.queueName)));
    const service = queueService(binding.connection);
    this.queue = service.getQueueClient(this.queueName);
    // Poison queues have no poison queue of their own.
    this.poison = this.queueName.endsWith('-poison') ? undefined : service.getQueueClient(`${this.queueName}-poison`);
  }

  describe(): string {
    return `queueTrigger ${this.queueName}`;
  }

  async start(): Promise<void> {
    await this.queue.createIfNotExists();
    this.loop = this.run();
  }

  /** Admin endpoint: runs the function once with the given text as if it had been dequeued, without a queue. */
  async runNow(input: string): Promise<void> {
    await runFunction(this.rt, this.fn, {
      reason: 'This function was programmatically called via the host APIs.',
      triggerData: { string: input },
      triggerMetadata: { QueueTrigger: { string: input }, DequeueCount: { json: '1' } },
    });
  }

  /** Receives no more messages and resolves once the ones being handled are settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /**
   * Gives up on the messages still being handled: each is made visible again now (instead of when its 10-minute
   * lease ends), so the next start handles it again — at-least-once, as the host does after a crash.
   */
  async abandon(): Promise<number> {
    this.abandoned = true;
    const left = [...this.inFlight.values()];
    await this.release(left);
    return left.length;
  }

  /** Makes messages this host holds visible again now. */
  private async release(messages: readonly DequeuedMessageItem[]): Promise<void> {
    await Promise.all(
      messages.map((m) =>
        this.queue.updateMessage(m.messageId, m.popReceipt, undefined, 0).catch((err: unknown) => {
          this.rt.log(`queue ${this.queueName}: cannot release message ${m.messageId}: ${(err as Error).message}`);
        }),
      ),
    );
  }

  private async run(): Promise<void> {
    const { batchSize, maxPollingIntervalMs } = this.rt.hostJson.queues;
    while (!this.stopped) {
      let received: DequeuedMessageItem[] = [];
      try {
        const res = await this.queue.receiveMessages({ numberOfMessages: batchSize, visibilityTimeout: LEASE_SECONDS });
        received = res.receivedMessageItems;
      } catch (err) {
        this.rt.log(`queue ${this.queueName}: receive failed: ${(err as Error).message}`);
      }
      if (this.stopped) {
        // Received while the host began stopping: handed back at once for the next start.
        await this.release(received);
        break;
      }
      if (received.length > 0) {
        this.pollDelayMs = MIN_POLL_MS;
        await Promise.all(received.map((m) => this.process(m)));
        continue;
      }
      // Idle: back off exponentially like the host, capped low so local runs stay responsive.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.pollDelayMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
      this.pollDelayMs = Math.min(maxPollingIntervalMs, this.pollDelayMs * 2);
    }
  }

  private decode(text: string): RpcTypedData {
    if (this.rt.hostJson.queues.messageEncoding === 'none') return { string: text };
    // The host (Convert.FromBase64String) ignores whitespace but rejects anything else that is not base64.
    const compact = text.replace(/\s+/g, '');
    const bytes = Buffer.from(compact, 'base64');
    if (bytes.toString('base64').replace(/=+$/, '') !== compact.replace(/=+$/, '')) {
      throw new Error('message is not valid base64 (host.json messageEncoding is base64)');
    }
    return { string: bytes.toString('utf8') };
  }

  private async process(m: DequeuedMessageItem): Promise<void> {
    this.inFlight.set(m.messageId, m);
    try {
      await this.handle(m);
    } finally {
      this.inFlight.delete(m.messageId);
    }
  }

  private async handle(m: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, visibilityTimeoutMs } = this.rt.hostJson.queues;
    try {
      if (m.dequeueCount > maxDequeueCount) {
        await this.toPoison(m);
        return;
      }
      let failed = false;
      try {
        const data = this.decode(m.messageText);
        const result = await runFunction(this.rt, this.fn, {
          reason: `New queue message detected on '${this.queueName}'.`,
          triggerData: data,
          triggerMetadata: {
            QueueTrigger: data,
            DequeueCount: { json: String(m.dequeueCount) },
            Id: { string: m.messageId },
            PopReceipt: { string: m.popReceipt },
            InsertionTime: { json: JSON.stringify(m.insertedOn) },
            ExpirationTime: { json: JSON.stringify(m.expiresOn) },
            NextVisibleTime: { json: JSON.stringify(m.nextVisibleOn) },
          },
        });
        failed = result.error !== undefined;
      } catch (err) {
        this.rt.log(`queue ${this.queueName}: message ${m.messageId} failed: ${(err as Error).message}`);
        failed = true;
      }
      // Released by abandon(): its pop receipt is stale, and the next start handles it again.
      if (this.abandoned) return;
      if (!failed) {
        await this.queue.deleteMessage(m.messageId, m.popReceipt);
      } else if (m.dequeueCount >= maxDequeueCount && this.poison) {
        await this.toPoison(m);
      } else {
        await this.queue.updateMessage(m.messageId, m.popReceipt, undefined, Math.round(visibilityTimeoutMs / 1000));
      }
    } catch (err) {
      this.rt.log(`queue ${this.queueName}: cannot settle message ${m.messageId}: ${(err as Error).message}`);
    }
  }

  private async toPoison(m: DequeuedMessageItem): Promise<void> {
    if (!this.poison) return;
    await this.poison.createIfNotExists();
    // The raw text (still encoded) moves, so the poison message is byte-for-byte what was sent.
    await this.poison.sendMessage(m.messageText);
    await this.queue.deleteMessage(m.messageId, m.popReceipt);
    this.rt.log(
      `Message ${m.messageId} has reached MaxDequeueCount of ${this.rt.hostJson.queues.maxDequeueCount}; moved to '${this.queueName}-poison'.`,
    );
  }
}
