// Optional: the Entra app registration that App Service Authentication signs users in with,
// created by `azd up` itself through the Microsoft Graph Bicep extension (alias declared in
// infra/bicepconfig.json). Deployed only when main.bicep's createSignInApp is true.
//
// No secret is created: Easy Auth (auth.bicep) uses the ID-token flow, which needs only the
// redirect URI and ID-token issuance below. The deploying identity needs the right to create
// app registrations in the tenant (docs/deploy.md, "Sign-in").
extension microsoftGraphV1

@description('Tenant-unique, immutable key of the app registration (Graph uniqueName): the same value on every run updates the same registration. A deleted registration keeps it for 30 days (main.bicep adds signInAppRevision to it).')
param uniqueName string

@description('Name shown on the Microsoft sign-in and consent pages.')
param displayName string

@description('Default host name of the function app; Easy Auth receives the sign-in at https://<host>/.auth/login/aad/callback.')
param appHostName string

@description('Tag that ties the registration to its azd environment (docs/deploy.md shows how to find and delete it).')
param environmentTag string

// Microsoft Graph's application id (the API the sign-in permissions below belong to).
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

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
  // What sign-in asks for, declared so that where users may not consent an administrator can
  // grant it for the organisation (Enterprise applications -> Permissions): Microsoft Graph's
  // delegated openid, profile, email and User.Read (ids: Microsoft Graph permissions reference).
  requiredResourceAccess: [
    {
      resourceAppId: microsoftGraphAppId
      resourceAccess: [
        {
          id: '37f7f235-527c-4136-accd-4a02d197296e' // openid
          type: 'Scope'
        }
        {
          id: '14dad69e-099b-42c9-810b-d002981feec1' // profile
          type: 'Scope'
        }
        {
          id: '64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0' // email
          type: 'Scope'
        }
        {
          id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d' // User.Read
          type: 'Scope'
        }
      ]
    }
  ]
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
