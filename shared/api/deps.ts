// What the API handlers depend on: ports only, wired in one composition root (functions/ or tests).

import type {
  ChannelRecord,
  ChannelStore,
  AuditLogStore,
  Clock,
  DbReadinessReport,
  HealthStore,
  InstanceRecord,
  InstanceStore,
  JobStore,
  PolicyStore,
  OutboxStore,
  RecoveryPointRecord,
  RecoveryPointStore,
  SecretResolver,
  ServerStore,
  SlotStore,
} from '../ports';
import type { FleetDeps } from '../activities/discovery';
import type { AssignRolesDeps } from '../activities/assign-roles';
import type { ContainerUrlSettings } from '../domain/outbound-urls';
import type { RewrapOutcome } from '../activities/rewrap';
import type { RewrapOrchestratorInput } from '../workflows/names';

export interface BackupStartInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly trigger: 'Scheduled' | 'OnDemand';
  readonly retentionTagOverride?: import('../domain/types').TagName;
  readonly scheduledSlot?: string;
}

export interface ApiDeps {
  readonly vaultId: string;
  /**
   * ENFORCE_CALLER_ROLES: the API checks caller roles (GET /me reports the roles granted). Off, every caller holds
   * every role and reads everything (GET /health's details included), as locally.
   */
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
  // --- fleets (issue 15) ---
  readonly servers: ServerStore;
  readonly slots: SlotStore;
  /** Discovery, bulk protect and globals over the stores, PostgreSQL and the secrets. */
  readonly fleet: FleetDeps;
  readonly assignRoles: AssignRolesDeps;
  readonly settings: { readonly serverMaxConcurrentBackups: number };
  /** Starts the restore orchestration; resolves once it is scheduled. */
  readonly startRestore: (
    orchestrationId: string,
    input: import('../workflows/names').RestoreOrchestratorInput,
  ) => Promise<void>;
  // --- keys and trust (issue 16) ---
  /** The audit log; the route table's callers record each state-changing call in it (api/audit.ts). */
  readonly auditLog: AuditLogStore;
  /**
   * Where a restore as files may write (RESTORE_FILES_ALLOWED_ACCOUNTS, ALLOW_HTTP_LOOPBACK_URLS); absent = the
   * strictest rule (https with a SAS only).
   */
  readonly restoreTargets?: ContainerUrlSettings;
  /** Rewraps one point's data key under the current KEK version (activities/rewrap.ts); absent = not available. */
  readonly rewrapPoint?: (point: RecoveryPointRecord) => Promise<RewrapOutcome>;
  /** Starts the bulk rewrap orchestration of one instance; resolves once it is scheduled. */
  readonly startRewrap?: (orchestrationId: string, input: RewrapOrchestratorInput) => Promise<void>;
  readonly alerts: AlertDeps;
  /** Restore-test plans, history, and starting tests and verifies (issue 17). */
  readonly restoreTests: RestoreTestApiDeps;
}

/** What the health and notification routes need (issue 13). */
export interface AlertDeps {
  readonly channels: ChannelStore;
  readonly outbox: OutboxStore;
  readonly health: HealthStore;
  /** Resolves channel secrets at PUT, as readiness does for databases. */
  readonly secrets: SecretResolver;
  /** Sends the test event to a channel: one attempt, its outcome. */
  readonly sendTest: (channel: ChannelRecord) => Promise<import('../contracts/notifications').ChannelTestResult>;
  /** MISSED_SLOT_GRACE_MINUTES in ms. */
  readonly missedSlotGraceMs: number;
  /** ALLOW_HTTP_LOOPBACK_URLS. */
  readonly allowHttpLoopback: boolean;
}

export interface RestoreTestApiDeps {
  readonly plans: import('../ports').RestoreTestPlanStore;
  readonly history: import('../ports').RestoreTestHistoryStore;
  /** Resolves the scratch target's secret and checks the server takes a test (CREATEDB); throws the codes. */
  readonly checkScratchTarget: (secret: import('../ports').SecretReference) => Promise<void>;
  readonly startRestoreTest: (
    orchestrationId: string,
    input: import('../workflows/names').RestoreTestOrchestratorInput,
  ) => Promise<void>;
  readonly startVerify: (
    orchestrationId: string,
    input: import('../workflows/names').VerifyOrchestratorInput,
  ) => Promise<void>;
}
