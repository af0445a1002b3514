// One user-assigned managed identity. The function app uses one (storage, App Insights,
// Key Vault references, Web PubSub REST); Web PubSub uses another to obtain Entra tokens
// for its upstream calls when Entra upstream auth is switched on.

@description('Name of the identity.')
param name string

@description('Azure region.')
param location string = resourceGroup().location

@description('Tags for the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output resourceId string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
