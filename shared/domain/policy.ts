// Parses and validates an Azure BackupPolicy document for PostgreSQL databases into the normalised `Policy`
// (design §4). Every problem is reported at once, each with its JSON path; nothing stops at the first error.
import { describeDuration, durationOf, isAtLeast, parseDuration } from './duration';
import { describeValue, indexPath, IssueList, isJsonObject, keyPath, type JsonObject } from './json-issues';
import { localSlotOf, parseRepeatingInterval } from './schedule';
import { resolveTimeZone } from './timezone';
import {
  tagNames,
  type AbsoluteCriterion,
  type DataStore,
  type IsoDuration,
  type Lifecycle,
  type ParseResult,
  type Policy,
  type RepeatingInterval,
  type RetentionRule,
  type Schedule,
  type TagCriterion,
  type TagName,
} from './types';

export const postgresDatasourceType = 'Microsoft.DBforPostgreSQL/servers/databases';

/** Zone used when a schedule names none (Azure's default). */
export const defaultTimeZone = 'UTC';

/** The rule a policy gets when it omits the Default retention rule (design §4). */
export const defaultRetentionRule: RetentionRule = {
  tag: 'Default',
  isDefault: true,
  lifecycles: [{ sourceDataStore: 'VaultStore', deleteAfter: durationOf({ months: 3 }) }],
};

export const criterionOfTag: Readonly<Record<Exclude<TagName, 'Default'>, AbsoluteCriterion>> = {
  Weekly: 'FirstOfWeek',
  Monthly: 'FirstOfMonth',
  Yearly: 'FirstOfYear',
};

/** Retention limits per datastore (design §4). */
export const retentionLimits: Readonly<Record<DataStore, { min: IsoDuration; max: IsoDuration }>> = {
  VaultStore: { min: durationOf({ days: 7 }), max: durationOf({ years: 10 }) },
  ArchiveStore: { min: durationOf({ months: 6 }), max: durationOf({ years: 10 }) },
};

/** Precedence, winner first: a tag earlier here must have a lower priority number than any later one. */
const precedence: readonly TagName[] = ['Yearly', 'Monthly', 'Weekly', 'Default'];
const dataStores: readonly DataStore[] = ['VaultStore', 'ArchiveStore'];
const tagList = 'Default, Weekly, Monthly or Yearly';
const weekdays = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export interface ParsePolicyOptions {
  /** Name to use when the document carries none (e.g. the name in the PUT route). */
  readonly name?: string;
}

interface ParsedTag extends TagCriterion {
  readonly namePath: string;
  readonly priorityPath: string;
}

interface ParsedBackupRule {
  readonly name?: string;
  readonly schedule?: Schedule;
  /** Undefined when taggingCriteria itself was unreadable: then tags and rules are not cross-checked. */
  readonly tags?: ParsedTag[];
  readonly taggingPath: string;
}

interface ParsedRetentionRule {
  readonly rule?: RetentionRule;
  readonly tag?: TagName;
  readonly namePath: string;
}

function isTagName(value: unknown): value is TagName {
  return typeof value === 'string' && (tagNames as readonly string[]).includes(value);
}

/**
 * Azure BackupPolicy JSON → Policy. Accepts the bare policy, `{ properties: {…} }`, and the resource shape
 * `{ name, properties }` (name from outside). Paths in issues follow the document's own shape.
 */
export function parsePolicy(json: unknown, options: ParsePolicyOptions = {}): ParseResult<Policy> {
  const issues = new IssueList();
  if (!isJsonObject(json)) {
    issues.add('$', `a policy must be a JSON object; got ${describeValue(json)}`);
    return { ok: false, errors: issues.issues };
  }
  const wrapped = json.policyRules === undefined && json.properties !== undefined;
  const base = wrapped ? '$.properties' : '$';
  if (wrapped && !isJsonObject(json.properties)) {
    issues.add('$.properties', `must be an object; got ${describeValue(json.properties)}`);
    return { ok: false, errors: issues.issues };
  }
  const doc = (wrapped ? json.properties : json) as JsonObject;

  const name = readName(json, doc, base, options, issues);
  issues.constant(doc, 'objectType', base, 'BackupPolicy');
  checkDatasourceTypes(doc, base, issues);

  const rules = issues.array(doc, 'policyRules', base);
  if (rules === undefined) return { ok: false, errors: issues.issues };
  const rulesPath = keyPath(base, 'policyRules');

  const backupRules: ParsedBackupRule[] = [];
  const retentionRules: ParsedRetentionRule[] = [];
  let firstBackupIndex: number | undefined;
  rules.forEach((rule, i) => {
    const path = indexPath(rulesPath, i);
    if (!isJsonObject(rule)) {
      issues.add(path, `must be an object; got ${describeValue(rule)}`);
      return;
    }
    if (rule.objectType === 'AzureBackupRule') {
      if (firstBackupIndex !== undefined) {
        issues.add(path, `a policy has exactly one AzureBackupRule; policyRules[${firstBackupIndex}] is already one`);
        return;
      }
      firstBackupIndex = i;
      backupRules.push(parseBackupRule(rule, path, issues));
    } else if (rule.objectType === 'AzureRetentionRule') {
      retentionRules.push(parseRetentionRule(rule, path, issues));
    } else {
      issues.add(
        keyPath(path, 'objectType'),
        `must be AzureBackupRule or AzureRetentionRule; got ${describeValue(rule.objectType)}`,
      );
    }
  });
  const backup = backupRules[0];
  if (backup === undefined) {
    issues.add(rulesPath, 'must contain one AzureBackupRule (the schedule and tagging criteria); found none');
  }

  const retention = collectRetention(retentionRules, issues);
  if (backup?.tags !== undefined) crossCheck(backup.tags, backup.taggingPath, retentionRules, issues);

  if (issues.issues.length > 0 || backup?.name === undefined || backup.schedule === undefined || !backup.tags) {
    if (issues.issues.length === 0) issues.add(rulesPath, 'the AzureBackupRule could not be read');
    return { ok: false, errors: issues.issues };
  }
  const tags: TagCriterion[] = [...backup.tags]
    .sort((a, b) => a.priority - b.priority)
    .map(({ tag, priority, isDefault, criterion }) =>
      criterion === undefined ? { tag, priority, isDefault } : { tag, priority, isDefault, criterion },
    );
  return {
    ok: true,
    value: {
      name: name ?? '',
      backupRuleName: backup.name,
      schedule: backup.schedule,
      tags,
      retention: { Default: defaultRetentionRule, ...retention },
    },
  };
}

function readName(
  outer: JsonObject,
  doc: JsonObject,
  base: string,
  options: ParsePolicyOptions,
  issues: IssueList,
): string | undefined {
  for (const [value, path] of [
    [outer.name, '$.name'],
    [doc.name, keyPath(base, 'name')],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value === 'string' && value.trim() !== '') return value;
    issues.add(path, `must be a non-empty string; got ${describeValue(value)}`);
    return undefined;
  }
  if (options.name !== undefined && options.name.trim() !== '') return options.name;
  issues.add('$.name', "is required: the policy's name");
  return undefined;
}

function checkDatasourceTypes(doc: JsonObject, base: string, issues: IssueList): void {
  const types = issues.array(doc, 'datasourceTypes', base);
  if (types === undefined) return;
  if (!types.includes(postgresDatasourceType)) {
    issues.add(
      keyPath(base, 'datasourceTypes'),
      `must contain ${postgresDatasourceType}; got [${types.map(describeValue).join(', ')}]`,
    );
  }
}

function parseBackupRule(rule: JsonObject, path: string, issues: IssueList): ParsedBackupRule {
  const name = issues.string(rule, 'name', path);
  const dataStore = issues.object(rule, 'dataStore', path, true);
  if (dataStore) issues.constant(dataStore, 'dataStoreType', keyPath(path, 'dataStore'), 'VaultStore');
  const parameters = issues.object(rule, 'backupParameters', path, true);
  if (parameters) issues.constant(parameters, 'backupType', keyPath(path, 'backupParameters'), 'Full');

  const triggerPath = keyPath(path, 'trigger');
  const taggingPath = keyPath(triggerPath, 'taggingCriteria');
  const trigger = issues.object(rule, 'trigger', path);
  if (trigger === undefined) return { name, taggingPath };
  issues.constant(trigger, 'objectType', triggerPath, 'ScheduleBasedTriggerContext');
  const scheduleJson = issues.object(trigger, 'schedule', triggerPath);
  const schedule = scheduleJson && parseSchedule(scheduleJson, keyPath(triggerPath, 'schedule'), issues);
  const criteria = issues.array(trigger, 'taggingCriteria', triggerPath);
  const tags = criteria && parseTags(criteria, taggingPath, issues);
  return { name, schedule, tags, taggingPath };
}

function parseSchedule(json: JsonObject, path: string, issues: IssueList): Schedule | undefined {
  const zonePath = keyPath(path, 'timeZone');
  const zoneWritten = json.timeZone ?? defaultTimeZone;
  let timeZone: string | undefined;
  if (typeof zoneWritten !== 'string') {
    issues.add(zonePath, `must be a time zone name; got ${describeValue(zoneWritten)}`);
  } else {
    timeZone = resolveTimeZone(zoneWritten);
    if (timeZone === undefined) {
      issues.add(
        zonePath,
        `unknown time zone '${zoneWritten}': use an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time)`,
      );
    }
  }

  const listPath = keyPath(path, 'repeatingTimeIntervals');
  const list = issues.array(json, 'repeatingTimeIntervals', path);
  if (list === undefined) return undefined;
  if (list.length === 0) {
    issues.add(listPath, 'must contain at least one R/<start>/P1W entry');
    return undefined;
  }
  const intervals: RepeatingInterval[] = [];
  const slots = new Map<string, number>();
  list.forEach((entry, k) => {
    const entryPath = indexPath(listPath, k);
    if (typeof entry !== 'string') {
      issues.add(entryPath, `must be a string R/<start>/P1W; got ${describeValue(entry)}`);
      return;
    }
    const parsed = parseRepeatingInterval(entry);
    if (!parsed.ok) {
      issues.add(entryPath, parsed.message);
      return;
    }
    intervals.push(parsed.value);
    if (timeZone === undefined) return;
    const slot = localSlotOf(parsed.value, timeZone);
    const key = `${slot.dayOfWeek}T${slot.time}`;
    const earlier = slots.get(key);
    if (earlier !== undefined) {
      issues.add(
        entryPath,
        `fires at the same local weekday and time (${weekdays[slot.dayOfWeek]} ${slot.time.slice(0, 5)} in ${timeZone}) as repeatingTimeIntervals[${earlier}]`,
      );
    } else {
      slots.set(key, k);
    }
  });
  if (timeZone === undefined || typeof zoneWritten !== 'string' || intervals.length !== list.length) return undefined;
  return { timeZone, timeZoneAsWritten: zoneWritten, intervals };
}

function parseTags(criteria: unknown[], path: string, issues: IssueList): ParsedTag[] {
  const tags: ParsedTag[] = [];
  const seen = new Map<TagName, number>();
  criteria.forEach((entry, k) => {
    const entryPath = indexPath(path, k);
    if (!isJsonObject(entry)) {
      issues.add(entryPath, `must be an object; got ${describeValue(entry)}`);
      return;
    }
    const infoPath = keyPath(entryPath, 'tagInfo');
    const info = issues.object(entry, 'tagInfo', entryPath);
    const namePath = keyPath(infoPath, 'tagName');
    let tag: TagName | undefined;
    if (info !== undefined) {
      const written = info.tagName;
      if (isTagName(written)) tag = written;
      else issues.add(namePath, `unknown tag ${describeValue(written)}: expected ${tagList}`);
    }
    const priorityPath = keyPath(entryPath, 'taggingPriority');
    const priority = entry.taggingPriority;
    const priorityOk = typeof priority === 'number' && Number.isInteger(priority) && priority >= 0;
    if (!priorityOk) {
      issues.add(priorityPath, `must be a whole number ≥ 0 (lower wins); got ${describeValue(priority)}`);
    }
    if (tag === undefined) return;
    const isDefault = tag === 'Default';
    if (entry.isDefault !== isDefault && !(entry.isDefault === undefined && !isDefault)) {
      issues.add(
        keyPath(entryPath, 'isDefault'),
        `must be ${isDefault} for the ${tag} tag; got ${describeValue(entry.isDefault)}`,
      );
    }
    const criterion =
      tag === 'Default' ? checkNoCriteria(entry, entryPath, issues) : parseCriterion(entry, entryPath, tag, issues);
    const duplicate = seen.get(tag);
    if (duplicate !== undefined) {
      issues.add(namePath, `tag ${tag} appears twice (also at taggingCriteria[${duplicate}])`);
      return;
    }
    seen.set(tag, k);
    // A tag with a bad priority is still a tag: keep it (as NaN) so rules are cross-checked against it.
    tags.push({ tag, priority: priorityOk ? priority : NaN, isDefault, criterion, namePath, priorityPath });
  });
  checkPriorities(tags, issues);
  if (!seen.has('Default')) {
    issues.add(
      path,
      'must include the Default tag ({ tagInfo: { tagName: "Default" }, isDefault: true, taggingPriority: 99 })',
    );
  }
  return tags;
}

function checkNoCriteria(entry: JsonObject, path: string, issues: IssueList): undefined {
  const criteria = entry.criteria;
  if (criteria !== undefined && criteria !== null && !(Array.isArray(criteria) && criteria.length === 0)) {
    issues.add(keyPath(path, 'criteria'), 'the Default tag takes no criteria: it applies when no other tag does');
  }
  return undefined;
}

const unsupportedCriteriaKeys = ['daysOfMonth', 'daysOfTheWeek', 'monthsOfYear', 'scheduleTimes', 'weeksOfTheMonth'];

function parseCriterion(
  entry: JsonObject,
  path: string,
  tag: Exclude<TagName, 'Default'>,
  issues: IssueList,
): AbsoluteCriterion | undefined {
  const expected = criterionOfTag[tag];
  const criteriaPath = keyPath(path, 'criteria');
  const criteria = issues.array(entry, 'criteria', path);
  if (criteria === undefined) return undefined;
  if (criteria.length !== 1) {
    issues.add(
      criteriaPath,
      `must hold exactly one criterion ({ absoluteCriteria: ["${expected}"] }) for the ${tag} tag`,
    );
    return undefined;
  }
  const firstPath = indexPath(criteriaPath, 0);
  const first = criteria[0];
  if (!isJsonObject(first)) {
    issues.add(firstPath, `must be an object; got ${describeValue(first)}`);
    return undefined;
  }
  for (const key of unsupportedCriteriaKeys) {
    const value = first[key];
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
      issues.add(keyPath(firstPath, key), 'is not supported: tags are chosen by absoluteCriteria only');
    }
  }
  const absolutePath = keyPath(firstPath, 'absoluteCriteria');
  const absolute = issues.array(first, 'absoluteCriteria', firstPath);
  if (absolute === undefined) return undefined;
  if (absolute.length !== 1) {
    issues.add(absolutePath, `must be ["${expected}"] for the ${tag} tag; got ${absolute.length} values`);
    return undefined;
  }
  if (absolute[0] !== expected) {
    issues.add(indexPath(absolutePath, 0), `the ${tag} tag needs ${expected}; got ${describeValue(absolute[0])}`);
    return undefined;
  }
  return expected;
}

/** Yearly beats Monthly beats Weekly beats Default (design §4): priorities must say the same. */
function checkPriorities(tags: readonly ParsedTag[], issues: IssueList): void {
  const ordered = precedence.flatMap((name) => tags.filter((t) => t.tag === name));
  for (let i = 1; i < ordered.length; i++) {
    const winner = ordered[i - 1];
    const loser = ordered[i];
    if (winner === undefined || loser === undefined) continue;
    if (Number.isNaN(winner.priority) || Number.isNaN(loser.priority) || loser.priority > winner.priority) continue;
    issues.add(
      loser.priorityPath,
      `must be greater than ${winner.tag}'s priority ${winner.priority}: lower numbers win, and Yearly beats Monthly beats Weekly beats Default; got ${loser.priority}`,
    );
  }
}

function parseRetentionRule(rule: JsonObject, path: string, issues: IssueList): ParsedRetentionRule {
  const namePath = keyPath(path, 'name');
  let tag: TagName | undefined;
  if (isTagName(rule.name)) tag = rule.name;
  else issues.add(namePath, `a retention rule is named after its tag (${tagList}); got ${describeValue(rule.name)}`);
  if (tag !== undefined && rule.isDefault !== undefined && rule.isDefault !== (tag === 'Default')) {
    issues.add(
      keyPath(path, 'isDefault'),
      `must be ${tag === 'Default'} for the ${tag} rule; got ${describeValue(rule.isDefault)}`,
    );
  }
  const lifecyclesPath = keyPath(path, 'lifecycles');
  const list = issues.array(rule, 'lifecycles', path);
  if (list === undefined) return { tag, namePath };
  if (list.length === 0 || list.length > 2) {
    issues.add(
      lifecyclesPath,
      `must hold one VaultStore lifecycle, optionally followed by one ArchiveStore lifecycle; got ${list.length}`,
    );
    return { tag, namePath };
  }
  const parsed = list.map((entry, l) => parseLifecycle(entry, indexPath(lifecyclesPath, l), issues));
  const lifecycles = checkLifecyclePairing(tag, parsed, lifecyclesPath, issues);
  if (tag === undefined || lifecycles === undefined) return { tag, namePath };
  return { tag, namePath, rule: { tag, isDefault: tag === 'Default', lifecycles } };
}

interface ParsedLifecycle {
  readonly path: string;
  readonly store?: DataStore;
  readonly deleteAfter?: IsoDuration;
  /** Undefined when the copy settings could not be read. */
  readonly moves?: boolean;
}

function parseLifecycle(entry: unknown, path: string, issues: IssueList): ParsedLifecycle {
  if (!isJsonObject(entry)) {
    issues.add(path, `must be an object; got ${describeValue(entry)}`);
    return { path };
  }
  const source = issues.object(entry, 'sourceDataStore', path);
  let store: DataStore | undefined;
  if (source !== undefined) {
    const written = source.dataStoreType;
    if (dataStores.includes(written as DataStore)) store = written as DataStore;
    else {
      issues.add(
        keyPath(keyPath(path, 'sourceDataStore'), 'dataStoreType'),
        `must be VaultStore or ArchiveStore; got ${describeValue(written)}`,
      );
    }
  }
  const deleteAfter = parseDeleteAfter(entry, path, store, issues);
  const moves = parseCopySettings(
    entry.targetDataStoreCopySettings,
    keyPath(path, 'targetDataStoreCopySettings'),
    issues,
  );
  return { path, store, deleteAfter, moves };
}

function parseDeleteAfter(
  entry: JsonObject,
  path: string,
  store: DataStore | undefined,
  issues: IssueList,
): IsoDuration | undefined {
  const deletePath = keyPath(path, 'deleteAfter');
  const deleteAfter = issues.object(entry, 'deleteAfter', path);
  if (deleteAfter === undefined) return undefined;
  issues.constant(deleteAfter, 'objectType', deletePath, 'AbsoluteDeleteOption');
  const durationPath = keyPath(deletePath, 'duration');
  const text = deleteAfter.duration;
  const duration = typeof text === 'string' ? parseDuration(text) : undefined;
  if (duration === undefined) {
    issues.add(durationPath, `must be an ISO 8601 duration such as P7D, P8W, P3M or P10Y; got ${describeValue(text)}`);
    return undefined;
  }
  if (store === undefined) return duration;
  const { min, max } = retentionLimits[store];
  if (!isAtLeast(duration, min)) {
    issues.add(
      durationPath,
      `must be at least ${min.text} (${describeDuration(min)}) in ${store}; got ${duration.text}`,
    );
    return undefined;
  }
  if (!isAtLeast(max, duration)) {
    issues.add(
      durationPath,
      `must be at most ${max.text} (${describeDuration(max)}) in ${store}; got ${duration.text}`,
    );
    return undefined;
  }
  return duration;
}

/** true: "on expiry, move to ArchiveStore"; false: no copy; undefined: unreadable (an issue was recorded). */
function parseCopySettings(value: unknown, path: string, issues: IssueList): boolean | undefined {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return false;
  let settings: unknown = value;
  let settingsPath = path;
  if (Array.isArray(value)) {
    if (value.length > 1) {
      issues.add(path, `must hold at most one copy setting (on expiry, move to ArchiveStore); got ${value.length}`);
      return undefined;
    }
    settings = (value as unknown[])[0];
    settingsPath = indexPath(path, 0);
  }
  if (!isJsonObject(settings)) {
    issues.add(settingsPath, `must be an object; got ${describeValue(settings)}`);
    return undefined;
  }
  let ok = true;
  const copyAfter = issues.object(settings, 'copyAfter', settingsPath);
  if (copyAfter === undefined) ok = false;
  else if (copyAfter.objectType !== 'CopyOnExpiryOption') {
    issues.add(
      keyPath(keyPath(settingsPath, 'copyAfter'), 'objectType'),
      `only CopyOnExpiryOption (move to ArchiveStore when the VaultStore lifetime ends) is supported; got ${describeValue(copyAfter.objectType)}`,
    );
    ok = false;
  }
  const dataStore = issues.object(settings, 'dataStore', settingsPath);
  if (dataStore === undefined) ok = false;
  else if (dataStore.dataStoreType !== 'ArchiveStore') {
    issues.add(
      keyPath(keyPath(settingsPath, 'dataStore'), 'dataStoreType'),
      `must be ArchiveStore (the only place a point can move to); got ${describeValue(dataStore.dataStoreType)}`,
    );
    ok = false;
  }
  return ok ? true : undefined;
}

/**
 * The shape rules between a rule's lifecycles: one VaultStore lifecycle, and an ArchiveStore one exactly when the
 * VaultStore one moves points there on expiry. Returns the lifecycles (VaultStore first) when all is well.
 */
function checkLifecyclePairing(
  tag: TagName | undefined,
  parsed: readonly ParsedLifecycle[],
  lifecyclesPath: string,
  issues: IssueList,
): Lifecycle[] | undefined {
  let ok = parsed.every((l) => l.store !== undefined && l.deleteAfter !== undefined && l.moves !== undefined);
  const seen = new Map<DataStore, number>();
  parsed.forEach((l, i) => {
    if (l.store === undefined) return;
    const earlier = seen.get(l.store);
    if (earlier !== undefined) {
      issues.add(
        keyPath(keyPath(l.path, 'sourceDataStore'), 'dataStoreType'),
        `a rule has at most one ${l.store} lifecycle; lifecycles[${earlier}] is one already`,
      );
      ok = false;
    } else {
      seen.set(l.store, i);
    }
  });
  const vault = parsed.find((l) => l.store === 'VaultStore');
  const archive = parsed.find((l) => l.store === 'ArchiveStore');
  const copyPath = (l: ParsedLifecycle): string => keyPath(l.path, 'targetDataStoreCopySettings');
  if (archive?.moves === true) {
    issues.add(copyPath(archive), 'an ArchiveStore lifecycle is the last one: it cannot move points anywhere');
    ok = false;
  }
  if (vault === undefined) {
    if (parsed.some((l) => l.store !== undefined)) {
      issues.add(lifecyclesPath, 'needs a VaultStore lifecycle: every recovery point starts in VaultStore');
    }
    return undefined;
  }
  if (tag === 'Default' && (archive !== undefined || vault.moves === true)) {
    issues.add(
      archive === undefined ? copyPath(vault) : keyPath(keyPath(archive.path, 'sourceDataStore'), 'dataStoreType'),
      'the Default rule keeps points in VaultStore only: give archive retention to a Weekly, Monthly or Yearly rule',
    );
    return undefined;
  }
  if (archive !== undefined && vault.moves === false) {
    issues.add(
      copyPath(vault),
      'the rule has an ArchiveStore lifecycle, so its VaultStore lifecycle must move points there on expiry: ' +
        '{ copyAfter: { objectType: "CopyOnExpiryOption" }, dataStore: { dataStoreType: "ArchiveStore" } }',
    );
    ok = false;
  }
  if (archive === undefined && vault.moves === true) {
    issues.add(
      copyPath(vault),
      'moves points to ArchiveStore on expiry, but the rule has no ArchiveStore lifecycle saying how long to keep them there',
    );
    ok = false;
  }
  if (!ok || vault.deleteAfter === undefined) return undefined;
  const lifecycles: Lifecycle[] = [
    archive === undefined
      ? { sourceDataStore: 'VaultStore', deleteAfter: vault.deleteAfter }
      : { sourceDataStore: 'VaultStore', deleteAfter: vault.deleteAfter, copyOnExpiryTo: 'ArchiveStore' },
  ];
  if (archive?.deleteAfter !== undefined) {
    lifecycles.push({ sourceDataStore: 'ArchiveStore', deleteAfter: archive.deleteAfter });
  }
  return lifecycles;
}

function collectRetention(
  rules: readonly ParsedRetentionRule[],
  issues: IssueList,
): Partial<Record<TagName, RetentionRule>> {
  const byTag: Partial<Record<TagName, RetentionRule>> = {};
  const seen = new Set<TagName>();
  for (const parsed of rules) {
    if (parsed.tag === undefined) continue;
    if (seen.has(parsed.tag)) {
      issues.add(parsed.namePath, `there is already a retention rule named ${parsed.tag}`);
      continue;
    }
    seen.add(parsed.tag);
    if (parsed.rule) byTag[parsed.tag] = parsed.rule;
  }
  return byTag;
}

/** Every tag needs its rule (Default excepted: it has a default) and every rule needs its tag. */
function crossCheck(
  tags: readonly ParsedTag[],
  taggingPath: string,
  rules: readonly ParsedRetentionRule[],
  issues: IssueList,
): void {
  const ruleTags = new Set(rules.flatMap((r) => (r.tag === undefined ? [] : [r.tag])));
  const tagged = new Set(tags.map((t) => t.tag));
  for (const t of tags) {
    if (t.tag !== 'Default' && !ruleTags.has(t.tag)) {
      issues.add(t.namePath, `tag ${t.tag} has no retention rule: add an AzureRetentionRule named ${t.tag}`);
    }
  }
  for (const r of rules) {
    if (r.tag === undefined || r.tag === 'Default' || tagged.has(r.tag)) continue;
    issues.add(
      r.namePath,
      `retention rule ${r.tag} has no tag: add ${r.tag} with ${criterionOfTag[r.tag]} to the backup rule's taggingCriteria (${taggingPath})`,
    );
  }
}
