// One Web PubSub resource (no hubs: see webpubsub-hub.bicep, declared after the function app).
// Local auth stays enabled because the access keys are what the service signs every upstream
// request with (ce-signature); the keys are only ever stored in Key Vault (keyvault.bicep).
// The function app itself calls the REST API keyless, with its managed identity.

@description('Globally unique name; it becomes <name>.webpubsub.azure.com.')
@minLength(3)
@maxLength(63)
param name string

@description('Azure region.')
param location string = resourceGroup().location

@description('Tags for the resource.')
param tags object = {}

@description('Pricing tier. Free_F1: 1 unit, 20 connections, no SLA. Standard_S1: 1 000 connections per unit.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param sku string = 'Free_F1'

@description('Units (Free_F1 allows only 1).')
param capacity int = 1

@description('Resource id of a user-assigned identity the service uses for Entra tokens on upstream calls; empty for none.')
param identityResourceId string = ''

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'WebPubSub'
  sku: {
    name: sku
    capacity: (sku == 'Free_F1') ? 1 : capacity
  }
  identity: empty(identityResourceId) ? {
    type: 'None'
  } : {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    disableLocalAuth: false
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = webPubSub.name
output resourceId string = webPubSub.id
output hostName string = webPubSub.properties.hostName
output endpoint string = 'https://${webPubSub.properties.hostName}'
