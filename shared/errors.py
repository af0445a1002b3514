"""The exception tree of the event-handler core.

Every error carries the HTTP status it maps to and a short public ``reason``
that is safe to send back to the caller: it never contains keys, tokens,
claims or header values. The adapter catches ``WebPubSubError`` once and
answers with ``status`` and ``reason``; no lookup table is needed.

    WebPubSubError              base, never raised itself
    ├── InvalidRequest (400)    MissingHeader, InvalidHeader, InvalidBody, UnknownHub,
    │                           EventMismatch, PayloadTooLarge (413),
    │                           UnsupportedMediaType (415)
    ├── Unauthenticated (401)   InvalidSignature, NoKeyConfigured, InvalidToken
    ├── Forbidden (403)         OriginNotAllowed
    └── HandlerError (500)      StateTooLarge (a handler returned an oversized state)
"""

from __future__ import annotations


class WebPubSubError(Exception):
    """Base class: ``status`` is the HTTP status, ``reason`` the public text."""

    status: int = 500
    default_reason: str = "internal error"

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.default_reason
        super().__init__(self.reason)


class InvalidRequest(WebPubSubError):
    status = 400
    default_reason = "bad request"


class MissingHeader(InvalidRequest):
    def __init__(self, name: str) -> None:
        super().__init__(f"missing header {name}")


class InvalidHeader(InvalidRequest):
    def __init__(self, name: str, why: str = "malformed") -> None:
        super().__init__(f"invalid header {name}: {why}")


class InvalidBody(InvalidRequest):
    default_reason = "invalid body"


class UnknownHub(InvalidRequest):
    default_reason = "unknown hub"


class EventMismatch(InvalidRequest):
    default_reason = "event does not match this endpoint"


class PayloadTooLarge(InvalidRequest):
    status = 413
    default_reason = "payload too large"


class UnsupportedMediaType(InvalidRequest):
    status = 415
    default_reason = "unsupported content type"


class MethodNotAllowed(InvalidRequest):
    status = 405
    default_reason = "method not allowed"


class Unauthenticated(WebPubSubError):
    status = 401
    default_reason = "unauthenticated"


class InvalidSignature(Unauthenticated):
    default_reason = "signature validation failed"


class NoKeyConfigured(Unauthenticated):
    default_reason = "no upstream authentication configured"


class InvalidToken(Unauthenticated):
    default_reason = "bearer token validation failed"


class Forbidden(WebPubSubError):
    status = 403
    default_reason = "forbidden"


class OriginNotAllowed(Forbidden):
    default_reason = "origin not allowed"


class HandlerError(WebPubSubError):
    """The application's handler misused the API (a bug on our side, not the caller's)."""

    status = 500


class StateTooLarge(HandlerError):
    default_reason = "connection state too large"
