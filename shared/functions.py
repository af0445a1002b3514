"""The Azure Functions adapter: the only module of ``shared`` that imports ``azure.functions``.

``WebPubSubHub`` registers one HTTP-triggered function per event on a ``func.Blueprint``,
at route ``<hub>/<event>``, plus ``<hub>/validate`` for the abuse-protection ``OPTIONS``::

    hub = WebPubSubHub("chat")

    @hub.on_connect
    def connect(event: ConnectEvent) -> ConnectResponse: ...

    @hub.on_event("message")
    async def message(event: UserEvent) -> EventResponse | None: ...

    app.register_functions(hub.blueprint)

Each function turns the ``func.HttpRequest`` into a ``RawRequest``, lets the core
verify and decode it, runs the handler (sync handlers get a sync function, which the
Functions worker runs in its thread pool; async handlers run on the event loop) and
turns the result back into a ``func.HttpResponse``. Refusals are 4xx with a short
reason; a handler exception, or any failure to build the reply, is logged with ce-id,
connection id and event name, and answered with a generic 500.

Settings are read from ``os.environ`` when the hub is created (the app loads), and
configuration problems are logged then; the core itself (and PyJWT in Entra mode) is
built on the first request.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import azure.functions as func

from . import routes
from .errors import HandlerError, WebPubSubError
from .events import Event
from .headers import CE_CONNECTION_ID, CE_EVENT_NAME, CE_ID, CONTENT_TYPE, lower_keys
from .logsafe import log_safe
from .responses import RawRequest, RawResponse, text_response
from .settings import ALLOW_UNAUTHENTICATED, UpstreamSettings, load_settings
from .upstream import HandlerResult, UpstreamProtocol

LOGGER = logging.getLogger("webpubsub")

Handler = Callable[[Any], HandlerResult | Awaitable[HandlerResult]]
H = TypeVar("H", bound=Handler)

INTERNAL_ERROR = text_response(500, "internal error")


def to_raw_request(req: func.HttpRequest) -> RawRequest:
    # azure.functions keeps request headers in a dict keyed by lower-case name; reading it
    # directly skips a per-header trip through the Mapping ABC (a hot path, see bench/).
    headers = getattr(req.headers, "__http_headers__", None)
    if not isinstance(headers, dict):
        headers = lower_keys(req.headers)
    return RawRequest(req.method, headers, req.get_body() or b"")


# Content-Type values that ``func.HttpResponse`` rebuilds exactly from ``mimetype`` and
# ``charset`` when no header is set (the worker and the dev host both do: ``text/*`` gets
# ``; charset=<charset>``, other types stay bare). Passing them that way skips the
# response's header list, the costliest part of building a reply (bench/handler.py).
_AS_MIMETYPE: dict[str, tuple[str, str | None]] = {
    "application/json": ("application/json", None),
    "application/octet-stream": ("application/octet-stream", None),
    "application/x-protobuf": ("application/x-protobuf", None),
    "text/plain; charset=utf-8": ("text/plain", "utf-8"),
}


def to_http_response(raw: RawResponse) -> func.HttpResponse:
    headers = raw.headers
    if headers and len(headers) == 1:
        as_mimetype = _AS_MIMETYPE.get(headers.get(CONTENT_TYPE, ""))
        if as_mimetype is not None:
            mimetype, charset = as_mimetype
            return func.HttpResponse(
                raw.body or None, status_code=raw.status, mimetype=mimetype, charset=charset
            )
    return func.HttpResponse(raw.body or None, status_code=raw.status, headers=headers or None)


def _log_field(headers: Mapping[str, str], name: str) -> str:
    """A header value fit for a log line (see ``logsafe``); ids only, never secrets."""
    value = headers.get(name.lower())
    return log_safe(value, limit=128) if value else "-"


class WebPubSubHub:
    """Event handlers of one Web PubSub hub, served as Azure Functions."""

    def __init__(
        self,
        name: str,
        blueprint: func.Blueprint | None = None,
        *,
        auth_level: func.AuthLevel = func.AuthLevel.ANONYMOUS,
        settings: UpstreamSettings | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """
        Args:
            name: the hub name (compared case-insensitively with ``ce-hub``).
            blueprint: where to register the functions (a new one by default).
            auth_level: Functions auth level of the event routes. ``ANONYMOUS`` by default
                because every event is authenticated by ``ce-signature`` / Entra; use
                ``FUNCTION`` to also require ``?code=`` in the hub's URL template.
            settings: fixed settings (tests); by default read from ``env`` on first use.
            env: where settings come from (default ``os.environ``).
        """
        self.name = name
        self.blueprint = blueprint if blueprint is not None else func.Blueprint()
        self._auth_level = auth_level
        self._env = env
        self._events: set[str] = set()
        self.configure(settings)
        self._register_validate()

    # -- configuration ------------------------------------------------------------------

    def configure(self, settings: UpstreamSettings | None = None) -> UpstreamSettings:
        """(Re)load settings and log what is wrong with them; ``None`` reads the environment.

        Runs when the hub is created, so a missing key, the development override or an
        unresolved Key Vault reference is in the log as the app starts, not only at the
        first request. It only parses strings: nothing heavy is imported here.
        """
        if settings is None:
            settings = load_settings(self._env if self._env is not None else os.environ)
        for problem in settings.problems:
            LOGGER.error("Web PubSub hub %s: %s", self.name, problem)
        if not settings.has_upstream_auth:
            if settings.allow_unauthenticated:
                LOGGER.warning(
                    "!!! Web PubSub hub %s accepts UNAUTHENTICATED events because %s=true. "
                    "Never use this outside local development. !!!",
                    self.name,
                    ALLOW_UNAUTHENTICATED,
                )
            else:
                LOGGER.error(
                    "Web PubSub hub %s has no access key and no Entra settings: every event will be "
                    "refused with 401. Set WebPubSubConnectionString or WebPubSubAccessKeys.",
                    self.name,
                )
        self._settings = settings
        self.__dict__.pop("protocol", None)  # the core is rebuilt from these on next use
        return settings

    @functools.cached_property
    def protocol(self) -> UpstreamProtocol:
        """The core for this hub, built on first use from the settings read at creation.

        (A cached property: after the first request it is a plain attribute read.)
        """
        return UpstreamProtocol(self.name, self._settings)

    @property
    def events(self) -> frozenset[str]:
        """The event names that have a handler (what the hub's handler settings should list)."""
        return frozenset(self._events)

    # -- decorators ---------------------------------------------------------------------

    def on_connect(self, handler: H) -> H:
        return self._register("connect", handler)

    def on_connected(self, handler: H) -> H:
        return self._register("connected", handler)

    def on_disconnected(self, handler: H) -> H:
        return self._register("disconnected", handler)

    def on_group_joined(self, handler: H) -> H:
        return self._register("joined", handler)

    def on_group_left(self, handler: H) -> H:
        return self._register("left", handler)

    def on_event(self, name: str) -> Callable[[H], H]:
        """Handle the user event ``name`` (``message`` for simple WebSocket clients)."""
        routes.check_user_event_name(name)
        return lambda handler: self._register(name, handler)

    # -- registration -------------------------------------------------------------------

    def _register(self, event_name: str, handler: H) -> H:
        if event_name in self._events:
            raise ValueError(f"hub {self.name!r} already has a handler for {event_name!r}")
        self._events.add(event_name)
        if inspect.iscoroutinefunction(handler):

            async def endpoint(req: func.HttpRequest) -> func.HttpResponse:
                raw = to_raw_request(req)
                await self._fetch_keys_if_due(raw)
                event = self._receive(raw, event_name, False)  # keys are fetched above, off the loop
                if isinstance(event, RawResponse):
                    return to_http_response(event)
                try:
                    result = await handler(event)
                except Exception:  # noqa: BLE001 - the one broad catch: log, answer 500
                    return self._handler_failed(raw)
                return self._respond(raw, event, result)

        else:

            def endpoint(req: func.HttpRequest) -> func.HttpResponse:  # type: ignore[misc]
                raw = to_raw_request(req)
                event = self._receive(raw, event_name, True)
                if isinstance(event, RawResponse):
                    return to_http_response(event)
                try:
                    result = handler(event)
                except Exception:  # noqa: BLE001 - the one broad catch: log, answer 500
                    return self._handler_failed(raw)
                return self._respond(raw, event, result)  # type: ignore[arg-type]

        self._add_function(event_name, endpoint, ["POST"])
        return handler

    def _register_validate(self) -> None:
        def endpoint(req: func.HttpRequest) -> func.HttpResponse:
            raw = to_raw_request(req)
            try:
                return to_http_response(self.protocol.validate(raw))
            except WebPubSubError as error:
                self._log_refusal(raw, error)
                return to_http_response(UpstreamProtocol.error_response(error))
            except Exception:  # noqa: BLE001 - never a bare 500
                self._log_failure("Web PubSub validation request failed", raw)
                return to_http_response(INTERNAL_ERROR)

        # GET too: the service falls back to GET when OPTIONS is not routed.
        self._add_function(routes.VALIDATE_EVENT, endpoint, ["OPTIONS", "GET"])

    def _add_function(self, event_name: str, endpoint: Callable[..., Any], methods: list[str]) -> None:
        endpoint.__name__ = routes.function_name(self.name, event_name)
        builder = self.blueprint.route(
            route=routes.event_route(self.name, event_name), methods=methods, auth_level=self._auth_level
        )(endpoint)
        self.blueprint.function_name(name=endpoint.__name__)(builder)

    # -- request steps ------------------------------------------------------------------

    async def _fetch_keys_if_due(self, raw: RawRequest) -> None:
        """Entra mode: fetch due signing keys in a thread, so the event loop keeps serving."""
        try:
            entra = self.protocol.entra
            if entra is not None and entra.refresh_due(raw.headers.get("authorization")):
                await entra.keys.refresh_async()
        except Exception:  # noqa: BLE001 - the request then fails closed in _receive (no key: 401)
            self._log_failure("Web PubSub signing-key refresh failed", raw)

    def _receive(self, raw: RawRequest, event_name: str, fetch_keys: bool) -> Event | RawResponse:
        try:
            return self.protocol.receive(raw, event_name, fetch_keys=fetch_keys)
        except WebPubSubError as error:
            self._log_refusal(raw, error)
            return UpstreamProtocol.error_response(error)
        except Exception:  # noqa: BLE001 - a bug in the core must not escape as a bare 500
            self._log_failure("Web PubSub request could not be decoded", raw)
            return INTERNAL_ERROR

    def _respond(self, raw: RawRequest, event: Event, result: HandlerResult) -> func.HttpResponse:
        try:
            return to_http_response(self.protocol.respond(event, result))
        except HandlerError as error:
            LOGGER.error(
                "Web PubSub handler returned an invalid result (%s) ce-id=%s connection=%s event=%s",
                error.reason,
                _log_field(raw.headers, CE_ID),
                _log_field(raw.headers, CE_CONNECTION_ID),
                _log_field(raw.headers, CE_EVENT_NAME),
            )
        except Exception:  # noqa: BLE001 - e.g. a value that cannot be encoded: log, generic 500
            self._log_failure("Web PubSub reply could not be built", raw)
        return to_http_response(INTERNAL_ERROR)

    def _log_failure(self, what: str, raw: RawRequest) -> None:
        LOGGER.exception(
            "%s ce-id=%s connection=%s event=%s",
            what,
            _log_field(raw.headers, CE_ID),
            _log_field(raw.headers, CE_CONNECTION_ID),
            _log_field(raw.headers, CE_EVENT_NAME),
        )

    def _handler_failed(self, raw: RawRequest) -> func.HttpResponse:
        self._log_failure("Web PubSub handler raised", raw)
        return to_http_response(INTERNAL_ERROR)

    def _log_refusal(self, raw: RawRequest, error: WebPubSubError) -> None:
        LOGGER.warning(
            "Web PubSub request refused: %s %s ce-id=%s connection=%s event=%s",
            error.status,
            log_safe(error.reason),
            _log_field(raw.headers, CE_ID),
            _log_field(raw.headers, CE_CONNECTION_ID),
            _log_field(raw.headers, CE_EVENT_NAME),
        )
