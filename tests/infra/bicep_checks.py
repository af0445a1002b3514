"""Offline checks of the azd project (infra/*.bicep, main.parameters.json, azure.yaml, hooks).

The Bicep compiler cannot run here, so these checks stand in for part of it: pycep-parser
(a pure-Python Bicep grammar) gives the syntax and a parse tree, a small tokenizer finds symbol
references, and the rules below encode what this template must get right (hub URL = app route,
role ids, no secrets in outputs, Flex-safe settings ...). What the app serves (hubs, tables, its own
settings) is declared in main.parameters.json and checked by backend_checks.py.

Every ``check_*`` function takes the project root and returns a list of problems (empty = ok),
so the tests can run the same checks on mutated copies of the sources and expect failures.

pycep's tree, as observed (see test_parse_tree_shape): identifiers and string literals are both
plain ``str`` (``location: 'x'`` and ``location: x`` look the same), interpolated strings are
kept raw (``'https://${x}/a'``), expressions are ``{"operator": {...}}`` / ``{"function": {...}}``
dicts, and a conditional or looped resource/module wraps its body as ``config = {"condition",
"config"}`` (a loop adds ``"loop_type"`` and has ``condition: None``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

# --- facts the checks compare against ------------------------------------------------------

# Where azd's JSON schema for azure.yaml is read from (a path), and where CI downloads it.
SCHEMA_ENV = "AZURE_YAML_SCHEMA"
SCHEMA_URL = "https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json"

# Resource types and API versions this template may use (GA versions from the Azure resource
# reference at learn.microsoft.com/azure/templates). A new type or version is a deliberate edit here.
ALLOWED_API_VERSIONS: dict[str, set[str]] = {
    "Microsoft.Resources/resourceGroups": {"2024-11-01", "2024-03-01", "2021-04-01"},
    "Microsoft.ManagedIdentity/userAssignedIdentities": {"2023-01-31"},
    "Microsoft.Web/serverfarms": {"2024-04-01"},
    "Microsoft.Web/sites": {"2024-04-01"},
    "Microsoft.Web/sites/config": {"2024-04-01"},
    "Microsoft.Storage/storageAccounts": {"2024-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices": {"2024-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices/containers": {"2024-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices": {"2024-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices/tables": {"2024-01-01"},
    "Microsoft.OperationalInsights/workspaces": {"2025-02-01"},
    "Microsoft.Insights/components": {"2020-02-02"},
    "Microsoft.Authorization/roleAssignments": {"2022-04-01"},
    "Microsoft.SignalRService/webPubSub": {"2024-03-01"},
    "Microsoft.SignalRService/webPubSub/hubs": {"2024-03-01"},
    "Microsoft.KeyVault/vaults": {"2024-11-01"},
    "Microsoft.KeyVault/vaults/secrets": {"2024-11-01"},
    # Microsoft Graph Bicep extension (infra/bicepconfig.json), v1.0 types only: the optional
    # sign-in app registration (signin_checks.py).
    "Microsoft.Graph/applications": {"v1.0"},
    "Microsoft.Graph/servicePrincipals": {"v1.0"},
}

# Built-in role definition ids (Azure built-in roles reference; Web PubSub Service Owner ends in ...d9b4).
ROLE_IDS: dict[str, str] = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Web PubSub Service Owner": "12cf5a90-567b-43ae-8102-96cf46c7d9b4",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
# Which resource type each role must be scoped to (an indexed scope, `tables[i]`, counts as its
# resource's type).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "Storage Blob Data Owner": ("Microsoft.Storage/storageAccounts",),
    # a declared table, never the whole account
    "Storage Table Data Contributor": ("Microsoft.Storage/storageAccounts/tableServices/tables",),
    "Monitoring Metrics Publisher": ("Microsoft.Insights/components",),
    "Web PubSub Service Owner": ("Microsoft.SignalRService/webPubSub",),
    "Key Vault Secrets User": ("Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/secrets"),
}
# GUIDs that are not role ids but may appear as string variables (documented elsewhere).
OTHER_KNOWN_IDS = {"00000003-0000-0000-c000-000000000000": "Microsoft Graph application id"}
# Every role the function app identity needs; the deployer (principalId) needs Service Owner.
# Storage Table Data Contributor is granted per declared table (backend_checks.check_table_wiring).
APP_ROLES = tuple(role for role in ROLE_IDS if role != "Storage Table Data Contributor")
DEPLOYER_ROLES = ("Web PubSub Service Owner",)
DEPLOYER_PARAM = "principalId"

# App settings the template's code reads in Azure (shared/settings.py, Functions host). A
# sample's settings come from the backend declaration (backend_checks.py).
REQUIRED_APP_SETTINGS = (
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "WebPubSubConnectionString__serviceUri",
    "WebPubSubConnectionString__credential",
    "WebPubSubConnectionString__clientId",
    "WebPubSubAccessKeys",
    "WebPubSubAllowedOrigins",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
)
# Python versions Flex Consumption runs (Learn, checked 2026-11-27; 3.10 reached end of support
# in October 2026) and the instance size bench/instance.py models.
FLEX_PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
BENCHMARKED_MEMORY_MB = 2048
# Deprecated or forbidden on Flex Consumption, or secrets in plain text.
FORBIDDEN_APP_SETTINGS = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "AzureWebJobsStorage",
    "WebPubSubConnectionString",
    "WebPubSubAllowUnauthenticated",
)

# Environment variables azd itself provides to hooks (not Bicep outputs), and the hooks' own knobs.
AZD_PROVIDED_ENV = {"AZURE_ENV_NAME", "AZURE_SUBSCRIPTION_ID", "AZURE_PRINCIPAL_ID"}
HOOK_OPTIONS = {"POSTDEPLOY_WAIT_SECONDS"}
SHELL_VARIABLES = {"IFS", "PATH", "HOME", "PWD"}

# Properties whose values are secrets; an output may not read them (compared case-insensitively).
SECRET_PROPERTIES = {
    "primarykey", "secondarykey", "primaryconnectionstring", "secondaryconnectionstring",
    "connectionstring", "instrumentationkey", "keys", "systemkeys", "functionkeys", "masterkey",
    "password", "clientsecret", "accesskey", "secret",
    "passwordcredentials", "keycredentials", "secrettext",  # Entra app registration credentials
}  # fmt: skip
SECRET_OUTPUT_NAME = re.compile(
    r"(CONNECTION_?STRING|PASSWORD|ACCESS_?KEYS?|PRIMARY_?KEY|SECONDARY_?KEY|TOKEN)$", re.I
)

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# --- parsing --------------------------------------------------------------------------------


class BicepSyntaxError(Exception):
    """pycep-parser rejected a file."""


def bicep_files(root: Path) -> list[Path]:
    return sorted((root / "infra").rglob("*.bicep"))


@cache
def _parser() -> BicepParser:
    return BicepParser()  # building the grammar is the slow part; parsing is milliseconds


@cache
def _parse_cached(path: str, text: str) -> dict[str, Any]:
    try:
        return _parser().parse(text=text)
    except Exception as exc:  # pycep raises lark errors of several classes
        raise BicepSyntaxError(f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc


def parse(path: Path) -> dict[str, Any]:
    return _parse_cached(str(path), path.read_text(encoding="utf-8"))


def body(decl: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource/module declaration, unwrapping ``= if (cond) {...}``."""
    config = decl.get("config") or {}
    if isinstance(config, dict) and "condition" in config and isinstance(config.get("config"), dict):
        return config["config"]
    return config


def is_conditional(decl: dict[str, Any]) -> bool:
    """``= if (cond) {...}`` (a loop without ``if`` is not conditional)."""
    config = decl.get("config") or {}
    return isinstance(config, dict) and config.get("condition") is not None and "config" in config


def walk(value: Any) -> Iterator[Any]:
    """Every node of a parse-tree value, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def dict_keys(value: Any) -> set[str]:
    return {k.strip("'") for node in walk(value) if isinstance(node, dict) for k in node}


def module_path(root: Path, from_file: Path, decl: dict[str, Any]) -> Path:
    return (from_file.parent / decl["detail"]["path"]).resolve()


def var_literals(tree: dict[str, Any]) -> dict[str, str]:
    return {
        name: v["value"] for name, v in tree.get("variables", {}).items() if isinstance(v.get("value"), str)
    }


def resolve_interpolation(text: str, literals: dict[str, str]) -> str:
    """Substitute ``${var}`` where ``var`` is a string literal variable; leave the rest."""
    return re.sub(
        r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}", lambda m: literals.get(m.group(1), m.group(0)), text
    )


# --- tokenizer (for symbol references) ----------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ident, punct, nl, string, number
    value: str
    line: int


def tokenize(text: str) -> list[Token]:
    """Bicep tokens; string contents are dropped but ``${...}`` interpolations are tokenized."""
    out: list[Token] = []
    pos = 0
    line = 1
    n = len(text)

    def code(interp: bool) -> None:
        nonlocal pos, line
        depth = 0
        while pos < n:
            c = text[pos]
            if c == "\n":
                out.append(Token("nl", "\n", line))
                line += 1
                pos += 1
            elif c in " \t\r":
                pos += 1
            elif text.startswith("//", pos):
                while pos < n and text[pos] != "\n":
                    pos += 1
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                end = n if end < 0 else end + 2
                line += text.count("\n", pos, end)
                pos = end
            elif text.startswith("'''", pos):
                end = text.find("'''", pos + 3)
                end = n if end < 0 else end + 3
                line += text.count("\n", pos, end)
                pos = end
                out.append(Token("string", "", line))
            elif c == "'":
                pos += 1
                string()
            elif c == "{":
                depth += 1
                out.append(Token("punct", c, line))
                pos += 1
            elif c == "}":
                if interp and depth == 0:
                    out.append(Token("punct", "interp_end", line))
                    pos += 1
                    return
                depth -= 1
                out.append(Token("punct", c, line))
                pos += 1
            elif c.isalpha() or c == "_":
                m = IDENT.match(text, pos)
                assert m
                out.append(Token("ident", m.group(0), line))
                pos = m.end()
            elif c.isdigit():
                m = re.compile(r"\d+").match(text, pos)
                assert m
                out.append(Token("number", m.group(0), line))
                pos = m.end()
            elif text.startswith("=>", pos):
                out.append(Token("punct", "=>", line))
                pos += 2
            else:
                out.append(Token("punct", c, line))
                pos += 1

    def string() -> None:
        nonlocal pos, line
        out.append(Token("string", "", line))
        while pos < n:
            c = text[pos]
            if c == "\\":
                pos += 2
            elif c == "'":
                pos += 1
                return
            elif text.startswith("${", pos):
                out.append(Token("punct", "interp_start", line))
                pos += 2
                code(True)
            else:
                if c == "\n":
                    line += 1
                pos += 1

    code(False)
    return out


KEYWORDS = {
    "param", "var", "resource", "module", "output", "targetScope", "existing", "if", "for", "in",
    "true", "false", "null", "import", "type", "metadata", "func", "extension", "using", "as",
    "with", "string", "int", "bool", "object", "array", "sys", "az", "any",
}  # fmt: skip


def undefined_references(text: str, declared: set[str]) -> list[tuple[int, str]]:
    """(line, name) of identifiers used as values that are not declared in the file."""
    toks = tokenize(text)
    local = set(declared)
    # loop variables and lambda parameters are declared inline
    for i, t in enumerate(toks):
        if t.kind == "ident" and t.value == "for":
            j = i + 1
            if j < len(toks) and toks[j].value == "(":
                j += 1
                while j < len(toks) and toks[j].value != ")":
                    if toks[j].kind == "ident":
                        local.add(toks[j].value)
                    j += 1
            elif j < len(toks) and toks[j].kind == "ident":
                local.add(toks[j].value)
        if t.kind == "ident" and i + 1 < len(toks) and toks[i + 1].value == "=>":
            local.add(t.value)
    problems = []
    brackets: list[str] = []
    sig = [t for t in toks if t.kind != "nl"]
    sig_index = {id(t): k for k, t in enumerate(sig)}
    for i, t in enumerate(toks):
        if t.kind == "punct":
            if t.value in "{[(" or t.value == "interp_start":
                brackets.append(t.value)
            elif t.value in "}])" or t.value == "interp_end":
                if brackets:
                    brackets.pop()
            continue
        if t.kind != "ident" or t.value in KEYWORDS or t.value in local:
            continue
        k = sig_index[id(t)]
        prev = sig[k - 1].value if k > 0 else ""
        prev2 = sig[k - 2].value if k > 1 else ""
        nxt = sig[k + 1].value if k + 1 < len(sig) else ""
        raw_prev = toks[i - 1].value if i > 0 else "\n"
        if prev == "." or (prev == "?" and prev2 == "."):  # property access / safe dereference
            continue
        if prev == "@" or nxt == "(":  # decorator or function call
            continue
        if prev in {"param", "var", "resource", "module", "output", "type", "func", "extension"}:
            continue  # a declaration (an extension alias is declared in bicepconfig.json)
        if nxt == ":" and brackets and brackets[-1] == "{" and raw_prev in {"\n", "{", ","}:
            continue  # object key
        problems.append((t.line, t.value))
    return problems


def declared_symbols(tree: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for section in ("parameters", "variables", "resources", "modules", "outputs"):
        names.update(tree.get(section, {}))
    return names


# --- checks -----------------------------------------------------------------------------------


def check_syntax(root: Path) -> list[str]:
    problems = []
    files = bicep_files(root)
    if not (root / "infra" / "main.bicep").is_file():
        problems.append("infra/main.bicep is missing")
    for path in files:
        try:
            parse(path)
        except BicepSyntaxError as exc:
            problems.append(str(exc))
    return problems


def check_symbols(root: Path) -> list[str]:
    """Every identifier used resolves; modules exist; module params and outputs line up."""
    problems = []
    for path in bicep_files(root):
        rel = path.relative_to(root)
        tree = parse(path)
        text = path.read_text(encoding="utf-8")
        for line, name in undefined_references(text, declared_symbols(tree)):
            problems.append(f"{rel}:{line}: '{name}' is not a declared param/var/resource/module/output")
        resources = tree.get("resources", {})
        for name, decl in resources.items():
            parent = body(decl).get("parent")
            if parent is not None and parent not in resources:
                problems.append(f"{rel}: resource {name} has unknown parent {parent!r}")
            scope = body(decl).get("scope")
            if isinstance(scope, str) and scope not in resources and scope not in tree.get("modules", {}):
                problems.append(f"{rel}: resource {name} has unknown scope {scope!r}")
        modules = tree.get("modules", {})
        for name, decl in modules.items():
            if decl.get("type") != "local":
                problems.append(f"{rel}: module {name} is not a local file (registry modules need restore)")
                continue
            target = module_path(root, path, decl)
            if not target.is_file():
                problems.append(f"{rel}: module {name} points at missing file {decl['detail']['path']}")
                continue
            target_tree = parse(target)
            target_params = target_tree.get("parameters", {})
            passed = body(decl).get("params") or {}
            for param in passed:
                if param not in target_params:
                    problems.append(f"{rel}: module {name} passes unknown param {param!r} to {target.name}")
            for param, spec in target_params.items():
                if spec.get("default") is None and param not in passed:
                    problems.append(f"{rel}: module {name} does not pass required param {param!r}")
            scope = body(decl).get("scope")
            if isinstance(scope, str) and scope not in resources:
                problems.append(f"{rel}: module {name} has unknown scope {scope!r}")
        # <module>.outputs.<name> must be an output of that module's file
        toks = [t for t in tokenize(text) if t.kind != "nl"]
        for i in range(len(toks) - 4):
            a, dot1, outputs, dot2, out = toks[i : i + 5]
            if (
                a.kind == "ident"
                and a.value in modules
                and dot1.value == "."
                and outputs.value == "outputs"
                and dot2.value == "."
                and out.kind == "ident"
            ):
                target = module_path(root, path, modules[a.value])
                if target.is_file() and out.value not in parse(target).get("outputs", {}):
                    problems.append(f"{rel}:{a.line}: module {a.value} has no output {out.value!r}")
    return problems


def check_api_versions(root: Path) -> list[str]:
    problems = []
    for path in bicep_files(root):
        rel = path.relative_to(root)
        for name, decl in parse(path).get("resources", {}).items():
            rtype, version = decl.get("type"), decl.get("api_version")
            allowed = ALLOWED_API_VERSIONS.get(rtype)
            if allowed is None:
                problems.append(f"{rel}: resource {name} has type {rtype!r}, not in the allow-list")
            elif version not in allowed:
                problems.append(f"{rel}: resource {name} uses {rtype}@{version}; allowed: {sorted(allowed)}")
    return problems


def route_prefix(root: Path) -> str:
    host = root / "host.json"
    if not host.is_file():
        return "api"
    data = json.loads(host.read_text(encoding="utf-8"))
    prefix = data.get("extensions", {}).get("http", {}).get("routePrefix")
    return "api" if prefix is None else prefix.strip("/")


def routes_of_app(app: Any) -> dict[str, list[str]]:
    """``route -> methods`` of a ``func.FunctionApp``'s HTTP-triggered functions."""
    from tests.app_index import get_functions

    routes: dict[str, list[str]] = {}
    for function in get_functions(app):
        for binding in json.loads(function.get_function_json())["bindings"]:
            if binding.get("type") == "httpTrigger":
                routes[binding.get("route") or function.get_function_name()] = [
                    m.upper() for m in binding.get("methods") or ["GET", "POST", "OPTIONS"]
                ]
    return routes


def load_app_routes(root: Path) -> dict[str, list[str]] | None:
    """``route -> methods`` of the functions registered by ``<root>/function_app.py``, or None
    when the app is missing or cannot be imported here (the route checks are then skipped)."""
    source = root / "function_app.py"
    if not source.is_file():
        return None
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        spec = importlib.util.spec_from_file_location("_infra_checks_function_app", source)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return routes_of_app(module.app)
    except ImportError:
        return None
    finally:
        if added:
            sys.path.remove(str(root))


def _role_assignments(root: Path) -> Iterator[tuple[Path, str, dict[str, Any], dict[str, Any]]]:
    for path in bicep_files(root):
        tree = parse(path)
        for name, decl in tree.get("resources", {}).items():
            if decl.get("type") == "Microsoft.Authorization/roleAssignments":
                yield path, name, decl, tree


def check_roles(root: Path) -> list[str]:
    problems = []
    by_id = {v: k for k, v in ROLE_IDS.items()}
    # every GUID variable named like a role id is a documented role with the right id
    for path in bicep_files(root):
        for var, value in var_literals(parse(path)).items():
            if var.lower().endswith("roleid") or (isinstance(value, str) and GUID.match(value)):
                known_other = value in OTHER_KNOWN_IDS and not var.lower().endswith("roleid")
                if value not in by_id and not known_other:
                    problems.append(
                        f"{path.relative_to(root)}: {var} = {value!r} is not a documented role id"
                    )
    granted: dict[str, set[str]] = {}  # role -> principal expressions
    for path, name, decl, tree in _role_assignments(root):
        rel = path.relative_to(root)
        cfg = body(decl)
        props = cfg.get("properties") or {}
        literals = var_literals(tree)
        role_nodes = [n for n in walk(props.get("roleDefinitionId")) if isinstance(n, str)]
        roles = {by_id[literals.get(n, n)] for n in role_nodes if literals.get(n, n) in by_id}
        if len(roles) != 1:
            problems.append(f"{rel}: role assignment {name} has no recognisable documented role id")
            continue
        role = roles.pop()
        name_expr = cfg.get("name")
        if not (isinstance(name_expr, dict) and name_expr.get("function", {}).get("type") == "guid"):
            problems.append(f"{rel}: role assignment {name} is not named with guid(...)")
        else:
            args = [n for n in walk(name_expr) if isinstance(n, str)]
            if not any(literals.get(a, a) == ROLE_IDS[role] for a in args):
                problems.append(f"{rel}: role assignment {name}: guid(...) does not include the role id")
        scope = _scope_symbol(cfg.get("scope"))
        scope_type = tree.get("resources", {}).get(scope, {}).get("type") if isinstance(scope, str) else None
        if scope_type not in ROLE_SCOPES[role]:
            problems.append(
                f"{rel}: role assignment {name} ({role}) is scoped to {scope_type}, "
                f"expected {ROLE_SCOPES[role]}"
            )
        principal = props.get("principalId")
        principal_type = props.get("principalType")
        scope_decl = tree.get("resources", {}).get(scope, {}) if isinstance(scope, str) else {}
        if principal == DEPLOYER_PARAM:
            # the grant on the optional dev resource does not count for the main one
            if not is_conditional(scope_decl):
                granted.setdefault(role, set()).add("deployer")
        elif principal_type == "ServicePrincipal":
            granted.setdefault(role, set()).add("app")
        else:
            problems.append(
                f"{rel}: role assignment {name}: principal {principal!r} is neither the app nor the deployer"
            )
    for role in APP_ROLES:
        if "app" not in granted.get(role, set()):
            problems.append(f"no role assignment grants {role} to the function app identity")
    for role in DEPLOYER_ROLES:
        if "deployer" not in granted.get(role, set()):
            problems.append(f"no role assignment grants {role} to the deploying principal ({DEPLOYER_PARAM})")
    return problems


def _scope_symbol(scope: Any) -> Any:
    """``storage`` -> ``storage``; ``tables[i]`` (a looped resource) -> ``tables``."""
    op = scope.get("operator", {}) if isinstance(scope, dict) else {}
    if op.get("type") == "index_accessor":
        return op["operands"].get("operand_1")
    return scope


def _resources_of_type(root: Path, rtype: str) -> Iterator[tuple[Path, str, dict[str, Any], dict[str, Any]]]:
    for path in bicep_files(root):
        tree = parse(path)
        for name, decl in tree.get("resources", {}).items():
            if decl.get("type") == rtype and not decl.get("existing"):
                yield path, name, body(decl), tree


def check_function_app(root: Path) -> list[str]:
    """Python on Flex Consumption, identity-based settings, Key Vault reference for the keys."""
    problems = []
    sites = list(_resources_of_type(root, "Microsoft.Web/sites"))
    if len(sites) != 1:
        return [f"expected one Microsoft.Web/sites resource, found {len(sites)}"]
    path, name, site, tree = sites[0]
    rel = path.relative_to(root)
    if "functionapp" not in str(site.get("kind", "")) or "linux" not in str(site.get("kind", "")):
        problems.append(f"{rel}: site kind {site.get('kind')!r} is not 'functionapp,linux'")
    props = site.get("properties") or {}
    runtime = ((props.get("functionAppConfig") or {}).get("runtime")) or {}
    if runtime.get("name") != "python":
        problems.append(
            f"{rel}: functionAppConfig.runtime.name is {runtime.get('name')!r}, expected 'python'"
        )
    version = runtime.get("version")
    params = tree.get("parameters", {})
    if version in params:
        allowed = next((d["argument"] for d in params[version]["decorators"] if d["type"] == "allowed"), [])
        versions = set(allowed) | {params[version].get("default")}
    else:
        versions = {version}
    if not versions <= set(FLEX_PYTHON_VERSIONS):
        problems.append(
            f"{rel}: Python version(s) {sorted(map(str, versions))} not in {'/'.join(FLEX_PYTHON_VERSIONS)}"
        )
    if not props.get("keyVaultReferenceIdentity"):
        problems.append(
            f"{rel}: keyVaultReferenceIdentity is not set (Key Vault references would use no identity)"
        )
    storage = (((props.get("functionAppConfig") or {}).get("deployment") or {}).get("storage")) or {}
    if (storage.get("authentication") or {}).get("type") != "UserAssignedIdentity":
        problems.append(f"{rel}: deployment storage does not authenticate with the user-assigned identity")
    settings = app_settings(root)
    for key in REQUIRED_APP_SETTINGS:
        if key not in settings:
            problems.append(f"app setting {key} is missing")
    for key in FORBIDDEN_APP_SETTINGS:
        if key in settings:
            problems.append(f"app setting {key} must not be set in Azure (Flex Consumption / secrets)")
    keys = settings.get("WebPubSubAccessKeys")
    if keys is not None and not (isinstance(keys, str) and keys.startswith("@Microsoft.KeyVault(SecretUri=")):
        problems.append("WebPubSubAccessKeys must be a @Microsoft.KeyVault(SecretUri=...) reference")
    if settings.get("WebPubSubConnectionString__credential") not in (None, "managedidentity"):
        problems.append("WebPubSubConnectionString__credential must be 'managedidentity'")
    return problems


def _param_value(tree: dict[str, Any], value: Any) -> Any:
    """A literal, or the default of the param it names."""
    params = tree.get("parameters", {})
    return params[value].get("default") if isinstance(value, str) and value in params else value


def _allowed(tree: dict[str, Any], name: str) -> list[Any]:
    decorators = tree.get("parameters", {}).get(name, {}).get("decorators", [])
    return next((d["argument"] for d in decorators if d["type"] == "allowed"), [])


def check_scale_and_python(root: Path) -> list[str]:
    """Per-instance HTTP concurrency and memory as benchmarked; the newest Python, with matching requirements.

    * ``scaleAndConcurrency.triggers.http.perInstanceConcurrency`` is set above Flex's Python
      default of 1, and ``instanceMemoryMB`` defaults to the size bench/instance.py models;
      docs/performance.md and docs/deploy.md state both values;
    * ``pythonVersion`` defaults to the newest version it allows, and for every allowed version
      requirements.txt selects exactly one azure-functions line of the right major version
      (1.x below 3.13, 2.x from 3.13, where the worker is also pinned).
    """
    from packaging.requirements import Requirement

    sites = list(_resources_of_type(root, "Microsoft.Web/sites"))
    if len(sites) != 1:
        return [f"expected one Microsoft.Web/sites resource, found {len(sites)}"]
    path, _, site, tree = sites[0]
    rel = path.relative_to(root)
    problems = []
    config = (site.get("properties") or {}).get("functionAppConfig") or {}
    scale = config.get("scaleAndConcurrency") or {}
    http = ((scale.get("triggers") or {}).get("http")) or {}
    concurrency = _param_value(tree, http.get("perInstanceConcurrency"))
    memory = _param_value(tree, scale.get("instanceMemoryMB"))
    if not isinstance(concurrency, int) or concurrency < 2:
        problems.append(
            f"{rel}: scaleAndConcurrency.triggers.http.perInstanceConcurrency is {concurrency!r};"
            " Python's default of 1 holds a whole instance per awaited REST call"
        )
    if memory != BENCHMARKED_MEMORY_MB:
        problems.append(
            f"{rel}: instanceMemoryMB {memory!r} is not the {BENCHMARKED_MEMORY_MB} MB benchmarked"
        )
    for doc in ("docs/performance.md", "docs/deploy.md"):
        text = (root / doc).read_text(encoding="utf-8") if (root / doc).is_file() else ""
        if f"perInstanceConcurrency` = {concurrency}" not in text:
            problems.append(f"{doc} does not state `perInstanceConcurrency` = {concurrency}")
        if f"{memory} MB" not in text and f"{memory:,} MB" not in text:
            problems.append(f"{doc} does not state the instance memory ({memory} MB)")
    runtime = config.get("runtime") or {}
    version_param = runtime.get("version")
    allowed = [str(v) for v in _allowed(tree, version_param)] or [str(_param_value(tree, version_param))]
    default = str(_param_value(tree, version_param))
    newest = max(allowed, key=lambda v: tuple(int(x) for x in v.split(".")))
    if default != newest:
        problems.append(f"{rel}: pythonVersion defaults to {default}, not the newest allowed ({newest})")
    requirements = [
        Requirement(line.split("#", 1)[0].strip())
        for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip() and not line.startswith("-")
    ]
    for version in allowed:
        env = {"python_version": version, "python_full_version": f"{version}.0"}
        active = [r for r in requirements if r.marker is None or r.marker.evaluate(env)]
        library = [r for r in active if r.name == "azure-functions"]
        major = "2" if tuple(int(x) for x in version.split(".")) >= (3, 13) else "1"
        if len(library) != 1 or not any(library[0].specifier.contains(f"{major}.{n}") for n in range(40)):
            problems.append(
                f"requirements.txt: Python {version} needs exactly one azure-functions {major}.x line"
            )
        if major == "2" and not any(
            r.name == "azure-functions-runtime" and "==" in str(r.specifier) for r in active
        ):
            problems.append(f"requirements.txt: Python {version} needs a pinned azure-functions-runtime")
    return problems


def _literal_objects(expression: Any) -> list[dict[str, Any]]:
    """The object literals of a settings expression: itself, or the arguments of union()."""
    if not isinstance(expression, dict):
        return []
    fn = expression.get("function")
    if isinstance(fn, dict):
        if fn.get("type") != "union":
            return []
        return [o for arg in (fn.get("parameters") or {}).values() for o in _literal_objects(arg)]
    return [] if "operator" in expression else [expression]


def app_settings(root: Path) -> dict[str, Any]:
    """The function app's own settings: the object literals of the sites/config 'appsettings'
    child (declared ones come from backend_checks.provisioned_settings) plus siteConfig.appSettings."""
    settings: dict[str, Any] = {}
    for _, _, cfg, _ in _resources_of_type(root, "Microsoft.Web/sites/config"):
        if cfg.get("name") == "appsettings":
            for node in _literal_objects(cfg.get("properties")):
                settings.update(node)
    for _, _, site, _ in _resources_of_type(root, "Microsoft.Web/sites"):
        for node in walk(((site.get("properties") or {}).get("siteConfig") or {}).get("appSettings")):
            if isinstance(node, dict) and "name" in node:
                settings[node["name"]] = node.get("value")
    return settings


def check_security_settings(root: Path) -> list[str]:
    problems = []
    for path, name, cfg, _ in _resources_of_type(root, "Microsoft.Storage/storageAccounts"):
        props = cfg.get("properties") or {}
        if props.get("allowSharedKeyAccess") is not False:
            problems.append(f"{path.relative_to(root)}: storage {name} must set allowSharedKeyAccess: false")
        if props.get("allowBlobPublicAccess") is not False:
            problems.append(f"{path.relative_to(root)}: storage {name} must set allowBlobPublicAccess: false")
    components = list(_resources_of_type(root, "Microsoft.Insights/components"))
    if not components:
        problems.append("no Application Insights component")
    for path, name, cfg, _ in components:
        if (cfg.get("properties") or {}).get("DisableLocalAuth") is not True:
            problems.append(
                f"{path.relative_to(root)}: Application Insights {name} must set DisableLocalAuth: true"
            )
    vaults = list(_resources_of_type(root, "Microsoft.KeyVault/vaults"))
    for path, name, cfg, _ in vaults:
        if (cfg.get("properties") or {}).get("enableRbacAuthorization") is not True:
            problems.append(f"{path.relative_to(root)}: Key Vault {name} must use RBAC authorization")
    return problems


def _secure_params(tree: dict[str, Any]) -> set[str]:
    return {
        name
        for name, spec in tree.get("parameters", {}).items()
        if any(d.get("type") == "secure" for d in spec.get("decorators", []))
    }


def _output_text(path: Path, name: str) -> str:
    """The source text of one output declaration (up to the next top-level declaration)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^output\s+{re.escape(name)}\b.*?(?=^\S|\Z)", text, re.M | re.S)
    return m.group(0) if m else ""


def check_outputs(root: Path) -> list[str]:
    """No secret reaches a deployment output, in main.bicep or any module."""
    problems = []
    for path in bicep_files(root):
        rel = path.relative_to(root)
        tree = parse(path)
        secure = _secure_params(tree)
        for name, out in tree.get("outputs", {}).items():
            source = _output_text(path, name)
            # comment lines are dropped; names of secrets (e.g. the secret's *name*) are fine
            code = re.sub(r"//.*", "", source.split("=", 1)[1] if "=" in source else "")
            nodes = [n for n in walk(out.get("value")) if isinstance(n, (str, dict))]
            accessors = [
                n["operator"]["operands"].get("func_name", "")
                for n in nodes
                if isinstance(n, dict) and n.get("operator", {}).get("type") == "function_accessor"
            ]
            functions = [n["function"]["type"] for n in nodes if isinstance(n, dict) and "function" in n]
            if any(a.lower().startswith("list") for a in accessors) or any(
                f.startswith("list") for f in functions
            ):
                problems.append(f"{rel}: output {name} calls a list*() function (returns secrets)")
            toks = [t for t in tokenize(code) if t.kind != "nl"]
            props = {
                b.value for a, b in zip(toks, toks[1:], strict=False) if a.value == "." and b.kind == "ident"
            }
            calls = {
                a.value for a, b in zip(toks, toks[1:], strict=False) if a.kind == "ident" and b.value == "("
            }
            leaked = sorted(p for p in props if p.lower() in SECRET_PROPERTIES)
            if leaked:
                problems.append(f"{rel}: output {name} reads secret propert(y/ies) {leaked}")
            if any(c.lower().startswith("list") for c in calls) and not any(
                a.lower().startswith("list") for a in accessors
            ):
                problems.append(f"{rel}: output {name} calls a list*() function (returns secrets)")
            if SECRET_OUTPUT_NAME.search(name):
                problems.append(f"{rel}: output name {name} looks like a secret")
            used = {t.value for t in tokenize(code) if t.kind == "ident"}
            if used & secure:
                problems.append(f"{rel}: output {name} exposes @secure() param(s) {sorted(used & secure)}")
            if any(d.get("type") == "secure" for d in out.get("decorators", [])):
                problems.append(f"{rel}: output {name} is @secure(); secrets do not belong in outputs")
        if path.name == "main.bicep":
            for name in tree.get("outputs", {}):
                if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                    problems.append(f"{rel}: output {name} is not UPPER_SNAKE (azd environment variable)")
    return problems


PARAM_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(=|:=|:-|-)([^}]*))?\}")


def check_parameters_file(root: Path) -> list[str]:
    problems = []
    params_path = root / "infra" / "main.parameters.json"
    if not params_path.is_file():
        return ["infra/main.parameters.json is missing"]
    data = json.loads(params_path.read_text(encoding="utf-8"))
    mapped = data.get("parameters", {})
    main_params = parse(root / "infra" / "main.bicep").get("parameters", {})
    for name, entry in mapped.items():
        if name not in main_params:
            problems.append(f"main.parameters.json maps {name!r}, which is not a param of main.bicep")
            continue
        value = entry.get("value")
        if isinstance(value, str):
            for m in PARAM_REF.finditer(value):
                default = m.group(3)
                allowed = next(
                    (d["argument"] for d in main_params[name]["decorators"] if d["type"] == "allowed"), None
                )
                if default is not None and allowed is not None and default not in allowed:
                    problems.append(f"main.parameters.json: default {default!r} of {name} is not in @allowed")
    for name, spec in main_params.items():
        if spec.get("default") is None and name not in mapped:
            problems.append(f"required param {name!r} of main.bicep is not mapped in main.parameters.json")
    return problems


def main_outputs(root: Path) -> set[str]:
    return set(parse(root / "infra" / "main.bicep").get("outputs", {}))


def service_name_tag(root: Path) -> str | None:
    """The ``azd-service-name`` tag of the function app, resolved through the module param."""
    sites = list(_resources_of_type(root, "Microsoft.Web/sites"))
    if len(sites) != 1:
        return None
    path, _, site, tree = sites[0]
    value = None
    for node in walk(site.get("tags")):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.strip("'") == "azd-service-name":
                    value = v
    if not isinstance(value, str):
        return None
    if value not in tree.get("parameters", {}):
        return value
    main = root / "infra" / "main.bicep"
    for decl in parse(main).get("modules", {}).values():
        if module_path(root, main, decl) == path.resolve():
            passed = (body(decl).get("params") or {}).get(value)
            if passed is not None:
                return passed
    return tree["parameters"][value].get("default")


def schema_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """azd's ``azure.yaml`` JSON schema, from ``AZURE_YAML_SCHEMA``; None when that is not set.

    The project ships no copy: CI downloads ``SCHEMA_URL`` and points the variable at it.
    """
    value = environ.get(SCHEMA_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _offline_registry() -> Any:
    """Remote ``$ref``s of the azd schema (AI host types only) resolve to an empty schema:
    no network here, and they never apply to ``host: function``."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT201909

    return Registry(retrieve=lambda uri: Resource.from_contents({}, default_specification=DRAFT201909))


def check_azure_yaml(root: Path, schema_file: Path | None) -> list[str]:
    import jsonschema
    import yaml

    problems = []
    path = root / "azure.yaml"
    if not path.is_file():
        return ["azure.yaml is missing"]
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("# yaml-language-server: $schema="):
        problems.append("azure.yaml does not start with the schema comment")
    doc = yaml.safe_load(text)
    if schema_file is not None:
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        validator_cls = jsonschema.validators.validator_for(schema)
        for error in sorted(
            validator_cls(schema, registry=_offline_registry()).iter_errors(doc), key=lambda e: list(e.path)
        ):
            location = "/".join(map(str, error.path)) or "<root>"
            problems.append(f"azure.yaml {location}: {error.message}")
    if not isinstance(doc, dict):
        return problems + ["azure.yaml is not a mapping"]
    name = doc.get("name", "")
    template = (doc.get("metadata") or {}).get("template", "")
    if not re.fullmatch(rf"{re.escape(str(name))}@\d+\.\d+\.\d+", str(template)):
        problems.append(f"metadata.template {template!r} is not '<name>@<version>'")
    services = doc.get("services") or {}
    tag = service_name_tag(root)
    functions = {k: v for k, v in services.items() if isinstance(v, dict) and v.get("host") == "function"}
    if len(functions) != 1:
        problems.append(f"expected one service with host: function, found {sorted(functions)}")
    for svc, spec in functions.items():
        if spec.get("language") not in ("python", "py"):
            problems.append(f"service {svc}: language is {spec.get('language')!r}, expected python")
        project = root / str(spec.get("project", ""))
        if not (project / "function_app.py").is_file() and not (project / "host.json").is_file():
            problems.append(f"service {svc}: project {spec.get('project')!r} holds no function app")
        if svc != tag:
            problems.append(f"service {svc!r} does not match the function app's azd-service-name tag {tag!r}")
    # hook scripts exist, and every env var they read is a Bicep output (or provided by azd)
    outputs = main_outputs(root)
    for event, hook in (doc.get("hooks") or {}).items():
        for variant in (hook, hook.get("posix"), hook.get("windows")):
            if not isinstance(variant, dict) or "run" not in variant:
                continue
            run = str(variant["run"])
            script = root / run
            if run.startswith("./") or run.endswith((".sh", ".ps1", ".py")):
                if not script.is_file():
                    problems.append(f"hook {event}: script {run} does not exist")
                    continue
                body_text = script.read_text(encoding="utf-8")
                if script.suffix == ".ps1":
                    used = set(re.findall(r"\$env:([A-Z][A-Z0-9_]*)", body_text))
                else:
                    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", body_text))
                for var in sorted(used - outputs - AZD_PROVIDED_ENV - HOOK_OPTIONS - SHELL_VARIABLES):
                    problems.append(f"hook {event}: {run} reads ${var}, which is not an output of main.bicep")
    return problems
