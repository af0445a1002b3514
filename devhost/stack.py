"""The whole app on one event loop: the Web PubSub emulator plus the Functions dev host, with
Azurite (a child process) as the app's storage. Everything app-specific is read from the app.

Startup order matters:

1. start Azurite's table service and the emulator (port 0: a free port);
2. point ``WebPubSubConnectionString`` at the emulator, and every setting that names Azurite
   (``UseDevelopmentStorage=true`` in the settings file or the environment, and always
   ``AzureWebJobsStorage``) at the Azurite just started, in ``os.environ``, *before* the
   function app is imported, so the app signs client tokens and checks ``ce-signature``
   with the emulator's key;
3. import the function app and start the Functions dev host;
4. find the hubs the app serves (``shared.routes.served_hubs``: its ``<hub>/validate`` and
   ``<hub>/<event>`` routes) and tell the emulator to deliver each hub's events to
   ``http://<host>:<port>/<prefix>/{hub}/{event}``, with only the system events the app
   handles (a hub without a ``connect`` route gets no ``connect`` calls).

``python -m devhost`` runs this until SIGINT or SIGTERM; tests use ``running_stack`` directly.
The access key is never logged; the connection string is available to callers that need it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devhost.emulator import EmulatorConfig, EventHandler, RunningEmulator, run_emulator
from devhost.emulator.config import SYSTEM_EVENTS
from devhost.emulator.inspector import INSPECTOR_PATH
from devhost.functions import RunningHost, create_app, start_host
from devhost.functions.app import FROM_HOST_CONFIG, HOST_INFO
from devhost.functions.app_clients import close_app_clients
from devhost.functions.home import plain_get_paths
from devhost.functions.route_table import RouteTable
from devhost.functions.settings import SAMPLE_FILE, SETTINGS_FILE, ensure_settings_file, load_settings
from devhost.storage import DEFAULT_TABLE_PORT, RunningAzurite, start_azurite
from shared.routes import served_hubs
from shared.settings import CONNECTION_STRING

logger = logging.getLogger("devhost")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PUBLIC_HOST = "localhost"
DEFAULT_FUNCTIONS_PORT = 7071
DEFAULT_EMULATOR_PORT = 8080
DEFAULT_STORAGE_DIR = ".azurite"  # under the app directory; git-ignored
# The Functions host's own storage: always Azurite locally.
HOST_STORAGE_SETTING = "AzureWebJobsStorage"
# A storage connection string that means "the local emulator" (Azure SDK convention).
DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"


@dataclass(kw_only=True)
class StackConfig:
    """What ``start_stack`` needs; the defaults are ``python -m devhost``'s."""

    host: str = DEFAULT_HOST  # address both servers bind
    public_host: str = DEFAULT_PUBLIC_HOST  # host name in URLs handed to browsers and to the app
    functions_port: int = DEFAULT_FUNCTIONS_PORT  # 0 picks a free port
    emulator_port: int = DEFAULT_EMULATOR_PORT  # 0 picks a free port
    hubs: tuple[str, ...] | None = None  # hubs whose events go to the app; None: those it serves
    app_dir: Path = field(default_factory=Path.cwd)
    settings_path: Path | None = None  # default <app_dir>/local.settings.json
    load_local_settings: bool = True
    access_key: str | None = None  # the emulator's key; None keeps the emulator's default
    # The key the *app* is given. None means the emulator's key. Anything else makes every
    # event fail ce-signature verification: only useful to show that the app refuses it.
    app_access_key: str | None = None
    # Invocations the dev host runs at once (Flex's perInstanceConcurrency); None: no limit.
    max_concurrent_requests: int | None = FROM_HOST_CONFIG
    # Names both servers accept in Host/Origin besides loopback names, the bind address and
    # public_host (--allow-host; "*": any).
    allowed_hosts: tuple[str, ...] = ()
    rest_latency_ms: float = 0.0  # added to each emulator REST call (an in-region round trip)
    storage: bool = True  # run Azurite for the app's storage settings; False: as the settings say
    storage_port: int = DEFAULT_TABLE_PORT  # 0 picks a free port
    storage_dir: Path | None = None  # Azurite's data; default <app_dir>/.azurite
    # Test hook: deliver events to this path template on the Functions host (e.g. a wrong
    # path, to watch the service's abuse-protection check fail). None: the app's own routes.
    upstream_path: str | None = None

    def __repr__(self) -> str:  # keys never reach logs
        return (
            f"StackConfig(host={self.host!r}, functions_port={self.functions_port}, "
            f"emulator_port={self.emulator_port}, hubs={self.hubs!r})"
        )


@dataclass
class RunningStack:
    """Both servers, started. ``stop()`` shuts them down and restores the environment."""

    emulator: RunningEmulator
    functions: RunningHost
    public_host: str
    route_prefix: str
    connection_string: str  # what the app was given (contains a key: never log it)
    _saved_env: dict[str, str | None]
    storage: RunningAzurite | None = None
    hubs: dict[str, frozenset[str]] = field(default_factory=dict)  # hub -> events sent to the app
    get_paths: tuple[str, ...] = ()  # the app's plain GET routes, e.g. /api/index

    @property
    def functions_url(self) -> str:
        return f"http://{self.public_host}:{self.functions.port}"

    @property
    def emulator_url(self) -> str:
        return f"http://{self.public_host}:{self.emulator.port}"

    @property
    def inspector_url(self) -> str:
        return f"{self.emulator_url}{INSPECTOR_PATH}"

    def api_url(self, route: str) -> str:
        path = "/".join(part for part in (self.route_prefix, route) if part)
        return f"{self.functions_url}/{path}"

    @property
    def get_urls(self) -> list[str]:
        """Links to the app's plain GET routes (its pages and JSON endpoints)."""
        return [f"{self.functions_url}{path}" for path in self.get_paths]

    async def stop(self) -> None:
        """Stop the Functions host, then the emulator, then close the app's REST clients.

        The emulator closes its client sockets (1001) without sending ``disconnected`` events,
        so no handler runs a broadcast against a service that is going away.
        """
        try:
            await self.functions.stop()
        finally:
            try:
                # Close client sockets before the runner's graceful shutdown, which would
                # otherwise wait its whole timeout for the still-open WebSocket handlers.
                await self.emulator.clients.shutdown()
                await self.emulator.stop()
            finally:
                await close_app_clients()
                if self.storage is not None:
                    await self.storage.stop()
                _restore(os.environ, self._saved_env)


SERVER_NAMES = {
    "functions": "the Functions host",
    "emulator": "the Web PubSub emulator",
    "storage": "Azurite",
}


class PortTaken(OSError):
    """A server's port is in use; ``server`` says which (a key of ``SERVER_NAMES``)."""

    def __init__(self, server: str, port: int) -> None:
        super().__init__(f"port {port} for {SERVER_NAMES[server]} is taken")
        self.server = server
        self.port = port


def _check_ports_free(config: StackConfig) -> None:
    """Refuse a taken port before anything starts, so no half-started stack (e.g. a second
    Azurite writing to the same data folder) ever runs. Port 0 picks a free port later."""
    wanted = [("functions", config.functions_port), ("emulator", config.emulator_port)]
    if config.storage:
        wanted.append(("storage", config.storage_port))
    for server, port in wanted:
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((config.host, port))
            except OSError:
                raise PortTaken(server, port) from None


async def start_stack(config: StackConfig) -> RunningStack:
    """Start the emulator and the Functions dev host, wired to each other.

    Raises:
        PortTaken: a port is taken (checked before anything starts); OSError: a bind failed
        anyway (a race). Errors from ``devhost.functions.create_app`` (settings,
        host.json, app import) propagate; nothing is left running when this raises.
    """
    emulator_config = EmulatorConfig(
        host=config.host,
        port=config.emulator_port,
        public_host=config.public_host,
        rest_latency=config.rest_latency_ms / 1000,
        allowed_hosts=config.allowed_hosts,
    )
    if config.access_key is not None:
        emulator_config.access_key = config.access_key
    _check_ports_free(config)
    storage: RunningAzurite | None = None
    if config.storage:
        location = config.storage_dir or config.app_dir / DEFAULT_STORAGE_DIR
        storage = await start_azurite(config.host, config.storage_port, location)
    try:
        emulator = await run_emulator(emulator_config)
    except BaseException:
        if storage is not None:
            await storage.stop()
        raise
    saved: dict[str, str | None] = {}
    try:
        app_key = config.app_access_key or emulator_config.access_key
        connection_string = f"Endpoint={emulator.endpoint};AccessKey={app_key};Version=1.0;"
        values = {CONNECTION_STRING: connection_string}
        if storage is not None:  # without it, the settings file decides (e.g. your own Azurite)
            values.update(dict.fromkeys(_azurite_settings(config), storage.connection_string))
        saved = _set(os.environ, values)
        app = create_app(
            config.app_dir,
            settings_path=config.settings_path,
            load_local_settings=config.load_local_settings,
            max_concurrent_requests=config.max_concurrent_requests,
            allowed_hosts=(config.host, config.public_host, *config.allowed_hosts),
        )
        functions = await start_host(app, host=config.host, port=config.functions_port)
    except BaseException:
        await emulator.stop()
        if storage is not None:
            await storage.stop()
        _restore(os.environ, saved)
        raise
    info = app[HOST_INFO]
    route_prefix = info.route_prefix
    functions_base = f"http://{config.public_host}:{functions.port}"
    upstream = "/".join(part for part in (functions_base, route_prefix, "{hub}/{event}") if part)
    if config.upstream_path is not None:
        upstream = functions_base + "/" + config.upstream_path.lstrip("/")
    hubs = _hubs_to_deliver(info.routes, config.hubs)
    for hub, events in hubs.items():
        system_events = frozenset(event for event in SYSTEM_EVENTS if event in events)
        emulator_config.handlers.set_hub(
            hub, [EventHandler(url_template=upstream, system_events=system_events)]
        )
        logger.info("Hub %s: events go to %s", hub, upstream)
    return RunningStack(
        emulator=emulator,
        functions=functions,
        public_host=config.public_host,
        route_prefix=route_prefix,
        connection_string=connection_string,
        _saved_env=saved,
        storage=storage,
        hubs=hubs,
        get_paths=tuple(plain_get_paths(info.routes)),
    )


def _azurite_settings(config: StackConfig) -> list[str]:
    """Settings to point at the Azurite just started: the Functions host's own, and every one
    the settings file or the environment sets to ``UseDevelopmentStorage=true``."""
    names = [HOST_STORAGE_SETTING]
    values: dict[str, str] = {}
    if config.load_local_settings:
        path = config.settings_path or config.app_dir / SETTINGS_FILE
        ensure_settings_file(path, config.app_dir / SAMPLE_FILE)  # as create_app will
        values.update(load_settings(path).values)
    values.update(os.environ)  # the environment wins over the file, as in create_app
    for name, value in values.items():
        if value.strip().lower().startswith(DEVELOPMENT_STORAGE) and name not in names:
            names.append(name)
    return names


def _hubs_to_deliver(routes: RouteTable, override: tuple[str, ...] | None) -> dict[str, frozenset[str]]:
    """Each hub the emulator should deliver to the app, with the events the app serves for it.

    By default the hubs the app serves; ``override`` (``--hub``) names them instead. A named
    hub that the app does not serve still gets every system event, so its 404s show why.
    """
    served = served_hubs((entry.function.route, entry.function.methods) for entry in routes.entries)
    if override is None:
        return served
    by_name = {hub.lower(): (hub, events) for hub, events in served.items()}
    chosen: dict[str, frozenset[str]] = {}
    for name in override:
        hub, events = by_name.get(name.lower(), (name, frozenset(SYSTEM_EVENTS)))
        if name.lower() not in by_name:
            logger.warning("Hub %s: the app serves no such hub; its events will be answered 404", name)
        chosen[hub] = events
    return chosen


@asynccontextmanager
async def running_stack(config: StackConfig) -> AsyncIterator[RunningStack]:
    """``start_stack`` as an async context manager that always stops both servers."""
    stack = await start_stack(config)
    try:
        yield stack
    finally:
        await stack.stop()


def _set(environ: MutableMapping[str, str], values: dict[str, str]) -> dict[str, str | None]:
    saved = {key: environ.get(key) for key in values}
    environ.update(values)
    return saved


def _restore(environ: MutableMapping[str, str], saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
