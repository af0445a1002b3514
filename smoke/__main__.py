"""``python -m smoke <function app base URL>`` (or ``scripts/smoke``): smoke-test a deployed app.

No Azure sign-in: it talks to the app and to Web PubSub as a browser would. Defaults come from
the azd environment's variables when set (``SERVICE_API_BASE_URL``, ``WEBPUBSUB_HUBS``,
``WEBPUBSUB_HOST``), so the azd postdeploy hook needs no options.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .runner import SmokeOptions, run_smoke
from .scenario import HOOK_FILE, find_scenarios

BASE_URL_VARIABLE = "SERVICE_API_BASE_URL"
HUBS_VARIABLE = "WEBPUBSUB_HUBS"  # comma list, an output of infra/main.bicep
HOST_VARIABLE = "WEBPUBSUB_HOST"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WAIT = 60.0
USAGE_ERROR = 2

EPILOG = f"""\
exit code: 0 when no step failed, 1 when one did, {USAGE_ERROR} for a usage error. The azd
postdeploy hook prints the result and never fails the deployment (see docs/deploy.md).
Scenarios: every <package>/{HOOK_FILE} next to function_app.py (see smoke/scenario.py)."""


def parse_args(argv: list[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/smoke",
        description="Smoke-test a deployed function app: its host, routes, abuse-protection check and "
        "each scenario (negotiate, connect through Web PubSub, ...), with a diagnosis for each failure.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "base_url",
        nargs="?",
        default=environ.get(BASE_URL_VARIABLE),
        help=f"the function app's base URL, https://<app>.azurewebsites.net (default ${BASE_URL_VARIABLE})",
    )
    parser.add_argument(
        "--hub",
        action="append",
        dest="hubs",
        metavar="NAME",
        help=f"hub whose abuse-protection check to run (repeatable; default ${HUBS_VARIABLE}; scenarios "
        "add the hubs they connect to)",
    )
    parser.add_argument(
        "--webpubsub-host",
        default=environ.get(HOST_VARIABLE) or None,
        metavar="HOST",
        help=f"the Web PubSub host, <name>.webpubsub.azure.com (default ${HOST_VARIABLE}, else the host "
        "of the first client URL a scenario gets)",
    )
    parser.add_argument(
        "--route-prefix", default=None, help="the app's route prefix (default: host.json's, else api)"
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=Path("."),
        help="where function_app.py and the scenarios are (default .)",
    )
    parser.add_argument("--no-scenarios", action="store_true", help="run only the template's checks")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for each answer (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        help=f"seconds to wait for a host that is still starting, 502/503 (default {DEFAULT_WAIT:g})",
    )
    args = parser.parse_args(argv)
    if not args.base_url:
        parser.error(f"give the function app's base URL (or set {BASE_URL_VARIABLE})")
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        parser.error(f"not an http(s) URL: {args.base_url}")
    if args.hubs is None:
        args.hubs = [hub.strip() for hub in environ.get(HUBS_VARIABLE, "").split(",") if hub.strip()]
    if args.timeout <= 0 or args.wait < 0:
        parser.error("--timeout must be above 0 and --wait at least 0")
    return args


def route_prefix_of(app_dir: Path) -> str:
    """host.json's ``extensions.http.routePrefix`` (what is deployed), read as the dev host does."""
    from devhost.functions.host_config import HostConfigError, read_route_prefix

    try:
        return read_route_prefix(app_dir, {})
    except HostConfigError as exc:
        print(f"warning: {exc}; assuming the route prefix 'api'", file=sys.stderr)
        return "api"


def options_from(args: argparse.Namespace) -> SmokeOptions:
    app_dir = args.app_dir.resolve()
    return SmokeOptions(
        base_url=args.base_url.rstrip("/"),
        hubs=tuple(args.hubs),
        service_host=args.webpubsub_host,
        route_prefix=args.route_prefix if args.route_prefix is not None else route_prefix_of(app_dir),
        timeout=args.timeout,
        wait=args.wait,
        scenarios=() if args.no_scenarios else find_scenarios(app_dir),
    )


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    options = options_from(parse_args(argv, environ))
    names = ", ".join(found.package for found in options.scenarios) or "none"
    print(f"Smoke test of {options.base_url} (scenarios: {names})", flush=True)
    report = asyncio.run(run_smoke(options, lambda line: print(line, flush=True)))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
