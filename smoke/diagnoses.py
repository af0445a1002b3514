"""The template's diagnoses: from a symptom seen from outside (an HTTP status, a refused
WebSocket upgrade, the abuse-protection answer) to the likely cause and its fix.

Only what any app built on ``shared/`` has: its host, its hub routes, the Web PubSub service,
the access keys, the allowed origins. A scenario adds its own (see ``smoke.scenario``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .report import Diagnosis

_LOGS = "the function app's logs (Application Insights > Failures, or Log stream)"

APP_UNREACHABLE = Diagnosis(
    cause="nothing answers at this URL: a wrong URL, or the function app is not deployed",
    fix="check the URL (azd env get-value SERVICE_API_BASE_URL) and that the function app exists",
)
NO_FUNCTIONS = Diagnosis(
    cause="the host runs but answers 404 for the app's routes: no functions were indexed, usually because "
    "the remote build used another Python than the app's or function_app.py failed to import",
    fix="compare the app's Python version (pythonVersion in infra/) with requirements.txt, look for "
    f"'No job functions found' or an import error in {_LOGS}, then azd deploy again",
)
SIGN_IN_REQUIRED = Diagnosis(
    cause="the route asks for sign-in (401) and the smoke test signs in as nobody",
    fix="allow anonymous requests to this route (App Service Authentication: AllowAnonymous), "
    "or smoke-test an app that lets guests in",
)
HANDLER_SIGN_IN = Diagnosis(
    cause="App Service Authentication stops the service's abuse-protection request before the app sees it",
    fix="let unauthenticated requests through (unauthenticatedClientAction: AllowAnonymous); "
    "the handlers check the service's signature themselves",
)
KEY_REFUSED = Diagnosis(
    cause="the WebSocket connect was refused: the app refused the service's signature (or signed the "
    "client token with another key); WebPubSubAccessKeys, a Key Vault reference, is not resolved or "
    "holds an old key",
    fix="in the portal check the Key Vault reference status of WebPubSubAccessKeys (the app's identity "
    "needs Key Vault Secrets User), then restart the function app so it resolves the reference again",
)
SERVICE_UNREACHABLE = Diagnosis(
    cause="the Web PubSub endpoint in the client URL does not answer",
    fix="check the Web PubSub resource exists and the app's WebPubSubConnectionString settings name it",
)
CONNECTION_CLOSED = Diagnosis(
    cause="the service closed the WebSocket: an event handler failed or the client token expired",
    fix=f"see {_LOGS} and Web PubSub Live Trace",
)
UNEXPECTED = Diagnosis(
    cause="an answer the smoke test did not expect (or a bug in the scenario)",
    fix=f"see the detail above and {_LOGS}",
)


def app_not_running(status: int) -> Diagnosis:
    return Diagnosis(
        cause=f"the function app's host answers {status}: it is stopped, disabled or still starting",
        fix="start it (az functionapp start), wait a minute after a deployment, and run the smoke test again",
    )


def app_error(status: int) -> Diagnosis:
    return Diagnosis(
        cause=f"the function failed ({status}); right after a deployment, a role assignment of the app's "
        "identity may not be effective yet",
        fix=f"wait a few minutes and run the smoke test again; if it persists, see {_LOGS}",
    )


def timed_out(seconds: float) -> Diagnosis:
    return Diagnosis(
        cause=f"no answer within {seconds:g} s",
        fix="a cold start after a deployment can take ~20 s: run the smoke test again; "
        f"if it persists, see {_LOGS}",
    )


def event_failed(event: str, error: str) -> Diagnosis:
    return Diagnosis(
        cause=f"the service could not deliver the '{event}' event to the app ({error})",
        fix=f"see {_LOGS} and Web PubSub Live Trace for that event's status",
    )


def origin_refused(host: str) -> Diagnosis:
    return Diagnosis(
        cause=f"the app refuses the abuse-protection check from {host}: its allowed origins do not include "
        "the Web PubSub host, so the service delivers no event",
        fix=f"set WebPubSubAllowedOrigins to {host} (empty means the service endpoint's host), "
        "then restart the function app",
    )


def handler_url_wrong(handler_url: str) -> Diagnosis:
    return Diagnosis(
        cause="this app passes the abuse-protection check, yet the service could not get its connect event "
        "accepted: the hub's event handler URL probably points somewhere else",
        fix=f"set the hub's event handler URL template to {handler_url} (infra/); "
        f"if it already is, see the connect function in {_LOGS}",
    )


@dataclass(frozen=True)
class Preflight:
    """The app's answer to the abuse-protection ``OPTIONS <prefix>/<hub>/validate`` request."""

    hub: str
    origin: str  # sent as WebHook-Request-Origin: the Web PubSub host
    status: int | None  # None: no answer
    allowed_origin: str | None = None  # the WebHook-Allowed-Origin answer
    error: str = ""  # why there was no answer

    @property
    def ok(self) -> bool:
        if self.status is None or not 200 <= self.status < 300 or not self.allowed_origin:
            return False
        allowed = {part.strip().lower() for part in self.allowed_origin.split(",")}
        return "*" in allowed or self.origin.lower() in allowed


def for_route_status(status: int) -> Diagnosis:
    """An app route (host answering) gave ``status``."""
    if status == 404:
        return NO_FUNCTIONS
    if status == 401:
        return SIGN_IN_REQUIRED
    if status >= 500:
        return app_error(status)
    return UNEXPECTED


def for_preflight(preflight: Preflight) -> Diagnosis | None:
    """None when the check passes."""
    if preflight.ok:
        return None
    if preflight.status is None:
        return APP_UNREACHABLE
    if preflight.status == 404:
        return NO_FUNCTIONS
    if preflight.status in (401, 302):
        return HANDLER_SIGN_IN
    if preflight.status >= 500:
        return app_error(preflight.status)
    return origin_refused(preflight.origin)


def for_refused_upgrade(status: int, preflight: Preflight | None, handler_url: str) -> Diagnosis:
    """The service refused a client's WebSocket upgrade with ``status``.

    A failing abuse-protection check explains everything (the service delivers no event). Past
    it, 401/403 is the connect event refused for its signature or a token the service refuses;
    anything else means the service could not deliver the event to this app.
    """
    if preflight is not None:
        failed = for_preflight(preflight)
        if failed is not None:
            return failed
    if status in (401, 403):
        return KEY_REFUSED
    return handler_url_wrong(handler_url)
