// The vault storage account: dumps and manifests in the BACKUP_CONTAINER blob container, and pgkeep's state tables.
// A separate account (and security and fault domain) from both the host's storage and the databases (design §12).

param name string
param location string
param tags object = {}

@description('BACKUP_CONTAINER: the blob container for dumps and manifests')
param backupContainerName string

@description('TABLE_PREFIX: prefix of the state tables')
param tablePrefix string = ''

// Archive tier (pgkeep's ArchiveStore) exists only on LRS, GRS and RA-GRS accounts, not on ZRS/GZRS/RA-GZRS.
@allowed(['Standard_LRS', 'Standard_GRS', 'Standard_RAGRS'])
param skuName string = 'Standard_GRS'

@description('days a deleted blob, version or container can be undeleted')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 14

@description('days after creation that a previous blob version is removed (then kept by soft delete); see below')
@minValue(1)
param previousVersionRetentionDays int = 30

@description('0 = no immutability; otherwise every blob version in the vault is immutable for this many days after it is written (version-level WORM, the account\'s default time-based retention policy). Size it to the shortest retention of the policies in this vault (infra/README.md, "Immutability")')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0

@description('false = the policy is Unlocked (an administrator can still shorten or remove it); true = Locked, irreversible: the period can only grow. A policy is always created Unlocked, so lock it with a later deployment')
param lockImmutability bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    // Version-level immutability (not container-level WORM): a protected blob version can be neither deleted nor
    // changed, but writing the blob again makes a new version — which is how a key rewrap replaces a manifest while
    // the earlier manifest version stays immutable. It can only be enabled when the account is created.
    immutableStorageWithVersioning: immutabilityDays > 0
      ? {
          enabled: true
          immutabilityPolicy: {
            immutabilityPeriodSinceCreationInDays: immutabilityDays
            state: lockImmutability ? 'Locked' : 'Unlocked'
            // Dumps are block blobs committed once; nothing appends.
            allowProtectedAppendWrites: false
          }
        }
      : null
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Versioning and soft delete turn an overwrite or delete (a bug, a stolen identity) into a recoverable event.
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: softDeleteRetentionDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteRetentionDays }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: backupContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Lifecycle management is deliberately NOT used for retention of backups. pgkeep's expiry decides per recovery point
// from the policy (tag, tier, dates computed on the policy's local calendar), tiers to archive and deletes only after
// it has marked the recovery point row, and never deletes the last good point of a protected instance. A lifecycle
// rule keyed on blob age knows none of that and would leave rows pointing at missing blobs.
// The one rule here only cleans up what versioning keeps after pgkeep has deleted (or overwritten) a blob: previous
// versions. A version's age counts from when its data was written, so a dump that expiry deleted is usually removed
// by the next lifecycle run and then stays recoverable for softDeleteRetentionDays; a version younger than
// previousVersionRetentionDays (an overwritten retry, a premature delete) stays at least that long.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'purge-previous-versions'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${backupContainerName}/']
            }
            actions: {
              version: {
                delete: { daysAfterCreationGreaterThan: previousVersionRetentionDays }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [backupContainer]
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The app creates missing tables itself; creating them here makes a fresh deployment complete before first start.
resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in ['backupPolicies', 'backupInstances', 'recoveryPoints', 'jobs', 'auditLog']: {
    parent: tableService
    name: '${tablePrefix}${table}'
  }
]

output name string = storage.name
output id string = storage.id
output backupContainerName string = backupContainer.name
