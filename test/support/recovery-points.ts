// A recovery point row as a backup commits it, for tests and benchmarks that write points without running one: the
// lifecycle dates from the policy, the blob names from the vault's naming, placeholder dump facts.
import { lifecycleOf } from '../../shared/domain/lifecycle';
import type { Policy, TagName } from '../../shared/domain/types';
import { recoveryPointId, type RecoveryPointRecord, type VaultBlobStore } from '../../shared/ports';

export interface CommittedPointOptions {
  readonly instanceName: string;
  readonly policy: Policy;
  readonly policyName: string;
  readonly time: string;
  readonly tag: TagName;
  readonly jobId: string;
  /** Size of the dump blob. */
  readonly bytes: number;
  readonly databaseName: string;
}

export function committedPoint(
  blobs: Pick<VaultBlobStore, 'dumpBlobName' | 'manifestBlobName'>,
  options: CommittedPointOptions,
): RecoveryPointRecord {
  const { instanceName, time, tag, jobId } = options;
  const life = lifecycleOf(options.policy, time, tag);
  return {
    instanceName,
    id: recoveryPointId(time, jobId),
    time,
    tag,
    trigger: 'Scheduled',
    dataStore: 'VaultStore',
    status: 'Available',
    policyName: options.policyName,
    jobId,
    blobName: blobs.dumpBlobName(instanceName, jobId),
    manifestBlobName: blobs.manifestBlobName(instanceName, jobId),
    bytes: options.bytes,
    sha256: '00'.repeat(32),
    vaultUntil: life.vaultUntil,
    movesToArchive: life.movesToArchive,
    deleteAt: life.deleteAt,
    serverVersion: '15.8',
    pgDumpVersion: '15.8',
    databaseName: options.databaseName,
    createdAt: time,
  };
}
