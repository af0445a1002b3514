"""The azd project as committed passes every offline check (see bicep_checks.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pycep import BicepParser

from . import bicep_checks as checks
from . import signin_checks as signin


def test_parse_tree_shape_matches_what_the_checks_assume(tmp_path: Path) -> None:
    # pycep's output, as printed while writing the checks: identifiers and literals are both
    # str, interpolations stay raw, a conditional body is wrapped in {"condition", "config"}.
    source = tmp_path / "shape.bicep"
    source.write_text(
        "param p string = 'x'\n"
        "var v = 'y'\n"
        "resource r 'Microsoft.Web/sites@2024-04-01' = if (!empty(p)) {\n"
        "  name: '${v}-site'\n"
        "  location: p\n"
        "}\n"
        "output o string = r.listKeys().k\n",
        encoding="utf-8",
    )
    tree = BicepParser().parse(file_path=source)
    assert tree["parameters"]["p"]["default"] == "x"
    assert tree["variables"]["v"]["value"] == "y"
    resource = tree["resources"]["r"]
    assert (resource["type"], resource["api_version"]) == ("Microsoft.Web/sites", "2024-04-01")
    assert checks.is_conditional(resource)
    assert checks.body(resource) == {"name": "${v}-site", "location": "p"}
    accessor = tree["outputs"]["o"]["value"]["operator"]["operands"]["operand_1"]["operator"]
    assert accessor == {"type": "function_accessor", "operands": {"operand_1": "r", "func_name": "listKeys"}}


def test_every_bicep_file_parses(root: Path) -> None:
    files = checks.bicep_files(root)
    assert len(files) >= 8, files
    assert checks.check_syntax(root) == []


def test_every_referenced_symbol_module_param_and_output_exists(root: Path) -> None:
    assert checks.check_symbols(root) == []


def test_resource_types_and_api_versions_are_allow_listed(root: Path) -> None:
    assert checks.check_api_versions(root) == []


def test_route_prefix_is_read_from_host_json(root: Path) -> None:
    data = json.loads((root / "host.json").read_text(encoding="utf-8"))
    expected = data.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    assert checks.route_prefix(root) == expected


def test_hub_modules_loop_over_the_declaration_with_the_app_route(root: Path) -> None:
    from . import backend_checks as backend

    assert backend.check_hub_wiring(root) == []
    templates = {
        name: checks.body(decl)["params"]["urlTemplate"]
        for name, decl in checks.parse(root / "infra" / "main.bicep")["modules"].items()
        if decl["detail"]["path"].endswith("webpubsub-hub.bicep")
    }
    assert sorted(templates.values()) == [
        "https://${api.outputs.defaultHostName}/${functionsRoutePrefix}/${hub.name}/{event}",
        "tunnel:///${functionsRoutePrefix}/${hub.name}/{event}",
    ]


def test_role_ids_and_assignments(root: Path) -> None:
    assert checks.check_roles(root) == []


def test_function_app_is_python_on_flex_with_identity_based_settings(root: Path) -> None:
    assert checks.check_function_app(root) == []


def test_concurrency_memory_and_python_version_are_the_benchmarked_ones(root: Path) -> None:
    assert checks.check_scale_and_python(root) == []


def test_storage_app_insights_and_key_vault_are_keyless(root: Path) -> None:
    assert checks.check_security_settings(root) == []


def test_no_secret_in_any_output(root: Path) -> None:
    assert checks.check_outputs(root) == []


def test_outputs_the_app_and_hooks_need(root: Path) -> None:
    outputs = checks.main_outputs(root)
    for name in (
        "AZURE_FUNCTION_NAME",
        "SERVICE_API_NAME",
        "SERVICE_API_BASE_URL",
        "APP_PAGE_URL",
        "WEBPUBSUB_ENDPOINT",
        "WEBPUBSUB_HOST",
        "WEBPUBSUB_HUBS",
        "AZURE_RESOURCE_GROUP",
    ):
        assert name in outputs


def test_parameters_file_maps_onto_main_bicep(root: Path) -> None:
    assert checks.check_parameters_file(root) == []


def test_azure_yaml_is_valid_and_matches_the_service_tag(root: Path, schema_file: Path) -> None:
    assert checks.check_azure_yaml(root, schema_file) == []
    assert checks.service_name_tag(root) == "api"


def test_hooks_exist_for_posix_and_windows(root: Path) -> None:
    import yaml

    hooks = yaml.safe_load((root / "azure.yaml").read_text(encoding="utf-8"))["hooks"]
    for hook in hooks.values():
        assert (root / hook["posix"]["run"]).is_file() and hook["posix"]["shell"] == "sh"
        assert (root / hook["windows"]["run"]).is_file() and hook["windows"]["shell"] == "pwsh"


def test_platform_body_limit_matches_the_core_and_the_local_settings(root: Path) -> None:
    # The Functions host refuses larger bodies before Python reads them; the core refuses them
    # after. One value everywhere: Azure (api.bicep), func start / the dev host (the sample).
    from shared.upstream import MAX_BODY_BYTES

    sample = json.loads((root / "local.settings.sample.json").read_text(encoding="utf-8"))
    assert checks.app_settings(root)["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"] == str(MAX_BODY_BYTES)
    assert sample["Values"]["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"] == str(MAX_BODY_BYTES)


# --- optional sign-in app registration (signin_checks.py) -------------------------------------


def test_pycep_parses_the_graph_extension_and_its_resources(tmp_path: Path) -> None:
    # No workaround needed: pycep 0.7 knows the alias form of `extension` (the bicepconfig.json
    # one this template uses); Graph resources have no `name`, their key is `uniqueName`.
    source = tmp_path / "graph.bicep"
    source.write_text(
        "extension microsoftGraphV1\n"
        "resource app 'Microsoft.Graph/applications@v1.0' = {\n"
        "  uniqueName: 'u'\n"
        "  displayName: 'd'\n"
        "}\n",
        encoding="utf-8",
    )
    tree = BicepParser().parse(file_path=source)
    assert tree["extensions"] == {"microsoftGraphV1": {}}
    app = tree["resources"]["app"]
    assert (app["type"], app["api_version"], checks.body(app)["uniqueName"]) == (
        "Microsoft.Graph/applications",
        "v1.0",
        "u",
    )


def test_pycep_negates_the_whole_rest_after_a_leading_bang() -> None:
    # Why signin_checks refuses to evaluate `!a && b`: pycep reads it as `!(a && b)`.
    tree = BicepParser().parse(text="var x = !a && b\nvar y = b && !a\n")
    assert tree["variables"]["x"]["value"]["operator"]["type"] == "not"
    assert tree["variables"]["y"]["value"]["operator"]["type"] == "and"
    assert signin.misparsed_negation("!a && b") and signin.misparsed_negation("!empty(x) ? a : b")
    assert not signin.misparsed_negation("b && !a")
    assert not signin.misparsed_negation("(!a) && b")
    assert not signin.misparsed_negation("a != b")


def test_evaluator_follows_vars_params_and_module_outputs() -> None:
    text = (
        "param on bool = false\n"
        "param id string = ''\n"
        "var make = on && empty(id)\n"
        "module m './m.bicep' = if (make) {\n"
        "  name: 'm'\n"
        "}\n"
    )
    tree = BicepParser().parse(text=text)
    assert signin.Evaluator(tree, text, {}).deployed("m") is False
    assert signin.Evaluator(tree, text, {"on": True}).deployed("m") is True
    assert signin.Evaluator(tree, text, {"on": True, "id": "x"}).deployed("m") is False
    pick = BicepParser().parse(text="var c = make ? m.outputs.appId : id\n")["variables"]["c"]["value"]
    assert signin.Evaluator(tree, text, {"on": True})(pick) == signin.Ref(("m", "outputs", "appId"))
    assert signin.Evaluator(tree, text, {"id": "x"})(pick) == "x"


def test_graph_extension_is_declared_in_bicepconfig_with_ga_types(root: Path) -> None:
    assert signin.check_graph_extension(root) == []
    config = json.loads((root / "infra" / "bicepconfig.json").read_text(encoding="utf-8"))
    assert config["extensions"]["microsoftGraphV1"].startswith(signin.GRAPH_TYPES_PREFIX)


def test_sign_in_app_is_gated_wired_into_easy_auth_and_secret_free(root: Path) -> None:
    assert signin.check_sign_in_app(root) == []
    params = json.loads((root / "infra" / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert params[signin.GATE_PARAM]["value"] == "${CREATE_SIGNIN_APP=false}"
    assert "SIGNIN_APP_CLIENT_ID" in checks.main_outputs(root)


def test_workflow_passes_only_variables_the_parameters_file_reads(root: Path) -> None:
    # A renamed azd variable must be renamed in the workflow too (ALLOW_GUEST_NAMES was missed once).
    workflow = (root / ".github" / "workflows" / "azure-dev.yml").read_text(encoding="utf-8")
    loop = re.search(r"for name in (.*?); do", workflow, re.S)
    assert loop is not None
    passed = set(loop.group(1).replace("\\", " ").split())
    mapped = set(
        checks.PARAM_REF.findall((root / "infra" / "main.parameters.json").read_text(encoding="utf-8"))
    )
    read = {name for name, _, _ in mapped}
    assert "CREATE_SIGNIN_APP" in passed
    assert passed <= read, passed - read
