"""Local development servers: the Functions dev host and the Web PubSub emulator."""
