// Maps stored records to the Azure Data Protection resource shapes the API returns (design §3, §9). The shapes are
// declared once, as schemas in contracts/; each builder here is typed by its schema, so the two cannot drift.

import type { InstanceRecord, JobRecord, PolicyRecord, RecoveryPointRecord } from '../ports';
import { resourceTypes, type List } from '../contracts/resources';
import type { BackupInstanceResource } from '../contracts/instances';
import type { JobResource } from '../contracts/jobs';
import type { PolicyResource } from '../contracts/policies';
import type { RecoveryPointResource } from '../contracts/recovery-points';

export function listOf<T>(value: T[], nextLink?: string): List<T> {
  return nextLink ? { value, nextLink } : { value };
}

export function policyId(vaultId: string, name: string): string {
  return `${vaultId}/backupPolicies/${name}`;
}

export function instanceId(vaultId: string, name: string): string {
  return `${vaultId}/backupInstances/${name}`;
}

export function toPolicyResource(vaultId: string, p: PolicyRecord): PolicyResource {
  return { id: policyId(vaultId, p.name), name: p.name, type: resourceTypes.policy, properties: p.document };
}

export type { LastPoint } from '../activities/health';

export interface InstanceSummary {
  lastRecoveryPoint?: import('../activities/health').LastPoint;
  lastJob?: JobRecord;
  nextScheduledBackup?: string;
  readiness?: BackupInstanceResource['properties']['readiness'];
  health?: import('../domain/health').InstanceHealth;
}

export function toInstanceResource(
  vaultId: string,
  i: InstanceRecord,
  summary: InstanceSummary = {},
): BackupInstanceResource {
  const properties: BackupInstanceResource['properties'] = {
    objectType: 'BackupInstance',
    friendlyName: i.friendlyName,
    dataSourceInfo: i.dataSource,
    policyInfo: { policyId: policyId(vaultId, i.policyName) },
    datasourceAuthCredentials: {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: i.secret.secretStoreType, uri: i.secret.uri },
    },
    protectionStatus: { status: i.protectionState },
    currentProtectionState: i.protectionState,
    provisioningState: 'Succeeded',
  };
  if (i.protectionState === 'ProtectionStopped') properties.deleteBackupDataOnStop = i.deleteBackupDataOnStop ?? false;
  if (i.serverName !== undefined) properties.serverName = i.serverName;
  if (i.datasourceMissingSince !== undefined) properties.datasourceMissingSince = i.datasourceMissingSince;
  if (summary.lastRecoveryPoint) {
    const rp = summary.lastRecoveryPoint;
    properties.lastRecoveryPoint = {
      recoveryPointId: rp.id,
      recoveryPointTime: rp.time,
      retentionTagName: rp.tag,
      sizeInBytes: rp.bytes,
      dataStore: rp.dataStore,
    };
  }
  if (summary.lastJob) {
    const j = summary.lastJob;
    properties.lastJob = { jobId: j.id, operation: j.operation, status: j.status, startTime: j.startTime };
  }
  if (summary.nextScheduledBackup) properties.nextScheduledBackup = summary.nextScheduledBackup;
  if (summary.readiness) properties.readiness = summary.readiness;
  if (summary.health) properties.health = summary.health;
  return { id: instanceId(vaultId, i.name), name: i.name, type: resourceTypes.instance, properties };
}

export function toRecoveryPointResource(
  vaultId: string,
  rp: RecoveryPointRecord,
  manifest?: unknown,
): RecoveryPointResource {
  const properties: RecoveryPointResource['properties'] = {
    objectType: 'AzureBackupDiscreteRecoveryPoint',
    recoveryPointId: rp.id,
    recoveryPointTime: rp.time,
    recoveryPointType: 'Full',
    retentionTagName: rp.tag,
    policyName: rp.policyName,
    trigger: rp.trigger,
    status: rp.status,
    sizeInBytes: rp.bytes,
    sha256: rp.sha256,
    databaseName: rp.databaseName,
    serverVersion: rp.serverVersion,
    pgDumpVersion: rp.pgDumpVersion,
    expiryTime: rp.deleteAt,
    recoveryPointDataStoresDetails: [
      {
        type: rp.dataStore,
        creationTime: rp.dataStore === 'ArchiveStore' ? (rp.archivedAt ?? rp.vaultUntil) : rp.time,
        expiryTime: rp.dataStore === 'VaultStore' ? rp.vaultUntil : rp.deleteAt,
        state: rp.rehydratedUntil ? 'REHYDRATED' : 'COMMITTED',
        ...(rp.rehydratedUntil ? { rehydrationExpiryTime: rp.rehydratedUntil } : {}),
        visible: true,
      },
    ],
  };
  if (rp.movesToArchive) properties.movesToArchiveAt = rp.vaultUntil;
  if (rp.restoreTest) properties.restoreTest = rp.restoreTest;
  if (rp.encryptionKeyId !== undefined) properties.encryptionKeyId = rp.encryptionKeyId;
  if (manifest !== undefined) properties.manifest = manifest;
  return {
    id: `${instanceId(vaultId, rp.instanceName)}/recoveryPoints/${rp.id}`,
    name: rp.id,
    type: resourceTypes.recoveryPoint,
    properties,
  };
}

/** ISO 8601 duration of an interval in whole seconds, e.g. PT1H2M3S. */
export function isoDurationBetween(startIso: string, endIso: string): string {
  let secs = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  const h = Math.floor(secs / 3600);
  secs -= h * 3600;
  const m = Math.floor(secs / 60);
  secs -= m * 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${secs || (!h && !m) ? `${secs}S` : ''}`;
}

export function toJobResource(vaultId: string, j: JobRecord, nowIso: string): JobResource {
  const properties: JobResource['properties'] = {
    id: j.id,
    operation: j.operation,
    operationCategory: j.operation,
    backupInstance: j.backupInstance,
    backupInstanceId: instanceId(vaultId, j.backupInstance),
    status: j.status,
    trigger: j.trigger,
    isUserTriggered: j.trigger !== 'Scheduled',
    startTime: j.startTime,
    duration: isoDurationBetween(j.startTime, j.endTime ?? nowIso),
    progress: j.progress,
  };
  if (j.endTime) properties.endTime = j.endTime;
  if (j.recoveryPointId) properties.recoveryPointId = j.recoveryPointId;
  if (j.error) properties.error = j.error;
  if (j.warnings && j.warnings.length > 0) properties.warnings = j.warnings;
  if (j.extra) properties.extendedInfo = j.extra;
  return { id: `${vaultId}/backupJobs/${j.id}`, name: j.id, type: resourceTypes.job, properties };
}
