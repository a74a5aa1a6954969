// Policy parsing: the fixtures parse, each validation rule reports its exact JSON path, and all problems come at once.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parsePolicy } from '../../../shared/domain/policy';
import type { ParseResult, Policy, ValidationIssue } from '../../../shared/domain/types';

// ---- setup helpers -------------------------------------------------------------------------------------------------

const fixturesDir = path.resolve(__dirname, '../../../../shared/fixtures/policies');

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(fixturesDir, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

/** The GFS fixture: rules [0] backup, [1] Default, [2] Weekly, [3] Monthly, [4] Yearly; tags Default, Weekly, Monthly, Yearly. */
function gfs(): Record<string, unknown> {
  return fixture('gfs-ten-years');
}

type Step = string | number;

function steps(jsonPath: string): Step[] {
  if (!jsonPath.startsWith('$')) throw new Error(`test setup: ${jsonPath} is not a JSON path`);
  return [...jsonPath.slice(1).matchAll(/\.(\w+)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

function parentOf(doc: unknown, jsonPath: string): { parent: Record<string | number, unknown>; last: Step } {
  const all = steps(jsonPath);
  const last = all.pop();
  if (last === undefined) throw new Error('test setup: cannot edit $ itself');
  let node = doc as Record<string | number, unknown>;
  for (const step of all) node = node[step] as Record<string | number, unknown>;
  return { parent: node, last };
}

/** Sets the value at a JSON path in the document (test setup, mutates `doc`). */
function set(doc: unknown, jsonPath: string, value: unknown): void {
  const { parent, last } = parentOf(doc, jsonPath);
  parent[last] = value;
}

/** Removes the key or array element at a JSON path (test setup, mutates `doc`). */
function remove(doc: unknown, jsonPath: string): void {
  const { parent, last } = parentOf(doc, jsonPath);
  if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
  else delete parent[last];
}

function get(doc: unknown, jsonPath: string): unknown {
  const { parent, last } = parentOf(doc, jsonPath);
  return parent[last];
}

function valueOf(result: ParseResult<Policy>): Policy {
  if (!result.ok) throw new Error(`expected a valid policy, got ${JSON.stringify(result.errors, null, 2)}`);
  return result.value;
}

function issuesOf(json: unknown): ValidationIssue[] {
  const result = parsePolicy(json);
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.errors;
}

/** Asserts the document has exactly one problem, at `jsonPath`, whose message contains `message`. */
function expectOnlyIssue(json: unknown, jsonPath: string, message: string): void {
  const issues = issuesOf(json);
  expect(issues).toEqual([{ path: jsonPath, message: expect.stringContaining(message) as string }]);
}

const monthlyArchiveMove = {
  copyAfter: { objectType: 'CopyOnExpiryOption' },
  dataStore: { dataStoreType: 'ArchiveStore', objectType: 'DataStoreInfoBase' },
};

// ---- tests ---------------------------------------------------------------------------------------------------------

describe('parsePolicy: the fixtures', () => {
  test('reads the GFS policy: Windows zone mapped, two weekdays, tags sorted by priority, archive moves', () => {
    const policy = valueOf(parsePolicy(gfs()));
    expect(policy.name).toBe('GfsTenYears');
    expect(policy.backupRuleName).toBe('BackupWeekly');
    expect(policy.schedule.timeZone).toBe('Europe/Berlin');
    expect(policy.schedule.timeZoneAsWritten).toBe('W. Europe Standard Time');
    expect(policy.schedule.intervals.map((i) => i.startUtc)).toEqual([
      '2024-01-07T00:30:00.000Z',
      '2024-01-10T00:30:00.000Z',
    ]);
    expect(policy.tags).toEqual([
      { tag: 'Yearly', priority: 10, isDefault: false, criterion: 'FirstOfYear' },
      { tag: 'Monthly', priority: 15, isDefault: false, criterion: 'FirstOfMonth' },
      { tag: 'Weekly', priority: 20, isDefault: false, criterion: 'FirstOfWeek' },
      { tag: 'Default', priority: 99, isDefault: true },
    ]);
    expect(policy.retention.Monthly).toEqual({
      tag: 'Monthly',
      isDefault: false,
      lifecycles: [
        {
          sourceDataStore: 'VaultStore',
          deleteAfter: expect.objectContaining({ text: 'P3M', months: 3 }) as unknown,
          copyOnExpiryTo: 'ArchiveStore',
        },
        { sourceDataStore: 'ArchiveStore', deleteAfter: expect.objectContaining({ text: 'P2Y', years: 2 }) as unknown },
      ],
    });
    expect(policy.retention.Weekly?.lifecycles).toEqual([
      { sourceDataStore: 'VaultStore', deleteAfter: expect.objectContaining({ text: 'P8W', weeks: 8 }) as unknown },
    ]);
    expect(policy.retention.Default?.lifecycles[0]?.deleteAfter.text).toBe('P14D');
  });

  test('reads the default weekly policy: one UTC slot, Default only, P3M', () => {
    const policy = valueOf(parsePolicy(fixture('default-weekly')));
    expect(policy.name).toBe('OssPolicy1');
    expect(policy.schedule).toMatchObject({ timeZone: 'UTC', intervals: [{ startUtc: '2021-08-22T02:00:00.000Z' }] });
    expect(policy.tags).toEqual([{ tag: 'Default', priority: 99, isDefault: true }]);
    expect(Object.keys(policy.retention)).toEqual(['Default']);
    expect(policy.retention.Default?.lifecycles).toEqual([
      { sourceDataStore: 'VaultStore', deleteAfter: expect.objectContaining({ text: 'P3M' }) as unknown },
    ]);
  });

  test('reads the three-days policy: three weekdays, Monthly moved to archive after P6M and kept P24M there', () => {
    const policy = valueOf(parsePolicy(fixture('three-days-monthly-archive')));
    expect(policy.schedule.intervals).toHaveLength(3);
    expect(policy.tags.map((t) => t.tag)).toEqual(['Monthly', 'Default']);
    expect(
      policy.retention.Monthly?.lifecycles.map((l) => [l.sourceDataStore, l.deleteAfter.text, l.copyOnExpiryTo]),
    ).toEqual([
      ['VaultStore', 'P6M', 'ArchiveStore'],
      ['ArchiveStore', 'P24M', undefined],
    ]);
  });
});

describe('parsePolicy: document shapes', () => {
  test('accepts a policy wrapped in properties, taking the name from inside', () => {
    const bare = gfs();
    const policy = valueOf(parsePolicy({ properties: bare }));
    expect(policy).toEqual(valueOf(parsePolicy(gfs())));
  });

  test('accepts the resource shape { name, properties }, taking the name from outside', () => {
    const { name: _inner, ...properties } = gfs();
    expect(valueOf(parsePolicy({ name: 'FromRoute', properties })).name).toBe('FromRoute');
  });

  test('reports paths under $.properties for a wrapped policy', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[1].deleteAfter.duration', 'P3M');
    expectOnlyIssue(
      { name: 'x', properties: doc },
      '$.properties.policyRules[3].lifecycles[1].deleteAfter.duration',
      'must be at least P6M (6 months) in ArchiveStore; got P3M',
    );
  });

  test('takes the name from the options when the document has none', () => {
    const doc = gfs();
    remove(doc, '$.name');
    expect(valueOf(parsePolicy(doc, { name: 'FromRoute' })).name).toBe('FromRoute');
  });

  test('requires a name', () => {
    const doc = gfs();
    remove(doc, '$.name');
    expectOnlyIssue(doc, '$.name', 'is required');
  });

  test('gives a policy without a Default retention rule the Default of P3M in VaultStore', () => {
    const doc = fixture('default-weekly');
    remove(doc, '$.policyRules[1]');
    const policy = valueOf(parsePolicy(doc));
    expect(policy.retention.Default).toEqual({
      tag: 'Default',
      isDefault: true,
      lifecycles: [
        { sourceDataStore: 'VaultStore', deleteAfter: expect.objectContaining({ text: 'P3M', months: 3 }) as unknown },
      ],
    });
  });

  test('uses UTC when the schedule names no time zone', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0].trigger.schedule.timeZone');
    expect(valueOf(parsePolicy(doc)).schedule.timeZone).toBe('UTC');
  });

  test('accepts an IANA time zone', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.timeZone', 'America/New_York');
    expect(valueOf(parsePolicy(doc)).schedule.timeZone).toBe('America/New_York');
  });

  test('accepts the move to archive written as a one-element array', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', [monthlyArchiveMove]);
    expect(valueOf(parsePolicy(doc)).retention.Monthly?.lifecycles[0]?.copyOnExpiryTo).toBe('ArchiveStore');
  });

  test('accepts an absent or null copy setting as "no move"', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[2].lifecycles[0].targetDataStoreCopySettings');
    set(doc, '$.policyRules[1].lifecycles[0].targetDataStoreCopySettings', null);
    const policy = valueOf(parsePolicy(doc));
    expect(policy.retention.Weekly?.lifecycles[0]?.copyOnExpiryTo).toBeUndefined();
    expect(policy.retention.Default?.lifecycles[0]?.copyOnExpiryTo).toBeUndefined();
  });

  test('orders lifecycles VaultStore first whatever the document order', () => {
    const doc = gfs();
    const lifecycles = get(doc, '$.policyRules[3].lifecycles') as unknown[];
    lifecycles.reverse();
    expect(valueOf(parsePolicy(doc)).retention.Monthly?.lifecycles.map((l) => l.sourceDataStore)).toEqual([
      'VaultStore',
      'ArchiveStore',
    ]);
  });
});

describe('parsePolicy: validation rules', () => {
  test.each([null, [], 'policy', 42])('refuses %j: a policy must be an object, at $', (json) => {
    expectOnlyIssue(json, '$', 'a policy must be a JSON object');
  });

  test('refuses properties that are not an object', () => {
    expectOnlyIssue({ name: 'x', properties: 'nope' }, '$.properties', 'must be an object');
  });

  test('requires policyRules', () => {
    const doc = gfs();
    remove(doc, '$.policyRules');
    expectOnlyIssue(doc, '$.policyRules', 'is required');
  });

  test('requires the PostgreSQL datasource type', () => {
    const doc = gfs();
    set(doc, '$.datasourceTypes', ['Microsoft.Compute/virtualMachines']);
    expectOnlyIssue(doc, '$.datasourceTypes', 'must contain Microsoft.DBforPostgreSQL/servers/databases');
  });

  test('refuses a policy objectType other than BackupPolicy', () => {
    const doc = gfs();
    set(doc, '$.objectType', 'SomethingElse');
    expectOnlyIssue(doc, '$.objectType', "must be BackupPolicy; got 'SomethingElse'");
  });

  test('refuses a rule of unknown objectType', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].objectType', 'AzureCopyRule');
    const issues = issuesOf(doc);
    expect(issues).toContainEqual({
      path: '$.policyRules[2].objectType',
      message: "must be AzureBackupRule or AzureRetentionRule; got 'AzureCopyRule'",
    });
  });

  test('requires one backup rule', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0]');
    expect(issuesOf(doc)).toEqual([
      { path: '$.policyRules', message: expect.stringContaining('must contain one AzureBackupRule') as string },
    ]);
  });

  test('refuses a second backup rule, at its path', () => {
    const doc = gfs();
    (get(doc, '$.policyRules') as unknown[]).push(get(gfs(), '$.policyRules[0]'));
    expectOnlyIssue(doc, '$.policyRules[5]', 'exactly one AzureBackupRule; policyRules[0] is already one');
  });

  test('requires the backup rule name', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0].name');
    expectOnlyIssue(doc, '$.policyRules[0].name', 'is required');
  });

  test('refuses a backup type other than Full', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].backupParameters.backupType', 'Incremental');
    expectOnlyIssue(doc, '$.policyRules[0].backupParameters.backupType', 'must be Full');
  });

  test('refuses an unknown time zone', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.timeZone', 'Middle Earth Standard Time');
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.schedule.timeZone',
      "unknown time zone 'Middle Earth Standard Time': use an IANA name",
    );
  });

  test('refuses a period other than P1W, naming it', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]', 'R/2024-01-10T01:30:00+01:00/P1D');
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]',
      'period P1D is not supported: only weekly (P1W) schedules are supported',
    );
  });

  test('refuses a malformed repeating interval', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', '2024-01-07T01:30:00+01:00');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', 'expected R/<start>/P1W');
  });

  test('refuses a repetition count', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', 'R10/2024-01-07T01:30:00+01:00/P1W');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', 'repetition count (R10)');
  });

  test('refuses a start without an offset', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', 'R/2024-01-07T01:30:00/P1W');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[0]', 'needs a UTC offset or Z');
  });

  test('refuses an empty schedule', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals', []);
    expectOnlyIssue(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals', 'at least one');
  });

  test('refuses two entries at the same local weekday and time, even written differently', () => {
    const doc = gfs();
    // 00:30Z on Sunday 14 Jan is 01:30 Berlin: the same Sunday slot as entry [0].
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]', 'R/2024-01-14T00:30:00Z/P1W');
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]',
      'same local weekday and time (Sunday 01:30 in Europe/Berlin) as repeatingTimeIntervals[0]',
    );
  });

  test('requires the Default tag', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0].trigger.taggingCriteria[0]');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria', 'must include the Default tag');
  });

  test('requires isDefault true on the Default tag', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[0].isDefault', false);
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[0].isDefault', 'must be true for the Default tag');
  });

  test('refuses criteria on the Default tag', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[0].criteria', [{ absoluteCriteria: ['FirstOfWeek'] }]);
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[0].criteria', 'the Default tag takes no criteria');
  });

  test('refuses isDefault true on a Weekly tag', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[1].isDefault', true);
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[1].isDefault', 'must be false for the Weekly tag');
  });

  test('refuses isDefault true on a Weekly retention rule', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].isDefault', true);
    expectOnlyIssue(doc, '$.policyRules[2].isDefault', 'must be false for the Weekly rule');
  });

  test('refuses an unknown tag name', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[1].tagInfo.tagName', 'Daily');
    const issues = issuesOf(doc);
    expect(issues).toContainEqual({
      path: '$.policyRules[0].trigger.taggingCriteria[1].tagInfo.tagName',
      message: "unknown tag 'Daily': expected Default, Weekly, Monthly or Yearly",
    });
  });

  test('refuses a tag listed twice', () => {
    const doc = gfs();
    (get(doc, '$.policyRules[0].trigger.taggingCriteria') as unknown[]).push(
      get(gfs(), '$.policyRules[0].trigger.taggingCriteria[1]'),
    );
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[4].tagInfo.tagName', 'tag Weekly appears twice');
  });

  test('refuses a tag whose criterion does not match its name', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria', ['FirstOfMonth']);
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.taggingCriteria[1].criteria[0].absoluteCriteria[0]',
      "the Weekly tag needs FirstOfWeek; got 'FirstOfMonth'",
    );
  });

  test('requires criteria on a Weekly, Monthly or Yearly tag', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0].trigger.taggingCriteria[3].criteria');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[3].criteria', 'is required');
  });

  test('refuses criteria other than absoluteCriteria', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[1].criteria[0].daysOfTheWeek', ['Sunday']);
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.taggingCriteria[1].criteria[0].daysOfTheWeek',
      'tags are chosen by absoluteCriteria only',
    );
  });

  test('requires a whole-number priority', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[2].taggingPriority', 'high');
    expectOnlyIssue(doc, '$.policyRules[0].trigger.taggingCriteria[2].taggingPriority', 'must be a whole number');
  });

  test('refuses priorities that contradict Yearly > Monthly > Weekly > Default', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[1].taggingPriority', 12); // Weekly above Monthly's 15
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.taggingCriteria[1].taggingPriority',
      "must be greater than Monthly's priority 15",
    );
  });

  test('refuses a Default priority that would beat another tag', () => {
    const doc = gfs();
    set(doc, '$.policyRules[0].trigger.taggingCriteria[0].taggingPriority', 5);
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.taggingCriteria[0].taggingPriority',
      "must be greater than Weekly's priority 20",
    );
  });

  test('refuses a tag without a retention rule, at the tag', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[2]'); // the Weekly rule
    expectOnlyIssue(
      doc,
      '$.policyRules[0].trigger.taggingCriteria[1].tagInfo.tagName',
      'tag Weekly has no retention rule',
    );
  });

  test('refuses a retention rule without a tag, at the rule', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0].trigger.taggingCriteria[1]'); // the Weekly tag
    expectOnlyIssue(doc, '$.policyRules[2].name', 'retention rule Weekly has no tag');
  });

  test('refuses a retention rule with an unknown name', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].name', 'Daily');
    expect(issuesOf(doc)).toContainEqual({
      path: '$.policyRules[2].name',
      message: "a retention rule is named after its tag (Default, Weekly, Monthly or Yearly); got 'Daily'",
    });
  });

  test('refuses two retention rules for one tag', () => {
    const doc = gfs();
    (get(doc, '$.policyRules') as unknown[]).push(get(gfs(), '$.policyRules[2]'));
    expectOnlyIssue(doc, '$.policyRules[5].name', 'there is already a retention rule named Weekly');
  });

  test('refuses an unparsable duration', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles[0].deleteAfter.duration', '8 weeks');
    expectOnlyIssue(
      doc,
      '$.policyRules[2].lifecycles[0].deleteAfter.duration',
      "must be an ISO 8601 duration such as P7D, P8W, P3M or P10Y; got '8 weeks'",
    );
  });

  test('refuses a VaultStore duration under 7 days, naming the limit', () => {
    const doc = gfs();
    set(doc, '$.policyRules[1].lifecycles[0].deleteAfter.duration', 'P3D');
    expectOnlyIssue(
      doc,
      '$.policyRules[1].lifecycles[0].deleteAfter.duration',
      'must be at least P7D (7 days) in VaultStore; got P3D',
    );
  });

  test('refuses a VaultStore duration over 10 years', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles[0].deleteAfter.duration', 'P10Y1D');
    expectOnlyIssue(
      doc,
      '$.policyRules[2].lifecycles[0].deleteAfter.duration',
      'must be at most P10Y (10 years) in VaultStore; got P10Y1D',
    );
  });

  test('refuses an ArchiveStore duration under 6 months, mixed units included (P26W can be shorter)', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[1].deleteAfter.duration', 'P26W');
    expectOnlyIssue(
      doc,
      '$.policyRules[3].lifecycles[1].deleteAfter.duration',
      'must be at least P6M (6 months) in ArchiveStore; got P26W',
    );
  });

  test('accepts ArchiveStore durations at the limits', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[1].deleteAfter.duration', 'P6M');
    set(doc, '$.policyRules[4].lifecycles[1].deleteAfter.duration', 'P120M');
    expect(parsePolicy(doc).ok).toBe(true);
  });

  test('refuses an ArchiveStore duration over 10 years', () => {
    const doc = gfs();
    set(doc, '$.policyRules[4].lifecycles[1].deleteAfter.duration', 'P11Y');
    expectOnlyIssue(
      doc,
      '$.policyRules[4].lifecycles[1].deleteAfter.duration',
      'must be at most P10Y (10 years) in ArchiveStore; got P11Y',
    );
  });

  test('refuses an ArchiveStore lifecycle the VaultStore lifecycle does not move points into', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', []);
    expectOnlyIssue(
      doc,
      '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings',
      'its VaultStore lifecycle must move points there on expiry',
    );
  });

  test('refuses a move to archive without an ArchiveStore lifecycle', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[3].lifecycles[1]');
    expectOnlyIssue(
      doc,
      '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings',
      'the rule has no ArchiveStore lifecycle',
    );
  });

  test('refuses copy options other than CopyOnExpiryOption', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings.copyAfter', {
      objectType: 'CustomCopyOption',
      duration: 'P7D',
    });
    expectOnlyIssue(
      doc,
      '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings.copyAfter.objectType',
      'only CopyOnExpiryOption',
    );
  });

  test('refuses a move to a datastore other than ArchiveStore', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', [
      { ...monthlyArchiveMove, dataStore: { dataStoreType: 'VaultStore' } },
    ]);
    expectOnlyIssue(
      doc,
      '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings[0].dataStore.dataStoreType',
      "must be ArchiveStore (the only place a point can move to); got 'VaultStore'",
    );
  });

  test('refuses more than one copy setting', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', [monthlyArchiveMove, monthlyArchiveMove]);
    expectOnlyIssue(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', 'at most one copy setting');
  });

  test('refuses a move out of ArchiveStore', () => {
    const doc = gfs();
    set(doc, '$.policyRules[3].lifecycles[1].targetDataStoreCopySettings', monthlyArchiveMove);
    expectOnlyIssue(doc, '$.policyRules[3].lifecycles[1].targetDataStoreCopySettings', 'cannot move points anywhere');
  });

  test('refuses a rule with only an ArchiveStore lifecycle', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[3].lifecycles[0]');
    expectOnlyIssue(doc, '$.policyRules[3].lifecycles', 'needs a VaultStore lifecycle');
  });

  test('refuses two VaultStore lifecycles in one rule', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles[1]', get(gfs(), '$.policyRules[2].lifecycles[0]'));
    expectOnlyIssue(
      doc,
      '$.policyRules[2].lifecycles[1].sourceDataStore.dataStoreType',
      'a rule has at most one VaultStore lifecycle',
    );
  });

  test('refuses an unknown datastore', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles[0].sourceDataStore.dataStoreType', 'OperationalStore');
    expectOnlyIssue(
      doc,
      '$.policyRules[2].lifecycles[0].sourceDataStore.dataStoreType',
      "must be VaultStore or ArchiveStore; got 'OperationalStore'",
    );
  });

  test('refuses delete options other than AbsoluteDeleteOption', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles[0].deleteAfter.objectType', 'RelativeDeleteOption');
    expectOnlyIssue(doc, '$.policyRules[2].lifecycles[0].deleteAfter.objectType', 'must be AbsoluteDeleteOption');
  });

  test('refuses a rule without lifecycles', () => {
    const doc = gfs();
    set(doc, '$.policyRules[2].lifecycles', []);
    expectOnlyIssue(doc, '$.policyRules[2].lifecycles', 'must hold one VaultStore lifecycle');
  });

  test('keeps the Default rule in VaultStore', () => {
    const doc = gfs();
    set(doc, '$.policyRules[1].lifecycles', get(gfs(), '$.policyRules[3].lifecycles'));
    expectOnlyIssue(
      doc,
      '$.policyRules[1].lifecycles[1].sourceDataStore.dataStoreType',
      'the Default rule keeps points in VaultStore only',
    );
  });
});

describe('parsePolicy: all problems at once', () => {
  test('reports every problem of a policy, each at its own path', () => {
    const doc = gfs();
    set(doc, '$.datasourceTypes', []);
    set(doc, '$.policyRules[0].trigger.schedule.timeZone', 'Atlantis/Capital');
    set(doc, '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]', 'R/2024-01-10T01:30:00+01:00/P1D');
    set(doc, '$.policyRules[0].trigger.taggingCriteria[3].criteria[0].absoluteCriteria', ['FirstOfWeek']);
    set(doc, '$.policyRules[1].lifecycles[0].deleteAfter.duration', 'P1D');
    remove(doc, '$.policyRules[2].lifecycles[0].deleteAfter');
    set(doc, '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings', null);
    set(doc, '$.policyRules[4].lifecycles[1].deleteAfter.duration', 'P3M');
    expect(issuesOf(doc).map((i) => i.path)).toEqual([
      '$.datasourceTypes',
      '$.policyRules[0].trigger.schedule.timeZone',
      '$.policyRules[0].trigger.schedule.repeatingTimeIntervals[1]',
      '$.policyRules[0].trigger.taggingCriteria[3].criteria[0].absoluteCriteria[0]',
      '$.policyRules[1].lifecycles[0].deleteAfter.duration',
      '$.policyRules[2].lifecycles[0].deleteAfter',
      '$.policyRules[3].lifecycles[0].targetDataStoreCopySettings',
      '$.policyRules[4].lifecycles[1].deleteAfter.duration',
    ]);
  });

  test('reports problems in several rules even when the backup rule is missing', () => {
    const doc = gfs();
    remove(doc, '$.policyRules[0]');
    set(doc, '$.policyRules[0].lifecycles[0].deleteAfter.duration', 'P2D');
    set(doc, '$.policyRules[1].lifecycles[0].deleteAfter.duration', 'nope');
    expect(issuesOf(doc).map((i) => i.path)).toEqual([
      '$.policyRules[0].lifecycles[0].deleteAfter.duration',
      '$.policyRules[1].lifecycles[0].deleteAfter.duration',
      '$.policyRules',
    ]);
  });
});
