// Optional: the Entra app registration that App Service Authentication signs users in with,
// created by `azd up` itself through the Microsoft Graph Bicep extension (alias declared in
// infra/bicepconfig.json). Deployed only when main.bicep's createSignInApp is true.
//
// No secret is created: Easy Auth (auth.bicep) uses the ID-token flow, which needs only the
// redirect URI and ID-token issuance below. The deploying identity needs the right to create
// app registrations in the tenant (docs/deploy.md, "Sign-in").
extension microsoftGraphV1

@description('Tenant-unique, immutable key of the app registration (Graph uniqueName): the same value on every run updates the same registration.')
param uniqueName string

@description('Name shown on the Microsoft sign-in and consent pages.')
param displayName string

@description('Default host name of the function app; Easy Auth receives the sign-in at https://<host>/.auth/login/aad/callback.')
param appHostName string

@description('Tag that ties the registration to its azd environment (docs/deploy.md shows how to find and delete it).')
param environmentTag string

resource signInApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  // Accounts of this tenant only, matching the tenant issuer auth.bicep validates.
  signInAudience: 'AzureADMyOrg'
  tags: [
    environmentTag
  ]
  // The deployer stays an owner, so the next `azd up` may update the registration
  // (default 'append' semantics: owners added by hand are kept).
  owners: {
    relationships: [
      deployer().objectId
    ]
  }
  web: {
    redirectUris: [
      'https://${appHostName}/.auth/login/aad/callback'
    ]
    implicitGrantSettings: {
      enableIdTokenIssuance: true
      enableAccessTokenIssuance: false
    }
  }
}

// Users of the tenant sign in to the service principal (the enterprise application).
resource signInServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: signInApp.appId
}

@description('Client (application) id of the registration; not a secret.')
output appId string = signInApp.appId
