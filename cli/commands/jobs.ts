// `pgkeep jobs list|show|watch`, and how every job-starting command (backup, restore) reports or follows its job.

import type { Command } from 'commander';
import { jobOperations, jobQuerySchema, jobStatuses, type JobResource } from '../../shared/contracts/jobs';
import type { List } from '../../shared/contracts/resources';
import type { ApiAnswer, ApiClient } from '../api-client';
import type { ApiCommandOptions, CommandContext, CommandGroup } from '../context';
import { CliError, exitCodes } from '../exit-codes';
import { nowOf } from '../io';
import { checkRequest, sinceInstant, withApiOptions } from '../options';
import { emit, formatBytes, formatDuration, formatError, formatFields, formatTable, localTime } from '../print';
import { watchJob } from '../watch';

/** A job that ended other than Succeeded: what it was and its error on stderr; exit 1. */
export class JobFailedError extends CliError {
  constructor(readonly job: JobResource) {
    const p = job.properties;
    super(exitCodes.failed, `${p.operation} job ${job.name} of '${p.backupInstance}' ended ${p.status}`);
  }

  override render(): string {
    const error = this.job.properties.error;
    return `pgkeep: ${this.message}\n${error ? formatError(error) : ''}`;
  }
}

export function jobRow(job: JobResource): string[] {
  const p = job.properties;
  return [
    job.name,
    p.operation,
    p.backupInstance,
    p.status,
    p.trigger,
    localTime(p.startTime),
    formatDuration(p.duration),
    formatBytes(p.progress?.bytes),
    p.error?.code ?? '',
  ];
}

const jobHeader = ['ID', 'OPERATION', 'INSTANCE', 'STATUS', 'TRIGGER', 'STARTED', 'DURATION', 'BYTES', 'ERROR'];

function infoValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One job as `label: value` lines; times local; unknown operations, statuses and extras shown as they are. */
export function jobFields(job: JobResource): string {
  const p = job.properties;
  const progress = `${formatBytes(p.progress?.bytes)}${p.progress?.percent === undefined ? '' : ` (${p.progress.percent}%)`}`;
  return formatFields([
    ['job', job.name],
    ['operation', p.operation],
    ['instance', p.backupInstance],
    ['status', p.status],
    ['trigger', p.trigger],
    ['started', localTime(p.startTime)],
    ['ended', p.endTime === undefined ? undefined : localTime(p.endTime)],
    ['duration', formatDuration(p.duration)],
    ['progress', progress],
    ['recovery point', p.recoveryPointId],
    ['error', p.error && `${p.error.code}: ${p.error.message}`],
    ['hint', p.error?.hint],
    ...(p.warnings ?? []).map((w, i) => [`warning ${i + 1}`, `${w.code}: ${w.message}`] as const),
    ...Object.entries(p.extendedInfo ?? {}).map(([k, v]) => [k, infoValue(v)] as const),
  ]);
}

export const jobPath = (id: string): string => `backupJobs/${encodeURIComponent(id)}`;

/**
 * Reports a job a command just started (202) or looked up: without --wait, the job and how to watch it; with it,
 * follows the job to its end, prints the final job, and exits 1 unless it Succeeded.
 */
export async function reportJob(
  ctx: CommandContext,
  client: ApiClient,
  answer: ApiAnswer<JobResource>,
  opts: ApiCommandOptions & { wait?: boolean },
): Promise<void> {
  const job = answer.body;
  if (!opts.wait) {
    emit(ctx.io, opts.json === true, answer, () => {
      const p = job.properties;
      return `${p.operation} job ${job.name} of '${p.backupInstance}' started (${p.status})\nwatch it: pgkeep jobs watch ${job.name}`;
    });
    return;
  }
  const final = await watchJob(ctx.io, client, answer);
  emit(ctx.io, opts.json === true, final, () => jobFields(final.body));
  if (final.body.properties.status !== 'Succeeded') throw new JobFailedError(final.body);
}

export const jobsCommands: CommandGroup = (program, ctx) => {
  const jobs = program.command('jobs').description('backup, restore and expiry jobs');

  withApiOptions(
    jobs
      .command('list')
      .description('jobs of the last 7 days (or since --since), newest first')
      .option('--instance <name>', 'only jobs of this backup instance')
      .option('--operation <op>', `only this operation (${jobOperations.join(', ')})`)
      .option('--status <status>', `only this status (${jobStatuses.join(', ')})`)
      .option('--since <when>', 'a span back from now (90m, 12h, 7d, 2w) or an ISO 8601 instant', '7d'),
  ).action(
    async (opts: ApiCommandOptions & { instance?: string; operation?: string; status?: string; since: string }) => {
      const query = checkRequest(
        jobQuerySchema,
        {
          ...(opts.instance !== undefined && { backupInstance: opts.instance }),
          ...(opts.operation !== undefined && { operation: opts.operation }),
          ...(opts.status !== undefined && { status: opts.status }),
          from: sinceInstant(opts.since, nowOf(ctx.io)),
        },
        [
          ['$.backupInstance', '--instance'],
          ['$.operation', '--operation'],
          ['$.status', '--status'],
          ['$.from', '--since'],
        ],
      );
      const client = ctx.client(opts);
      const answer = await client.call<List<JobResource>>('GET', 'backupJobs', { query });
      emit(ctx.io, opts.json === true, answer, () =>
        answer.body.value.length === 0
          ? `no jobs since ${localTime(query.from)}`
          : formatTable(jobHeader, answer.body.value.map(jobRow)),
      );
    },
  );

  withApiOptions(
    jobs.command('show').description('one job, with progress and error').argument('<id>', 'job id'),
  ).action(async (id: string, opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call<JobResource>('GET', jobPath(id));
    emit(ctx.io, opts.json === true, answer, () => jobFields(answer.body));
  });

  withApiOptions(
    jobs
      .command('watch')
      .description('follow a job until it ends; exit 0 if it Succeeded, 1 if not (Ctrl-C stops watching, not the job)')
      .argument('<id>', 'job id'),
  ).action(async (id: string, opts: ApiCommandOptions) => {
    const client = ctx.client(opts);
    const answer = await client.call<JobResource>('GET', jobPath(id));
    await reportJob(ctx, client, answer, { ...opts, wait: true });
  });
};

/** Adds --wait to a job-starting command. */
export function withWait(cmd: Command): Command {
  return cmd.option('--wait', 'follow the job until it ends; exit 0 only if it Succeeded');
}
