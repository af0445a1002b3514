# ruff: noqa: E501  (messages and patterns read best on one line)
"""Offline checks of what makes the first `azd up` work (issue 21), one per known failure.

* **Region**: ``location`` is limited to regions offering both Flex Consumption and Web PubSub,
  compared with the two published lists kept, with their sources, in ``regions.json``.
* **azd version**: ``azure.yaml`` requires an azd whose bundled Bicep runs the Microsoft Graph
  extension and whose packaging honours ``.funcignore`` (``AZD_MINIMUMS``, with sources).
* **Key Vault reference**: the app's Key Vault Secrets User role is assigned in the module
  whose output gives the app its secret URI, so the app settings wait for it; and the
  postdeploy hooks (sh and ps1) ask App Service to fetch the references again and report the
  reference's status (the documented refresh and status APIs), then whether functions were
  indexed (what a remote build on the wrong Python leaves: none).
* **Sign-in app**: its uniqueName carries a revision the user can change after deleting the
  registration (a deleted one keeps its uniqueName for 30 days), and it declares the Microsoft
  Graph delegated permissions sign-in uses, so an administrator can grant them.
* **Easy Auth restriction**: when ``easyAuthRestrictToClient`` is on, Easy Auth accepts only
  access tokens obtained by the sign-in app itself, whichever way its client id was given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from packaging.version import Version

from .bicep_checks import ROLE_IDS, body, module_path, parse, walk
from .signin_checks import CASES, EXISTING_CLIENT_ID_PARAM, GATE_PARAM, Evaluator, Ref, Unevaluable

REGIONS_FILE = Path(__file__).with_name("regions.json")
LOCATION_PARAM = "location"

# The lowest azd release for each thing this template needs from azd, and why (azd's
# cli/azd/CHANGELOG.md; Learn "Microsoft Graph Bicep: what's new", July 2025).
AZD_MINIMUMS = {
    "1.17.0": "bundles Bicep 0.36.1 (CHANGELOG #5245), the Microsoft Graph Bicep extension's minimum",
    "1.18.0": "honours .funcignore when it packages the function app (CHANGELOG #5383)",
}

# What each postdeploy hook must do, as the text that does it (sh and PowerShell alike).
KV_SETTING = "WebPubSubAccessKeys"
HOOK_CONTRACT = {
    "refreshes the app's Key Vault references": r"az rest --method post[^\n]*config/configreferences/appsettings/refresh\?api-version=",
    "reads the reference's status": r"az rest --method get[^\n]*config/configreferences/appsettings/\$\{?(kv_setting|kvSetting)\}?[^\n]*properties\.status",
    "counts the indexed functions": r"az rest --method get[^\n]*/functions\?api-version=[^\n]*length\(value\)",
    "names the remote-build Python mismatch": r"Azure/azure-dev#8538",
    "checks every declared hub": r"WEBPUBSUB_HUBS",
}
HOOK_SCRIPTS = ("scripts/postdeploy.sh", "scripts/postdeploy.ps1")

# Microsoft Graph and the delegated permissions sign-in needs (Learn: Microsoft Graph
# permissions reference): openid, profile, email, User.Read.
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
SIGN_IN_SCOPES = {
    "37f7f235-527c-4136-accd-4a02d197296e": "openid",
    "14dad69e-099b-42c9-810b-d002981feec1": "profile",
    "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0": "email",
    "e1fe6dd8-ba31-4d61-89e7-88639da4683d": "User.Read",
}
REVISION_PARAM = "signInAppRevision"
RESTRICT_PARAM = "easyAuthRestrictToClient"


def _main(root: Path) -> tuple[Path, dict[str, Any], str]:
    path = root / "infra" / "main.bicep"
    return path, parse(path), path.read_text(encoding="utf-8")


def _decorator(spec: dict[str, Any], kind: str) -> Any:
    return next((d.get("argument") for d in spec.get("decorators", []) if d.get("type") == kind), None)


# --- region --------------------------------------------------------------------------------------


def region_lists(path: Path = REGIONS_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def check_regions(root: Path, regions_file: Path = REGIONS_FILE) -> list[str]:
    _, tree, text = _main(root)
    spec = tree.get("parameters", {}).get(LOCATION_PARAM)
    if spec is None:
        return [f"main.bicep has no {LOCATION_PARAM} parameter"]
    problems = []
    allowed = _decorator(spec, "allowed")
    if not allowed:
        return [
            f"main.bicep: {LOCATION_PARAM} has no @allowed list; a region without Flex Consumption or Web PubSub fails provisioning"
        ]
    data = region_lists(regions_file)
    lists = data.get("lists", {})
    for key in ("flexConsumption", "webPubSub"):
        entry = lists.get(key) or {}
        if not entry.get("source") or not entry.get("regions"):
            problems.append(f"{regions_file.name}: list {key!r} needs its regions and its source")
    for region in allowed:
        for key, entry in lists.items():
            if region not in (entry.get("regions") or []):
                problems.append(
                    f"main.bicep: region {region!r} is not in the {key} list ({regions_file.name})"
                )
    if len(set(allowed)) != len(allowed):
        problems.append(f"main.bicep: {LOCATION_PARAM} lists a region twice")
    metadata = _decorator(spec, "metadata") or {}
    if (metadata.get("azd") or {}).get("type") != "location":
        problems.append(
            f"main.bicep: {LOCATION_PARAM} lost its azd location metadata (azd would not offer the list)"
        )
    checked = data.get("checked", "")
    docs = (
        (root / "docs" / "deploy.md").read_text(encoding="utf-8")
        if (root / "docs" / "deploy.md").is_file()
        else ""
    )
    for where, content in (("main.bicep", text), ("docs/deploy.md", docs)):
        if checked not in content:
            problems.append(f"{where} does not give the date the region lists were checked ({checked})")
        for key, entry in lists.items():
            repo = str(entry.get("url", "")).split("github.com/", 1)[-1].split("/blob/")[0]
            if repo and repo not in content:
                problems.append(f"{where} does not name the source of the {key} list ({repo})")
    return problems


# --- azd version --------------------------------------------------------------------------------------


def required_azd(root: Path) -> str | None:
    import yaml

    doc = yaml.safe_load((root / "azure.yaml").read_text(encoding="utf-8")) or {}
    value = (doc.get("requiredVersions") or {}).get("azd")
    return value if isinstance(value, str) else None


def check_required_azd(root: Path) -> list[str]:
    needed = max(AZD_MINIMUMS, key=Version)
    constraint = required_azd(root)
    if constraint is None:
        return [f"azure.yaml has no requiredVersions.azd; azd >= {needed} is needed ({AZD_MINIMUMS[needed]})"]
    match = re.fullmatch(r"\s*>=\s*(\d+\.\d+\.\d+)(\s*<\s*\d+\.\d+\.\d+)?\s*", constraint)
    if match is None:
        return [f"azure.yaml: requiredVersions.azd {constraint!r} is not '>= X.Y.Z' (optionally '< A.B.C')"]
    floor = Version(match.group(1))
    return [
        f"azure.yaml: requiredVersions.azd allows {floor}, but azd >= {version} is needed: {why}"
        for version, why in AZD_MINIMUMS.items()
        if floor < Version(version)
    ]


# --- Key Vault reference: ordering and the postdeploy refresh ---------------------------------------------


def check_key_vault_reference_order(root: Path) -> list[str]:
    """The app's secret URI comes from the module that also grants the app's identity Key Vault
    Secrets User, so ARM deploys the app settings only after that role assignment."""
    main, tree, _ = _main(root)
    modules = tree.get("modules", {})
    api = [n for n, d in modules.items() if module_path(root, main, d).name == "api.bicep"]
    if len(api) != 1:
        return [f"main.bicep: expected one api module, found {api}"]
    params = body(modules[api[0]]).get("params") or {}
    source = _accessor_path(params.get("accessKeysSecretUri"))
    if source is None or len(source) != 3 or source[1] != "outputs" or source[0] not in modules:
        return [
            f"main.bicep: module {api[0]} gets accessKeysSecretUri={params.get('accessKeysSecretUri')!r}, not a module output"
        ]
    vault_module = source[0]
    target = module_path(root, main, modules[vault_module])
    vault_tree = parse(target)
    role = ROLE_IDS["Key Vault Secrets User"]
    literals = {k: v.get("value") for k, v in vault_tree.get("variables", {}).items()}
    grants = [
        body(d)
        for d in vault_tree.get("resources", {}).values()
        if d.get("type") == "Microsoft.Authorization/roleAssignments"
        and role
        in [literals.get(n, n) for n in _strings((body(d).get("properties") or {}).get("roleDefinitionId"))]
    ]
    if not grants:
        return [
            f"{target.name}: module {vault_module} gives the app its secret URI but does not grant Key Vault "
            "Secrets User itself; the app settings could resolve the reference before the role exists"
        ]
    principal = (grants[0].get("properties") or {}).get("principalId")
    passed = _accessor_path((body(modules[vault_module]).get("params") or {}).get(principal))
    identity = _accessor_path(params.get("identityResourceId"))
    if passed is None or identity is None or passed[0] != identity[0] or passed[-1] != "principalId":
        return [
            f"main.bicep: module {vault_module} grants the role to {passed!r}, not to the identity the app runs as ({identity!r})"
        ]
    return []


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _accessor_path(node: Any) -> tuple[str, ...] | None:
    if isinstance(node, str):
        return (node,)
    op = node.get("operator", {}) if isinstance(node, dict) else {}
    if op.get("type") != "property_accessor":
        return None
    left, right = _accessor_path(op["operands"]["operand_1"]), _accessor_path(op["operands"]["operand_2"])
    return left + right if left and right else None


def check_postdeploy_hooks(root: Path) -> list[str]:
    problems = []
    api = (root / "infra" / "app" / "api.bicep").read_text(encoding="utf-8")
    if f"{KV_SETTING}: '@Microsoft.KeyVault(" not in api:
        problems.append(
            f"api.bicep no longer sets {KV_SETTING} as a Key Vault reference; update the hooks' setting name"
        )
    for script in HOOK_SCRIPTS:
        path = root / script
        if not path.is_file():
            problems.append(f"{script} is missing")
            continue
        text = (
            path.read_text(encoding="utf-8").replace("\\\n", " ").replace("`\n", " ")
        )  # joined continuations
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        for what, pattern in HOOK_CONTRACT.items():
            if not re.search(pattern, code):
                problems.append(f"{script} no longer {what}")
        if f'kv_setting="{KV_SETTING}"' not in code and f"$kvSetting = '{KV_SETTING}'" not in code:
            problems.append(f"{script} does not check the {KV_SETTING} reference")
    return problems


# --- sign-in app: uniqueName revision and Graph permissions ------------------------------------------------


def _signin(root: Path) -> tuple[Path, dict[str, Any]]:
    path = root / "infra" / "app" / "signin-app.bicep"
    return path, parse(path)


def check_sign_in_app_recreatable_and_consentable(root: Path) -> list[str]:
    problems = []
    main, tree, _ = _main(root)
    spec = tree.get("parameters", {}).get(REVISION_PARAM)
    if spec is None or spec.get("default") in (None, ""):
        problems.append(
            f"main.bicep: no {REVISION_PARAM} parameter with a default (a deleted registration's uniqueName stays taken for 30 days)"
        )
    mapped = json.loads((root / "infra" / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    value = str((mapped.get(REVISION_PARAM) or {}).get("value", ""))
    if not re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*=[^}]+\}", value):
        problems.append(
            f"main.parameters.json: {REVISION_PARAM} is not an azd variable with a default ({value!r})"
        )
    modules = tree.get("modules", {})
    signin = [n for n, d in modules.items() if module_path(root, main, d).name == "signin-app.bicep"]
    if len(signin) != 1:
        return problems + [f"main.bicep: expected one sign-in module, found {signin}"]
    unique = (body(modules[signin[0]]).get("params") or {}).get("uniqueName")
    if (
        not isinstance(unique, str)
        or f"${{{REVISION_PARAM}}}" not in unique
        or "${resourceToken}" not in unique
    ):
        problems.append(
            f"main.bicep: the registration's uniqueName {unique!r} does not include ${{resourceToken}} and ${{{REVISION_PARAM}}}"
        )
    path, signin_tree = _signin(root)
    literals = {k: v.get("value") for k, v in signin_tree.get("variables", {}).items()}
    apps = [
        body(d)
        for d in signin_tree.get("resources", {}).values()
        if d.get("type") == "Microsoft.Graph/applications"
    ]
    if len(apps) != 1:
        return problems + [f"{path.name}: expected one app registration"]
    access = apps[0].get("requiredResourceAccess")
    graph = [
        entry
        for entry in access or []
        if isinstance(entry, dict)
        and literals.get(entry.get("resourceAppId"), entry.get("resourceAppId")) == MICROSOFT_GRAPH_APP_ID
    ]
    if not graph:
        return problems + [
            f"{path.name}: no requiredResourceAccess for Microsoft Graph: where users may not consent, an administrator has nothing to grant"
        ]
    declared = {
        (item.get("id"), item.get("type"))
        for item in graph[0].get("resourceAccess") or []
        if isinstance(item, dict)
    }
    for scope, name in SIGN_IN_SCOPES.items():
        if (scope, "Scope") not in declared:
            problems.append(
                f"{path.name}: requiredResourceAccess lacks Microsoft Graph delegated permission {name} ({scope})"
            )
    for scope, kind in sorted(declared - {(s, "Scope") for s in SIGN_IN_SCOPES}, key=str):
        problems.append(
            f"{path.name}: requiredResourceAccess asks for {kind} {scope}, which sign-in does not need"
        )
    docs = (root / "docs" / "deploy.md").read_text(encoding="utf-8")
    variable = value[2:].split("=", 1)[0] if value.startswith("${") else ""
    if variable and variable not in docs:
        problems.append(
            f"docs/deploy.md does not explain {variable} (what to do after deleting the registration)"
        )
    return problems


# --- Easy Auth restriction -------------------------------------------------------------------------------------


def check_easy_auth_restriction(root: Path) -> list[str]:
    """auth.bicep puts its allowedApplications param in defaultAuthorizationPolicy; main.bicep
    passes [the sign-in client id] exactly when easyAuthRestrictToClient is on."""
    problems = []
    auth = root / "infra" / "app" / "auth.bicep"
    auth_tree = parse(auth)
    if "allowedApplications" not in auth_tree.get("parameters", {}):
        problems.append("auth.bicep has no allowedApplications parameter")
    configs = [
        body(d)
        for d in auth_tree.get("resources", {}).values()
        if d.get("type") == "Microsoft.Web/sites/config"
    ]
    aad = (
        (
            ((configs[0].get("properties") or {}).get("identityProviders") or {}).get("azureActiveDirectory")
            or {}
        )
        if configs
        else {}
    )
    policy = (aad.get("validation") or {}).get("defaultAuthorizationPolicy")
    if not any(
        isinstance(node, dict) and node.get("allowedApplications") == "allowedApplications"
        for node in walk(policy)
    ):
        problems.append(
            "auth.bicep: validation.defaultAuthorizationPolicy does not use the allowedApplications parameter"
        )
    main, tree, text = _main(root)
    spec = tree.get("parameters", {}).get(RESTRICT_PARAM)
    if spec is None or spec.get("type") != "bool":
        return problems + [f"main.bicep has no bool {RESTRICT_PARAM} parameter"]
    modules = tree.get("modules", {})
    easy = [n for n, d in modules.items() if module_path(root, main, d).name == "auth.bicep"]
    if len(easy) != 1:
        return problems + [f"main.bicep: expected one Easy Auth module, found {easy}"]
    params = body(modules[easy[0]]).get("params") or {}
    for restrict in (False, True):
        for gate_on, existing in CASES:
            evaluate = Evaluator(
                tree,
                text,
                {RESTRICT_PARAM: restrict, GATE_PARAM: gate_on, EXISTING_CLIENT_ID_PARAM: existing},
            )
            case = f"{RESTRICT_PARAM}={restrict}, {GATE_PARAM}={gate_on}, {EXISTING_CLIENT_ID_PARAM}={existing!r}"
            try:
                if not evaluate.deployed(easy[0]):
                    continue
                client = evaluate(params.get("clientId"))
                allowed = evaluate(params.get("allowedApplications"))
            except Unevaluable as exc:
                return problems + [f"main.bicep: cannot evaluate the Easy Auth restriction ({case}): {exc}"]
            expected = [client] if restrict else []
            if allowed != expected:
                problems.append(
                    f"main.bicep: Easy Auth allowedApplications is {allowed!r} with {case}, expected {expected!r}"
                )
    mapped = json.loads((root / "infra" / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    if RESTRICT_PARAM not in mapped:
        problems.append(f"main.parameters.json does not map {RESTRICT_PARAM}")
    return problems


__all__ = ["Ref"]
