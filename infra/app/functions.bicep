// The function app: an Elastic Premium (Linux) plan running pgkeep's container image, with identity-based
// connections to both storage accounts and every app setting pgkeep reads (shared/config.ts).
//
// Why Elastic Premium is the default rather than Functions on Container Apps:
// - Durable Functions here uses the Azure Storage backend (host.json). On Container Apps, event-driven scaling of
//   Durable apps is only available with the MSSQL backend; with Azure Storage the app must keep min replicas > 0 and
//   does not scale out with the task hub's queues. Premium scales Durable apps on Azure Storage out of the box.
// - Premium allows host.json "functionTimeout": "-1" (unbounded), which a many-hour pg_dump of a large database needs,
//   keeps pre-warmed instances (no cold start for the timers) and runs a custom Linux container (the image ships
//   pg_dump/pg_restore 13-17 and zstd).
// - App Service authentication (EasyAuth), which supplies the x-ms-client-principal caller roles, is first-class.
// Running on a Dedicated (App Service) plan instead only needs planSkuName (e.g. 'P1v3'); see infra/README.md.

param name string
param planName string
param location string
param tags object = {}

@description('Elastic Premium SKU: EP1, EP2 or EP3 (memory bounds concurrent dumps; see README)')
param planSkuName string = 'EP1'
@minValue(1)
param maximumElasticWorkerCount int = 10

@description('container image, e.g. myregistry.azurecr.io/pgkeep:0.1.0')
param containerImage string
@description('login server of the registry pulled with the managed identity (empty = public image)')
param containerRegistryLoginServer string = ''

param identityId string
param identityClientId string

param hostStorageName string
param vaultStorageName string
param backupContainerName string
param tablePrefix string = ''
param durableTaskHub string = 'pgkeep'
param vaultResourceId string
param applicationInsightsConnectionString string

@description('true: require the Reader/Operator/Admin app roles (needs authClientId)')
param enforceCallerRoles bool = true
@description('client id of the Entra app registration that EasyAuth validates tokens for (empty = no EasyAuth)')
param authClientId string = ''

@description('BACKUP_ENCRYPTION_KEY_URI: Key Vault key wrapping each backup\'s data key; empty = none')
param backupEncryptionKeyUri string = ''
@description('RESTORE_FILES_ALLOWED_ACCOUNTS: blob hosts a restore as files may write to with the app\'s identity')
param restoreFilesAllowedAccounts string = ''

var isElastic = startsWith(planSkuName, 'EP')

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: isElastic ? 'elastic' : 'linux'
  sku: {
    name: planSkuName
    tier: isElastic ? 'ElasticPremium' : null
  }
  properties: {
    reserved: true // Linux
    maximumElasticWorkerCount: isElastic ? maximumElasticWorkerCount : null
  }
}

// Every name here is either declared in shared/config.ts or a platform setting; test/unit/infra.test.ts checks it.
var appSettings = [
  { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
  { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'node' }
  // The image carries the app; nothing is deployed into /home/site/wwwroot.
  { name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE', value: 'false' }
  // Identity-based host storage (Durable task hub, queue triggers): no connection string, no account key.
  { name: 'AzureWebJobsStorage__accountName', value: hostStorageName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  // DefaultAzureCredential (vault storage, Key Vault, ARM) picks the user-assigned identity by this client id.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  // pgkeep's own settings (shared/config.ts).
  { name: 'VAULT_STORAGE__accountName', value: vaultStorageName }
  { name: 'VAULT_RESOURCE_ID', value: vaultResourceId }
  { name: 'BACKUP_CONTAINER', value: backupContainerName }
  { name: 'TABLE_PREFIX', value: tablePrefix }
  { name: 'DURABLE_TASK_HUB', value: durableTaskHub }
  { name: 'ENFORCE_CALLER_ROLES', value: enforceCallerRoles ? 'true' : 'false' }
  // The web console answers the site root (functions/console.ts); the host's own landing page must not.
  { name: 'AzureWebJobsDisableHomepage', value: 'true' }
  // Keys and trust. BACKUP_KEYRING (a secret) is never set here: point it at Key Vault with a Key Vault reference.
  // ALLOW_HTTP_LOOPBACK_URLS stays at its default, off: only https URLs are accepted from callers in Azure.
  { name: 'BACKUP_ENCRYPTION_KEY_URI', value: backupEncryptionKeyUri }
  { name: 'RESTORE_FILES_ALLOWED_ACCOUNTS', value: restoreFilesAllowedAccounts }
]

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings (e.g. a database secret named as appsetting://NAME) resolve with it.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      linuxFxVersion: 'DOCKER|${containerImage}'
      acrUseManagedIdentityCreds: !empty(containerRegistryLoginServer)
      acrUserManagedIdentityID: empty(containerRegistryLoginServer) ? null : identityClientId
      // Keep one instance warm so the scheduler and expiry timers and in-flight orchestrations are not cold-started.
      minimumElasticInstanceCount: isElastic ? 1 : null
      preWarmedInstanceCount: isElastic ? 1 : null
      alwaysOn: isElastic ? null : true
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: appSettings
    }
  }
}

// App Service authentication signs people in to the web console with Entra ID (a session cookie) and validates the
// bearer tokens of machine callers; either way it hands the app x-ms-client-principal with the caller's app roles
// (Reader/Operator/Admin), which pgkeep enforces per route (ENFORCE_CALLER_ROLES). With roles enforced the API routes
// need no function key (authLevel anonymous, see shared/api/routes.ts apiAuthLevel): the sign-in is the way in.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      // Browsers are sent to the Entra sign-in page; requests with X-Requested-With: XMLHttpRequest (the console's
      // API calls) get 401 instead, and so does any call that carries an invalid bearer token.
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      // Health for probes and uptime monitors stays reachable without a token (the app shows details only to a caller
      // whose principal carries a role; docs/decisions.md).
      excludedPaths: ['/api/health', '/api/health/live']
    }
    httpSettings: { requireHttps: true }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          // v2 access tokens carry the client id as audience; api://<client id> covers v1 tokens.
          allowedAudiences: [authClientId, 'api://${authClientId}']
        }
      }
    }
    login: {
      tokenStore: { enabled: false }
    }
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
