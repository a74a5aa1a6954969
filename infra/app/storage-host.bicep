// The Functions host's storage account (AzureWebJobsStorage): Durable Functions' task hub (queues, tables, leases),
// the restore request/result queues and the host's own blobs. Backups never live here (see storage-vault.bicep).

param name string
param location string
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    // Identity-based connections only (AzureWebJobsStorage__accountName + managed identity): no account keys.
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

output name string = storage.name
output id string = storage.id
