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

@description('0 = no immutability policy; otherwise a container-level time-based retention policy of this many days')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0

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

// Created unlocked: ARM cannot lock it. Locking is a separate, irreversible step the operator takes deliberately
// (infra/README.md, "Immutability"). While unlocked the period can be changed or the policy deleted.
resource immutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutabilityDays > 0) {
  parent: backupContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    // Dumps are block blobs committed once; nothing appends.
    allowProtectedAppendWrites: false
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
  for table in ['backupPolicies', 'backupInstances', 'recoveryPoints', 'jobs']: {
    parent: tableService
    name: '${tablePrefix}${table}'
  }
]

output name string = storage.name
output id string = storage.id
output backupContainerName string = backupContainer.name
