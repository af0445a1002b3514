// Host storage for the function app: keyless (shared keys off), with the blob container that
// Flex Consumption deploys the app package to and the tables the backend declaration asks for
// (infra/main.parameters.json, `backend.tables`; none when the app uses no table).
// Access is granted by role in rbac.bicep, table by table.

@description('Storage account name (3-24 lower-case letters and digits).')
param name string

@description('Azure region.')
param location string = resourceGroup().location

@description('Tags for the account.')
param tags object = {}

@description('Blob container that receives the deployment package.')
param deploymentContainerName string

@description('Tables of the backend declaration: [{name, setting, nameSetting?}]; only name is used here.')
param tables array = []

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource backendTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = [for table in tables: {
  parent: tableService
  name: table.name
}]

output name string = storage.name
output resourceId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
// Names of the tables created (the role assignments in rbac.bicep wait for them through this output).
output tableNames array = [for (table, i) in tables: backendTables[i].name]
