// One hub with one event handler. Declared after the function app (its URL needs the app's host
// name); there is no cycle because the hub is a child resource of its own.

@description('Name of the existing Web PubSub resource.')
param webPubSubName string

@description('Hub name; must equal the hub the function code serves (ce-hub is checked).')
param hubName string

@description('Event handler URL template, e.g. https://<host>/api/chat/{event} or tunnel:///api/chat/{event}.')
param urlTemplate string

@description('System events sent to the handler.')
param systemEvents array = [
  'connect'
  'connected'
  'disconnected'
]

@description('User events sent to the handler: *, a comma list, or one name.')
param userEventPattern string = '*'

@description('Entra upstream auth: the token audience (app id URI or client id); empty for no token.')
param authResource string = ''

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: webPubSub
  name: hubName
  properties: {
    anonymousConnectPolicy: 'deny'
    eventHandlers: [
      {
        urlTemplate: urlTemplate
        userEventPattern: userEventPattern
        systemEvents: systemEvents
        auth: empty(authResource) ? {
          type: 'None'
        } : {
          type: 'ManagedIdentity'
          managedIdentity: {
            resource: authResource
          }
        }
      }
    ]
  }
}

output name string = hub.name
