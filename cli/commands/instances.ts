// `pgkeep instances list|show`: the protected databases, with protection, health, last backup and last job.

import { policyNameFromId, type BackupInstanceResource } from '../../shared/contracts/instances';
import type { List } from '../../shared/contracts/resources';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { withApiOptions } from '../options';
import { emit, formatFields, formatTable, localTime } from '../print';
import { healthOf, type HealthView } from './health';

export const instancePath = (name: string): string => `backupInstances/${encodeURIComponent(name)}`;

function healthCell(health: HealthView | undefined): string {
  return health?.status ?? '-';
}

function instanceRow(i: BackupInstanceResource): string[] {
  const p = i.properties;
  return [
    i.name,
    p.dataSourceInfo.resourceName,
    policyNameFromId(p.policyInfo.policyId),
    p.currentProtectionState,
    healthCell(healthOf(p)),
    localTime(p.lastRecoveryPoint?.recoveryPointTime),
    p.lastJob ? `${p.lastJob.operation} ${p.lastJob.status}` : '-',
  ];
}

/** One instance as `label: value` lines. */
export function instanceFields(i: BackupInstanceResource): string {
  const p = i.properties;
  const health = healthOf(p);
  const secret = p.datasourceAuthCredentials.secretStoreResource;
  return formatFields([
    ['instance', i.name],
    ['database', p.dataSourceInfo.resourceName],
    ['datasource', p.dataSourceInfo.resourceID],
    ['policy', policyNameFromId(p.policyInfo.policyId)],
    ['credentials', `${secret.uri} (${secret.secretStoreType})`],
    ['protection', p.currentProtectionState],
    ['delete data on stop', p.deleteBackupDataOnStop === undefined ? undefined : String(p.deleteBackupDataOnStop)],
    ['health', health && `${health.status}${health.evaluatedAt ? ` (at ${localTime(health.evaluatedAt)})` : ''}`],
    ...(health?.reasons ?? []).map((r) => ['  reason', `${r.code}: ${r.message}`] as const),
    [
      'last recovery point',
      p.lastRecoveryPoint &&
        `${p.lastRecoveryPoint.recoveryPointId}  ${localTime(p.lastRecoveryPoint.recoveryPointTime)}  ${p.lastRecoveryPoint.retentionTagName}`,
    ],
    [
      'last job',
      p.lastJob &&
        `${p.lastJob.jobId}  ${p.lastJob.operation} ${p.lastJob.status}  started ${localTime(p.lastJob.startTime)}`,
    ],
  ]);
}

export const instancesCommands: CommandGroup = (program, ctx) => {
  const instances = program.command('instances').description('backup instances: the protected databases');

  withApiOptions(instances.command('list').description('every backup instance')).action(
    async (opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<List<BackupInstanceResource>>('GET', 'backupInstances');
      emit(ctx.io, opts.json === true, answer, () =>
        answer.body.value.length === 0
          ? 'no backup instances (add one with pgkeep protect)'
          : formatTable(
              ['NAME', 'DATABASE', 'POLICY', 'PROTECTION', 'HEALTH', 'LAST BACKUP', 'LAST JOB'],
              answer.body.value.map(instanceRow),
            ),
      );
    },
  );

  withApiOptions(
    instances.command('show').description('one backup instance').argument('<name>', 'backup instance name'),
  ).action(async (name: string, opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call<BackupInstanceResource>('GET', instancePath(name));
    emit(ctx.io, opts.json === true, answer, () => instanceFields(answer.body));
  });
};
