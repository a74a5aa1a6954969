// Every Azure role the app's managed identity holds, in one place. Names are guid(scope, principal, role) so that a
// re-deploy is idempotent and two assignments can never collide. Reader on each PostgreSQL server is granted per
// server by the operator with postgres-reader.bicep (servers live in other resource groups and subscriptions).
// Deployed at pgkeep's resource group, and again at the resource group of a Key Vault or registry that lives
// elsewhere (an assignment can only be made at the deploying file's scope); every target is therefore optional.

param principalId string
@description('host storage account in this resource group; empty = skip')
param hostStorageName string = ''
@description('vault storage account in this resource group; empty = skip')
param vaultStorageName string = ''
@description('Application Insights in this resource group; empty = skip')
param applicationInsightsName string = ''
@description('existing Key Vault (RBAC authorization) in this resource group holding database secrets; empty = skip')
param keyVaultName string = ''
@description('existing container registry in this resource group the image is pulled from; empty = skip')
param containerRegistryName string = ''
@description('existing Key Vault (RBAC authorization) in this resource group holding the key-encryption key; empty = skip')
param encryptionKeyVaultName string = ''

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6'
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = if (!empty(hostStorageName)) {
  name: hostStorageName
}

resource vaultStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = if (!empty(vaultStorageName)) {
  name: vaultStorageName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = if (!empty(applicationInsightsName)) {
  name: applicationInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(keyVaultName)) {
  name: keyVaultName
}

resource containerRegistry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(containerRegistryName)) {
  name: containerRegistryName
}

resource encryptionKeyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(encryptionKeyVaultName)) {
  name: encryptionKeyVaultName
}

// Host storage — Storage Blob Data Owner: the Functions host's leases and Durable's blobs (Owner is what the host
// documents for AzureWebJobsStorage).
resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(hostStorageName)) {
  name: guid(hostStorage.id, principalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Host storage — Storage Queue Data Contributor: Durable's control and work-item queues, restore request/result queues.
resource hostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(hostStorageName)) {
  name: guid(hostStorage.id, principalId, roles.storageQueueDataContributor)
  scope: hostStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// Host storage — Storage Table Data Contributor: Durable's history and instances tables.
resource hostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(hostStorageName)) {
  name: guid(hostStorage.id, principalId, roles.storageTableDataContributor)
  scope: hostStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Vault storage — Storage Blob Data Contributor: write dumps, tier to archive, rehydrate, delete expired points.
// Not Owner: the app has no business changing ACLs, and no data-plane role can alter an immutability policy.
resource vaultBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(vaultStorageName)) {
  name: guid(vaultStorage.id, principalId, roles.storageBlobDataContributor)
  scope: vaultStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// Vault storage — Storage Table Data Contributor: policies, backup instances, recovery points, jobs.
resource vaultTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(vaultStorageName)) {
  name: guid(vaultStorage.id, principalId, roles.storageTableDataContributor)
  scope: vaultStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Application Insights — Monitoring Metrics Publisher: telemetry with Entra auth (local auth is disabled).
resource insightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(applicationInsightsName)) {
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// Key Vault — Key Vault Secrets User: read the database connection-string secrets backup instances reference.
resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  name: guid(keyVault.id, principalId, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Container registry — AcrPull: the site pulls pgkeep's image with the managed identity (no registry password).
resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(containerRegistryName)) {
  name: guid(containerRegistry.id, principalId, roles.acrPull)
  scope: containerRegistry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

// Key Vault (key-encryption key) — Key Vault Crypto Service Encryption User: read the key and wrap/unwrap data keys
// with it (keys/read, wrapKey, unwrapKey). Never the key material: RSA and HSM keys do not leave the vault.
resource kekUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(encryptionKeyVaultName)) {
  name: guid(encryptionKeyVault.id, principalId, roles.keyVaultCryptoServiceEncryptionUser)
  scope: encryptionKeyVault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoServiceEncryptionUser)
  }
}
