// Role assignments, all named guid(scope, principal, role) so that re-provisioning is idempotent.
// The app identity gets what the app needs (its Key Vault role is in keyvault.bicep, so that it
// exists before the app resolves its Key Vault reference); the deploying user (principalId) gets data-plane
// access for local runs and the tunnel tool.

@description('Principal id of the function app identity.')
param appPrincipalId string

@description('Object id of the deploying user or pipeline principal; empty to skip.')
param principalId string = ''

@description('Type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

param storageAccountName string

@description('Tables of the backend declaration (storage.bicep creates them): the only tables the app may read and write.')
param tableNames array = []
param applicationInsightsName string
param webPubSubName string

@description('Name of the optional local-development Web PubSub resource; empty when not deployed.')
param devWebPubSubName string = ''

// Storage Blob Data Owner: host storage (keys, leases) and the deployment container.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Monitoring Metrics Publisher: Entra-authenticated telemetry ingestion.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
// Storage Table Data Contributor: each declared table, scoped to that table.
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Web PubSub Service Owner: data-plane REST (send, groups, client tokens).
var webPubSubServiceOwnerRoleId = '12cf5a90-567b-43ae-8102-96cf46c7d9b4'

var assignToDeployer = !empty(principalId)

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' existing = {
  parent: storage
  name: 'default'
}

resource backendTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' existing = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource devWebPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = if (!empty(devWebPubSubName)) {
  name: empty(devWebPubSubName) ? 'unused' : devWebPubSubName
}

resource appStorageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The narrowest scope Azure RBAC offers for table data: one table, not the account.
resource appStorageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (tableName, i) in tableNames: {
  name: guid(backendTables[i].id, appPrincipalId, storageTableDataContributorRoleId)
  scope: backendTables[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource appMonitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appWebPubSubServiceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webPubSub.id, appPrincipalId, webPubSubServiceOwnerRoleId)
  scope: webPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwnerRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerWebPubSubServiceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignToDeployer) {
  name: guid(webPubSub.id, principalId, webPubSubServiceOwnerRoleId)
  scope: webPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwnerRoleId)
    principalId: principalId
    principalType: principalType
  }
}

resource deployerStorageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignToDeployer) {
  name: guid(storage.id, principalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: principalId
    principalType: principalType
  }
}

resource deployerDevWebPubSubServiceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignToDeployer && !empty(devWebPubSubName)) {
  name: guid(devWebPubSub.id, principalId, webPubSubServiceOwnerRoleId)
  scope: devWebPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwnerRoleId)
    principalId: principalId
    principalType: principalType
  }
}
