// `pgkeep policies list|show|apply`: backup policies on the API. apply checks the file with the API's own policy
// parsing before it sends it, so an invalid policy is reported the same way, without a round trip.

import type { Policy } from '../../shared/domain/types';
import { parsePolicy } from '../../shared/domain/policy';
import { parsePolicyBody, type PolicyResource } from '../../shared/contracts/policies';
import { validName, type List } from '../../shared/contracts/resources';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { InputError, UsageError } from '../exit-codes';
import { withApiOptions } from '../options';
import { emit, formatFields, formatTable } from '../print';
import { readJsonFile } from './policy';

const policyPath = (name: string): string => `backupPolicies/${encodeURIComponent(name)}`;

function parsed(p: PolicyResource): Policy | undefined {
  const result = parsePolicy(p.properties);
  return result.ok ? result.value : undefined;
}

function scheduleText(p: Policy): string {
  return `${p.schedule.intervals.map((i) => i.text).join(', ')} (${p.schedule.timeZoneAsWritten})`;
}

function retentionText(p: Policy): [string, string][] {
  return p.tags.map((t) => {
    const rule = p.retention[t.tag];
    const lifecycles = (rule?.lifecycles ?? [])
      .map((l) => `${l.sourceDataStore} ${l.deleteAfter.text}${l.copyOnExpiryTo ? ` → ${l.copyOnExpiryTo}` : ''}`)
      .join(', then ');
    return [`  ${t.tag}`, `${t.criterion ?? 'every backup'}; kept ${lifecycles}`];
  });
}

function policyFields(resource: PolicyResource): string {
  const p = parsed(resource);
  if (!p)
    return `${resource.name}: (the API's document does not parse here)\n${JSON.stringify(resource.properties, null, 2)}`;
  return formatFields([
    ['policy', resource.name],
    ['backup rule', p.backupRuleName],
    ['schedule', scheduleText(p)],
    ['retention', ''],
    ...retentionText(p),
  ]);
}

export const policiesCommands: CommandGroup = (program, ctx) => {
  const policies = program.command('policies').description('backup policies on the API');

  withApiOptions(policies.command('list').description('every backup policy')).action(
    async (opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<List<PolicyResource>>('GET', 'backupPolicies');
      emit(ctx.io, opts.json === true, answer, () =>
        answer.body.value.length === 0
          ? 'no backup policies (add one with pgkeep policies apply)'
          : formatTable(
              ['NAME', 'SCHEDULE', 'TAGS'],
              answer.body.value.map((r) => {
                const p = parsed(r);
                return [r.name, p ? scheduleText(p) : '-', p ? p.tags.map((t) => t.tag).join(',') : '-'];
              }),
            ),
      );
    },
  );

  withApiOptions(policies.command('show').description('one backup policy').argument('<name>', 'policy name')).action(
    async (name: string, opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<PolicyResource>('GET', policyPath(name));
      emit(ctx.io, opts.json === true, answer, () => policyFields(answer.body));
    },
  );

  withApiOptions(
    policies
      .command('apply')
      .summary('create a policy from an Azure BackupPolicy JSON file')
      .description(
        'create a policy from an Azure BackupPolicy JSON file (bare or in "properties"); re-applying the same document is a no-op, changing one that instances use is refused (UserErrorPolicyInUse)',
      )
      .argument('<name>', "policy name (the file's own name is ignored, as in ARM)")
      .requiredOption('-f, --file <policy.json>', 'the policy file'),
  ).action(async (name: string, opts: ApiCommandOptions & { file: string }) => {
    if (!validName(name)) throw new UsageError(`'${name}' is not a valid policy name (letters, digits, . _ -)`);
    const file = await readJsonFile(opts.file, ctx.io);
    if (!file.ok) throw new InputError(file.errors.map((e) => e.message).join('\n'));
    // Throws UserErrorInvalidPolicy naming every problem, exactly as the API would answer.
    parsePolicyBody(file.value, name);
    const answer = await ctx.client(opts).call<PolicyResource>('PUT', policyPath(name), { body: file.value });
    emit(
      ctx.io,
      opts.json === true,
      answer,
      () =>
        `${answer.status === 201 ? 'created' : 'applied (unchanged or replaced)'} policy '${name}'\n${policyFields(answer.body)}`,
    );
  });
};
