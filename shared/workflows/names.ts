// Names of orchestrations and activities, and the shapes that cross between them. Registration (functions/) and
// orchestrators both import from here, so a rename cannot split them.

import type { TagName } from '../domain/types';
import type { JobError, JobTrigger } from '../ports';
import type { RestoreSpec } from '../contracts/restores';
import type { PointSelection, RestoreTestPlanProperties, RestoreTestResult } from '../contracts/restore-tests';

export const orchestrators = {
  backup: 'backupOrchestrator',
  restore: 'restoreOrchestrator',
  expiry: 'expiryOrchestrator',
  restoreTest: 'restoreTestOrchestrator',
  verify: 'verifyOrchestrator',
  rewrap: 'rewrapOrchestrator',
} as const;

export const activities = {
  startBackupJob: 'startBackupJob',
  checkBackupReadiness: 'checkBackupReadiness',
  runDump: 'runDump',
  commitRecoveryPoint: 'commitRecoveryPoint',
  failBackupJob: 'failBackupJob',
  acquireBackupSlot: 'acquireBackupSlot',
} as const;

export interface BackupOrchestratorInput {
  /** Given for on-demand backups (the HTTP starter created the job); derived from the orchestration otherwise. */
  readonly jobId?: string;
  readonly instanceName: string;
  readonly trigger: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
  readonly retentionTagOverride?: TagName;
  /** The schedule slot (ISO UTC) of a scheduled backup. */
  readonly scheduledSlot?: string;
  /** A scheduled backup's jittered start (BACKUP_JITTER_SECONDS): it waits for this instant before its job starts. */
  readonly notBefore?: string;
  /** How often a Queued backup asks again for its slot (BACKUP_SLOT_POLL_SECONDS); default 30. */
  readonly slotPollSeconds?: number;
}

/** After this many polls a waiting backup continues as new, so its history stays short. */
export const slotPollsPerHistory = 50;

export type AcquireBackupSlotResult =
  | { readonly granted: true; readonly serverKey: string }
  | {
      readonly granted: false;
      readonly serverKey: string;
      readonly waitingFor: 'server' | 'host';
      readonly position: number;
    };

export interface StartBackupJobInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly trigger: BackupOrchestratorInput['trigger'];
  readonly orchestrationId: string;
  readonly scheduledSlot?: string;
}

export type StartBackupJobResult = { readonly started: true } | { readonly started: false; readonly error: JobError };

export interface JobStepInput {
  readonly jobId: string;
  readonly instanceName: string;
}

export interface ReadinessResult {
  readonly serverMajor: number;
  readonly serverVersion: string;
}

export interface RunDumpInput extends JobStepInput {
  /** From the readiness step: picks the pg_dump major. */
  readonly serverMajor: number;
}

export interface DumpResult {
  readonly blobName: string;
  readonly manifestBlobName: string;
  /** When the dump started: the backup's time. */
  readonly time: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly serverVersion: string;
  readonly pgDumpVersion: string;
  readonly databaseName: string;
  /** The full id (with version) of the KEK that wrapped the dump's data key; absent when not encrypted. */
  readonly encryptionKeyId?: string;
}

export interface CommitRecoveryPointInput extends JobStepInput {
  readonly trigger: BackupOrchestratorInput['trigger'];
  readonly retentionTagOverride?: TagName;
  readonly dump: DumpResult;
}

export interface CommitRecoveryPointResult {
  readonly recoveryPointId: string;
  readonly tag: TagName;
}

export interface FailBackupJobInput extends JobStepInput {
  readonly error: JobError;
  /** Set when the dump had finished: a commit may then have written the row before failing. */
  readonly dumpTime?: string;
}

export interface BackupOrchestratorResult {
  readonly jobId: string;
  /** Queued: the orchestration continued as new while waiting for its slot. */
  readonly status: 'Succeeded' | 'Failed' | 'Queued';
  readonly recoveryPointId?: string;
  readonly error?: JobError;
}

// --- restore (design §6) ---

/** The restore activities; a separate table from `activities` because functions/ registers each table apart. */
export const restoreActivities = {
  startRestoreJob: 'startRestoreJob',
  startRehydration: 'startRehydration',
  checkRehydration: 'checkRehydration',
  completeRehydration: 'completeRehydration',
  runRestore: 'runRestore',
  finishRestoreJob: 'finishRestoreJob',
  postRestoreResult: 'postRestoreResult',
} as const;

/** Where and how the outcome of a queued restore is reported (design §6 "Queue contract"). */
export interface RestoreReply {
  readonly requestId: string;
  readonly queue: string;
}

export interface RestoreOrchestratorInput {
  /** Given by the HTTP starter (which created the job); derived from the orchestration id for queued restores. */
  readonly jobId?: string;
  readonly instanceName: string;
  readonly trigger: Extract<JobTrigger, 'OnDemand' | 'Queue'>;
  readonly request: RestoreSpec;
  readonly reply?: RestoreReply;
}

export interface RestoreStepInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly request: RestoreSpec;
}

export interface StartRestoreJobInput extends RestoreStepInput {
  readonly trigger: RestoreOrchestratorInput['trigger'];
  readonly orchestrationId: string;
  readonly requestId?: string;
}

export interface StartRestoreJobResult {
  /** The blob to restore from; absent when the point is archived and must be rehydrated first. */
  readonly sourceBlobName?: string;
  /** The lease set on the recovery point (inUseUntil), released by finishRestoreJob. */
  readonly inUseUntil: string;
}

export interface RehydrationStarted {
  readonly rehydrateJobId: string;
  readonly targetBlobName: string;
}

export interface CheckRehydrationInput extends RestoreStepInput, RehydrationStarted {}

/** With `error`: the rehydration failed or timed out; the Rehydrate job is failed and the point left as it was. */
export interface CompleteRehydrationInput extends CheckRehydrationInput {
  readonly error?: JobError;
}

export type RehydrationState = 'pending' | 'success' | 'failed';

export interface RunRestoreInput extends RestoreStepInput {
  readonly sourceBlobName: string;
}

export interface RestoreWarningInfo {
  readonly code: string;
  readonly message: string;
}

export interface RunRestoreResult {
  readonly status: 'Succeeded' | 'SucceededWithWarnings';
  readonly warnings: readonly RestoreWarningInfo[];
  readonly bytesRead: number;
  /** Restore as files: the blobs written. */
  readonly files?: readonly { readonly name: string; readonly bytes: number }[];
}

export interface FinishRestoreJobInput extends RestoreStepInput {
  readonly inUseUntil?: string;
  readonly outcome: { readonly result: RunRestoreResult } | { readonly error: JobError };
}

export interface RestoreResultMessage {
  readonly requestId: string;
  /** Absent only when no job was created (a malformed message). */
  readonly jobId?: string;
  readonly status: 'Succeeded' | 'Failed';
  /** Succeeded or SucceededWithWarnings, when status is Succeeded. */
  readonly result?: RunRestoreResult['status'];
  readonly warnings?: readonly RestoreWarningInfo[];
  readonly error?: { readonly code: string; readonly message: string };
}

export interface PostRestoreResultInput {
  readonly queue: string;
  readonly message: RestoreResultMessage;
}

export interface RestoreOrchestratorResult {
  readonly jobId: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly result?: RunRestoreResult;
  readonly error?: JobError;
}

/** Rehydration polling: first wait, doubling up to the cap, and the give-up deadline (Azure: up to ~15 h). */
export const rehydrationPolling = { firstDelayMs: 60_000, maxDelayMs: 30 * 60_000, deadlineMs: 48 * 3600_000 } as const;

// --- expiry (design §7) ---

/** The expiry activities (shared/activities/expiry.ts); registered apart, like the restore table. */
export const expiryActivities = {
  startExpiryJob: 'startExpiryJob',
  expireInstance: 'expireInstance',
  finishExpiryJob: 'finishExpiryJob',
} as const;

export interface ExpiryOrchestratorInput {
  /** Instances processed at once (EXPIRY_CONCURRENCY); the timer passes the setting. */
  readonly concurrency: number;
  readonly trigger?: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
}

export interface StartExpiryJobInput {
  readonly jobId: string;
  readonly orchestrationId: string;
  readonly trigger: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
  /** The run's instant: every plan of the run is made at it. */
  readonly nowUtc: string;
}

export interface StartExpiryJobResult {
  /** Every instance row, deleted ones included (their points still expire). */
  readonly instanceNames: readonly string[];
  /** Whether this run lists the blobs too (orphans, missing blobs): decided once per run, see ORPHAN_SWEEP_INTERVAL_HOURS. */
  readonly sweepOrphans: boolean;
}

export interface ExpireInstanceInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly nowUtc: string;
  readonly sweepOrphans: boolean;
}

/** One finding of an expiry run: a failed action (counts toward Failed) or a warning (reported only). */
export interface ExpiryFinding {
  readonly code: string;
  readonly message: string;
  readonly instanceName: string;
  readonly pointId?: string;
}

/** What expiry counts and reports, for one instance and summed over a run. */
export interface ExpiryCounts {
  readonly moved: number;
  readonly deleted: number;
  readonly rehydratedExpired: number;
  readonly orphansDeleted: number;
  /** How many actions failed (may exceed failures.length: the list is capped to keep the history small). */
  readonly failureCount: number;
  readonly failures: readonly ExpiryFinding[];
  readonly warningCount: number;
  readonly warnings: readonly ExpiryFinding[];
}

export interface ExpireInstanceResult extends ExpiryCounts {
  readonly instanceName: string;
  /** True when the instance row itself was removed (deleted instance, no points left). */
  readonly instanceRemoved: boolean;
}

export interface FinishExpiryJobInput extends ExpiryCounts {
  readonly jobId: string;
  /** The run's instant (the plans' "now"). */
  readonly asOf: string;
  readonly sweepOrphans: boolean;
  readonly instances: number;
}

export interface ExpiryOrchestratorResult {
  readonly jobId: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly failureCount: number;
}

// --- restore tests and verify (issue 17) ---

/** The restore-test activities (shared/activities/restore-tests.ts); registered apart, like the restore table. */
export const restoreTestActivities = {
  startRestoreTest: 'startRestoreTest',
  restoreScratch: 'restoreScratch',
  checkRestoredDatabase: 'checkRestoredDatabase',
  finishRestoreTest: 'finishRestoreTest',
  verifyRecoveryPoint: 'verifyRecoveryPoint',
} as const;

export interface RestoreTestOrchestratorInput {
  /** Created by the starter (HTTP run or scheduler) before the orchestration starts. */
  readonly jobId: string;
  readonly planName: string;
  readonly instanceName: string;
  readonly trigger: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
  /** The plan as it was when the run started: a later edit does not change a running test. */
  readonly plan: RestoreTestPlanProperties;
  readonly scheduledSlot?: string;
}

export interface StartRestoreTestInput extends RestoreTestOrchestratorInput {
  readonly orchestrationId: string;
}

export type StartRestoreTestResult =
  | {
      readonly started: true;
      /** The restore of the chosen point into the scratch database, as the restore activities take it. */
      readonly request: RestoreSpec;
      readonly scratchDatabase: string;
      /** COMMENT ON DATABASE of the scratch database: how a later run recognises it (with its name). */
      readonly comment: string;
      /** ISO UTC: the end of the plan's time limit. */
      readonly deadline: string;
    }
  | { readonly started: false; readonly error: JobError };

export interface RestoreScratchInput extends RunRestoreInput {
  readonly comment: string;
  readonly deadline: string;
}

export interface CheckRestoredDatabaseInput extends RestoreStepInput {
  readonly assertions: readonly string[];
  readonly deadline: string;
}

/** What the check of a restored scratch database found (contents compared, assertions run). */
export type RestoreCheck = Pick<
  RestoreTestResult,
  'contentsChecked' | 'tables' | 'rowsCompared' | 'mismatches' | 'mismatchCount' | 'assertions' | 'targetServerVersion'
>;

export interface FinishRestoreTestInput extends RestoreStepInput {
  readonly planName: string;
  readonly scratchDatabase: string;
  /** Set once the point was leased (startRestoreJob); released here. */
  readonly inUseUntil?: string;
  readonly outcome: { readonly check: RestoreCheck; readonly restore: RunRestoreResult } | { readonly error: JobError };
}

export interface RestoreTestOrchestratorResult {
  readonly jobId: string;
  readonly status: 'Passed' | 'Failed' | 'NotStarted';
  readonly error?: JobError;
}

export interface VerifyOrchestratorInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly trigger: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
  /** The point to verify; or, for a plan in Verify mode, how to choose it. */
  readonly recoveryPointId?: string;
  readonly point?: PointSelection;
  readonly planName?: string;
  readonly orchestrationId?: string;
}

export interface VerifyResult {
  readonly jobId: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly recoveryPointId?: string;
  readonly error?: JobError;
}

// --- rewrap (issue 16, shared/activities/rewrap.ts) ---

/** The rewrap activities; registered apart (functions/keys.ts). */
export const rewrapActivities = {
  rewrapInstance: 'rewrapInstance',
} as const;

/**
 * Rewraps every encrypted point of one instance — or, with serverName, every globals point of one server (issue
 * 15) — under the current KEK; the job was created by the starter.
 */
export interface RewrapOrchestratorInput {
  readonly jobId: string;
  readonly instanceName?: string;
  readonly serverName?: string;
}

export interface RewrapInstanceResult {
  readonly rewrapped: number;
  readonly alreadyCurrent: number;
  readonly notEncrypted: number;
  readonly failed: number;
}
