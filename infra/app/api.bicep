// The function app: a Flex Consumption (FC1) plan and a Linux Python app running as a
// user-assigned identity, with identity-based settings only (no keys, no connection strings).

@description('Function app name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string = resourceGroup().location

@description('Tags; the azd-service-name tag is added here.')
param tags object = {}

@description('Service name in azure.yaml.')
param serviceName string = 'api'

@description('Resource id of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Client id of that identity.')
param identityClientId string

@description('Blob endpoint of the host storage account, with trailing slash.')
param storageBlobEndpoint string

@description('Container that receives the deployment package.')
param deploymentContainerName string

@description('Application Insights component name (same resource group).')
param applicationInsightsName string

@description('Python version of the Flex runtime. 3.13 runs azure-functions 2.x and the pinned azure-functions-runtime worker (requirements.txt selects both by marker).')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string = '3.13'

@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int = 100

@description('Memory per instance (MB). 2048 MB is the size bench/instance.py models (one core per instance); see docs/performance.md.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('HTTP invocations one instance runs at once (Flex default for Python: 1). The handlers are async and mostly wait for the Web PubSub REST call; 16 is where bench/instance.py shows one instance saturated (docs/performance.md).')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Web PubSub host name, e.g. wps-abc.webpubsub.azure.com.')
param webPubSubHostName string

@description('Versionless Key Vault secret URI holding the Web PubSub access keys.')
param accessKeysSecretUri string

@description('Entra upstream auth: expected token audience; empty leaves Entra checks off.')
param entraAudience string = ''

@description('Entra upstream auth: client ids allowed to call (the Web PubSub identity).')
param entraAllowedAppIds string = ''

@description('Table endpoint of the storage account, e.g. https://<account>.table.core.windows.net/.')
param storageTableEndpoint string

@description('Tables of the backend declaration: [{name, setting, nameSetting?}]. Each gets the identity-mode settings <setting>__tableServiceUri, <setting>__credential and <setting>__clientId, and <nameSetting> = name when given.')
param tables array = []

@description('App settings of the backend declaration (its `settings` object), merged under the template\'s own settings.')
param backendSettings object = {}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings resolve with this identity.
    keyVaultReferenceIdentity: identityResourceId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Keyless Table Storage with the app's identity, per declared table (role: rbac.bicep).
var tableSettings = union(
  toObject(tables, table => '${table.setting}__tableServiceUri', table => storageTableEndpoint),
  toObject(tables, table => '${table.setting}__credential', table => 'managedidentity'),
  toObject(tables, table => '${table.setting}__clientId', table => identityClientId),
  toObject(filter(tables, table => !empty(table.?nameSetting ?? '')), table => table.nameSetting, table => table.name)
)

var entraSettings = empty(entraAudience) ? {} : {
  WebPubSubEntraAudience: entraAudience
  WebPubSubEntraTenantId: tenant().tenantId
  WebPubSubEntraAllowedAppIds: entraAllowedAppIds
}

// Flex Consumption: no FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION,
// WEBSITE_RUN_FROM_PACKAGE or content-share settings (runtime lives in functionAppConfig).
// Later arguments of union() win: the declaration's settings cannot replace the template's.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(backendSettings, tableSettings, {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AZURE_CLIENT_ID: identityClientId
    // Keyless REST calls to Web PubSub with the app's identity (Web PubSub Service Owner).
    WebPubSubConnectionString__serviceUri: 'https://${webPubSubHostName}'
    WebPubSubConnectionString__credential: 'managedidentity'
    WebPubSubConnectionString__clientId: identityClientId
    // Keys used only to validate ce-signature; resolved from Key Vault, never stored here.
    WebPubSubAccessKeys: '@Microsoft.KeyVault(SecretUri=${accessKeysSecretUri})'
    WebPubSubAllowedOrigins: webPubSubHostName
    // The host refuses larger request bodies before Python sees them (default 100 MB). 1 MiB is
    // the core's own limit (shared/upstream.py MAX_BODY_BYTES); raise both for bigger uploads.
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '1048576'
  }, entraSettings)
}

output name string = functionApp.name
output resourceId string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
