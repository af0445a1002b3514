"""Conformance tests of the local Web PubSub emulator (devhost.emulator)."""
