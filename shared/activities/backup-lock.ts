// The one-backup-per-instance lock (design §5.5): the instance row's activeBackupJobId, taken with its etag so two
// starters can never both win. A lock whose job has already ended (a crashed run) is stale and may be taken over.

import { PgkeepError } from '../errors';
import { ConcurrencyError, type InstanceStore, type JobStore } from '../ports';

const terminal = new Set(['Succeeded', 'Failed', 'Cancelled']);

export interface LockDeps {
  readonly instances: InstanceStore;
  readonly jobs: JobStore;
  readonly nowIso: () => string;
}

/** Takes the lock for jobId; throws UserErrorBackupInProgress naming the running job, UserErrorNotFound if gone. */
export async function acquireBackupLock(deps: LockDeps, instanceName: string, jobId: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const stored = await deps.instances.get(instanceName);
    if (!stored) throw new PgkeepError('UserErrorNotFound', `backup instance '${instanceName}' was not found`);
    const holder = stored.value.activeBackupJobId;
    if (holder === jobId) return;
    if (holder !== undefined) {
      const job = await deps.jobs.get(holder);
      if (job && !terminal.has(job.status)) {
        throw new PgkeepError(
          'UserErrorBackupInProgress',
          `a backup of '${instanceName}' is already running (job ${holder})`,
          { target: instanceName },
        );
      }
    }
    try {
      await deps.instances.update({ ...stored.value, activeBackupJobId: jobId, updatedAt: deps.nowIso() }, stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
  throw new PgkeepError('UserErrorBackupInProgress', `the backup lock of '${instanceName}' is contended; retry`);
}

/** Releases the lock if jobId still holds it; a missing instance or another holder is left alone. */
export async function releaseBackupLock(deps: LockDeps, instanceName: string, jobId: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const stored = await deps.instances.get(instanceName);
    if (!stored || stored.value.activeBackupJobId !== jobId) return;
    const { activeBackupJobId: _released, ...rest } = stored.value;
    try {
      await deps.instances.update({ ...rest, updatedAt: deps.nowIso() }, stored.etag);
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
}
