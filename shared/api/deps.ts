// What the API handlers depend on: ports only, wired in one composition root (functions/ or tests).

import type {
  Clock,
  DbReadinessReport,
  InstanceRecord,
  InstanceStore,
  JobStore,
  PolicyStore,
  RecoveryPointStore,
} from '../ports';

export interface BackupStartInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly trigger: 'Scheduled' | 'OnDemand';
  readonly retentionTagOverride?: import('../domain/types').TagName;
  readonly scheduledSlot?: string;
}

export interface ApiDeps {
  readonly vaultId: string;
  /** ENFORCE_CALLER_ROLES: the API checks caller roles (GET /me reports the roles granted). */
  readonly enforceCallerRoles: boolean;
  readonly policies: PolicyStore;
  readonly instances: InstanceStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  readonly clock: Clock;
  readonly newId: () => string;
  /** Runs the readiness checks of design §8 for an instance as it would be configured. */
  readonly checkReadiness: (instance: InstanceRecord) => Promise<DbReadinessReport>;
  /** Starts the backup orchestration; resolves once it is scheduled (not finished). */
  readonly startBackup: (orchestrationId: string, input: BackupStartInput) => Promise<void>;
  /** Reads a recovery point's manifest; undefined when the blob is missing. */
  readonly readManifest: (instanceName: string, pointId: string) => Promise<unknown>;
  /** Every check of a restore request (validateRestore), as a report; see shared/activities/restore.ts. */
  readonly checkRestore: (
    instanceName: string,
    request: import('../contracts/restores').RestoreSpec,
  ) => Promise<import('../ports').ReadinessCheck[]>;
  /** Starts the restore orchestration; resolves once it is scheduled. */
  readonly startRestore: (
    orchestrationId: string,
    input: import('../workflows/names').RestoreOrchestratorInput,
  ) => Promise<void>;
}
