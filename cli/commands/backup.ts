// `pgkeep backup <instance>`: an on-demand backup (POST backupInstances/{name}/backup), optionally followed to its end.

import { backupNowBodySchema } from '../../shared/contracts/instances';
import type { JobResource } from '../../shared/contracts/jobs';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { checkRequest, withApiOptions } from '../options';
import { instancePath } from './instances';
import { reportJob, withWait } from './jobs';

export const backupCommand: CommandGroup = (program, ctx) => {
  withWait(
    withApiOptions(
      program
        .command('backup')
        .summary('back up an instance now')
        .description("back up a backup instance now, kept by its policy's Default rule unless --tag says otherwise")
        .argument('<instance>', 'backup instance name')
        .option('--rule <rule>', "the policy's backup rule to run (e.g. BackupWeekly)")
        .option(
          '--tag <tag>',
          "keep the recovery point by this tag's retention rule (Default, Weekly, Monthly, Yearly)",
        ),
    ),
  ).action(async (instance: string, opts: ApiCommandOptions & { rule?: string; tag?: string; wait?: boolean }) => {
    const body = checkRequest(
      backupNowBodySchema,
      opts.rule === undefined && opts.tag === undefined
        ? {}
        : {
            backupRuleOptions: {
              ...(opts.rule !== undefined && { ruleName: opts.rule }),
              ...(opts.tag !== undefined && { triggerOption: { retentionTagOverride: opts.tag } }),
            },
          },
      [
        ['$.backupRuleOptions.ruleName', '--rule'],
        ['$.backupRuleOptions.triggerOption', '--tag'],
      ],
    );
    const client = ctx.client(opts);
    const answer = await client.call<JobResource>('POST', `${instancePath(instance)}/backup`, { body: body ?? {} });
    await reportJob(ctx, client, answer, opts);
  });
};
