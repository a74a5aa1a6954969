// Azure BackupPolicy documents for tests and benchmarks: one weekly backup rule, only the Default tag, one VaultStore
// lifecycle. Tests that need the richer shapes read the fixtures in ../shared/fixtures/policies.

export interface WeeklyDefaultPolicyOptions {
  readonly name: string;
  /** The repeating interval's start (local time of day and weekday of the slot), e.g. 2024-01-07T01:30:00+00:00. */
  readonly start: string;
  /** How long the Default rule keeps a point in VaultStore, e.g. P3M. */
  readonly deleteAfter: string;
  readonly timeZone?: string;
}

export function weeklyDefaultPolicy(options: WeeklyDefaultPolicyOptions): Record<string, unknown> {
  return {
    name: options.name,
    objectType: 'BackupPolicy',
    datasourceTypes: ['Microsoft.DBforPostgreSQL/servers/databases'],
    policyRules: [
      {
        name: 'BackupWeekly',
        objectType: 'AzureBackupRule',
        backupParameters: { backupType: 'Full', objectType: 'AzureBackupParams' },
        dataStore: { dataStoreType: 'VaultStore', objectType: 'DataStoreInfoBase' },
        trigger: {
          objectType: 'ScheduleBasedTriggerContext',
          schedule: { repeatingTimeIntervals: [`R/${options.start}/P1W`], timeZone: options.timeZone ?? 'UTC' },
          taggingCriteria: [{ tagInfo: { tagName: 'Default', id: 'Default_' }, taggingPriority: 99, isDefault: true }],
        },
      },
      {
        name: 'Default',
        objectType: 'AzureRetentionRule',
        isDefault: true,
        lifecycles: [
          {
            deleteAfter: { objectType: 'AbsoluteDeleteOption', duration: options.deleteAfter },
            sourceDataStore: { dataStoreType: 'VaultStore', objectType: 'DataStoreInfoBase' },
            targetDataStoreCopySettings: [],
          },
        ],
      },
    ],
  };
}
