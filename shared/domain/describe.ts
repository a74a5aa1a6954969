// A policy in words for people (the console, the CLI): the schedule as "Every Sunday at 02:00, Europe/Berlin" and each
// retention rule as "3 months in VaultStore, then 10 years in ArchiveStore". Pure; reads only the parsed Policy.
import { describeDuration } from './duration';
import { lifecyclesOf } from './lifecycle';
import { localSlotOf } from './schedule';
import type { AbsoluteCriterion, Policy, Schedule, TagName } from './types';

const weekdays = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** "a, b and c" */
function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}

/**
 * The weekly schedule in words, local to the policy's zone: "Every Sunday at 02:00, Europe/Berlin"; entries sharing a
 * time of day are one phrase ("Every Monday and Thursday at 02:00, UTC"), others are joined ("…, and every Friday at
 * 22:30"). The zone is the IANA name the policy resolves to, with the policy's own spelling when that differs.
 */
export function describeSchedule(schedule: Schedule): string {
  const days = new Map<string, Set<number>>();
  for (const interval of schedule.intervals) {
    const { dayOfWeek, time } = localSlotOf(interval, schedule.timeZone);
    const hhmm = time.slice(0, 5);
    days.set(hhmm, (days.get(hhmm) ?? new Set()).add(dayOfWeek));
  }
  const phrases = [...days.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([hhmm, set]) => `${listInWords([...set].sort((a, b) => a - b).map((d) => weekdays[d]!))} at ${hhmm}`);
  const every = listInWords(phrases.map((p, i) => (i === 0 ? `Every ${p}` : `every ${p}`)));
  const zone =
    schedule.timeZoneAsWritten === schedule.timeZone
      ? schedule.timeZone
      : `${schedule.timeZone} (${schedule.timeZoneAsWritten})`;
  return `${every}, ${zone}`;
}

const criterionWords: Record<AbsoluteCriterion, string> = {
  FirstOfWeek: 'the first backup of each week',
  FirstOfMonth: 'the first backup of each month',
  FirstOfYear: 'the first backup of each year',
};

export interface RetentionRuleSummary {
  readonly tag: TagName;
  /** Which points get the tag, in words ("the first backup of each month"; "every other backup" for Default). */
  readonly appliesTo: string;
  /** ISO 8601 durations as the policy wrote them. */
  readonly vaultStore: string;
  readonly archiveStore?: string;
  /** "3 months in VaultStore, then 10 years in ArchiveStore" */
  readonly text: string;
}

export interface PolicySummary {
  readonly backupRuleName: string;
  readonly schedule: string;
  readonly timeZone: string;
  /** Winning tag first (tagging priority). */
  readonly retention: readonly RetentionRuleSummary[];
}

/** The whole policy in words, retention rules in tagging order (the tag that wins first). */
export function summarizePolicy(policy: Policy): PolicySummary {
  return {
    backupRuleName: policy.backupRuleName,
    schedule: describeSchedule(policy.schedule),
    timeZone: policy.schedule.timeZone,
    retention: policy.tags.map(({ tag, criterion }) => {
      const { vault, archive } = lifecyclesOf(policy, tag);
      const moves = vault.copyOnExpiryTo === 'ArchiveStore' && archive !== undefined;
      const text = moves
        ? `${describeDuration(vault.deleteAfter)} in VaultStore, then ${describeDuration(archive.deleteAfter)} in ArchiveStore`
        : `${describeDuration(vault.deleteAfter)} in VaultStore`;
      return {
        tag,
        appliesTo: criterion ? criterionWords[criterion] : 'every other backup',
        vaultStore: vault.deleteAfter.text,
        ...(moves ? { archiveStore: archive.deleteAfter.text } : {}),
        text,
      };
    }),
  };
}
