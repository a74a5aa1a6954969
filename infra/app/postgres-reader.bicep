// Grants pgkeep's managed identity Reader on one Azure Database for PostgreSQL server, which the readiness check
// (design §8, UserErrorMSIMissingPermissions) looks for. Deployed by the operator once per server, into the server's
// resource group — servers usually live apart from pgkeep, so this cannot be part of rbac.bicep:
//   az deployment group create -g <server-rg> -f infra/app/postgres-reader.bicep \
//     -p serverName=<server> principalId=<pgkeep identity principal id>

@description('name of the PostgreSQL server in this resource group')
param serverName string

@description('principal (object) id of pgkeep\'s user-assigned managed identity (main.bicep output IDENTITY_PRINCIPAL_ID)')
param principalId string

@description('flexibleServers (current) or servers (Single Server, retired)')
@allowed(['flexibleServers', 'servers'])
param serverKind string = 'flexibleServers'

// Reader
var readerRoleId = 'acdd72d7-3299-47b5-9f30-9e3faacdc6c3'

resource flexibleServer 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' existing = if (serverKind == 'flexibleServers') {
  name: serverName
}

resource singleServer 'Microsoft.DBforPostgreSQL/servers@2017-12-01' existing = if (serverKind == 'servers') {
  name: serverName
}

// Reader on the flexible server
resource flexibleServerReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (serverKind == 'flexibleServers') {
  name: guid(flexibleServer.id, principalId, readerRoleId)
  scope: flexibleServer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
  }
}

// Reader on the single server
resource singleServerReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (serverKind == 'servers') {
  name: guid(singleServer.id, principalId, readerRoleId)
  scope: singleServer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
  }
}
