"""The emulator's inspector page: a live view of hubs, connections, groups and traffic.

    http://localhost:8080/   (the emulator's own port; loopback only)

Shows each hub's event-handler settings, its connections (user, groups, subprotocol,
connected since) and groups, and a live stream of upstream calls, REST calls and client
frames with secrets redacted; a client panel connects as any user with any subprotocol.
Plain HTML/CSS/JS in ``static/`` (no build step).

Modules: ``guard`` (loopback, Host and Origin checks), ``redact`` (secrets out of
everything shown), ``snapshot`` (state), ``feed`` (the ``Watcher`` that streams),
``routes`` (HTTP). The emulator reports to ``devhost.emulator.watch.Watchers``; the feed
subscribes only while a page is open.
"""

from __future__ import annotations

from aiohttp import web

from ..config import EmulatorConfig
from ..hubs import HubRegistry
from .feed import Feed
from .redact import Redactor
from .routes import InspectorRoutes
from .snapshot import snapshot

INSPECTOR_PATH = "/"


def mount_inspector(app: web.Application, config: EmulatorConfig, hubs: HubRegistry) -> None:
    """Add the inspector's routes to the emulator ``app`` (before it starts)."""
    redactor = Redactor(config.keys)
    feed = Feed(hubs.watchers, redactor, lambda: snapshot(config, hubs, redactor))
    routes = InspectorRoutes(config, feed)
    app.router.add_get(INSPECTOR_PATH, routes.page)
    app.router.add_get("/inspector/stream", routes.stream)
    app.router.add_post("/inspector/token", routes.token)
    app.router.add_get("/inspector/{name}", routes.static)

    async def close_pages(_: web.Application) -> None:
        await feed.close()

    app.on_shutdown.append(close_pages)


__all__ = ["INSPECTOR_PATH", "mount_inspector"]
