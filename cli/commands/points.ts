// `pgkeep points list|show`: recovery points of an instance, newest first; `latest` names the newest one.

import type { RecoveryPointResource } from '../../shared/contracts/recovery-points';
import type { List } from '../../shared/contracts/resources';
import type { ApiClient } from '../api-client';
import { ApiError } from '../api-client';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { withApiOptions } from '../options';
import { emit, formatBytes, formatFields, formatTable, localTime } from '../print';
import { instancePath } from './instances';
import type { JobResource } from '../../shared/contracts/jobs';
import { reportJob, withWait } from './jobs';
import { restoreTestSummary } from './tests';

const pointsPath = (instance: string): string => `${instancePath(instance)}/recoveryPoints`;

/** A point id, or the id of the newest point for `latest` (no point yet: an error naming the instance, exit 1). */
export async function resolvePoint(client: ApiClient, instance: string, idOrLatest: string): Promise<string> {
  if (idOrLatest !== 'latest') return idOrLatest;
  const list = await client.call<List<RecoveryPointResource>>('GET', pointsPath(instance));
  const newest = list.body.value[0];
  if (!newest) {
    throw new ApiError(404, {
      code: 'UserErrorNotFound',
      message: `backup instance '${instance}' has no recovery point yet`,
      hint: `take one with: pgkeep backup ${instance} --wait`,
    });
  }
  return newest.name;
}

function pointRow(rp: RecoveryPointResource): string[] {
  const p = rp.properties;
  return [
    rp.name,
    localTime(p.recoveryPointTime),
    p.retentionTagName,
    p.recoveryPointDataStoresDetails.map((d) => d.type).join(',') || '-',
    formatBytes(p.sizeInBytes),
    localTime(p.expiryTime),
  ];
}

function manifestSummary(manifest: unknown): string | undefined {
  if (typeof manifest !== 'object' || manifest === null) return manifest === null ? 'missing' : undefined;
  const m = manifest as { tocEntries?: unknown; uncompressedBytes?: unknown; encryption?: unknown };
  const parts: string[] = [];
  if (typeof m.tocEntries === 'number') parts.push(`${m.tocEntries} TOC entries`);
  if (typeof m.uncompressedBytes === 'number') parts.push(`${formatBytes(m.uncompressedBytes)} uncompressed`);
  parts.push(m.encryption ? 'encrypted' : 'not encrypted');
  return parts.join(', ');
}

function pointFields(rp: RecoveryPointResource): string {
  const p = rp.properties;
  return formatFields([
    ['recovery point', rp.name],
    ['time', localTime(p.recoveryPointTime)],
    ['database', p.databaseName],
    ['tag', p.retentionTagName],
    ['policy', p.policyName],
    ['trigger', p.trigger],
    ['status', p.status],
    ['size', formatBytes(p.sizeInBytes)],
    ['sha256', p.sha256],
    ['server version', p.serverVersion],
    ['pg_dump version', p.pgDumpVersion],
    ...p.recoveryPointDataStoresDetails.map(
      (d) =>
        [
          `in ${d.type}`,
          `since ${localTime(d.creationTime)} until ${localTime(d.expiryTime)}${d.state === 'REHYDRATED' ? `, rehydrated until ${localTime(d.rehydrationExpiryTime)}` : ''}`,
        ] as const,
    ),
    ['moves to archive', p.movesToArchiveAt === undefined ? undefined : localTime(p.movesToArchiveAt)],
    ['expires', localTime(p.expiryTime)],
    ['manifest', manifestSummary(p.manifest)],
    ['restore test', p.restoreTest && `${restoreTestSummary(p.restoreTest)} (${localTime(p.restoreTest.time)})`],
  ]);
}

export const pointsCommands: CommandGroup = (program, ctx) => {
  const points = program.command('points').description('recovery points of a backup instance');

  withApiOptions(
    points
      .command('list')
      .description('recovery points of an instance, newest first')
      .argument('<instance>', 'backup instance name'),
  ).action(async (instance: string, opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call<List<RecoveryPointResource>>('GET', pointsPath(instance));
    emit(ctx.io, opts.json === true, answer, () =>
      answer.body.value.length === 0
        ? `no recovery points of '${instance}'`
        : formatTable(['ID', 'TIME', 'TAG', 'TIER', 'SIZE', 'EXPIRES'], answer.body.value.map(pointRow)),
    );
  });

  withApiOptions(
    points
      .command('show')
      .description('one recovery point with its manifest summary')
      .argument('<instance>', 'backup instance name')
      .argument('<id>', 'recovery point id, or latest'),
  ).action(async (instance: string, idOrLatest: string, opts: ApiCommandOptions) => {
    const client = ctx.client(opts);
    const id = await resolvePoint(client, instance, idOrLatest);
    const answer = await client.call<RecoveryPointResource>('GET', `${pointsPath(instance)}/${encodeURIComponent(id)}`);
    emit(ctx.io, opts.json === true, answer, () => pointFields(answer.body));
  });

  withWait(
    withApiOptions(
      points
        .command('verify')
        .description("read a point back without a server: its SHA-256 and the archive's TOC (pg_restore --list)")
        .argument('<instance>', 'backup instance name')
        .argument('<id>', 'recovery point id, or latest'),
    ),
  ).action(async (instance: string, idOrLatest: string, opts: ApiCommandOptions & { wait?: boolean }) => {
    const client = ctx.client(opts);
    const id = await resolvePoint(client, instance, idOrLatest);
    const answer = await client.call<JobResource>('POST', `${pointsPath(instance)}/${encodeURIComponent(id)}/verify`);
    await reportJob(ctx, client, answer, opts);
  });
};
