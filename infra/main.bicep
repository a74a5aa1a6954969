// pgkeep's Azure deployment: one resource group holding one pgkeep "backup vault". This file only composes the
// modules in app/; each module owns one concern. Deploy with `az deployment sub create` or `azd provision`
// (infra/README.md).

targetScope = 'subscription'

@minLength(1)
@maxLength(48)
@description('environment name: part of every resource name and the vault\'s name in VAULT_RESOURCE_ID')
param environmentName string

@minLength(1)
@description('Azure region of every resource')
param location string

@description('pgkeep container image (infra/Dockerfile), e.g. myregistry.azurecr.io/pgkeep:0.1.0')
param containerImage string

@description('existing Azure Container Registry to pull the image from with the managed identity (AcrPull); empty = a registry that needs no credentials')
param containerRegistryName string = ''
@description('resource group of containerRegistryName; empty = pgkeep\'s resource group')
param containerRegistryResourceGroupName string = ''

@description('create the Entra app registration with the Reader/Operator/Admin app roles and turn on EasyAuth + ENFORCE_CALLER_ROLES (needs Microsoft Graph permissions to deploy)')
param enableCallerRoles bool = true

@description('object ids of users, groups or service principals given the Reader app role')
param readerPrincipalIds array = []
@description('object ids given the Operator app role (backups, restores)')
param operatorPrincipalIds array = []
@description('object ids given the Admin app role (policies, instances, stop/delete)')
param adminPrincipalIds array = []

@description('0 = none; otherwise every blob version in the vault account is immutable for this many days (version-level WORM, only at account creation). Size it to the shortest retention of your policies first (README, "Immutability")')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0
@description('lock the immutability policy (irreversible); it is created unlocked, so set this on a later deployment')
param lockImmutability bool = false

@description('BACKUP_ENCRYPTION_KEY_URI: the Key Vault or Managed HSM key that wraps each backup\'s data key (versionless = its current version); empty = none')
param backupEncryptionKeyUri string = ''
@description('existing Key Vault (RBAC authorization) holding that key: Key Vault Crypto Service Encryption User; empty = none')
param encryptionKeyVaultName string = ''
@description('resource group of encryptionKeyVaultName; empty = pgkeep\'s resource group')
param encryptionKeyVaultResourceGroupName string = ''

@description('RESTORE_FILES_ALLOWED_ACCOUNTS: blob endpoint hosts a restore as files may write to with the app\'s identity (comma-separated); empty = SAS URLs only')
param restoreFilesAllowedAccounts string = ''

@description('existing Key Vault (RBAC authorization) holding the database connection-string secrets (Key Vault Secrets User); empty = none')
param keyVaultName string = ''
@description('resource group of keyVaultName; empty = pgkeep\'s resource group')
param keyVaultResourceGroupName string = ''

@description('vault storage redundancy; archive tier needs LRS, GRS or RA-GRS')
@allowed(['Standard_LRS', 'Standard_GRS', 'Standard_RAGRS'])
param vaultStorageSkuName string = 'Standard_GRS'

@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 14

@description('Elastic Premium SKU (EP1/EP2/EP3), or a Dedicated Linux SKU such as P1v3')
param planSkuName string = 'EP1'

@description('BACKUP_CONTAINER')
param backupContainerName string = 'pgkeep-backups'

@description('DURABLE_TASK_HUB')
param durableTaskHub string = 'pgkeep'

@description('email address Azure Monitor alerts (a backup failed or was missed, an instance is Critical) go to; empty = no alert rules')
param alertEmail string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, app: 'pgkeep' }

var functionAppName = '${abbrs.webSitesFunctions}pgkeep-${resourceToken}'
var vaultResourceId = '${subscription().id}/resourceGroups/${rg.name}/providers/Microsoft.DataProtection/backupVaults/${environmentName}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}pgkeep-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}pgkeep-${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}pgkeep-${resourceToken}'
    location: location
    tags: tags
  }
}

module hostStorage './app/storage-host.bicep' = {
  name: 'storage-host'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}h${resourceToken}'
    location: location
    tags: tags
  }
}

module vaultStorage './app/storage-vault.bicep' = {
  name: 'storage-vault'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}v${resourceToken}'
    location: location
    tags: tags
    backupContainerName: backupContainerName
    skuName: vaultStorageSkuName
    softDeleteRetentionDays: softDeleteRetentionDays
    immutabilityDays: immutabilityDays
    lockImmutability: lockImmutability
  }
}

module auth './app/auth.bicep' = if (enableCallerRoles) {
  name: 'auth'
  scope: rg
  params: {
    uniqueName: 'pgkeep-${environmentName}-${resourceToken}'
    displayName: 'pgkeep (${environmentName})'
    redirectUris: ['https://${functionAppName}.azurewebsites.net/.auth/login/aad/callback']
    readerPrincipalIds: readerPrincipalIds
    operatorPrincipalIds: operatorPrincipalIds
    adminPrincipalIds: adminPrincipalIds
  }
}

// A Key Vault or registry in another resource group gets its assignment from a second deployment of rbac.bicep there.
var keyVaultElsewhere = !empty(keyVaultName) && !empty(keyVaultResourceGroupName) && keyVaultResourceGroupName != rg.name
var registryElsewhere = !empty(containerRegistryName) && !empty(containerRegistryResourceGroupName) && containerRegistryResourceGroupName != rg.name
var encryptionKeyVaultElsewhere = !empty(encryptionKeyVaultName) && !empty(encryptionKeyVaultResourceGroupName) && encryptionKeyVaultResourceGroupName != rg.name

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageName: hostStorage.outputs.name
    vaultStorageName: vaultStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVaultElsewhere ? '' : keyVaultName
    containerRegistryName: registryElsewhere ? '' : containerRegistryName
    encryptionKeyVaultName: encryptionKeyVaultElsewhere ? '' : encryptionKeyVaultName
  }
}

module rbacEncryptionKeyVault './app/rbac.bicep' = if (encryptionKeyVaultElsewhere) {
  name: 'rbac-kek-${resourceToken}'
  scope: resourceGroup(encryptionKeyVaultResourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    encryptionKeyVaultName: encryptionKeyVaultName
  }
}

module rbacKeyVault './app/rbac.bicep' = if (keyVaultElsewhere) {
  name: 'rbac-keyvault-${resourceToken}'
  scope: resourceGroup(keyVaultResourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    keyVaultName: keyVaultName
  }
}

module rbacRegistry './app/rbac.bicep' = if (registryElsewhere) {
  name: 'rbac-registry-${resourceToken}'
  scope: resourceGroup(containerRegistryResourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    containerRegistryName: containerRegistryName
  }
}

module functions './app/functions.bicep' = {
  name: 'functions'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}pgkeep-${resourceToken}'
    location: location
    tags: tags
    planSkuName: planSkuName
    containerImage: containerImage
    containerRegistryLoginServer: empty(containerRegistryName)
      ? ''
      : '${containerRegistryName}${environment().suffixes.acrLoginServer}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: hostStorage.outputs.name
    vaultStorageName: vaultStorage.outputs.name
    backupContainerName: vaultStorage.outputs.backupContainerName
    durableTaskHub: durableTaskHub
    vaultResourceId: vaultResourceId
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    enforceCallerRoles: enableCallerRoles
    authClientId: enableCallerRoles ? auth!.outputs.clientId : ''
    backupEncryptionKeyUri: backupEncryptionKeyUri
    restoreFilesAllowedAccounts: restoreFilesAllowedAccounts
  }
  // The app must not start before its identity can reach storage and pull the image.
  dependsOn: [rbac, rbacKeyVault, rbacRegistry, rbacEncryptionKeyVault]
}

module alerts './app/alerts.bicep' = if (!empty(alertEmail)) {
  name: 'alerts'
  scope: rg
  params: {
    actionGroupName: '${abbrs.insightsActionGroups}pgkeep-${resourceToken}'
    ruleNamePrefix: '${abbrs.insightsScheduledQueryRules}pgkeep-${resourceToken}-'
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    alertEmail: alertEmail
  }
}

output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functions.outputs.name
output PGKEEP_URL string = 'https://${functions.outputs.defaultHostName}/api'
output PGKEEP_CONSOLE_URL string = 'https://${functions.outputs.defaultHostName}/'
output IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output IDENTITY_CLIENT_ID string = identity.outputs.clientId
output VAULT_STORAGE_ACCOUNT string = vaultStorage.outputs.name
output HOST_STORAGE_ACCOUNT string = hostStorage.outputs.name
output VAULT_RESOURCE_ID string = vaultResourceId
output AUTH_CLIENT_ID string = enableCallerRoles ? auth!.outputs.clientId : ''
