// The app's user-assigned managed identity: the one principal that reaches Storage, Key Vault, the image registry
// and (for the readiness check) ARM. User-assigned so that roles can be granted before the app exists.

param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
