"""Why the dev host cannot serve an app: raised at start, printed by the CLIs as "Cannot start"."""


class DiscoveryError(RuntimeError):
    """The app module has no usable function app, or the Python worker would refuse to load it."""
