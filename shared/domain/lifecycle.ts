// When a recovery point leaves the vault and when it is deleted, from its tag's retention rule (design §4, §7).
// The archive lifetime counts from the scheduled move instant, so a point's dates depend only on (policy, time, tag).
import { PgkeepError } from '../errors';
import { fastAddDuration as addDuration } from './fast-calendar';
import type { Lifecycle, Policy, TagName } from './types';

export interface PointLifecycle {
  /** The VaultStore lifecycle ends here (ISO UTC): the point moves to the archive or is deleted. */
  readonly vaultUntil: string;
  readonly movesToArchive: boolean;
  /** The last lifecycle ends here (ISO UTC); equals vaultUntil when the point never moves. */
  readonly deleteAt: string;
}

// Expiry asks for the same (tag, time) on every run and the preview asks again: addDuration is the costly part.
const cacheLimit = 250_000;
const cache = new WeakMap<Policy, Map<string, PointLifecycle>>();

/**
 * The lifecycle of a point taken at `pointTimeUtc` with `tag`: vaultUntil = time + the VaultStore deleteAfter; if
 * that lifecycle copies on expiry into ArchiveStore, deleteAt = vaultUntil + the ArchiveStore deleteAfter (from the
 * scheduled move, not from whenever an expiry run moved it), else deleteAt = vaultUntil. Durations are added on the
 * policy zone's local calendar.
 */
export function lifecycleOf(policy: Policy, pointTimeUtc: string, tag: TagName): PointLifecycle {
  let perPolicy = cache.get(policy);
  if (perPolicy === undefined) {
    perPolicy = new Map();
    cache.set(policy, perPolicy);
  }
  const key = `${tag}|${pointTimeUtc}`;
  const hit = perPolicy.get(key);
  if (hit !== undefined) return hit;

  const result = computeLifecycle(policy, pointTimeUtc, tag);
  if (perPolicy.size >= cacheLimit) perPolicy.clear();
  perPolicy.set(key, result);
  return result;
}

function computeLifecycle(policy: Policy, pointTimeUtc: string, tag: TagName): PointLifecycle {
  const zone = policy.schedule.timeZone;
  const { vault, archive } = lifecyclesOf(policy, tag);
  const vaultUntil = addDuration(pointTimeUtc, vault.deleteAfter, zone);
  if (vault.copyOnExpiryTo === 'ArchiveStore') {
    if (archive === undefined) {
      throw invalid(
        policy,
        tag,
        'the VaultStore lifecycle copies to ArchiveStore but there is no ArchiveStore lifecycle',
      );
    }
    return { vaultUntil, movesToArchive: true, deleteAt: addDuration(vaultUntil, archive.deleteAfter, zone) };
  }
  return { vaultUntil, movesToArchive: false, deleteAt: vaultUntil };
}

/** The VaultStore and ArchiveStore lifecycles of a tag's rule; parsePolicy guarantees them, this guards hand-made ones. */
export function lifecyclesOf(policy: Policy, tag: TagName): { vault: Lifecycle; archive?: Lifecycle } {
  const rule = policy.retention[tag];
  if (rule === undefined) throw invalid(policy, tag, 'no retention rule for this tag');
  const vault = rule.lifecycles.find((l) => l.sourceDataStore === 'VaultStore');
  if (vault === undefined) throw invalid(policy, tag, 'the retention rule has no VaultStore lifecycle');
  const archive = rule.lifecycles.find((l) => l.sourceDataStore === 'ArchiveStore');
  return archive === undefined ? { vault } : { vault, archive };
}

function invalid(policy: Policy, tag: TagName, problem: string): PgkeepError {
  return new PgkeepError('UserErrorInvalidPolicy', `policy '${policy.name}', tag '${tag}': ${problem}`);
}
