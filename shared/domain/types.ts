// The normalised policy model and recovery-point view the pure core works on (design §4, §7).
// parsePolicy turns Azure's BackupPolicy JSON into `Policy`; schedule, tagging, lifecycle and planning read only this.

/** Tags in Azure's names. A recovery point carries exactly one. */
export type TagName = 'Default' | 'Weekly' | 'Monthly' | 'Yearly';
export const tagNames: readonly TagName[] = ['Default', 'Weekly', 'Monthly', 'Yearly'];

export const dataStores = ['VaultStore', 'ArchiveStore'] as const;
export type DataStore = (typeof dataStores)[number];

export type AbsoluteCriterion = 'FirstOfWeek' | 'FirstOfMonth' | 'FirstOfYear';

/** An ISO 8601 duration split into calendar parts; `text` is the original spelling (`P3M`, `P1Y6M`, `PT12H`). */
export interface IsoDuration {
  readonly text: string;
  readonly years: number;
  readonly months: number;
  readonly weeks: number;
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
}

/** `R/<start>/<period>`: start keeps the local wall time and offset as written. */
export interface RepeatingInterval {
  readonly text: string;
  /** The start exactly as written, e.g. `2024-01-07T01:30:00+01:00`. */
  readonly start: string;
  /** The start as a UTC instant (ISO, `Z`). */
  readonly startUtc: string;
  readonly period: IsoDuration;
}

export interface Schedule {
  /** IANA zone id (Windows names are mapped on parse). */
  readonly timeZone: string;
  /** The zone exactly as the policy wrote it. */
  readonly timeZoneAsWritten: string;
  readonly intervals: readonly RepeatingInterval[];
}

export interface TagCriterion {
  readonly tag: TagName;
  /** Lower number wins (Azure: Yearly 10, Monthly 15, Weekly 20, Default 99). */
  readonly priority: number;
  readonly isDefault: boolean;
  /** Undefined for Default. */
  readonly criterion?: AbsoluteCriterion;
}

export interface Lifecycle {
  readonly sourceDataStore: DataStore;
  readonly deleteAfter: IsoDuration;
  /** Set when the lifecycle ends by moving to the archive ("CopyOnExpiryOption" into ArchiveStore). */
  readonly copyOnExpiryTo?: 'ArchiveStore';
}

export interface RetentionRule {
  readonly tag: TagName;
  readonly isDefault: boolean;
  /** In order: the VaultStore lifecycle first, then the ArchiveStore one if any. */
  readonly lifecycles: readonly Lifecycle[];
}

export interface Policy {
  readonly name: string;
  /** Name of the AzureBackupRule (e.g. "BackupWeekly"): on-demand requests name it. */
  readonly backupRuleName: string;
  readonly schedule: Schedule;
  /** Sorted by priority, winning tag first. Always contains Default. */
  readonly tags: readonly TagCriterion[];
  /** One rule per tag in `tags`. Default is always present (P3M in VaultStore if the policy omitted it). */
  readonly retention: Readonly<Partial<Record<TagName, RetentionRule>>>;
}

/** One problem found in a document, with the JSON path of the offending value. */
export interface ValidationIssue {
  /** `$.policyRules[2].lifecycles[1].deleteAfter.duration` */
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: ValidationIssue[] };

export const recoveryPointStatuses = ['Available', 'Deleting', 'Deleted'] as const;
export type RecoveryPointStatus = (typeof recoveryPointStatuses)[number];

/**
 * What the retention core needs to know about one recovery point. Times are ISO 8601 UTC strings (`…Z`).
 * Adapters map table rows to this; the core never does I/O.
 */
export interface PointView {
  readonly id: string;
  /** When the backup was taken (the dump's consistent snapshot time); tagging and lifetimes count from it. */
  readonly time: string;
  readonly tag: TagName;
  readonly dataStore: DataStore;
  readonly status: RecoveryPointStatus;
  /** When the point actually moved into ArchiveStore; its archive lifetime counts from here. */
  readonly archivedAt?: string;
  /** A rehydrated (readable) copy of an archived point exists until this instant. */
  readonly rehydratedUntil?: string;
  /** A restore is reading this point: it must not be deleted or tiered now. */
  readonly inUseUntil?: string;
}

export type RetentionAction =
  | { readonly kind: 'moveToArchive'; readonly pointId: string; readonly due: string }
  | {
      readonly kind: 'delete';
      readonly pointId: string;
      readonly due: string;
      readonly reason: 'expired' | 'protectionStoppedDeleteData';
    }
  | { readonly kind: 'expireRehydrated'; readonly pointId: string; readonly due: string };
