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
import { listGlobalsPoints } from './discovery';

export interface RewrapDeps {
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly blobs: Pick<VaultBlobStore, 'getJson' | 'putJson' | 'list'>;
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

/**
 * Rewraps the data key a manifest blob holds (a dump's or a globals point's) under the current KEK version: one blob
 * write replaces the manifest whole, so a restore reads either the old or the new wrapping, both valid. Idempotent.
 */
export async function rewrapManifest(deps: RewrapDeps, manifestBlobName: string, what: string): Promise<RewrapOutcome> {
  const keys = keysOf(deps);
  const manifest = await deps.blobs.getJson<Record<string, unknown>>(manifestBlobName);
  if (manifest === undefined) {
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `the manifest of ${what} is missing: its data key cannot be rewrapped`,
    );
  }
  const encryption = encryptionOf(manifest);
  if (encryption === undefined) return { result: 'notEncrypted' };
  const next = await rewrapEncryption(encryption, keys, nowIso(deps));
  if (next === undefined) return { result: 'alreadyCurrent', keyId: encryption.keyId };
  await deps.blobs.putJson(manifestBlobName, { ...manifest, encryption: next });
  deps.log(`rewrapped the data key of ${what} from ${encryption.keyId} to ${next.keyId}`);
  return { result: 'rewrapped', fromKeyId: encryption.keyId, toKeyId: next.keyId };
}

/** Rewraps one point's data key under the current KEK version (manifest first, then the row). Idempotent. */
export async function rewrapPoint(deps: RewrapDeps, point: RecoveryPointRecord): Promise<RewrapOutcome> {
  const outcome = await rewrapManifest(deps, point.manifestBlobName, `recovery point '${point.id}'`);
  if (outcome.result === 'alreadyCurrent') await recordKeyId(deps, point, outcome.keyId);
  if (outcome.result === 'rewrapped') await recordKeyId(deps, point, outcome.toKeyId);
  return outcome;
}

/** What a bulk rewrap goes through: each item's label (for its warning) and how to rewrap it. */
interface RewrapItem {
  readonly label: string;
  readonly rewrap: () => Promise<RewrapOutcome>;
}

async function* instancePoints(deps: RewrapDeps, instanceName: string): AsyncGenerator<RewrapItem> {
  for await (const { value: point } of deps.recoveryPoints.list(instanceName)) {
    if (point.status === 'Available') yield { label: point.id, rewrap: () => rewrapPoint(deps, point) };
  }
}

/** A server's globals points (issue 15): kept like dumps, their manifests rewrapped the same way. */
async function* serverGlobalsPoints(deps: RewrapDeps, serverName: string): AsyncGenerator<RewrapItem> {
  for (const p of await listGlobalsPoints(deps, serverName)) {
    const label = `globals ${p.recoveryPointId}`;
    yield { label, rewrap: () => rewrapManifest(deps, p.blobName, `${label} of server '${serverName}'`) };
  }
}

/**
 * The bulk rewrap (the rewrapOrchestrator's one activity) of every point of an instance, or of every globals point
 * of a server: every point goes on its own, a failing point is listed on the job and the others go on; the job ends
 * Succeeded, or Failed with the first failure's code and the count. A retried run finds the points already done
 * (alreadyCurrent).
 */
export async function rewrapInstance(deps: RewrapDeps, input: RewrapOrchestratorInput): Promise<RewrapInstanceResult> {
  const counts = { rewrapped: 0, alreadyCurrent: 0, notEncrypted: 0, failed: 0 };
  const warnings: { code: string; message: string }[] = [];
  let firstError: PgkeepError | undefined;
  try {
    const toKeyId = await keysOf(deps).current?.currentKeyId();
    await deps.jobs.patch(input.jobId, { status: 'InProgress', extra: { toKeyId } });
    const items =
      input.serverName !== undefined
        ? serverGlobalsPoints(deps, input.serverName)
        : instancePoints(deps, input.instanceName ?? '');
    for await (const item of items) {
      try {
        counts[(await item.rewrap()).result]++;
      } catch (err) {
        const e = toPgkeepError(err);
        counts.failed++;
        firstError ??= e;
        if (warnings.length < MAX_WARNINGS) warnings.push({ code: e.code, message: `${item.label}: ${e.message}` });
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
