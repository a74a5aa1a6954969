// The restore-requests queue trigger's logic (design §6 "Queue contract"): one message → one restore orchestration
// with a deterministic id (a duplicate requestId starts nothing), a Failed result at once for a message that names
// its requestId but is otherwise invalid, and a throw (retries, then the poison queue) when not even that is readable.

import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PgkeepError } from '../errors';
import { validate } from '../contracts/validation';
import {
  assertRestoreTargetAllowed,
  restoreRequestSchema,
  toRestoreSpec,
  type RestoreSpec,
} from '../contracts/restores';
import type { ContainerUrlSettings } from '../domain/outbound-urls';
import type { AuditEntry, AuditLogStore, Clock } from '../ports';
import { resourceNamePattern } from '../contracts/resources';
import { restoreResultText } from './restore';
import type { RestoreOrchestratorInput, RestoreResultMessage } from '../workflows/names';

export interface RestoreQueueDeps {
  readonly starter: {
    /** Whether an orchestration with this id exists, in any state. */
    exists(instanceId: string): Promise<boolean>;
    start(instanceId: string, input: RestoreOrchestratorInput): Promise<void>;
  };
  readonly sendQueueMessage: (queue: string, text: string) => Promise<void>;
  /** RESTORE_RESULTS_QUEUE: where results go without a replyTo. */
  readonly resultsQueue: string;
  /** Where a restore as files may write; absent = https with the caller's own SAS only. */
  readonly restoreTargets?: ContainerUrlSettings;
  /** Every message that names a requestId is audited as principal "queue" (absent: not recorded). */
  readonly auditLog?: AuditLogStore;
  readonly clock?: Clock;
  readonly newId?: () => string;
  readonly log: (message: string) => void;
}

export type RestoreQueueOutcome =
  | { readonly kind: 'started'; readonly orchestrationId: string }
  | { readonly kind: 'duplicate'; readonly orchestrationId: string }
  | { readonly kind: 'rejected'; readonly requestId: string };

const MAX_REQUEST_ID = 200;
// Azure Storage queue names: 3–63 lower-case letters, digits and single hyphens.
const queueName = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, { message: 'must be a storage queue name (3-63 a-z, 0-9, -)' });

const messageSchema = z.object({
  requestId: z.string().min(1).max(MAX_REQUEST_ID),
  backupInstance: z.string().regex(resourceNamePattern, { message: 'must be a backup instance name' }),
  request: restoreRequestSchema,
  replyTo: queueName.optional(),
});

/**
 * The orchestration id of a queued request: `restore-req-<requestId>` when the id is short and plain, else a
 * cleaned prefix plus a hash of the whole id (so distinct ids never collide and the id stays a valid instance id).
 */
export function restoreRequestOrchestrationId(requestId: string): string {
  if (/^[A-Za-z0-9._-]{1,64}$/.test(requestId)) return `restore-req-${requestId}`;
  const clean = requestId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 16);
  return `restore-req-${clean}-${hash}`;
}

/** The message as an object: the host hands over parsed JSON, or the text when it is not JSON. */
function asObject(message: unknown): Record<string, unknown> | undefined {
  let value = message;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Handles one restore-requests message; throws only when no requestId can be read (the host then poisons it). */
export async function handleRestoreRequest(deps: RestoreQueueDeps, message: unknown): Promise<RestoreQueueOutcome> {
  const obj = asObject(message);
  const requestId = obj?.requestId;
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > MAX_REQUEST_ID) {
    // Nobody could match a result to this message: let the host retry it into the poison queue, content intact.
    throw new PgkeepError(
      'UserErrorInvalidRequest',
      'restore request message without a readable requestId (JSON object with a string requestId of 1-200 characters)',
    );
  }
  const replyTo =
    typeof obj?.replyTo === 'string' && queueName.safeParse(obj.replyTo).success ? obj.replyTo : undefined;
  const reply = { requestId, queue: replyTo ?? deps.resultsQueue };
  let parsed: z.infer<typeof messageSchema>;
  let spec: RestoreSpec;
  try {
    parsed = validate(messageSchema, obj, 'restore request message');
    spec = toRestoreSpec(parsed.request);
    assertRestoreTargetAllowed(
      spec,
      deps.restoreTargets ?? { allowHttpLoopback: false, identityHosts: [] },
      '$.request',
    );
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const detail = err.details.map((d) => `${d.target}: ${d.message}`).join('; ');
    const result: RestoreResultMessage = {
      requestId,
      status: 'Failed',
      error: { code: err.code, message: detail ? `${err.message} (${detail})` : err.message },
    };
    await deps.sendQueueMessage(reply.queue, restoreResultText(result));
    deps.log(`restore request ${requestId} rejected: ${err.message}`);
    const named = typeof obj?.backupInstance === 'string' && resourceNamePattern.test(obj.backupInstance);
    await audit(deps, named ? String(obj.backupInstance) : '', { outcome: 'Failed', errorCode: err.code });
    return { kind: 'rejected', requestId };
  }
  const orchestrationId = restoreRequestOrchestrationId(requestId);
  if (await deps.starter.exists(orchestrationId)) {
    deps.log(`restore request ${requestId} is a duplicate of orchestration ${orchestrationId}: not started again`);
    return { kind: 'duplicate', orchestrationId };
  }
  await deps.starter.start(orchestrationId, {
    instanceName: parsed.backupInstance,
    trigger: 'Queue',
    request: spec,
    reply,
  });
  await audit(deps, parsed.backupInstance, { outcome: 'Succeeded' });
  return { kind: 'started', orchestrationId };
}

/**
 * Records a restore requested over the queue (principal "queue"): the instance it names and whether it was started.
 * A failed write is logged, never a reason to retry the message (the restore has started already).
 */
async function audit(
  deps: RestoreQueueDeps,
  instanceName: string,
  result: Pick<AuditEntry, 'outcome' | 'errorCode'>,
): Promise<void> {
  if (!deps.auditLog) return;
  const entry: AuditEntry = {
    id: deps.newId?.() ?? randomUUID(),
    time: (deps.clock?.now() ?? new Date()).toISOString(),
    principal: 'queue',
    principalKind: 'queue',
    action: 'restoreQueue',
    target: `QUEUE restore-requests ${instanceName}`.trim(),
    clientIp: '',
    status: 0,
    ...result,
  };
  try {
    await deps.auditLog.append(entry);
  } catch (err) {
    deps.log(`audit log write failed for a queued restore: ${err instanceof Error ? err.message : String(err)}`);
  }
}
