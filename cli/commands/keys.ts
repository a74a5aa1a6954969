// Key rotation from the command line (issue 16): `pgkeep keys list` (which key-encryption key versions still wrap the
// data keys of which points, so an operator knows when an old version can be retired), and `instances rewrap` /
// `servers rewrap`, which join those groups (POST …/rewrap: the data keys are wrapped again under the current KEK
// version; the dumps are not touched).

import type { Command } from 'commander';
import type { BackupInstanceResource } from '../../shared/contracts/instances';
import type { JobResource } from '../../shared/contracts/jobs';
import type { RecoveryPointResource } from '../../shared/contracts/recovery-points';
import { validName, type List } from '../../shared/contracts/resources';
import type { ApiCommandOptions, CommandContext, CommandGroup } from '../context';
import { UsageError } from '../exit-codes';
import { withApiOptions } from '../options';
import { emit, formatTable, localTime } from '../print';
import { instancePath } from './instances';
import { reportJob, withWait } from './jobs';
import { resolvePoint } from './points';

/** What `keys list` reports per instance and key: how many points it guards, and the oldest and newest of them. */
export interface KeyUse {
  readonly instance: string;
  /** The KEK's full id with its version; null for points stored without encryption. */
  readonly keyId: string | null;
  readonly points: number;
  readonly oldest: string;
  readonly newest: string;
}

/** Groups an instance's points by the key that wraps their data keys (points come newest first). */
export function keyUses(instance: string, points: readonly RecoveryPointResource[]): KeyUse[] {
  const byKey = new Map<string | null, { points: number; oldest: string; newest: string }>();
  for (const rp of points) {
    const key = rp.properties.encryptionKeyId ?? null;
    const time = rp.properties.recoveryPointTime;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { points: 1, oldest: time, newest: time });
    else {
      seen.points++;
      if (time < seen.oldest) seen.oldest = time;
      if (time > seen.newest) seen.newest = time;
    }
  }
  return [...byKey].map(([keyId, use]) => ({ instance, keyId, ...use }));
}

/** A name given on the command line, checked as the API checks resource names (a usage error before any request). */
function checkedName(name: string, what: string): string {
  if (!validName(name)) {
    throw new UsageError(`<${what}> '${name}' is not a valid name: letters, digits, '.', '_' or '-', at most 100`);
  }
  return name;
}

/** A group registered before this one (instances, servers), to add its rewrap subcommand. */
function group(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`the '${name}' command group must be registered before the keys group`);
  return found;
}

const rewrapHelp = `
The data keys are wrapped again under the current key-encryption key version (BACKUP_KEYRING's current key, or the
newest version of BACKUP_ENCRYPTION_KEY_URI); the dumps are not read or rewritten. Once no point is left under an old
version (pgkeep keys list), that version can be disabled.`;

async function listKeys(ctx: CommandContext, names: readonly string[], opts: ApiCommandOptions): Promise<void> {
  const client = ctx.client(opts);
  const instances =
    names.length > 0
      ? names.map((n) => checkedName(n, 'instance'))
      : (await client.call<List<BackupInstanceResource>>('GET', 'backupInstances')).body.value.map((i) => i.name);
  const uses: KeyUse[] = [];
  for (const name of instances) {
    const points = await client.call<List<RecoveryPointResource>>('GET', `${instancePath(name)}/recoveryPoints`);
    uses.push(...keyUses(name, points.body.value));
  }
  // Not one API document but several: --json prints what the table shows, as one document.
  const text = JSON.stringify({ value: uses }, null, 2);
  emit(ctx.io, opts.json === true, { text }, () =>
    uses.length === 0
      ? 'no recovery points'
      : formatTable(
          ['KEY', 'INSTANCE', 'POINTS', 'OLDEST', 'NEWEST'],
          uses.map((u) => [
            u.keyId ?? '(not encrypted)',
            u.instance,
            String(u.points),
            localTime(u.oldest),
            localTime(u.newest),
          ]),
        ),
  );
}

export const keysCommands: CommandGroup = (program, ctx) => {
  const keys = program.command('keys').description('key-encryption keys: which versions guard which points');

  withApiOptions(
    keys
      .command('list')
      .description('the key (with version) wrapping the data keys of each instance’s points, with counts')
      .argument('[instance...]', 'backup instance names (default: every instance)'),
  ).action((names: string[], opts: ApiCommandOptions) => listKeys(ctx, names, opts));

  withWait(
    withApiOptions(
      group(program, 'instances')
        .command('rewrap')
        .description("rewrap the data keys of an instance's recovery points under the current key (a Rewrap job)")
        .argument('<name>', 'backup instance name')
        .option('--point <id>', 'only this recovery point (id, or latest): rewrapped in the call, the job ended'),
    ).addHelpText('after', rewrapHelp),
  ).action(async (name: string, opts: ApiCommandOptions & { point?: string; wait?: boolean }) => {
    const instance = checkedName(name, 'name');
    const client = ctx.client(opts);
    if (opts.point === undefined) {
      const answer = await client.call<JobResource>('POST', `${instancePath(instance)}/rewrap`);
      await reportJob(ctx, client, answer, opts);
      return;
    }
    const id = await resolvePoint(client, instance, opts.point);
    const answer = await client.call<JobResource>(
      'POST',
      `${instancePath(instance)}/recoveryPoints/${encodeURIComponent(id)}/rewrap`,
    );
    // The API answers with the job already ended: report its outcome, as --wait would.
    await reportJob(ctx, client, answer, { ...opts, wait: true });
  });

  withWait(
    withApiOptions(
      group(program, 'servers')
        .command('rewrap')
        .description("rewrap the data keys of a server's globals points under the current key (a Rewrap job)")
        .argument('<name>', 'server name'),
    ).addHelpText('after', rewrapHelp),
  ).action(async (name: string, opts: ApiCommandOptions & { wait?: boolean }) => {
    const client = ctx.client(opts);
    const answer = await client.call<JobResource>(
      'POST',
      `servers/${encodeURIComponent(checkedName(name, 'name'))}/rewrap`,
    );
    await reportJob(ctx, client, answer, opts);
  });
};
