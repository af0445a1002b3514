"""Offline checks of the optional sign-in app registration (infra/app/signin-app.bicep).

`azd up` can create the Entra app registration that App Service Authentication signs users in
with, through the Microsoft Graph Bicep extension, when ``createSignInApp`` is true. These checks
read the parse trees (see bicep_checks.py) and assert what must hold for that to be safe:

* the Graph extension alias each file uses is declared in the nearest ``bicepconfig.json`` and
  points at a GA (not preview) version of the v1.0 types;
* the gate parameter defaults to false, and the module is deployed exactly when the gate is on
  and no existing client id (``authClientId``) is given;
* the registration signs in this tenant only, issues ID tokens, has a service principal, and
  its one redirect URI is ``https://<function app default host>/.auth/login/aad/callback``;
* Easy Auth is configured whenever a client id exists, with the created app's id or the given one;
* no credential is created, neither on the registration nor in Easy Auth (ID-token flow).

Conditions are evaluated for every combination of the gate and the existing client id by a small
evaluator of pycep's expression trees. pycep parses a leading ``!`` as applying to the whole rest
of the expression (``!a && b`` becomes ``!(a && b)``), so an expression the evaluator reads that
has that shape is reported instead of evaluated: write ``b && !a`` or ``(!a) && b``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bicep_checks import IDENT, body, is_conditional, module_path, parse, tokenize, walk

GATE_PARAM = "createSignInApp"
EXISTING_CLIENT_ID_PARAM = "authClientId"
AUTH_CLIENT_ID_PARAM = "clientId"  # auth.bicep's parameter for the registration's client id
GRAPH_TYPES_PREFIX = "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:"
CALLBACK_PATH = "/.auth/login/aad/callback"  # Easy Auth's fixed redirect path for Entra
SIGN_IN_AUDIENCE = "AzureADMyOrg"  # this tenant only, as auth.bicep's issuer
# Credentials an app registration or Easy Auth could be given; none may be.
REGISTRATION_CREDENTIALS = ("passwordCredentials", "keyCredentials")
EASY_AUTH_SECRETS = ("clientSecretSettingName", "clientSecretCertificateThumbprint")
# (gate, existing client id) cases the conditions are evaluated for.
CASES = ((False, ""), (False, "existing-client-id"), (True, ""), (True, "existing-client-id"))


class Unevaluable(Exception):
    """An expression the offline evaluator cannot (or must not) compute."""


@dataclass(frozen=True)
class Ref:
    """A value known only at deployment, e.g. ``signInApp.outputs.appId``."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Module:
    name: str
    decl: dict[str, Any]
    target: Path


# --- expression evaluation -------------------------------------------------------------------


def misparsed_negation(expression: str) -> bool:
    """True when a ``!`` is followed, at its own bracket depth, by a binary operator: pycep
    then negates everything up to that bracket's end, unlike Bicep."""
    toks = [t.value for t in tokenize(expression) if t.kind != "nl"]
    binary = {"&", "|", "?", "<", ">"}
    for i, tok in enumerate(toks):
        if tok != "!" or (i + 1 < len(toks) and toks[i + 1] == "="):
            continue
        depth = 0
        for j in range(i + 1, len(toks)):
            t = toks[j]
            if t in "([{" or t == "interp_start":
                depth += 1
            elif t in ")]}" or t == "interp_end":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (t in binary or (t in "=!" and j + 1 < len(toks) and toks[j + 1] == "=")):
                return True
    return False


def _source_of_var(text: str, name: str) -> str:
    m = re.search(rf"^var\s+{re.escape(name)}\s*=\s*(.+)$", text, re.M)
    return m.group(1) if m else ""


def _source_of_condition(text: str, module: str) -> str:
    m = re.search(rf"^module\s+{re.escape(module)}\s+'[^']*'\s*=\s*if\s*\((.*)\)\s*\{{\s*$", text, re.M)
    return m.group(1) if m else ""


def _path(node: Any) -> tuple[str, ...]:
    if isinstance(node, str):
        return (node,)
    op = node.get("operator", {}) if isinstance(node, dict) else {}
    if op.get("type") != "property_accessor":
        raise Unevaluable(f"not a property path: {node!r}")
    return _path(op["operands"]["operand_1"]) + _path(op["operands"]["operand_2"])


class Evaluator:
    """Evaluates a ``main.bicep`` expression with chosen parameter values."""

    def __init__(self, tree: dict[str, Any], text: str, env: Mapping[str, Any]) -> None:
        self.tree, self.text, self.env = tree, text, env

    def __call__(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int)):
            return node
        if isinstance(node, list):
            return [self(item) for item in node]
        if isinstance(node, str):
            return self._name(node)
        if "function" in node:
            function = node["function"]
            if function.get("type") == "empty":
                value = self(function["parameters"]["item_to_test"])
                if isinstance(value, Ref):
                    raise Unevaluable(f"empty() of a deployment-time value {value}")
                return len(value or "") == 0
            raise Unevaluable(f"function {function.get('type')}()")
        op = node.get("operator", {})
        kind, operands = op.get("type"), op.get("operands", {})
        if kind == "property_accessor":
            return Ref(_path(node))
        if kind == "and":
            return bool(self(operands["operand_1"])) and bool(self(operands["operand_2"]))
        if kind == "or":
            return bool(self(operands["operand_1"])) or bool(self(operands["operand_2"]))
        if kind == "not":
            return not self(operands["bool_value"])
        if kind in ("equals", "not_equals"):
            equal = self(operands["operand_1"]) == self(operands["operand_2"])
            return equal if kind == "equals" else not equal
        if kind == "conditional":
            branch = "true_value" if self(operands["condition"]) else "false_value"
            return self(operands[branch])
        raise Unevaluable(f"operator {kind!r}")

    def _name(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        params = self.tree.get("parameters", {})
        if name in params:
            return params[name].get("default")
        variables = self.tree.get("variables", {})
        if name in variables:
            if misparsed_negation(_source_of_var(self.text, name)):
                raise Unevaluable(f"var {name}: pycep mis-parses a leading '!' here; reorder or parenthesise")
            return self(variables[name]["value"])
        if name in self.tree.get("modules", {}) or name in self.tree.get("resources", {}):
            return Ref((name,))
        return name  # a string literal (pycep gives literals and identifiers alike as str)

    def deployed(self, module: str) -> bool:
        decl = self.tree["modules"][module]
        if not is_conditional(decl):
            return True
        if misparsed_negation(_source_of_condition(self.text, module)):
            raise Unevaluable(f"module {module}: pycep mis-parses a leading '!' in its condition")
        return bool(self(decl["config"]["condition"]))


# --- the pieces ---------------------------------------------------------------------------------


def _declares(target: Path, rtype: str, name: str | None = None) -> bool:
    return target.is_file() and any(
        d.get("type") == rtype and not d.get("existing") and (name is None or body(d).get("name") == name)
        for d in parse(target).get("resources", {}).values()
    )


def _modules(root: Path) -> Iterator[Module]:
    main = root / "infra" / "main.bicep"
    for name, decl in parse(main).get("modules", {}).items():
        yield Module(name, decl, module_path(root, main, decl))


def _resources(tree: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {
        name: body(decl)
        for name, decl in tree.get("resources", {}).items()
        if decl.get("type") == rtype and not decl.get("existing")
    }


def nearest_bicepconfig(root: Path, path: Path) -> Path | None:
    """The ``bicepconfig.json`` Bicep uses for ``path``: the first one from its folder upwards."""
    for folder in [path.parent, *path.parent.parents]:
        candidate = folder / "bicepconfig.json"
        if candidate.is_file():
            return candidate
        if folder == root:
            break
    return None


# --- checks ----------------------------------------------------------------------------------------


def check_graph_extension(root: Path) -> list[str]:
    """Each file with Microsoft.Graph resources declares an extension alias that its
    bicepconfig.json maps to a GA version of the Graph v1.0 types."""
    problems = []
    for path in sorted((root / "infra").rglob("*.bicep")):
        tree = parse(path)
        rel = path.relative_to(root)
        graph = [
            n
            for n, d in tree.get("resources", {}).items()
            if str(d.get("type")).startswith("Microsoft.Graph/")
        ]
        if not graph:
            continue
        aliases = list(tree.get("extensions", {}))
        if len(aliases) != 1:
            problems.append(f"{rel}: declares Graph resources {graph} but {len(aliases)} extension aliases")
            continue
        config_path = nearest_bicepconfig(root, path)
        if config_path is None:
            problems.append(f"{rel}: no bicepconfig.json declares extension alias {aliases[0]!r}")
            continue
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(f"{config_path.relative_to(root)}: not valid JSON ({exc})")
            continue
        reference = (config.get("extensions") or {}).get(aliases[0])
        if not isinstance(reference, str) or not reference.startswith(GRAPH_TYPES_PREFIX):
            problems.append(
                f"{config_path.relative_to(root)}: extension {aliases[0]!r} is {reference!r}, "
                f"expected {GRAPH_TYPES_PREFIX}<version>"
            )
        elif not re.fullmatch(r"\d+\.\d+\.\d+", reference[len(GRAPH_TYPES_PREFIX) :]):
            problems.append(
                f"{config_path.relative_to(root)}: extension {aliases[0]!r} uses {reference!r}, "
                "not a GA version"
            )
    return problems


def check_sign_in_app(root: Path) -> list[str]:
    """The sign-in app registration is gated, correct, wired into Easy Auth and secret-free."""
    main = root / "infra" / "main.bicep"
    tree, text = parse(main), main.read_text(encoding="utf-8")
    gate = tree.get("parameters", {}).get(GATE_PARAM)
    if gate is None:
        return [f"main.bicep has no {GATE_PARAM} parameter"]
    problems = []
    if gate.get("type") != "bool" or gate.get("default") is not False:
        problems.append(f"main.bicep: {GATE_PARAM} must be a bool that defaults to false")
    modules = list(_modules(root))
    apps = [m for m in modules if _declares(m.target, "Microsoft.Graph/applications")]
    auths = [m for m in modules if _declares(m.target, "Microsoft.Web/sites/config", "authsettingsV2")]
    sites = [m for m in modules if _declares(m.target, "Microsoft.Web/sites")]
    if len(apps) != 1 or len(auths) != 1 or len(sites) != 1:
        return problems + [
            "main.bicep: expected one module each for the app registration, Easy Auth and the function "
            f"app; found {[m.name for m in apps]}, {[m.name for m in auths]}, {[m.name for m in sites]}"
        ]
    app, auth, site = apps[0], auths[0], sites[0]
    if not is_conditional(app.decl):
        problems.append(
            f"main.bicep: module {app.name} (app registration) is not behind the {GATE_PARAM} parameter"
        )
    problems += _check_registration(root, app, site)
    problems += _check_easy_auth_file(root, auth)
    app_id = _app_id_output(app.target)
    if app_id is None:
        return problems + [f"{app.target.name}: no output returns the registration's appId"]
    for gate_on, existing in CASES:
        evaluate = Evaluator(tree, text, {GATE_PARAM: gate_on, EXISTING_CLIENT_ID_PARAM: existing})
        case = f"with {GATE_PARAM}={str(gate_on).lower()} and {EXISTING_CLIENT_ID_PARAM}={existing!r}"
        creates = gate_on and not existing  # an existing registration wins
        try:
            if evaluate.deployed(app.name) != creates:
                problems.append(
                    f"main.bicep: module {app.name} {'is not' if creates else 'is'} deployed {case}"
                )
            if not evaluate.deployed(auth.name):
                if gate_on or existing:
                    problems.append(f"main.bicep: module {auth.name} (Easy Auth) is not deployed {case}")
                continue
            client_id = evaluate((body(auth.decl).get("params") or {}).get(AUTH_CLIENT_ID_PARAM))
        except Unevaluable as exc:
            problems.append(f"main.bicep: cannot evaluate the sign-in wiring {case}: {exc}")
            break
        expected = Ref((app.name, "outputs", app_id)) if creates else existing
        if client_id != expected:
            problems.append(
                f"main.bicep: module {auth.name} gets client id {client_id!r} {case}, expected {expected!r}"
            )
    return problems


def _app_id_output(target: Path) -> str | None:
    tree = parse(target)
    apps = set(_resources(tree, "Microsoft.Graph/applications"))
    for name, out in tree.get("outputs", {}).items():
        try:
            path = _path(out.get("value"))
        except Unevaluable:
            continue
        if len(path) == 2 and path[0] in apps and path[1] == "appId":
            return name
    return None


def _check_registration(root: Path, app: Module, site: Module) -> list[str]:
    """Audience, ID tokens, service principal, no credential, redirect URI = the app's host."""
    rel = app.target.relative_to(root)
    tree = parse(app.target)
    registrations = _resources(tree, "Microsoft.Graph/applications")
    if len(registrations) != 1:
        return [f"{rel}: expected one app registration, found {sorted(registrations)}"]
    ((name, reg),) = registrations.items()
    problems = []
    if not reg.get("uniqueName"):
        problems.append(f"{rel}: app registration {name} has no uniqueName (redeploys would not find it)")
    if reg.get("signInAudience") != SIGN_IN_AUDIENCE:
        problems.append(
            f"{rel}: signInAudience is {reg.get('signInAudience')!r}, expected {SIGN_IN_AUDIENCE!r}"
        )
    web = reg.get("web") or {}
    if (web.get("implicitGrantSettings") or {}).get("enableIdTokenIssuance") is not True:
        problems.append(
            f"{rel}: web.implicitGrantSettings.enableIdTokenIssuance is not true (Easy Auth's ID-token flow)"
        )
    for cred in REGISTRATION_CREDENTIALS:
        for rtype in ("Microsoft.Graph/applications", "Microsoft.Graph/servicePrincipals"):
            for res_name, res in _resources(tree, rtype).items():
                if cred in {k.strip("'") for node in walk(res) if isinstance(node, dict) for k in node}:
                    problems.append(f"{rel}: {res_name} creates {cred} (a secret); sign-in needs none")
    principals = [
        sp for sp in _resources(tree, "Microsoft.Graph/servicePrincipals").values()
        if _safe_path(sp.get("appId")) == (name, "appId")
    ]  # fmt: skip
    if not principals:
        problems.append(f"{rel}: no service principal for app registration {name} (users could not sign in)")
    problems += _check_redirect(root, app, site, web.get("redirectUris"))
    return problems


def _safe_path(node: Any) -> tuple[str, ...] | None:
    try:
        return _path(node)
    except Unevaluable:
        return None


def _check_redirect(root: Path, app: Module, site: Module, uris: Any) -> list[str]:
    rel = app.target.relative_to(root)
    pattern = re.compile(rf"^https://\$\{{\s*({IDENT.pattern})\s*\}}{re.escape(CALLBACK_PATH)}$")
    matches = (
        [pattern.match(u) for u in uris]
        if isinstance(uris, list) and all(isinstance(u, str) for u in uris)
        else []
    )
    if len(matches) != 1 or matches[0] is None:
        return [f"{rel}: web.redirectUris is {uris!r}, expected ['https://${{<host param>}}{CALLBACK_PATH}']"]
    param = matches[0].group(1)
    if param not in parse(app.target).get("parameters", {}):
        return [f"{rel}: redirect URI host {param!r} is not a parameter"]
    passed = _safe_path((body(app.decl).get("params") or {}).get(param))
    expected = (site.name, "outputs", "defaultHostName")
    if passed != expected:
        return [
            f"main.bicep: module {app.name} gets redirect host {passed!r} as {param}, "
            f"expected {'.'.join(expected)}"
        ]
    return []


def _check_easy_auth_file(root: Path, auth: Module) -> list[str]:
    rel = auth.target.relative_to(root)
    tree = parse(auth.target)
    problems = []
    for cfg in _resources(tree, "Microsoft.Web/sites/config").values():
        aad = ((cfg.get("properties") or {}).get("identityProviders") or {}).get("azureActiveDirectory") or {}
        registration = aad.get("registration") or {}
        if registration.get("clientId") != AUTH_CLIENT_ID_PARAM:
            problems.append(f"{rel}: registration.clientId is not the {AUTH_CLIENT_ID_PARAM} parameter")
        for key in EASY_AUTH_SECRETS:
            if key in registration:
                problems.append(
                    f"{rel}: Easy Auth is given a client secret ({key}); the ID-token flow needs none"
                )
    return problems
