// `pgkeep health`: GET /api/health, the vault's health as the alerts compute it (wave 2 contract: status, time,
// counts per status, the instances that are not Healthy, the last scheduler and expiry runs). Exit 1 when Critical.

import type { HealthSummary, InstanceHealthResource } from '../../shared/contracts/health';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { SilentExit, exitCodes } from '../exit-codes';
import { withApiOptions } from '../options';
import { emit, formatFields, formatTable, localTime } from '../print';

/**
 * Health of one instance (`properties.health`, shared/contracts/health.ts) as the CLI reads it: the contract's shape
 * with an open status string, so that a status a newer API adds is shown as it is instead of failing the command.
 */
export type HealthView = Omit<InstanceHealthResource, 'status'> & { readonly status: string };

/** The `properties.health` of an instance, when the API sends one. */
export function healthOf(properties: object): HealthView | undefined {
  const health = (properties as { health?: unknown }).health;
  return typeof health === 'object' && health !== null && typeof (health as HealthView).status === 'string'
    ? (health as HealthView)
    : undefined;
}

/** The body of GET /api/health (anonymous callers get only status and time), read with open status strings. */
type VaultHealth = Omit<HealthSummary, 'status' | 'counts' | 'instances'> & {
  readonly status: string;
  readonly counts?: Readonly<Record<string, number>>;
  readonly instances?: readonly { readonly name: string; readonly health: HealthView }[];
};

function healthText(h: VaultHealth): string {
  const counts = h.counts
    ? Object.entries(h.counts)
        .map(([status, n]) => `${status} ${n}`)
        .join(', ')
    : undefined;
  const run = (iso: string | null | undefined): string | undefined =>
    iso === undefined ? undefined : iso === null ? 'never' : localTime(iso);
  const head = formatFields([
    ['status', h.status],
    ['at', h.time === undefined ? undefined : localTime(h.time)],
    ['instances', counts],
    ['last scheduler run', run(h.lastSchedulerRun)],
    ['last expiry run', run(h.lastExpiryRun)],
  ]);
  const unhealthy = h.instances ?? [];
  if (unhealthy.length === 0) return head;
  const rows = unhealthy.map((i) => [
    i.name,
    i.health.status,
    (i.health.reasons ?? []).map((r) => `${r.code}: ${r.message}`).join('; '),
  ]);
  return `${head}\n\n${formatTable(['INSTANCE', 'HEALTH', 'REASONS'], rows)}`;
}

export const healthCommand: CommandGroup = (program, ctx) => {
  withApiOptions(
    program
      .command('health')
      .summary('the health of every backup instance')
      .description('the health of every backup instance; exit 1 when something is Critical (the API answers 503)'),
  ).action(async (opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call<VaultHealth>('GET', 'health', { accept: [503] });
    emit(ctx.io, opts.json === true, answer, () => healthText(answer.body));
    if (answer.status === 503 || answer.body.status === 'Critical') throw new SilentExit(exitCodes.failed, 'Critical');
  });
};
