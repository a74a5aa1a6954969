// The Entra app registration callers authenticate against, with pgkeep's app roles (Reader, Operator, Admin) and
// their assignments. Uses the Microsoft Graph Bicep extension: the deploying principal needs Graph permissions
// (Application.ReadWrite.All or ownership, and AppRoleAssignment.ReadWrite.All). Deploy with enableCallerRoles=false
// to skip it and protect the API with function keys only.
// App role assignments are Entra objects, not Azure RBAC, so they live here rather than in rbac.bicep (which then
// deploys without any Graph permission).

extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0'

@description('tenant-unique, immutable key of the app registration (idempotent re-deploys)')
param uniqueName string
param displayName string

@description('sign-in redirect URIs of the web console: https://<app host>/.auth/login/aad/callback')
param redirectUris array = []

@description('object ids (users, groups, service principals) given each role')
param readerPrincipalIds array = []
param operatorPrincipalIds array = []
param adminPrincipalIds array = []

// Stable ids derived from the registration's key, so re-deploys never mint new roles (and orphan assignments).
var roleIds = {
  Reader: guid(uniqueName, 'pgkeep-role', 'Reader')
  Operator: guid(uniqueName, 'pgkeep-role', 'Operator')
  Admin: guid(uniqueName, 'pgkeep-role', 'Admin')
}

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  api: {
    // v2 tokens: the audience is the client id, so no identifier URI (which tenant policy may restrict) is needed.
    requestedAccessTokenVersion: 2
  }
  // The console's sign-in: App Service Authentication without a client secret uses the OpenID Connect form-post flow,
  // which needs ID tokens; a user's app roles arrive in the ID token's roles claim.
  web: {
    redirectUris: redirectUris
    implicitGrantSettings: { enableIdTokenIssuance: true }
  }
  appRoles: [
    {
      id: roleIds.Reader
      value: 'Reader'
      displayName: 'pgkeep Reader'
      description: 'Read policies, backup instances, recovery points, jobs and retention previews.'
      allowedMemberTypes: ['User', 'Application']
      isEnabled: true
    }
    {
      id: roleIds.Operator
      value: 'Operator'
      displayName: 'pgkeep Operator'
      description: 'Reader, plus start backups and restores.'
      allowedMemberTypes: ['User', 'Application']
      isEnabled: true
    }
    {
      id: roleIds.Admin
      value: 'Admin'
      displayName: 'pgkeep Admin'
      description: 'Operator, plus manage policies and backup instances, stop protection and delete.'
      allowedMemberTypes: ['User', 'Application']
      isEnabled: true
    }
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
  // Only principals holding one of the roles can obtain a token for pgkeep at all.
  appRoleAssignmentRequired: true
}

resource readerAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for principalId in readerPrincipalIds: {
    appRoleId: roleIds.Reader
    principalId: principalId
    resourceId: servicePrincipal.id
  }
]

resource operatorAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for principalId in operatorPrincipalIds: {
    appRoleId: roleIds.Operator
    principalId: principalId
    resourceId: servicePrincipal.id
  }
]

resource adminAssignments 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for principalId in adminPrincipalIds: {
    appRoleId: roleIds.Admin
    principalId: principalId
    resourceId: servicePrincipal.id
  }
]

output clientId string = application.appId
