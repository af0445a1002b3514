"""Offline checks of the backend declaration: what the app serves, declared once for `azd up`.

infra/main.parameters.json holds one object parameter, ``backend``::

    {"hubs": [{"name": "chat", "systemEvents": ["connect", ...], "userEventPattern": "*"}],
     "pageRoute": "index",
     "tables": [{"name": "chathistory", "setting": "ChatStorage", "nameSetting": "ChatHistoryTable"}],
     "settings": {"ChatAllowGuests": "${CHAT_ALLOW_GUESTS=true}"}}

main.bicep loops over ``hubs`` (a hub per entry, and a tunnel hub per entry when the dev resource
is on), storage.bicep creates each table, rbac.bicep grants the app Storage Table Data
Contributor on each one, and api.bicep derives each table's identity-mode settings and merges
``settings`` under its own. The checks here hold the three sides together:

* the declaration is well formed (names Web PubSub and Table Storage accept, known keys only,
  no setting that the template sets itself or forbids);
* the Bicep reads the declaration and nothing else for hubs, tables and sample settings (the
  loops, their parameters, the hub URL template ``https://<app>/<routePrefix>/<hub>/{event}``);
* the declaration and the app's registered routes agree: every declared hub is served, every
  event the service will send (each declared system event, each listed user event) has a
  route, every ``<hub>/<event>`` route of the app belongs to a declared hub and is an event the
  service sends; the page route exists.

Routes come from the app itself (``func.FunctionApp.get_functions()``): a hub is a
``<hub>/validate`` route that answers ``OPTIONS``, which ``shared.WebPubSubHub`` registers first,
and its events are its other ``<hub>/<event>`` routes (``shared/routes.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared import routes as wps_routes

from .bicep_checks import (
    FORBIDDEN_APP_SETTINGS,
    PARAM_REF,
    body,
    is_conditional,
    module_path,
    parse,
    resolve_interpolation,
    route_prefix,
    var_literals,
    walk,
)

DECLARATION_PARAM = "backend"
KEYS = {"hubs", "pageRoute", "tables", "settings"}
HUB_KEYS = {"name", "systemEvents", "userEventPattern"}
TABLE_KEYS = {"name", "setting", "nameSetting"}
# Web PubSub: "should start with alphabetic characters and only contain alpha-numeric
# characters or underscore" (REST API, hub parameter).
HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
# Table Storage: 3-63 alphanumeric characters, not starting with a digit.
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PAGE_ROUTE = re.compile(r"^[A-Za-z0-9_.\-][A-Za-z0-9_.\-/]*$")
SYSTEM_EVENTS = tuple(sorted(wps_routes.SYSTEM_EVENTS))
# The identity-mode settings each declared table gets (api.bicep), after its `setting` prefix.
TABLE_SETTING_SUFFIXES = ("__tableServiceUri", "__credential", "__clientId")


def _read_parameters(root: Path) -> dict[str, Any]:
    path = root / "infra" / "main.parameters.json"
    return json.loads(path.read_text(encoding="utf-8")).get("parameters", {})


def resolve_defaults(value: Any) -> Any:
    """The value as azd would pass it with no azd variables set: ``${VAR=default}`` -> default."""
    if isinstance(value, str):
        return PARAM_REF.sub(lambda m: m.group(3) or "", value)
    if isinstance(value, list):
        return [resolve_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: resolve_defaults(v) for k, v in value.items()}
    return value


def load_declaration(root: Path) -> dict[str, Any] | None:
    """The ``backend`` parameter's value with azd defaults substituted, or None if absent."""
    entry = _read_parameters(root).get(DECLARATION_PARAM)
    if not isinstance(entry, dict) or not isinstance(entry.get("value"), dict):
        return None
    return resolve_defaults(entry["value"])


def write_declaration(root: Path, declaration: Mapping[str, Any]) -> None:
    """Replace the declaration in a project copy (tests build other backends with it)."""
    path = root / "infra" / "main.parameters.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["parameters"][DECLARATION_PARAM] = {"value": declaration}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# --- the declaration on its own ------------------------------------------------------------------


def _event_names(pattern: str) -> list[str] | None:
    """The user events a pattern lists; None for ``*`` (every user event)."""
    if pattern.strip() == "*":
        return None
    return [name.strip() for name in pattern.split(",") if name.strip()]


def core_settings(root: Path) -> set[str]:
    """App settings the template itself sets (api.bicep's literal settings)."""
    from .bicep_checks import app_settings

    return set(app_settings(root))


def check_declaration(declaration: Any, reserved: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The declaration is well formed; ``reserved`` are settings the template sets itself."""
    if not isinstance(declaration, dict):
        return [f"main.parameters.json: {DECLARATION_PARAM} is not an object"]
    problems = [f"{DECLARATION_PARAM}: unknown key {k!r}" for k in sorted(set(declaration) - KEYS)]
    hubs = declaration.get("hubs")
    if not isinstance(hubs, list):
        return problems + [f"{DECLARATION_PARAM}.hubs must be a list"]
    seen: set[str] = set()
    for i, hub in enumerate(hubs):
        where = f"{DECLARATION_PARAM}.hubs[{i}]"
        if not isinstance(hub, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in sorted(set(hub) - HUB_KEYS)]
        problems += [f"{where}: {k} is missing" for k in sorted(HUB_KEYS - set(hub))]
        name = hub.get("name")
        if not isinstance(name, str) or not HUB_NAME.match(name):
            problems.append(f"{where}: hub name {name!r} is not a valid Web PubSub hub name")
        elif name.lower() in seen:
            problems.append(f"{where}: hub {name!r} is declared twice")
        else:
            seen.add(name.lower())
        events = hub.get("systemEvents")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            problems.append(f"{where}: systemEvents must be a list of names")
        else:
            unknown = sorted(set(events) - set(SYSTEM_EVENTS))
            if unknown:
                problems.append(
                    f"{where}: systemEvents {unknown} are not Web PubSub system events {SYSTEM_EVENTS}"
                )
            if len(set(events)) != len(events):
                problems.append(f"{where}: systemEvents lists an event twice")
        pattern = hub.get("userEventPattern")
        if not isinstance(pattern, str):
            problems.append(f"{where}: userEventPattern must be a string ('*', 'a,b' or '')")
        else:
            for event in _event_names(pattern) or []:
                try:
                    wps_routes.check_user_event_name(event)
                except ValueError as exc:
                    problems.append(f"{where}: userEventPattern: {exc}")
    page = declaration.get("pageRoute", "")
    if page != "" and (not isinstance(page, str) or not PAGE_ROUTE.match(page)):
        problems.append(f"{DECLARATION_PARAM}.pageRoute {page!r} is not a route below the route prefix")
    problems += _check_tables(declaration.get("tables", []))
    settings = declaration.get("settings", {})
    if not isinstance(settings, dict):
        return problems + [f"{DECLARATION_PARAM}.settings must be an object of strings"]
    derived = set(
        table_settings(declaration.get("tables", []))
        if not _check_tables(declaration.get("tables", []))
        else ()
    )
    table_prefixes = {t.get("setting") for t in declaration.get("tables", []) if isinstance(t, dict)}
    for key, value in settings.items():
        where = f"{DECLARATION_PARAM}.settings.{key}"
        if not SETTING_NAME.match(key):
            problems.append(f"{where}: not a valid app setting name")
        if not isinstance(value, str):
            problems.append(f"{where}: values are strings (azd substitutes ${{VAR=default}} in them)")
        if key in reserved:
            problems.append(f"{where}: the template sets {key} itself (api.bicep); the declaration may not")
        if key in FORBIDDEN_APP_SETTINGS or key in table_prefixes:
            problems.append(
                f"{where}: {key} must not be set in Azure"
                " (Flex Consumption / a secret / a table's key-mode connection string)"
            )
        if key in derived:
            problems.append(f"{where}: {key} is derived from a declared table already")
    for key in sorted(derived & reserved):
        problems.append(
            f"{DECLARATION_PARAM}.tables: the derived setting {key} is one the template sets itself"
        )
    return problems


def _check_tables(tables: Any) -> list[str]:
    if not isinstance(tables, list):
        return [f"{DECLARATION_PARAM}.tables must be a list"]
    problems = []
    names: set[str] = set()
    settings: set[str] = set()
    for i, table in enumerate(tables):
        where = f"{DECLARATION_PARAM}.tables[{i}]"
        if not isinstance(table, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in sorted(set(table) - TABLE_KEYS)]
        name, setting = table.get("name"), table.get("setting")
        if not isinstance(name, str) or not TABLE_NAME.match(name):
            problems.append(f"{where}: table name {name!r} is not a valid Table Storage name")
        elif name.lower() in names:
            problems.append(f"{where}: table {name!r} is declared twice")
        else:
            names.add(name.lower())
        if not isinstance(setting, str) or not SETTING_NAME.match(setting) or "__" in setting:
            problems.append(
                f"{where}: setting {setting!r} is not a settings prefix (letters, digits, '_', no '__')"
            )
        elif setting in settings:
            problems.append(f"{where}: settings prefix {setting!r} is used twice")
        else:
            settings.add(setting)
        name_setting = table.get("nameSetting")
        if name_setting is not None and (
            not isinstance(name_setting, str) or not SETTING_NAME.match(name_setting)
        ):
            problems.append(f"{where}: nameSetting {name_setting!r} is not a valid app setting name")
    return problems


def table_settings(tables: list[dict[str, Any]]) -> dict[str, str]:
    """What each declared table should add to the app settings (names, and what the value is)."""
    out: dict[str, str] = {}
    for table in tables:
        out[table["setting"] + "__tableServiceUri"] = "<storage table endpoint>"
        out[table["setting"] + "__credential"] = "managedidentity"
        out[table["setting"] + "__clientId"] = "<app identity client id>"
        if table.get("nameSetting"):
            out[table["nameSetting"]] = table["name"]
    return out


# --- the app's routes -------------------------------------------------------------------------------


def check_declaration_vs_routes(declaration: Mapping[str, Any], routes: Mapping[str, list[str]]) -> list[str]:
    """The declared hubs and the app's routes describe the same backend."""
    problems = []
    served = wps_routes.served_hubs(routes.items())
    declared = {
        hub["name"]: hub for hub in declaration.get("hubs", []) if isinstance(hub, dict) and "name" in hub
    }
    for hub in sorted(set(served) - set(declared)):
        problems.append(
            f"the app serves hub {hub!r} (routes {sorted(f'{hub}/{e}' for e in served[hub])}) "
            f"but {DECLARATION_PARAM}.hubs does not declare it: Web PubSub would never call them"
        )
    for name, hub in declared.items():
        if name not in served:
            problems.append(
                f"hub {name!r} is declared but the app has no route {name}/validate answering OPTIONS"
                " (function_app.py does not register it)"
            )
            continue
        events = served[name]
        system = set(hub.get("systemEvents") or [])
        for event in sorted(system):
            if event not in events:
                problems.append(
                    f"hub {name!r} declares system event {event!r} but the app has no POST route "
                    f"{name}/{event}: every such event would fail"
                    + (" (and with it every connection)" if event == "connect" else "")
                )
        for event in sorted(set(events) & set(SYSTEM_EVENTS) - system):
            problems.append(
                f"the app handles {name}/{event} but hub {name!r} does not declare system event {event!r}:"
                " the handler would never run"
            )
        listed = _event_names(str(hub.get("userEventPattern", "")))
        user_routes = {e for e in events if e not in wps_routes.RESERVED_EVENTS}
        if listed is not None:
            for event in listed:
                if event not in events:
                    problems.append(
                        f"hub {name!r} lists user event {event!r} but the app has no POST route"
                        f" {name}/{event}"
                    )
            for event in sorted(user_routes - set(listed)):
                problems.append(
                    f"the app handles {name}/{event} but hub {name!r}'s userEventPattern "
                    f"{hub.get('userEventPattern')!r} does not send it"
                )
    page = declaration.get("pageRoute") or ""
    if page and "GET" not in {m.upper() for m in routes.get(page, [])}:
        problems.append(f"{DECLARATION_PARAM}.pageRoute {page!r} is not a GET route of the app")
    return problems


# --- the Bicep reads the declaration ------------------------------------------------------------------


def _path(node: Any) -> tuple[str, ...] | None:
    """``a.b.c`` as ('a', 'b', 'c'); None for anything else."""
    if isinstance(node, str):
        return (node,)
    op = node.get("operator", {}) if isinstance(node, dict) else {}
    if op.get("type") != "property_accessor":
        return None
    left, right = _path(op["operands"]["operand_1"]), _path(op["operands"]["operand_2"])
    return left + right if left is not None and right is not None else None


def _loop(decl: dict[str, Any]) -> tuple[str, Any] | None:
    """(item variable, iterated expression) of a ``[for x in ...]`` declaration."""
    loop = (decl.get("config") or {}).get("loop_type")
    if not isinstance(loop, dict):
        return None
    detail = loop.get("detail") or {}
    return detail.get("item_name"), detail.get("array_name")


def _modules_of(root: Path, target_name: str) -> dict[str, dict[str, Any]]:
    main = root / "infra" / "main.bicep"
    return {
        name: decl
        for name, decl in parse(main).get("modules", {}).items()
        if module_path(root, main, decl).name == target_name
    }


def _hub_url(prefix: str, item: str, https: bool) -> str:
    path = (f"/{prefix}" if prefix else "") + f"/${{{item}.name}}/{{event}}"
    return f"https://${{api.outputs.defaultHostName}}{path}" if https else f"tunnel://{path}"


def check_hub_wiring(root: Path) -> list[str]:
    """main.bicep deploys one hub per declared hub (and one tunnel hub per declared hub behind
    devWebPubSubEnabled), each with the declared events and the app's route as handler URL."""
    main = root / "infra" / "main.bicep"
    tree = parse(main)
    problems = []
    param = tree.get("parameters", {}).get(DECLARATION_PARAM)
    if param is None:
        return [f"main.bicep has no {DECLARATION_PARAM} parameter"]
    if param.get("type") != "object" or param.get("default") is not None:
        problems.append(f"main.bicep: {DECLARATION_PARAM} must be a required object parameter")
    if DECLARATION_PARAM not in _read_parameters(root):
        problems.append(f"main.parameters.json does not declare {DECLARATION_PARAM}")
    problems += _check_hub_module_file(root)
    prefix = route_prefix(root)
    literals = var_literals(tree)
    cloud, tunnel = [], []
    for name, decl in _modules_of(root, "webpubsub-hub.bicep").items():
        loop = _loop(decl)
        if loop is None:
            problems.append(f"main.bicep: hub module {name} is not a loop over {DECLARATION_PARAM}.hubs")
            continue
        item, source = loop
        params = body(decl).get("params") or {}
        url = params.get("urlTemplate", "")
        url = resolve_interpolation(url, literals) if isinstance(url, str) else url
        if _path(source) == (DECLARATION_PARAM, "hubs"):
            cloud.append(name)
            expected = _hub_url(prefix, item, https=True)
        elif _is_gated_hubs(source):
            tunnel.append(name)
            expected = _hub_url(prefix, item, https=False)
        else:
            problems.append(
                f"main.bicep: hub module {name} loops over {source!r}, not {DECLARATION_PARAM}.hubs"
            )
            continue
        if url != expected:
            problems.append(f"main.bicep: hub module {name}: URL template {url!r}, expected {expected!r}")
        for param_name, field in (
            ("hubName", "name"),
            ("systemEvents", "systemEvents"),
            ("userEventPattern", "userEventPattern"),
        ):
            if _path(params.get(param_name)) != (item, field):
                problems.append(
                    f"main.bicep: hub module {name} passes {param_name}={params.get(param_name)!r},"
                    f" expected {item}.{field}"
                )
        if is_conditional(decl):
            problems.append(f"main.bicep: hub module {name} has a condition; the loop's list decides")
    if len(cloud) != 1:
        problems.append(
            f"main.bicep: expected one hub module looping over {DECLARATION_PARAM}.hubs, found {cloud}"
        )
    if len(tunnel) > 1:
        problems.append(f"main.bicep: more than one tunnel hub module: {tunnel}")
    return problems


def _is_gated_hubs(source: Any) -> bool:
    """``(devWebPubSubEnabled ? backend.hubs : [])``."""
    op = source.get("operator", {}) if isinstance(source, dict) else {}
    if op.get("type") != "conditional":
        return False
    operands = op["operands"]
    return (
        _path(operands.get("true_value")) == (DECLARATION_PARAM, "hubs") and operands.get("false_value") == []
    )


def _check_hub_module_file(root: Path) -> list[str]:
    """The hub module wires its params into the hub resource's one event handler."""
    path = root / "infra" / "app" / "webpubsub-hub.bicep"
    if not path.is_file():
        return ["infra/app/webpubsub-hub.bicep is missing"]
    hubs = [
        body(d)
        for d in parse(path).get("resources", {}).values()
        if d.get("type") == "Microsoft.SignalRService/webPubSub/hubs"
    ]
    if len(hubs) != 1:
        return [f"webpubsub-hub.bicep declares {len(hubs)} hub resources, expected 1"]
    hub = hubs[0]
    handlers = (hub.get("properties") or {}).get("eventHandlers") or []
    problems = []
    if hub.get("name") != "hubName":
        problems.append("webpubsub-hub.bicep: the hub resource's name is not the hubName param")
    if len(handlers) != 1 or handlers[0].get("urlTemplate") != "urlTemplate":
        problems.append("webpubsub-hub.bicep: the hub's event handler does not use the urlTemplate param")
    elif (
        handlers[0].get("systemEvents") != "systemEvents"
        or handlers[0].get("userEventPattern") != "userEventPattern"
    ):
        problems.append(
            "webpubsub-hub.bicep: the event handler does not use the systemEvents/userEventPattern params"
        )
    return problems


TABLE_TYPE = "Microsoft.Storage/storageAccounts/tableServices/tables"


def check_table_wiring(root: Path) -> list[str]:
    """Tables and their settings come from the declaration only: storage.bicep creates one per
    declared table, rbac.bicep scopes the role to each, api.bicep derives their settings."""
    problems = []
    storage = _modules_of(root, "storage.bicep")
    api = _modules_of(root, "api.bicep")
    rbac = _modules_of(root, "rbac.bicep")
    if len(storage) != 1 or len(api) != 1 or len(rbac) != 1:
        return [
            "main.bicep: expected one storage, api and rbac module;"
            f" found {list(storage)}, {list(api)}, {list(rbac)}"
        ]
    (storage_name, storage_decl), (api_name, api_decl), (_, rbac_decl) = (
        next(iter(storage.items())), next(iter(api.items())), next(iter(rbac.items()))
    )  # fmt: skip
    wanted = {
        (storage_name, "tables"): (DECLARATION_PARAM, "tables"),
        (api_name, "tables"): (DECLARATION_PARAM, "tables"),
        (api_name, "backendSettings"): (DECLARATION_PARAM, "settings"),
    }
    decls = {storage_name: storage_decl, api_name: api_decl}
    for (module, param), source in wanted.items():
        passed = (body(decls[module]).get("params") or {}).get(param)
        if _path(passed) != source:
            problems.append(
                f"main.bicep: module {module} gets {param}={passed!r}, expected {'.'.join(source)}"
            )
    passed = (body(rbac_decl).get("params") or {}).get("tableNames")
    if _path(passed) != (storage_name, "outputs", "tableNames"):
        problems.append(
            f"main.bicep: module rbac gets tableNames={passed!r}, expected {storage_name}.outputs.tableNames"
            " (the role assignments must wait for the tables)"
        )
    # storage.bicep: the only table resources loop over its `tables` param, named table.name
    storage_file = root / "infra" / "app" / "storage.bicep"
    tree = parse(storage_file)
    for name, decl in tree.get("resources", {}).items():
        if decl.get("type") != TABLE_TYPE or decl.get("existing"):
            continue
        loop = _loop(decl)
        if (
            loop is None
            or _path(loop[1]) != ("tables",)
            or _path(body(decl).get("name")) != (loop[0], "name")
        ):
            problems.append(
                f"storage.bicep: table resource {name} is not one per declared table"
                " (a loop over tables, named <item>.name)"
            )
    out = tree.get("outputs", {}).get("tableNames")
    if out is None:
        problems.append("storage.bicep: no tableNames output (rbac.bicep needs it to wait for the tables)")
    # any other Bicep file creating a table is a table nobody declared
    for path in sorted((root / "infra").rglob("*.bicep")):
        if path == storage_file:
            continue
        for name, decl in parse(path).get("resources", {}).items():
            if decl.get("type") == TABLE_TYPE and not decl.get("existing"):
                problems.append(
                    f"{path.relative_to(root)}: creates table {name}, which no declaration asks for"
                )
    problems += _check_table_roles(root)
    return problems


def _check_table_roles(root: Path) -> list[str]:
    rbac = root / "infra" / "app" / "rbac.bicep"
    tree = parse(rbac)
    resources = tree.get("resources", {})
    tables = {
        name: decl
        for name, decl in resources.items()
        if decl.get("type") == TABLE_TYPE
        and decl.get("existing")
        and _loop(decl)
        and _path(_loop(decl)[1]) == ("tableNames",)
    }
    role_id = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"  # Storage Table Data Contributor
    literals = {k: v.get("value") for k, v in tree.get("variables", {}).items()}
    for name, decl in resources.items():
        if decl.get("type") != "Microsoft.Authorization/roleAssignments":
            continue
        role_nodes = [
            literals.get(n, n)
            for n in walk((body(decl).get("properties") or {}).get("roleDefinitionId"))
            if isinstance(n, str)
        ]
        if role_id not in role_nodes:
            continue
        loop = _loop(decl)
        scope = body(decl).get("scope")
        index = scope.get("operator", {}) if isinstance(scope, dict) else {}
        if (
            loop is not None
            and _path(loop[1]) == ("tableNames",)
            and index.get("type") == "index_accessor"
            and index["operands"].get("operand_1") in tables
        ):
            return []
        return [f"rbac.bicep: {name} does not grant the role per declared table, scoped to that table"]
    return ["rbac.bicep: no role assignment grants Storage Table Data Contributor per declared table"]


# --- what gets provisioned ----------------------------------------------------------------------------


class _Unknown(Exception):
    pass


def _eval(node: Any, env: Mapping[str, Any]) -> Any:
    """Enough of Bicep to evaluate api.bicep's table settings for a given declaration."""
    if node is None or isinstance(node, (bool, int, list)):
        return node
    if isinstance(node, str):
        if node in env:
            return env[node]
        return re.sub(r"\$\{([^}]*)\}", lambda m: str(_eval(_parse_ref(m.group(1)), env)), node)
    if "function" in node:
        fn = node["function"]
        kind, args = fn.get("type"), list((fn.get("parameters") or {}).values())
        if kind == "union":
            out: dict[str, Any] = {}
            for arg in args:
                out.update(_eval(arg, env))
            return out
        if kind == "toObject":
            items, key, value = _eval(args[0], env), args[1], args[2]
            return {_lambda(key, env, item): _lambda(value, env, item) for item in items}
        if kind == "filter":
            items = _eval(args[0], env)
            return [item for item in items if _lambda(args[1], env, item)]
        if kind == "empty":
            return len(_eval(args[0], env) or "") == 0
        raise _Unknown(kind)
    if node.get("type") == "lambda_expression":
        raise _Unknown("bare lambda")
    op = node.get("operator", {})
    kind, operands = op.get("type"), op.get("operands", {})
    if kind == "not":
        return not _eval(operands["bool_value"], env)
    if kind == "property_accessor":
        base = _eval(operands["operand_1"], env)
        field = operands["operand_2"]
        if isinstance(field, dict) and field.get("operator", {}).get("type") == "coalesce":
            # pycep reads `x.?a ?? d` as `x.(a ?? d)`: a safe access with a default
            inner = field["operator"]["operands"]
            return (
                base.get(inner["operand_1"], inner["operand_2"])
                if isinstance(base, dict)
                else inner["operand_2"]
            )
        if isinstance(base, dict) and isinstance(field, str):
            return base.get(field)
        raise _Unknown(f"property {field!r}")
    raise _Unknown(str(kind))


def _lambda(node: dict[str, Any], env: Mapping[str, Any], item: Any) -> Any:
    detail = node["detail"]
    return _eval(detail["expression"], {**env, detail["var_1"]: item})


def _parse_ref(text: str) -> Any:
    parts = text.strip().split(".")
    node: Any = parts[0]
    for part in parts[1:]:
        node = {"operator": {"type": "property_accessor", "operands": {"operand_1": node, "operand_2": part}}}
    return node


def provisioned_settings(root: Path, declaration: Mapping[str, Any]) -> dict[str, Any]:
    """The app settings api.bicep produces for this declaration (values of template settings as
    their Bicep expressions): its settings expression evaluated with the declaration's tables and
    settings in place of the module parameters main.bicep passes."""
    api = root / "infra" / "app" / "api.bicep"
    tree = parse(api)
    config = next(
        body(d)
        for d in tree["resources"].values()
        if d.get("type") == "Microsoft.Web/sites/config" and body(d).get("name") == "appsettings"
    )
    env: dict[str, Any] = {
        "tables": list(declaration.get("tables", [])),
        "backendSettings": dict(declaration.get("settings", {})),
        "storageTableEndpoint": "<storage table endpoint>",
        "identityClientId": "<app identity client id>",
        "entraSettings": {},
    }
    for name, var in tree.get("variables", {}).items():
        try:
            env[name] = _eval(var.get("value"), env)
        except (_Unknown, KeyError, TypeError, AttributeError):
            continue
    expression = config.get("properties")
    fn = expression.get("function", {}) if isinstance(expression, dict) else {}
    if fn.get("type") != "union":
        return dict(expression) if isinstance(expression, dict) else {}
    out: dict[str, Any] = {}
    for arg in (fn.get("parameters") or {}).values():
        value = (
            env.get(arg)
            if isinstance(arg, str)
            else (arg if "function" not in arg and "operator" not in arg else _eval(arg, env))
        )
        if isinstance(value, dict):
            out.update(value)
    return out


def provisioned_tables(root: Path, declaration: Mapping[str, Any]) -> list[str]:
    """Tables storage.bicep creates for this declaration (checked to loop over `tables`)."""
    return [t["name"] for t in declaration.get("tables", [])] if not check_table_wiring(root) else []


def check_provisioned_settings(root: Path, declaration: Mapping[str, Any]) -> list[str]:
    """The settings api.bicep produces are the template's own plus exactly what the declaration
    asks for, and no declared setting is overridden."""
    problems = []
    produced = provisioned_settings(root, declaration)
    expected = {
        **table_settings(list(declaration.get("tables", []))),
        **dict(declaration.get("settings", {})),
    }
    for key, value in expected.items():
        if key not in produced:
            problems.append(f"api.bicep does not produce the declared setting {key}")
        elif key.endswith("__credential") and produced[key] != value:
            problems.append(f"api.bicep sets {key} to {produced[key]!r}, expected {value!r}")
        elif not key.endswith(TABLE_SETTING_SUFFIXES) and produced[key] != value:
            problems.append(
                f"api.bicep sets {key} to {produced[key]!r}, expected {value!r} (the declaration's)"
            )
    template = set(provisioned_settings(root, {"tables": [], "settings": {}}))
    for key in sorted(set(produced) - template - set(expected)):
        problems.append(f"api.bicep produces {key}, which neither the template nor the declaration asks for")
    return problems


def check_backend(root: Path, routes: Mapping[str, list[str]] | None) -> list[str]:
    """Everything above, for the project at ``root`` (routes: its app's, or None to skip them)."""
    declaration = load_declaration(root)
    if declaration is None:
        return [f"infra/main.parameters.json has no {DECLARATION_PARAM} object parameter"]
    problems = check_declaration(declaration, core_settings(root))
    if problems:
        return problems
    problems += check_hub_wiring(root)
    problems += check_table_wiring(root)
    problems += check_provisioned_settings(root, declaration)
    if routes is not None:
        problems += check_declaration_vs_routes(declaration, routes)
    return problems
