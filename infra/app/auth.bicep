// Optional App Service Authentication ("Easy Auth") with an existing Entra app registration.
// Sign-in is offered, not required (AllowAnonymous): the Web PubSub webhook routes must stay
// reachable for the service, and negotiate refuses callers without a principal by itself.
// With no client secret the sign-in uses the ID-token (implicit) flow; see docs/deploy.md.

@description('Name of the existing function app.')
param functionAppName string

@description('Client (application) id of the Entra app registration used for sign-in.')
param clientId string

@description('Tenant of the app registration.')
param tenantId string = tenant().tenantId

@description('Client ids whose access tokens Easy Auth accepts (defaultAuthorizationPolicy.allowedApplications: the token\'s appid/azp claim must be one of them). Empty: no such check. See docs/deploy.md before turning it on: the ID-token sign-in this template uses carries no access token.')
param allowedApplications array = []

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
          defaultAuthorizationPolicy: empty(allowedApplications) ? {} : {
            allowedApplications: allowedApplications
          }
        }
      }
    }
  }
}
