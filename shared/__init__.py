"""Azure Web PubSub upstream event handling for Azure Functions (Python v2 model)."""
