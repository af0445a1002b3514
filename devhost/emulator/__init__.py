"""A local, pure-Python Azure Web PubSub emulator (development tooling, never deployed).

    from devhost.emulator import EmulatorConfig, EventHandler, start_emulator

    config = EmulatorConfig(port=0)
    config.handlers.set_hub("chat", [EventHandler("http://localhost:7071/api/chat/{event}")])
    async with start_emulator(config) as emu:
        print(emu.connection_string)

Modules, one job each: ``config`` (settings and handler registry), ``tokens`` (JWTs),
``odata`` (REST filters), ``roles`` (group permissions, wildcard patterns), ``messages``
(client wire formats), ``outbound`` (bounded writers and the global budget), ``hubs``
(in-memory state), ``upstream`` (event-handler calls), ``clients`` (WebSocket endpoint),
``rest`` (data-plane API), ``guard`` (Host/Origin check), ``app`` (factory and runner),
``watch`` (hook points for tools that watch the emulator) and the ``inspector`` package
(the live page on ``/``, see its docstring). Behaviour, limits and choices: docs/emulator.md.
"""

from .app import RunningEmulator, banner, create_app, run_emulator, start_emulator
from .config import (
    DEFAULT_ACCESS_KEY,
    ConfigError,
    EmulatorConfig,
    EventHandler,
    HandlerRegistry,
    expand_url_template,
    parse_hub_option,
)

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "ConfigError",
    "EmulatorConfig",
    "EventHandler",
    "HandlerRegistry",
    "RunningEmulator",
    "banner",
    "create_app",
    "expand_url_template",
    "parse_hub_option",
    "run_emulator",
    "start_emulator",
]
