"""Who is asking for a token: the signed-in user, or (local dev only) a name from the query.

In Azure, App Service Authentication ("Easy Auth") signs users in and adds the
``X-MS-CLIENT-PRINCIPAL-*`` headers. Those headers are trusted **only** when the platform
says authentication is on (``WEBSITE_AUTH_ENABLED=True``); without it anybody could send
them. ``ChatAllowQueryUserName=true`` (set in ``local.settings.sample.json``, never in
Azure) lets a visitor pick a display name instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .config import USER_NAME, allow_query_user_name

PRINCIPAL_NAME_HEADER = "x-ms-client-principal-name"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"


class NotAuthenticated(Exception):
    """No identity could be established for this request."""


class InvalidUserName(ValueError):
    """The requested display name does not match ``USER_NAME``."""


def platform_auth_enabled() -> bool:
    return os.environ.get(AUTH_ENABLED_SETTING, "").strip().lower() == "true"


def resolve_user(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """Return the user id for a token request.

    Raises:
        NotAuthenticated: no trusted principal and the dev setting is off.
        InvalidUserName: the dev-mode name is not acceptable.
    """
    if platform_auth_enabled():
        principal = headers.get(PRINCIPAL_NAME_HEADER) or headers.get(PRINCIPAL_ID_HEADER)
        if principal:
            return principal
    if allow_query_user_name():
        name = (query.get("name") or "").strip()
        if not USER_NAME.match(name):
            raise InvalidUserName("name must be 1-64 letters, digits, spaces or _.@-")
        return name
    raise NotAuthenticated()
