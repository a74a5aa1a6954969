// Which instances a restore-test plan covers (issue 17): by name, by policy or by server. Apart from the rest of the
// restore-test rules so that the console can ask it of one instance without bundling hashes and cron parsing.

/** How a plan names its instances: by name, by policy, or by server (a prefix of the datasource resourceID). */
export type InstanceSelector =
  { readonly backupInstances: readonly string[] } | { readonly policy: string } | { readonly server: string };

export interface SelectableInstance {
  readonly name: string;
  readonly policyName: string;
  readonly resourceID: string;
  readonly protected: boolean;
  readonly deleted: boolean;
}

/**
 * The instances a plan covers, in the plan's order (by name) or by name. Named instances are taken as they are
 * (a missing one fails its own test); policy and server selections take protected, not deleted instances.
 */
export function selectInstances(selector: InstanceSelector, instances: readonly SelectableInstance[]): string[] {
  if ('backupInstances' in selector) return [...selector.backupInstances];
  const live = instances.filter((i) => i.protected && !i.deleted);
  const picked =
    'policy' in selector
      ? live.filter((i) => i.policyName === selector.policy)
      : live.filter((i) =>
          i.resourceID.toLowerCase().startsWith(`${selector.server.replace(/\/+$/, '').toLowerCase()}/databases/`),
        );
  return picked.map((i) => i.name).sort();
}

/** The selector of a plan's properties (exactly one of the three is set; the contract checks it). */
export function instanceSelector(p: {
  readonly backupInstances?: readonly string[] | undefined;
  readonly policy?: string | undefined;
  readonly server?: string | undefined;
}): InstanceSelector {
  if (p.backupInstances !== undefined) return { backupInstances: p.backupInstances };
  if (p.policy !== undefined) return { policy: p.policy };
  return { server: p.server ?? '' };
}
