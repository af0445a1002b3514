"""``local.settings.json``: read it (creating it from the sample if missing) and export its Values.

Precedence follows ``func start``: a variable that is already set to a non-empty value in the
environment wins, and the local setting is skipped with a warning naming the key (never the
value). A variable that is unset or empty takes the value from the file.

Only ``Values`` and ``Host.LocalHttpPort`` are used. ``ConnectionStrings`` and ``Host.CORS`` are
ignored by this dev host.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

SETTINGS_FILE = "local.settings.json"
SAMPLE_FILE = "local.settings.sample.json"


class SettingsError(ValueError):
    """``local.settings.json`` exists but cannot be used."""


@dataclass(frozen=True, kw_only=True)
class LocalSettings:
    """What this dev host takes from ``local.settings.json``."""

    values: Mapping[str, str] = field(default_factory=dict)
    local_http_port: int | None = None


def ensure_settings_file(path: Path, sample: Path) -> bool:
    """Copy ``sample`` to ``path`` when ``path`` is missing. Returns True if it copied."""
    if path.exists() or not sample.is_file():
        return False
    shutil.copyfile(sample, path)
    logger.info("Created %s from %s", path.name, sample.name)
    return True


def load_settings(path: Path) -> LocalSettings:
    """Parse ``local.settings.json``; a missing file gives empty settings.

    Raises:
        SettingsError: invalid JSON, encrypted values, or a Value that is an object or a list.
    """
    if not path.is_file():
        logger.warning("No %s found; starting without local settings", path)
        return LocalSettings()
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise SettingsError(f"{path}: expected a JSON object")
    if document.get("IsEncrypted") is True:
        raise SettingsError(f"{path}: encrypted settings are not supported; run 'func settings decrypt'")
    return LocalSettings(
        values=_parse_values(_section(document, "Values"), path),
        local_http_port=_parse_port(_section(document, "Host"), path),
    )


def apply_settings(values: Mapping[str, str], environ: MutableMapping[str, str]) -> list[str]:
    """Put ``values`` into ``environ`` without overriding non-empty variables.

    Returns:
        The keys that were skipped because the environment already set them.
    """
    skipped = []
    for key, value in values.items():
        if environ.get(key):
            logger.warning("Skipping '%s' from local settings as it is already set in the environment", key)
            skipped.append(key)
        else:
            environ[key] = value
    return skipped


def _section(document: dict[str, object], name: str) -> object:
    # A missing or null section is empty; any other non-object is an error for the parser.
    value = document.get(name)
    return {} if value is None else value


def _parse_values(raw: object, path: Path) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: 'Values' must be an object")
    values: dict[str, str] = {}
    for key, value in raw.items():
        if not key:
            logger.warning("Skipping a local setting with an empty key")
        elif isinstance(value, str):
            values[key] = value
        elif value is None:
            continue
        elif isinstance(value, bool | int | float):
            # Our choice: scalars become their JSON text ("true", "5"), so the app sees a string.
            values[key] = json.dumps(value)
        else:
            raise SettingsError(f"{path}: value of '{key}' must be a string")
    return values


def _parse_port(host: object, path: Path) -> int | None:
    port = host.get("LocalHttpPort") if isinstance(host, dict) else None
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).isdigit():
        raise SettingsError(f"{path}: Host.LocalHttpPort must be a port number")
    return int(port)
