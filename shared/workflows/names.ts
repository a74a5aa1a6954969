// Names of orchestrations and activities, and the shapes that cross between them. Registration (functions/) and
// orchestrators both import from here, so a rename cannot split them.

import type { TagName } from '../domain/types';
import type { JobError, JobTrigger } from '../ports';

export const orchestrators = {
  backup: 'backupOrchestrator',
  expiry: 'expiryOrchestrator',
} as const;

export const activities = {
  startBackupJob: 'startBackupJob',
  checkBackupReadiness: 'checkBackupReadiness',
  runDump: 'runDump',
  commitRecoveryPoint: 'commitRecoveryPoint',
  failBackupJob: 'failBackupJob',
} as const;

export interface BackupOrchestratorInput {
  /** Given for on-demand backups (the HTTP starter created the job); derived from the orchestration otherwise. */
  readonly jobId?: string;
  readonly instanceName: string;
  readonly trigger: Extract<JobTrigger, 'Scheduled' | 'OnDemand'>;
  readonly retentionTagOverride?: TagName;
  /** The schedule slot (ISO UTC) of a scheduled backup. */
  readonly scheduledSlot?: string;
}

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
  readonly status: 'Succeeded' | 'Failed';
  readonly recoveryPointId?: string;
  readonly error?: JobError;
}

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
}

export interface ExpireInstanceInput {
  readonly jobId: string;
  readonly instanceName: string;
  readonly nowUtc: string;
}

/** One finding of an expiry run: a failed action (counts toward Failed) or a warning (reported only). */
export interface ExpiryFinding {
  readonly code: string;
  readonly message: string;
  readonly instanceName: string;
  readonly pointId?: string;
}

export interface ExpireInstanceResult {
  readonly instanceName: string;
  readonly moved: number;
  readonly deleted: number;
  readonly rehydratedExpired: number;
  readonly orphansDeleted: number;
  /** True when the instance row itself was removed (deleted instance, no points left). */
  readonly instanceRemoved: boolean;
  /** How many actions failed (may exceed failures.length: the list is capped to keep the history small). */
  readonly failureCount: number;
  readonly failures: readonly ExpiryFinding[];
  readonly warningCount: number;
  readonly warnings: readonly ExpiryFinding[];
}

export interface FinishExpiryJobInput {
  readonly jobId: string;
  /** The run's instant (the plans' "now"). */
  readonly asOf: string;
  readonly instances: number;
  readonly moved: number;
  readonly deleted: number;
  readonly rehydratedExpired: number;
  readonly orphansDeleted: number;
  readonly failureCount: number;
  readonly failures: readonly ExpiryFinding[];
  readonly warningCount: number;
  readonly warnings: readonly ExpiryFinding[];
}

export interface ExpiryOrchestratorResult {
  readonly jobId: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly failureCount: number;
}
