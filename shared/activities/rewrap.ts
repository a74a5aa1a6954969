// Rewrapping data keys (issue 16, rotation): a point's data key is unwrapped with the KEK version its manifest names
// and wrapped again under the current KEK version; only the manifest (and the row's encryptionKeyId) change, never
// the dump. Once no point names an old version, that version can be disabled or deleted.

import { PgkeepError, toPgkeepError } from '../errors';
import { encryptionOf, rewrapEncryption } from '../adapters/crypto/envelope';
import {
  ConcurrencyError,
  type Clock,
  type JobStore,
  type KeyEncryptionKeys,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type VaultBlobStore,
} from '../ports';
import type { RewrapInstanceResult, RewrapOrchestratorInput } from '../workflows/names';

export interface RewrapDeps {
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly blobs: Pick<VaultBlobStore, 'getJson' | 'putJson'>;
  readonly keys: KeyEncryptionKeys | undefined;
  readonly clock: Clock;
  readonly log: (message: string) => void;
}

export type RewrapOutcome =
  | { readonly result: 'rewrapped'; readonly fromKeyId: string; readonly toKeyId: string }
  | { readonly result: 'alreadyCurrent'; readonly keyId: string }
  | { readonly result: 'notEncrypted' };

/** Findings a bulk rewrap lists on its job; beyond that only the count grows. */
const MAX_WARNINGS = 50;

const nowIso = (deps: RewrapDeps) => deps.clock.now().toISOString();

function keysOf(deps: RewrapDeps): KeyEncryptionKeys {
  if (deps.keys === undefined) {
    throw new PgkeepError('UserErrorInvalidRequest', 'no key-encryption key is configured to rewrap with', {
      target: 'BACKUP_ENCRYPTION_KEY_URI',
    });
  }
  return deps.keys;
}

/** Keeps the row's encryptionKeyId in step with the manifest (the row is only an index; the manifest rules). */
async function recordKeyId(deps: RewrapDeps, point: RecoveryPointRecord, keyId: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const stored = await deps.recoveryPoints.get(point.instanceName, point.id);
    if (!stored || stored.value.encryptionKeyId === keyId) return;
    try {
      await deps.recoveryPoints.update({ ...stored.value, encryptionKeyId: keyId }, stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 5) throw err;
    }
  }
}

/** Rewraps one point's data key under the current KEK version (manifest first, then the row). Idempotent. */
export async function rewrapPoint(deps: RewrapDeps, point: RecoveryPointRecord): Promise<RewrapOutcome> {
  const keys = keysOf(deps);
  const manifest = await deps.blobs.getJson<Record<string, unknown>>(point.manifestBlobName);
  if (manifest === undefined) {
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `the manifest of recovery point '${point.id}' is missing: its data key cannot be rewrapped`,
    );
  }
  const encryption = encryptionOf(manifest);
  if (encryption === undefined) return { result: 'notEncrypted' };
  const next = await rewrapEncryption(encryption, keys, nowIso(deps));
  if (next === undefined) {
    await recordKeyId(deps, point, encryption.keyId);
    return { result: 'alreadyCurrent', keyId: encryption.keyId };
  }
  // One blob write replaces the manifest whole: a restore reads either the old or the new wrapping, both valid.
  await deps.blobs.putJson(point.manifestBlobName, { ...manifest, encryption: next });
  await recordKeyId(deps, point, next.keyId);
  deps.log(`rewrapped the data key of ${point.instanceName}/${point.id} from ${encryption.keyId} to ${next.keyId}`);
  return { result: 'rewrapped', fromKeyId: encryption.keyId, toKeyId: next.keyId };
}

/**
 * The bulk rewrap of one instance (the rewrapOrchestrator's one activity): every point goes on its own, a failing
 * point is listed on the job and the others go on; the job ends Succeeded, or Failed with the first failure's code
 * and the count. A retried run finds the points already done (alreadyCurrent).
 */
export async function rewrapInstance(deps: RewrapDeps, input: RewrapOrchestratorInput): Promise<RewrapInstanceResult> {
  const counts = { rewrapped: 0, alreadyCurrent: 0, notEncrypted: 0, failed: 0 };
  const warnings: { code: string; message: string }[] = [];
  let firstError: PgkeepError | undefined;
  try {
    const toKeyId = await keysOf(deps).current?.currentKeyId();
    await deps.jobs.patch(input.jobId, { status: 'InProgress', extra: { toKeyId } });
    for await (const { value: point } of deps.recoveryPoints.list(input.instanceName)) {
      if (point.status !== 'Available') continue;
      try {
        counts[(await rewrapPoint(deps, point)).result]++;
      } catch (err) {
        const e = toPgkeepError(err);
        counts.failed++;
        firstError ??= e;
        if (warnings.length < MAX_WARNINGS) warnings.push({ code: e.code, message: `${point.id}: ${e.message}` });
      }
    }
    const failed = counts.failed > 0;
    await deps.jobs.patch(input.jobId, {
      status: failed ? 'Failed' : 'Succeeded',
      endTime: nowIso(deps),
      ...(failed && firstError
        ? {
            error: {
              code: firstError.code,
              message: `${counts.failed} recovery point(s) could not be rewrapped; the first: ${firstError.message}`,
              hint: firstError.hint,
            },
          }
        : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      extra: { toKeyId, ...counts },
    });
  } catch (err) {
    // Nothing could be rewrapped at all (no KEK, storage down): the job says why.
    const e = toPgkeepError(err);
    await deps.jobs.patch(input.jobId, {
      status: 'Failed',
      endTime: nowIso(deps),
      error: { code: e.code, message: e.message, hint: e.hint },
      extra: { ...counts },
    });
  }
  return counts;
}

/** The rewrap activities over their dependencies. */
export function createRewrapActivities(deps: RewrapDeps) {
  return {
    rewrapInstance: (input: RewrapOrchestratorInput) => rewrapInstance(deps, input),
  };
}
