// Key Vault holding the Web PubSub access keys that the function uses to validate ce-signature.
// The secret is written here from listKeys() on every provision, so it never passes through a
// parameter, an app setting value or an output; the app setting is a Key Vault reference.
// Rotation: regenerate one Web PubSub key, run `azd provision` again (see docs/deploy.md).

@description('Key Vault name (3-24 characters).')
param name string

@description('Azure region.')
param location string = resourceGroup().location

@description('Tags for the vault.')
param tags object = {}

@description('Name of the existing Web PubSub resource whose keys are stored.')
param webPubSubName string

@description('Principal id of the identity that reads the secret (the function app).')
param readerPrincipalId string

@description('Secret name for the comma-joined primary and secondary access keys.')
param accessKeysSecretName string = 'webpubsub-access-keys'

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource accessKeysSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: accessKeysSecretName
  properties: {
    contentType: 'text/plain; Web PubSub access keys (primary,secondary) for ce-signature validation'
    value: '${webPubSub.listKeys().primaryKey},${webPubSub.listKeys().secondaryKey}'
  }
}

// Key Vault Secrets User: read the access-keys secret behind the app's Key Vault reference.
// Assigned here, not in rbac.bicep, so it exists before the app settings reference the secret.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource readerKeyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(accessKeysSecret.id, readerPrincipalId, keyVaultSecretsUserRoleId)
  scope: accessKeysSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output resourceId string = vault.id
// Versionless secret URI: the app setting follows the latest version after a rotation.
output accessKeysSecretUri string = accessKeysSecret.properties.secretUri
output accessKeysSecretName string = accessKeysSecret.name
