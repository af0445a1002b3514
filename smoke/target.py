"""``Smoke``: the deployed app as a scenario sees it, with every failure already diagnosed.

A scenario calls ``get_json`` for the app's HTTP routes and ``connect`` for the client URL it
was given; both raise ``StepFailed`` with the template's diagnosis (a scenario may pass its own
for a status). ``learn_service_url`` tells the runner which Web PubSub host and hub the app
uses, so the abuse-protection check can run against them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from . import diagnoses
from .diagnoses import Preflight
from .pubsub import JSON_SUBPROTOCOL, PubSubClient
from .report import Diagnosis, StepFailed, one_line

# The service's abuse-protection request (protocol reference section 4).
REQUEST_ORIGIN = "WebHook-Request-Origin"
ALLOWED_ORIGIN = "WebHook-Allowed-Origin"
VALIDATE_EVENT = "validate"
CLIENT_PATH_PREFIX = "/client/hubs/"


class Smoke:
    """The app under test: its base URL and route prefix, and what was learnt while testing it."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        route_prefix: str = "api",
        timeout: float = 30.0,
        hubs: tuple[str, ...] = (),
        service_host: str | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.route_prefix = route_prefix.strip("/")
        self.timeout = timeout
        self.hubs: list[str] = list(dict.fromkeys(hubs))
        self.service_host = service_host
        self._preflights: dict[tuple[str, str], Preflight] = {}

    # -- URLs ----------------------------------------------------------------------------------
    def api_url(self, route: str) -> str:
        path = "/".join(part for part in (self.route_prefix, route.strip("/")) if part)
        return f"{self.base_url}/{path}"

    def handler_url_template(self, hub: str) -> str:
        """What the hub's event handler URL template should be for this app."""
        return self.api_url(f"{hub}/{{event}}")

    def learn_service_url(self, url: str) -> None:
        """Note the Web PubSub host (unless given) and the hub of a client URL ``…/client/hubs/<hub>``."""
        parts = urlsplit(url)
        if self.service_host is None and parts.hostname:
            self.service_host = parts.hostname
        hub = _hub_of(parts.path)
        if hub and hub.lower() not in (known.lower() for known in self.hubs):
            self.hubs.append(hub)

    # -- the app's routes ---------------------------------------------------------------------------
    async def get_json(
        self,
        route: str,
        params: Mapping[str, str] | None = None,
        *,
        diagnoses_by_status: Mapping[int, Diagnosis] | None = None,
    ) -> Any:
        """``GET`` an app route and return its JSON body; any other answer fails the step.

        ``diagnoses_by_status`` replaces the template's diagnosis for the statuses it names
        (e.g. what a 401 means for this app).
        """
        url = self.api_url(route)
        label = f"GET /{url[len(self.base_url) + 1 :]}"
        try:
            async with self.session.get(url, params=params, allow_redirects=False) as response:
                body = await response.text()
                status = response.status
        except aiohttp.ClientConnectionError as exc:
            raise StepFailed(
                f"{label}: no answer ({type(exc).__name__})", diagnoses.APP_UNREACHABLE
            ) from None
        if not 200 <= status < 300:
            own = (diagnoses_by_status or {}).get(status)
            said = f": {one_line(body, 100)}" if body.strip() else ""
            raise StepFailed(f"{label} answered {status}{said}", own or diagnoses.for_route_status(status))
        try:
            return json.loads(body)
        except ValueError:
            raise StepFailed(f"{label} answered {status} without a JSON body", diagnoses.UNEXPECTED) from None

    async def preflight(self, hub: str) -> Preflight:
        """The abuse-protection check the service makes before delivering ``hub``'s events.

        Needs ``service_host``; answers are kept, so a diagnosis can reuse the runner's check.
        """
        origin = self.service_host or ""
        key = (hub.lower(), origin.lower())
        if key not in self._preflights:
            self._preflights[key] = await self._probe(hub, origin)
        return self._preflights[key]

    def probed(self, hub: str) -> bool:
        return any(known_hub == hub.lower() for known_hub, _ in self._preflights)

    async def _probe(self, hub: str, origin: str) -> Preflight:
        headers = {REQUEST_ORIGIN: origin, "ce-awpsversion": "1.0"}
        try:
            async with self.session.options(
                self.api_url(f"{hub}/{VALIDATE_EVENT}"), headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return Preflight(hub, origin, response.status, response.headers.get(ALLOWED_ORIGIN))
        except aiohttp.ClientConnectionError as exc:
            return Preflight(hub, origin, None, error=type(exc).__name__)

    # -- Web PubSub ------------------------------------------------------------------------------
    async def connect(self, url: str, subprotocol: str = JSON_SUBPROTOCOL) -> PubSubClient:
        """Open a client connection through Web PubSub with the client URL an app route returned."""
        self.learn_service_url(url)
        hub = _hub_of(urlsplit(url).path) or ""
        try:
            ws = await self.session.ws_connect(url, protocols=(subprotocol,), autoping=True)
        except aiohttp.WSServerHandshakeError as refused:  # its text holds the URL and token: not shown
            preflight = await self.preflight(hub) if hub and self.service_host else None
            diagnosis = diagnoses.for_refused_upgrade(
                refused.status, preflight, self.handler_url_template(hub)
            )
            raise StepFailed(f"the WebSocket upgrade was refused with {refused.status}", diagnosis) from None
        except aiohttp.ClientConnectionError as exc:
            raise StepFailed(
                f"the Web PubSub endpoint did not answer ({type(exc).__name__})",
                diagnoses.SERVICE_UNREACHABLE,
            ) from None
        if ws.protocol != subprotocol:
            await ws.close()
            raise StepFailed(
                f"the connection was accepted without the {subprotocol} subprotocol",
                Diagnosis(
                    cause="the app's connect handler did not select the subprotocol the client offered",
                    fix="return it from the connect handler (ConnectResponse(subprotocol=...))",
                ),
            )
        client = PubSubClient(ws, self.timeout)
        try:
            await client.wait_connected()
        except BaseException:
            await ws.close()
            raise
        return client


def _hub_of(path: str) -> str | None:
    if not path.startswith(CLIENT_PATH_PREFIX):
        return None
    hub = path[len(CLIENT_PATH_PREFIX) :].strip("/")
    return hub or None
