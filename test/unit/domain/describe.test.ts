// The policy in words: schedule phrases in the policy's zone and retention rules in tagging order.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSchedule, summarizePolicy } from '../../../shared/domain/describe';
import { parsePolicy } from '../../../shared/domain/policy';
import type { Policy } from '../../../shared/domain/types';

const fixtures = path.resolve(__dirname, '../../../../shared/fixtures/policies');
function fixture(name: string): Policy {
  const result = parsePolicy(JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')));
  if (!result.ok) throw new Error(`fixture ${name} does not parse`);
  return result.value;
}

function withSchedule(intervals: string[], timeZone: string): Policy {
  const doc = JSON.parse(readFileSync(path.join(fixtures, 'default-weekly.json'), 'utf8')) as {
    policyRules: { trigger?: { schedule: { repeatingTimeIntervals: string[]; timeZone: string } } }[];
  };
  const rule = doc.policyRules.find((r) => r.trigger)!;
  rule.trigger!.schedule = { repeatingTimeIntervals: intervals, timeZone };
  const result = parsePolicy(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

describe('describeSchedule', () => {
  it('names the local weekdays (Monday first) and time in the policy zone, and the zone as written when it is a Windows name', () => {
    expect(describeSchedule(fixture('gfs-ten-years.json').schedule)).toBe(
      'Every Wednesday and Sunday at 01:30, Europe/Berlin (W. Europe Standard Time)',
    );
  });

  it('says the weekday of the local time, not of the UTC start', () => {
    // 23:30 UTC on Saturday is 01:30 on Sunday in Berlin (summer time).
    expect(describeSchedule(withSchedule(['R/2024-06-01T23:30:00+00:00/P1W'], 'Europe/Berlin').schedule)).toBe(
      'Every Sunday at 01:30, Europe/Berlin',
    );
  });

  it('joins entries with different times of day, earliest first', () => {
    const policy = withSchedule(
      ['R/2024-01-05T22:30:00Z/P1W', 'R/2024-01-01T02:00:00Z/P1W', 'R/2024-01-04T02:00:00Z/P1W'],
      'UTC',
    );
    expect(describeSchedule(policy.schedule)).toBe('Every Monday and Thursday at 02:00 and every Friday at 22:30, UTC');
  });
});

describe('summarizePolicy', () => {
  it('lists the retention rules winning tag first, with archive moves in words and durations as written', () => {
    const summary = summarizePolicy(fixture('gfs-ten-years.json'));
    expect(summary.backupRuleName).toBe('BackupWeekly');
    expect(summary.retention.map((r) => r.tag)).toEqual(['Yearly', 'Monthly', 'Weekly', 'Default']);
    expect(summary.retention[0]).toEqual({
      tag: 'Yearly',
      appliesTo: 'the first backup of each year',
      vaultStore: 'P1Y',
      archiveStore: 'P9Y',
      text: '1 year in VaultStore, then 9 years in ArchiveStore',
    });
    expect(summary.retention[3]).toEqual({
      tag: 'Default',
      appliesTo: 'every other backup',
      vaultStore: 'P14D',
      text: '14 days in VaultStore',
    });
  });
});
