"""The backend declaration (infra/main.parameters.json `backend`) against the Bicep and the app.

The project as committed passes; a second hub beside the sample passes; a backend without the
sample passes and provisions nothing of it; and each way the declaration, the Bicep and the
app's routes can disagree is caught. Mutations change the declaration as data and the Bicep by
its structure, never by a sample's names, so a fork's own backend is checked the same way.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from . import backend_checks as backend
from . import bicep_checks as checks
from .fixture_apps import FORK_FUNCTION_APP, app_with, poll_blueprint, poll_declaration


@pytest.fixture(scope="module")
def declaration(root: Path) -> dict[str, Any]:
    loaded = backend.load_declaration(root)
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def sample_app_routes(app_routes: dict[str, list[str]] | None) -> dict[str, list[str]]:
    if app_routes is None:
        pytest.skip("function_app.py cannot be imported here")
    return app_routes


def first_hub(declaration: dict[str, Any]) -> dict[str, Any]:
    return declaration["hubs"][0]


def assert_caught(problems: list[str], *fragments: str) -> None:
    assert problems, "the check did not notice the change"
    joined = "\n".join(problems)
    for fragment in fragments:
        assert fragment in joined, joined


# --- the project as committed -------------------------------------------------------------------


def test_committed_declaration_bicep_and_app_agree(root: Path, sample_app_routes) -> None:
    assert backend.check_backend(root, sample_app_routes) == []


def test_every_declared_hub_is_served_and_every_served_hub_declared(declaration, sample_app_routes) -> None:
    served = backend.wps_routes.served_hubs(sample_app_routes.items())
    assert {hub["name"] for hub in declaration["hubs"]} == set(served)
    for hub in declaration["hubs"]:
        assert set(hub["systemEvents"]) <= set(served[hub["name"]])


def test_azd_defaults_are_substituted_in_the_declaration(root: Path) -> None:
    raw = json.loads((root / "infra" / "main.parameters.json").read_text(encoding="utf-8"))
    text = json.dumps(raw["parameters"][backend.DECLARATION_PARAM])
    variables = checks.PARAM_REF.findall(text)
    assert variables, "the sample's settings are expected to be azd variables with defaults"
    resolved = json.dumps(backend.load_declaration(root))
    assert "${" not in resolved
    for _, _, default in variables:
        assert default in resolved


def test_settings_come_from_the_declaration_and_the_template_only(root: Path, declaration) -> None:
    produced = backend.provisioned_settings(root, declaration)
    template = backend.provisioned_settings(root, {"tables": [], "settings": {}})
    assert set(produced) - set(template) == set(backend.table_settings(declaration["tables"])) | set(
        declaration["settings"]
    )
    for table in declaration["tables"]:
        assert produced[table["setting"] + "__credential"] == "managedidentity"
        assert table["setting"] not in produced  # key-mode connection string: never in Azure


# --- N hubs: the sample and a second hub ---------------------------------------------------------


def test_a_second_hub_beside_the_sample_passes(project_copy: Path, declaration, sample_app_routes) -> None:
    from chat import blueprint as sample_blueprint

    both = copy.deepcopy(declaration)
    both["hubs"].append(poll_declaration())
    backend.write_declaration(project_copy, both)
    routes = checks.routes_of_app(app_with(sample_blueprint, poll_blueprint()))
    assert set(backend.wps_routes.served_hubs(routes.items())) == {first_hub(declaration)["name"], "poll"}
    assert backend.check_backend(project_copy, routes) == []


def test_a_second_hub_in_the_app_but_not_declared_is_caught(project_copy: Path, sample_app_routes) -> None:
    from chat import blueprint as sample_blueprint

    routes = checks.routes_of_app(app_with(sample_blueprint, poll_blueprint()))
    assert_caught(backend.check_backend(project_copy, routes), "serves hub 'poll'", "does not declare it")


def test_a_declared_hub_the_app_does_not_serve_is_caught(
    project_copy: Path, declaration, sample_app_routes
) -> None:
    more = copy.deepcopy(declaration)
    more["hubs"].append(poll_declaration())
    backend.write_declaration(project_copy, more)
    assert_caught(
        backend.check_backend(project_copy, sample_app_routes),
        "hub 'poll' is declared but the app has no route",
    )


# --- a backend without the sample ----------------------------------------------------------------------


def test_a_fork_without_the_sample_passes_and_provisions_nothing_of_it(
    project_copy: Path, declaration
) -> None:
    fork = {"hubs": [poll_declaration()], "tables": [], "settings": {}}
    backend.write_declaration(project_copy, fork)
    (project_copy / "function_app.py").write_text(FORK_FUNCTION_APP, encoding="utf-8")
    routes = checks.load_app_routes(project_copy)
    assert routes is not None and set(backend.wps_routes.served_hubs(routes.items())) == {"poll"}
    assert backend.check_backend(project_copy, routes) == []
    # nothing of the sample: none of its tables, settings or hubs
    sample_settings = set(declaration["settings"]) | set(backend.table_settings(declaration["tables"]))
    produced = backend.provisioned_settings(project_copy, backend.load_declaration(project_copy))
    assert not sample_settings & set(produced)
    assert backend.provisioned_tables(project_copy, backend.load_declaration(project_copy)) == []
    assert backend.provisioned_tables(project_copy, declaration) == [t["name"] for t in declaration["tables"]]


def test_a_fork_keeping_a_sample_table_it_no_longer_declares_is_caught(project_copy: Path) -> None:
    # A hard-coded table in the Bicep would be provisioned whatever the declaration says.
    storage = project_copy / "infra" / "app" / "storage.bicep"
    storage.write_text(
        storage.read_text(encoding="utf-8")
        + "\nresource leftover 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = {\n"
        "  parent: tableService\n  name: 'leftover'\n}\n",
        encoding="utf-8",
    )
    assert_caught(
        backend.check_table_wiring(project_copy), "table resource leftover is not one per declared table"
    )


# --- the declaration against the app's routes (data mutations) ------------------------------------------


def mutate(declaration: dict[str, Any], change) -> dict[str, Any]:
    changed = copy.deepcopy(declaration)
    change(changed)
    return changed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # the hub renamed away from what the app serves
        (
            lambda d: d["hubs"][0].update(name=d["hubs"][0]["name"] + "x"),
            "is declared but the app has no route",
        ),
        # a system event the app handles is no longer sent
        (
            lambda d: d["hubs"][0]["systemEvents"].remove(d["hubs"][0]["systemEvents"][-1]),
            "does not declare system event",
        ),
        # a page route the app does not register
        (lambda d: d.update(pageRoute="no-such-page"), "pageRoute 'no-such-page' is not a GET route"),
        # a list of user events that leaves out the ones the app handles
        (lambda d: d["hubs"][0].update(userEventPattern="nosuchevent"), "has no POST route"),
    ],
)
def test_declaration_disagreeing_with_the_app_is_caught(
    declaration, sample_app_routes, change, message
) -> None:
    assert backend.check_declaration_vs_routes(declaration, sample_app_routes) == []
    assert_caught(
        backend.check_declaration_vs_routes(mutate(declaration, change), sample_app_routes), message
    )


def test_declared_connect_without_a_handler_is_caught(declaration, sample_app_routes) -> None:
    hub = first_hub(declaration)["name"]
    routes = {route: methods for route, methods in sample_app_routes.items() if route != f"{hub}/connect"}
    assert_caught(
        backend.check_declaration_vs_routes(declaration, routes), "system event 'connect'", "every connection"
    )


def test_handler_for_an_event_not_sent_is_caught(declaration, sample_app_routes) -> None:
    only_some = mutate(
        declaration, lambda d: d["hubs"][0].update(userEventPattern=_one_user_event(d, sample_app_routes))
    )
    assert_caught(backend.check_declaration_vs_routes(only_some, sample_app_routes), "does not send it")


def _one_user_event(declaration: dict[str, Any], routes: dict[str, list[str]]) -> str:
    events = backend.wps_routes.served_hubs(routes.items())[declaration["hubs"][0]["name"]]
    return sorted(e for e in events if e not in backend.wps_routes.RESERVED_EVENTS)[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["hubs"][0].update(name="1bad-name"), "not a valid Web PubSub hub name"),
        (lambda d: d["hubs"].append(copy.deepcopy(d["hubs"][0])), "declared twice"),
        (lambda d: d["hubs"][0]["systemEvents"].append("joined"), "not Web PubSub system events"),
        (lambda d: d["hubs"][0].pop("userEventPattern"), "userEventPattern is missing"),
        (lambda d: d["hubs"][0].update(userEvents="*"), "unknown key 'userEvents'"),
        (lambda d: d.update(hub=[]), "unknown key 'hub'"),
        (lambda d: d["tables"].append({"name": "ab", "setting": "X"}), "not a valid Table Storage name"),
        (lambda d: d["tables"].append({"name": "other", "setting": "Bad__Prefix"}), "not a settings prefix"),
        (
            lambda d: d["settings"].update(WebPubSubAccessKeys="x"),
            "the template sets WebPubSubAccessKeys itself",
        ),
        (lambda d: d["settings"].update(FUNCTIONS_WORKER_RUNTIME="python"), "must not be set in Azure"),
        (
            lambda d: d["settings"].update({d["tables"][0]["setting"]: "UseDevelopmentStorage=true"}),
            "key-mode connection string",
        ),
        (lambda d: d["settings"].update(Count=3), "values are strings"),
    ],
)
def test_malformed_declaration_is_caught(root: Path, declaration, change, message) -> None:
    reserved = backend.core_settings(root)
    assert backend.check_declaration(declaration, reserved) == []
    assert_caught(backend.check_declaration(mutate(declaration, change), reserved), message)


# --- the Bicep reads the declaration (structural mutations) ------------------------------------------------


def main_bicep(copy_root: Path) -> Path:
    return copy_root / "infra" / "main.bicep"


def hub_module_block(text: str, gated: bool) -> tuple[int, int]:
    """Span of the hub module looping over the declaration (gated: the tunnel one)."""
    for match in re.finditer(
        r"^module \w+ '\./app/webpubsub-hub\.bicep' = \[for (\w+) in (.+?): \{$", text, re.M
    ):
        if ("?" in match.group(2)) == gated:
            end = text.index("\n}]\n", match.start())
            return match.start(), end
    raise AssertionError("hub module loop not found")


def edit_hub_module(copy_root: Path, gated: bool, old: str, new: str) -> None:
    path = main_bicep(copy_root)
    text = path.read_text(encoding="utf-8")
    start, end = hub_module_block(text, gated)
    block = text[start:end]
    assert old in block, (old, block)
    path.write_text(text[:start] + block.replace(old, new, 1) + text[end:], encoding="utf-8")


@pytest.mark.parametrize(
    ("gated", "old", "new", "message"),
    [
        (False, "/{event}'", "/{hub}'", "URL template"),  # {event} placeholder lost
        (False, "/${functionsRoutePrefix}/", "/", "URL template"),  # route prefix dropped
        (
            False,
            "https://${api.outputs.defaultHostName}",
            "https://${webPubSub.outputs.hostName}",
            "URL template",
        ),
        (True, "tunnel:///${functionsRoutePrefix}/", "tunnel:///", "URL template"),
        (False, "systemEvents: ", "systemEvents: [] // ", "passes systemEvents"),
        (False, "userEventPattern: ", "userEventPattern: '*' // ", "passes userEventPattern"),
        (False, "hubName: ", "hubName: 'fixed' // ", "passes hubName"),
    ],
)
def test_hub_module_not_following_the_declaration_is_caught(
    project_copy: Path, gated, old, new, message
) -> None:
    edit_hub_module(project_copy, gated, old, new)
    assert_caught(backend.check_hub_wiring(project_copy), message)


def test_hub_loop_over_something_else_is_caught(project_copy: Path) -> None:
    path = main_bicep(project_copy)
    text = path.read_text(encoding="utf-8")
    start, _ = hub_module_block(text, gated=False)
    line_end = text.index("\n", start)
    line = text[start:line_end]
    path.write_text(
        text[:start] + re.sub(r"in .+?: \{$", "in []: {", line) + text[line_end:], encoding="utf-8"
    )
    assert_caught(backend.check_hub_wiring(project_copy), "expected one hub module looping over backend.hubs")


def test_route_prefix_change_in_host_json_is_caught(project_copy: Path) -> None:
    host = project_copy / "host.json"
    data = json.loads(host.read_text(encoding="utf-8"))
    data.setdefault("extensions", {}).setdefault("http", {})["routePrefix"] = "backend"
    host.write_text(json.dumps(data), encoding="utf-8")
    assert_caught(
        backend.check_hub_wiring(project_copy),
        "expected 'https://${api.outputs.defaultHostName}/backend/${hub.name}/{event}'",
    )


def test_hub_module_ignoring_its_url_param_is_caught(project_copy: Path) -> None:
    hub = project_copy / "infra" / "app" / "webpubsub-hub.bicep"
    hub.write_text(
        hub.read_text(encoding="utf-8").replace(
            "urlTemplate: urlTemplate", "urlTemplate: 'https://example.com/{event}'"
        ),
        encoding="utf-8",
    )
    assert_caught(backend.check_hub_wiring(project_copy), "does not use the urlTemplate param")


def replace_module_param(copy_root: Path, module_file: str, param: str) -> None:
    """Give `param` of the module deploying `module_file` an empty value instead of its own."""
    path = main_bicep(copy_root)
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"^module \w+ '\./app/{re.escape(module_file)}'.*?^\}}\]?$", text, re.M | re.S)
    assert block is not None
    empty = "{}" if param == "backendSettings" else "[]"
    changed, n = re.subn(rf"^    {param}: .*$", f"    {param}: {empty}", block.group(0), count=1, flags=re.M)
    assert n == 1, (module_file, param)
    path.write_text(text[: block.start()] + changed + text[block.end() :], encoding="utf-8")


@pytest.mark.parametrize(
    ("module_file", "param", "message"),
    [
        ("storage.bicep", "tables", "module storage gets tables"),
        ("api.bicep", "tables", "module api gets tables"),
        ("api.bicep", "backendSettings", "module api gets backendSettings"),
        ("rbac.bicep", "tableNames", "the role assignments must wait for the tables"),
    ],
)
def test_table_and_settings_wiring_mistakes_are_caught(
    project_copy: Path, module_file, param, message
) -> None:
    replace_module_param(project_copy, module_file, param)
    assert_caught(backend.check_table_wiring(project_copy), message)


def test_table_role_not_per_declared_table_is_caught(project_copy: Path) -> None:
    rbac = project_copy / "infra" / "app" / "rbac.bicep"
    text = rbac.read_text(encoding="utf-8")
    new = re.sub(r"scope: (\w+)\[i\]", r"scope: storage", text, count=1)
    assert new != text
    rbac.write_text(new, encoding="utf-8")
    assert_caught(backend.check_table_wiring(project_copy), "does not grant the role per declared table")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # a derived identity setting dropped from api.bicep
        ("__clientId', ", "__client', ", "does not produce the declared setting"),
        # the key-mode credential instead of the identity
        ("table => 'managedidentity'", "table => 'connectionstring'", "__credential to 'connectionstring'"),
        # the declaration's settings dropped from the union
        (
            "union(backendSettings, tableSettings, {",
            "union(tableSettings, {",
            "does not produce the declared setting",
        ),
    ],
)
def test_settings_derivation_mistakes_are_caught(project_copy: Path, declaration, old, new, message) -> None:
    api = project_copy / "infra" / "app" / "api.bicep"
    text = api.read_text(encoding="utf-8")
    assert old in text, old
    api.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert_caught(backend.check_provisioned_settings(project_copy, declaration), message)


def test_validate_route_without_options_is_caught(declaration, sample_app_routes) -> None:
    hub = first_hub(declaration)["name"]
    routes = {**sample_app_routes, f"{hub}/validate": ["GET"]}
    assert_caught(
        backend.check_declaration_vs_routes(declaration, routes), f"no route {hub}/validate answering OPTIONS"
    )
