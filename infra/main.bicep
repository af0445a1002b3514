// Azure Web PubSub upstream (event handler) on Azure Functions Flex Consumption, for `azd up`.
//
// What the app serves is declared once, in infra/main.parameters.json (`backend`): its hubs, the
// tables it keeps data in and its own app settings. This file and its modules read only that
// declaration; nothing here names a sample. tests/infra compares it with function_app.py's routes.
//
// Order of the pieces (no dependency cycle):
//   identities -> storage (declared tables), monitoring, Web PubSub -> Key Vault (secret from
//   listKeys, and the app's role on it) -> function app (settings read the Web PubSub host and the
//   secret URI) -> one hub per declared hub (handler URL reads the app's default host name)
//   -> role assignments.
// Optional sign-in: app registration (createSignInApp; its redirect URI reads the app's default
// host name) -> App Service Authentication with its client id (or with authClientId).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used in resource names and the azd-env-name tag.')
param environmentName string

// Regions offering both Flex Consumption and Web PubSub; azd offers only these when it asks.
// The list is the intersection of two published lists, kept with their sources (checked
// 2026-12-04) in tests/infra/regions.json, which the offline checks compare it with:
//  * Flex Consumption: Azure-Samples/functions-quickstart-python-http-azd, infra/main.bicep,
//    @allowed of `location` (Microsoft's Python Flex Consumption quickstart);
//  * Web PubSub: Azure/azure-webpubsub, sdk/webpubsub-socketio-extension/examples/
//    chat-serverless-typescript/infra/main.bicep, @allowed of `location` (the Web PubSub team's
//    Flex Consumption + Web PubSub sample).
// Other regions may well work; add one here and to tests/infra/regions.json with its source
// (docs/deploy.md, "Region").
@minLength(1)
@description('Region for all resources. It must offer Flex Consumption and Web PubSub.')
@allowed([
  'australiaeast'
  'eastasia'
  'eastus'
  'eastus2'
  'northeurope'
  'southcentralus'
  'southeastasia'
  'swedencentral'
  'uksouth'
  'westus2'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('What the app serves (infra/main.parameters.json): hubs [{name, systemEvents, userEventPattern}], optional pageRoute, tables [{name, setting, nameSetting?}] and settings {name: value}. docs/deploy.md, "The backend declaration".')
param backend object

@description('Object id of the deploying principal; it gets Web PubSub Service Owner for local runs. Empty to skip.')
param principalId string = ''

@description('Type of principalId: User for `azd up` from a workstation, ServicePrincipal in CI.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// Optional name overrides; empty means "abbreviation + resource token".
param resourceGroupName string = ''
param apiServiceName string = ''
param appServicePlanName string = ''
param apiUserAssignedIdentityName string = ''
param storageAccountName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param webPubSubName string = ''
param keyVaultName string = ''

@description('Web PubSub pricing tier.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param webPubSubSku string = 'Free_F1'

@description('Python version of the Flex Consumption runtime (requirements.txt selects azure-functions 1.x below 3.13, 2.x and the pinned worker from 3.13).')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string = '3.13'

@description('Also deploy a second Web PubSub resource whose hubs (the declared ones, same names) forward to the awps-tunnel tool (local development).')
param devWebPubSubEnabled bool = false

@description('Pricing tier of the local-development Web PubSub resource.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param devWebPubSubSku string = 'Free_F1'

@description('Optional Entra upstream auth: audience (app id URI or client id of an existing app registration) of the token Web PubSub sends. Empty: signature validation only.')
param upstreamEntraAudience string = ''

@description('Optional sign-in: client id of an existing Entra app registration for App Service Authentication. Empty: no sign-in, or the one createSignInApp creates.')
param authClientId string = ''

@description('Create the Entra app registration for sign-in during deployment (Microsoft Graph Bicep extension) and configure App Service Authentication with it. The deploying identity must be allowed to create app registrations. Ignored when authClientId is set.')
param createSignInApp bool = false

@description('Part of the sign-in registration\'s uniqueName. A deleted registration keeps its uniqueName for 30 days: after `az ad app delete`, change this (e.g. 2) before the next `azd up` to create a new one.')
@minLength(1)
@maxLength(16)
param signInAppRevision string = '1'

@description('Easy Auth accepts only access tokens obtained by the sign-in app itself (defaultAuthorizationPolicy.allowedApplications = [client id]). Off by default: the ID-token sign-in used here carries no access token (docs/deploy.md, "Who counts as signed in").')
param easyAuthRestrictToClient bool = false

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
// host.json's routePrefix: every route of the app is below it. tests/infra checks both agree.
var functionsRoutePrefix = 'api'
var entraUpstreamEnabled = !empty(upstreamEntraAudience)
// Sign-in: an existing app registration (authClientId) wins over creating one.
var signInAppEnabled = createSignInApp && empty(authClientId)
var easyAuthEnabled = signInAppEnabled || !empty(authClientId)

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module apiIdentity './app/identity.bicep' = {
  name: 'apiIdentity'
  scope: rg
  params: {
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

// Web PubSub's own identity: used only to obtain Entra tokens for upstream calls.
module webPubSubIdentity './app/identity.bicep' = if (entraUpstreamEnabled) {
  name: 'webPubSubIdentity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}wps-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentStorageContainerName
    tables: backend.tables
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module webPubSub './app/webpubsub.bicep' = {
  name: 'webPubSub'
  scope: rg
  params: {
    name: !empty(webPubSubName) ? webPubSubName : '${abbrs.signalRServiceWebPubSub}${resourceToken}'
    location: location
    tags: tags
    sku: webPubSubSku
    identityResourceId: entraUpstreamEnabled ? webPubSubIdentity.outputs.resourceId : ''
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    webPubSubName: webPubSub.outputs.name
    readerPrincipalId: apiIdentity.outputs.principalId
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    identityResourceId: apiIdentity.outputs.resourceId
    identityClientId: apiIdentity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentStorageContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    pythonVersion: pythonVersion
    webPubSubHostName: webPubSub.outputs.hostName
    accessKeysSecretUri: keyVault.outputs.accessKeysSecretUri
    entraAudience: upstreamEntraAudience
    entraAllowedAppIds: entraUpstreamEnabled ? webPubSubIdentity.outputs.clientId : ''
    storageTableEndpoint: storage.outputs.tableEndpoint
    tables: backend.tables
    backendSettings: backend.settings
  }
}

// Declared after the app: the registration's redirect URI needs the app's default host name.
module signInApp './app/signin-app.bicep' = if (signInAppEnabled) {
  name: 'signInApp'
  scope: rg
  params: {
    uniqueName: 'signin-${resourceToken}-r${signInAppRevision}'
    displayName: 'Web PubSub sign-in (${environmentName})'
    appHostName: api.outputs.defaultHostName
    environmentTag: 'azd-env-name:${environmentName}'
  }
}

module easyAuth './app/auth.bicep' = if (easyAuthEnabled) {
  name: 'easyAuth'
  scope: rg
  params: {
    functionAppName: api.outputs.name
    clientId: signInAppEnabled ? signInApp.outputs.appId : authClientId
    allowedApplications: easyAuthRestrictToClient ? [
      signInAppEnabled ? signInApp.outputs.appId : authClientId
    ] : []
  }
}

// One hub per declared hub, declared after the app: the handler URL needs its default host name.
module hubs './app/webpubsub-hub.bicep' = [for hub in backend.hubs: {
  name: 'hub-${hub.name}'
  scope: rg
  params: {
    webPubSubName: webPubSub.outputs.name
    hubName: hub.name
    urlTemplate: 'https://${api.outputs.defaultHostName}/${functionsRoutePrefix}/${hub.name}/{event}'
    systemEvents: hub.systemEvents
    userEventPattern: hub.userEventPattern
    authResource: upstreamEntraAudience
  }
}]

// Optional second resource for local development: the same hub names (the code checks ce-hub),
// events go to whoever runs `awps-tunnel run --hub <hub> --upstream http://localhost:7071`.
module devWebPubSub './app/webpubsub.bicep' = if (devWebPubSubEnabled) {
  name: 'devWebPubSub'
  scope: rg
  params: {
    name: '${abbrs.signalRServiceWebPubSub}dev-${resourceToken}'
    location: location
    tags: tags
    sku: devWebPubSubSku
  }
}

module devHubs './app/webpubsub-hub.bicep' = [for hub in (devWebPubSubEnabled ? backend.hubs : []): {
  name: 'devHub-${hub.name}'
  scope: rg
  params: {
    webPubSubName: devWebPubSubEnabled ? devWebPubSub.outputs.name : ''
    hubName: hub.name
    urlTemplate: 'tunnel:///${functionsRoutePrefix}/${hub.name}/{event}'
    systemEvents: hub.systemEvents
    userEventPattern: hub.userEventPattern
  }
}]

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: apiIdentity.outputs.principalId
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
    tableNames: storage.outputs.tableNames
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    webPubSubName: webPubSub.outputs.name
    devWebPubSubName: devWebPubSubEnabled ? devWebPubSub.outputs.name : ''
  }
}

// Outputs land in the azd environment (.azure/<env>/.env) and in the hooks' environment.
// Names and URLs only: no keys, connection strings or secret values.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_BASE_URL string = 'https://${api.outputs.defaultHostName}'
// The declaration's pageRoute (a page the app serves), or empty.
output APP_PAGE_URL string = empty(backend.?pageRoute ?? '') ? '' : 'https://${api.outputs.defaultHostName}/${functionsRoutePrefix}/${backend.?pageRoute ?? ''}'
output WEBPUBSUB_NAME string = webPubSub.outputs.name
output WEBPUBSUB_HOST string = webPubSub.outputs.hostName
output WEBPUBSUB_ENDPOINT string = webPubSub.outputs.endpoint
// Comma-separated names of the declared hubs (the postdeploy hook checks each one).
output WEBPUBSUB_HUBS string = join(map(backend.hubs, hub => hub.name), ',')
output WEBPUBSUB_DEV_NAME string = devWebPubSubEnabled ? devWebPubSub.outputs.name : ''
output WEBPUBSUB_DEV_ENDPOINT string = devWebPubSubEnabled ? devWebPubSub.outputs.endpoint : ''
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output WEBPUBSUB_KEYS_SECRET_NAME string = keyVault.outputs.accessKeysSecretName
output EASY_AUTH_ENABLED bool = easyAuthEnabled
// Client id of the registration createSignInApp made (empty otherwise): `azd down` leaves it in Entra ID.
output SIGNIN_APP_CLIENT_ID string = signInAppEnabled ? signInApp.outputs.appId : ''
output UPSTREAM_ENTRA_ENABLED bool = entraUpstreamEnabled
