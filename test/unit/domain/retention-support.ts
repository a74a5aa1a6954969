// Hand-built policies and points for the retention-core tests (tagging, lifecycle, planning).
import { parseDuration } from '../../../shared/domain/duration';
import type {
  IsoDuration,
  Lifecycle,
  Policy,
  PointView,
  RetentionRule,
  TagCriterion,
  TagName,
} from '../../../shared/domain/types';

export function duration(text: string): IsoDuration {
  const d = parseDuration(text);
  if (d === undefined) throw new Error(`bad duration in test: ${text}`);
  return d;
}

const criterionOf = { Weekly: 'FirstOfWeek', Monthly: 'FirstOfMonth', Yearly: 'FirstOfYear' } as const;
const priorityOf: Record<TagName, number> = { Yearly: 10, Monthly: 15, Weekly: 20, Default: 99 };

/** A rule: vault lifetime, and optionally the archive lifetime after the on-expiry move. */
export interface RuleSpec {
  vault: string;
  archive?: string;
}

export function buildPolicy(
  rules: Partial<Record<TagName, RuleSpec>> & { Default: RuleSpec },
  timeZone = 'UTC',
): Policy {
  const tagList = (Object.keys(rules) as TagName[]).sort((a, b) => priorityOf[a] - priorityOf[b]);
  const tags: TagCriterion[] = tagList.map((tag) =>
    tag === 'Default'
      ? { tag, priority: 99, isDefault: true }
      : { tag, priority: priorityOf[tag], isDefault: false, criterion: criterionOf[tag] },
  );
  const retention: Partial<Record<TagName, RetentionRule>> = {};
  for (const tag of tagList) {
    const spec = rules[tag]!;
    const lifecycles: Lifecycle[] = [
      spec.archive === undefined
        ? { sourceDataStore: 'VaultStore', deleteAfter: duration(spec.vault) }
        : { sourceDataStore: 'VaultStore', deleteAfter: duration(spec.vault), copyOnExpiryTo: 'ArchiveStore' },
    ];
    if (spec.archive !== undefined)
      lifecycles.push({ sourceDataStore: 'ArchiveStore', deleteAfter: duration(spec.archive) });
    retention[tag] = { tag, isDefault: tag === 'Default', lifecycles };
  }
  return {
    name: 'TestPolicy',
    backupRuleName: 'BackupWeekly',
    schedule: { timeZone, timeZoneAsWritten: timeZone, intervals: [] },
    tags,
    retention,
  };
}

/** Grandfather-father-son: 14 days, 8 weeks, 3 months + 2 years archive, 1 year + 9 years archive. */
export function gfsPolicy(timeZone = 'UTC'): Policy {
  return buildPolicy(
    {
      Default: { vault: 'P14D' },
      Weekly: { vault: 'P8W' },
      Monthly: { vault: 'P3M', archive: 'P2Y' },
      Yearly: { vault: 'P1Y', archive: 'P9Y' },
    },
    timeZone,
  );
}

export function point(id: string, time: string, extra: Partial<PointView> = {}): PointView {
  return { id, time, tag: 'Default', dataStore: 'VaultStore', status: 'Available', ...extra };
}
