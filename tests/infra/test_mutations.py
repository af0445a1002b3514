# ruff: noqa: E501  (tables of source mutations read best one per line)
"""The checks catch real mistakes: each test breaks a scratch copy of the project and expects
the matching check to report it (and the unbroken copy to pass, so the failure is the edit's)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from . import bicep_checks as checks
from . import signin_checks as signin


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"mutation anchor {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def remove_block(path: Path, header: str) -> None:
    """Delete a top-level declaration starting with ``header`` up to its closing '}' line."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(header)}.*?^\}}\n", re.M | re.S)
    new, n = pattern.subn("", text, count=1)
    assert n == 1, f"block {header!r} not found in {path.name}"
    path.write_text(new, encoding="utf-8")


def main_bicep(copy: Path) -> Path:
    return copy / "infra" / "main.bicep"


def app(copy: Path, name: str) -> Path:
    return copy / "infra" / "app" / name


def assert_caught(problems: list[str], *fragments: str) -> None:
    assert problems, "the check did not notice the mutation"
    joined = "\n".join(problems)
    for fragment in fragments:
        assert fragment in joined, joined


def test_unmutated_copy_passes(project_copy: Path, app_routes) -> None:
    from . import backend_checks

    for check in (
        checks.check_syntax,
        checks.check_symbols,
        checks.check_api_versions,
        checks.check_roles,
        checks.check_function_app,
        checks.check_security_settings,
        checks.check_outputs,
        checks.check_parameters_file,
    ):
        assert check(project_copy) == [], check.__name__
    assert backend_checks.check_backend(project_copy, app_routes) == []


# Hub URLs, routes and the backend declaration: test_backend.py.


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "block", "message"),
    [
        (
            "rbac.bicep",
            "resource appWebPubSubServiceOwner ",
            "grants Web PubSub Service Owner to the function app",
        ),
        ("rbac.bicep", "resource deployerWebPubSubServiceOwner ", "to the deploying principal"),
        ("rbac.bicep", "resource appStorageBlobDataOwner ", "grants Storage Blob Data Owner"),
        ("rbac.bicep", "resource appMonitoringMetricsPublisher ", "grants Monitoring Metrics Publisher"),
        ("keyvault.bicep", "resource readerKeyVaultSecretsUser ", "grants Key Vault Secrets User"),
    ],
)
def test_missing_role_assignment_is_caught(project_copy: Path, file: str, block: str, message: str) -> None:
    remove_block(app(project_copy, file), block)
    assert_caught(checks.check_roles(project_copy), message)


def test_wrong_role_id_is_caught(project_copy: Path) -> None:
    # the Web PubSub Service Owner id with its last digit changed
    edit(app(project_copy, "rbac.bicep"), "96cf46c7d9b4'", "96cf46c7d9b3'")
    assert_caught(checks.check_roles(project_copy), "not a documented role id")


def test_role_assignment_with_unstable_name_is_caught(project_copy: Path) -> None:
    edit(
        app(project_copy, "rbac.bicep"),
        "name: guid(webPubSub.id, appPrincipalId, webPubSubServiceOwnerRoleId)",
        "name: 'wps-owner'",
    )
    assert_caught(checks.check_roles(project_copy), "not named with guid")


def test_role_on_wrong_scope_is_caught(project_copy: Path) -> None:
    text = app(project_copy, "rbac.bicep").read_text(encoding="utf-8")
    start = text.index("resource appWebPubSubServiceOwner")
    block = text[start : text.index("\n}\n", start)]
    app(project_copy, "rbac.bicep").write_text(
        text.replace(block, block.replace("scope: webPubSub", "scope: storage")), encoding="utf-8"
    )
    assert_caught(checks.check_roles(project_copy), "scoped to Microsoft.Storage/storageAccounts")


# --- secrets in outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "line", "message"),
    [
        ("app/webpubsub.bicep", "output primaryKey string = webPubSub.listKeys().primaryKey\n", "list*()"),
        ("app/webpubsub.bicep", "output keys object = listKeys(webPubSub.id, '2024-03-01')\n", "list*()"),
        (
            "app/webpubsub.bicep",
            "output cs string = webPubSub.listKeys().primaryConnectionString\n",
            "secret propert",
        ),
        (
            "app/keyvault.bicep",
            "output secretValue string = accessKeysSecret.properties.secret\n",
            "secret propert",
        ),
        (
            "main.bicep",
            "output WEBPUBSUB_ACCESS_KEY string = webPubSub.outputs.name\n",
            "looks like a secret",
        ),
        (
            "main.bicep",
            "@secure()\nparam adminPassword string\noutput ADMIN string = adminPassword\n",
            "@secure() param",
        ),
    ],
)
def test_secret_in_outputs_is_caught(project_copy: Path, file: str, line: str, message: str) -> None:
    path = project_copy / "infra" / file
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    assert_caught(checks.check_outputs(project_copy), message)


# --- Bicep syntax, symbols, versions, settings ----------------------------------------------------


def test_syntax_error_is_caught(project_copy: Path) -> None:
    edit(app(project_copy, "webpubsub-hub.bicep"), "parent: webPubSub", "parent webPubSub")
    assert_caught(checks.check_syntax(project_copy), "webpubsub-hub.bicep")


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "main.bicep",
            "/${functionsRoutePrefix}/${hub.name}/{event}'",
            "/${functionsRoutePrefix}/${hubb.name}/{event}'",
            "'hubb' is not a declared",
        ),
        (
            "main.bicep",
            "output SERVICE_API_BASE_URL string = 'https://${api.outputs.defaultHostName}'",
            "output SERVICE_API_BASE_URL string = 'https://${api.outputs.defaultHost}'",
            "has no output 'defaultHost'",
        ),
        (
            "main.bicep",
            "webPubSubHostName: webPubSub.outputs.hostName",
            "webPubSubHost: webPubSub.outputs.hostName",
            "unknown param 'webPubSubHost'",
        ),
        (
            "main.bicep",
            "module storage './app/storage.bicep'",
            "module storage './app/storrage.bicep'",
            "missing file",
        ),
        ("app/webpubsub-hub.bicep", "parent: webPubSub\n", "parent: webPubSubResource\n", "unknown parent"),
        (
            "app/api.bicep",
            "serverFarmId: plan.id",
            "serverFarmId: appServicePlan.id",
            "'appServicePlan' is not a declared",
        ),
        (
            "app/api.bicep",
            "'https://${webPubSubHostName}'",
            "'https://${webPubSubHost}'",
            "'webPubSubHost' is not a declared",
        ),
    ],
)
def test_undefined_symbol_is_caught(project_copy: Path, file: str, old: str, new: str, message: str) -> None:
    edit(project_copy / "infra" / file, old, new)
    assert_caught(checks.check_symbols(project_copy), message)


def test_missing_required_module_param_is_caught(project_copy: Path) -> None:
    edit(main_bicep(project_copy), "    accessKeysSecretUri: keyVault.outputs.accessKeysSecretUri\n", "")
    assert_caught(checks.check_symbols(project_copy), "does not pass required param 'accessKeysSecretUri'")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "Microsoft.SignalRService/webPubSub@2024-03-01' = {",
            "Microsoft.SignalRService/webPubSub@2021-10-01' = {",
        ),
        (
            "Microsoft.SignalRService/webPubSub@2024-03-01' = {",
            "Microsoft.SignalRService/webPubsubs@2024-03-01' = {",
        ),
    ],
)
def test_unlisted_type_or_api_version_is_caught(project_copy: Path, old: str, new: str) -> None:
    edit(app(project_copy, "webpubsub.bicep"), old, new)
    assert_caught(checks.check_api_versions(project_copy), "webpubsub.bicep")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("name: 'python'", "name: 'node'", "expected 'python'"),
        (
            "  '3.13'\n])\nparam pythonVersion",
            "  '3.13'\n  '3.9'\n])\nparam pythonVersion",
            "not in 3.11/3.12/3.13",
        ),
        (
            "    AZURE_CLIENT_ID: identityClientId\n",
            "    AZURE_CLIENT_ID: identityClientId\n    FUNCTIONS_WORKER_RUNTIME: 'python'\n",
            "FUNCTIONS_WORKER_RUNTIME must not",
        ),
        (
            "'@Microsoft.KeyVault(SecretUri=${accessKeysSecretUri})'",
            "accessKeysSecretUri",
            "@Microsoft.KeyVault(SecretUri=...) reference",
        ),
        ("    WebPubSubAllowedOrigins: webPubSubHostName\n", "", "WebPubSubAllowedOrigins is missing"),
        ("    keyVaultReferenceIdentity: identityResourceId\n", "", "keyVaultReferenceIdentity"),
    ],
)
def test_function_app_mistakes_are_caught(project_copy: Path, old: str, new: str, message: str) -> None:
    edit(app(project_copy, "api.bicep"), old, new)
    assert_caught(checks.check_function_app(project_copy), message)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "api.bicep",
            "param httpPerInstanceConcurrency int = 16",
            "param httpPerInstanceConcurrency int = 1",
            "is 1",
        ),
        ("api.bicep", "perInstanceConcurrency: httpPerInstanceConcurrency", "", "is None"),
        (
            "api.bicep",
            "param instanceMemoryMB int = 2048",
            "param instanceMemoryMB int = 512",
            "not the 2048 MB",
        ),
        (
            "api.bicep",
            "param pythonVersion string = '3.13'",
            "param pythonVersion string = '3.11'",
            "not the newest",
        ),
        (
            "../../requirements.txt",
            'azure-functions>=2,<3; python_version >= "3.13"\n',
            "",
            "azure-functions 2.x",
        ),
        (
            "../../requirements.txt",
            "azure-functions-runtime==1.3.0",
            "azure-functions-runtime",
            "pinned azure-functions-runtime",
        ),
        (
            "../../docs/performance.md",
            "perInstanceConcurrency` = 16",
            "perInstanceConcurrency",
            "docs/performance.md",
        ),
    ],
)
def test_scale_and_python_mistakes_are_caught(
    project_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(app(project_copy, file), old, new)
    assert_caught(checks.check_scale_and_python(project_copy), message)


def test_shared_key_storage_is_caught(project_copy: Path) -> None:
    edit(app(project_copy, "storage.bicep"), "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")
    assert_caught(checks.check_security_settings(project_copy), "allowSharedKeyAccess")


def test_app_insights_local_auth_is_caught(project_copy: Path) -> None:
    edit(app(project_copy, "monitoring.bicep"), "DisableLocalAuth: true", "DisableLocalAuth: false")
    assert_caught(checks.check_security_settings(project_copy), "DisableLocalAuth")


# --- main.parameters.json ----------------------------------------------------------------------------


def test_parameter_mapped_to_unknown_param_is_caught(project_copy: Path) -> None:
    path = project_copy / "infra" / "main.parameters.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["parameters"]["webPubSubTier"] = data["parameters"].pop("webPubSubSku")
    path.write_text(json.dumps(data), encoding="utf-8")
    assert_caught(checks.check_parameters_file(project_copy), "'webPubSubTier', which is not a param")


def test_unmapped_required_param_is_caught(project_copy: Path) -> None:
    path = project_copy / "infra" / "main.parameters.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["parameters"]["location"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert_caught(checks.check_parameters_file(project_copy), "required param 'location'")


def test_default_outside_allowed_values_is_caught(project_copy: Path) -> None:
    edit(
        project_copy / "infra" / "main.parameters.json",
        "${WEBPUBSUB_SKU=Free_F1}",
        "${WEBPUBSUB_SKU=Basic_B1}",
    )
    assert_caught(checks.check_parameters_file(project_copy), "not in @allowed")


# --- azure.yaml ----------------------------------------------------------------------------------------


def mutate_yaml(copy: Path, change: Callable[[dict], None]) -> None:
    path = copy / "azure.yaml"
    text = path.read_text(encoding="utf-8")
    comment = text.splitlines()[0]
    doc = yaml.safe_load(text)
    change(doc)
    path.write_text(comment + "\n" + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(name="WebPubSub Functions"), "azure.yaml name"),
        # the schema lists hosts only as examples; the semantic check catches the typo
        (lambda d: d["services"]["api"].update(host="functions"), "one service with host: function"),
        (lambda d: d["services"]["api"].pop("host"), "'host' is a required property"),
        (lambda d: d["services"]["api"].update(image="nginx"), "azure.yaml"),
        (lambda d: d["hooks"]["postdeploy"]["posix"].update(shell="bash"), "azure.yaml hooks/postdeploy"),
        (
            lambda d: d.update(services={"web": d["services"]["api"]}),
            "does not match the function app's azd-service-name tag",
        ),
        (lambda d: d["metadata"].update(template="webpubsub-functions-python"), "metadata.template"),
        (lambda d: d["hooks"]["postdeploy"]["posix"].update(run="./scripts/missing.sh"), "does not exist"),
    ],
)
def test_invalid_azure_yaml_is_caught(project_copy: Path, schema_file: Path, change, message: str) -> None:
    assert checks.check_azure_yaml(project_copy, schema_file) == []
    mutate_yaml(project_copy, change)
    assert_caught(checks.check_azure_yaml(project_copy, schema_file), message)


def test_hook_reading_a_missing_output_is_caught(project_copy: Path, schema_file: Path) -> None:
    edit(
        project_copy / "scripts" / "postdeploy.sh",
        'page_url="${APP_PAGE_URL:-}"',
        'page_url="${APP_PAGE:-}"',
    )
    assert_caught(checks.check_azure_yaml(project_copy, schema_file), "reads $APP_PAGE")


def test_service_tag_change_is_caught(project_copy: Path, schema_file: Path) -> None:
    edit(main_bicep(project_copy), "serviceName: 'api'", "serviceName: 'backend'")
    assert_caught(checks.check_azure_yaml(project_copy, schema_file), "azd-service-name tag 'backend'")


# --- declared tables: the role per table ---------------------------------------------------------


def test_missing_table_role_is_caught(project_copy: Path) -> None:
    from . import backend_checks

    remove_block(app(project_copy, "rbac.bicep"), "resource appStorageTableDataContributor ")
    assert_caught(
        backend_checks.check_table_wiring(project_copy),
        "no role assignment grants Storage Table Data Contributor per declared table",
    )


def test_table_role_with_unstable_name_is_caught(project_copy: Path) -> None:
    text = app(project_copy, "rbac.bicep").read_text(encoding="utf-8")
    new = re.sub(
        r"name: guid\((\w+)\[i\]\.id, appPrincipalId, storageTableDataContributorRoleId\)",
        "name: 'table-role'",
        text,
    )
    assert new != text
    app(project_copy, "rbac.bicep").write_text(new, encoding="utf-8")
    assert_caught(checks.check_roles(project_copy), "not named with guid")


# --- optional sign-in app registration (signin_checks.py) -----------------------------------------

SIGNIN_APP_OUTPUT = "output appId string = signInApp.appId\n"


def test_unmutated_copy_passes_the_sign_in_checks(project_copy: Path) -> None:
    assert signin.check_sign_in_app(project_copy) == []
    assert signin.check_graph_extension(project_copy) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        # the module is deployed whatever the parameter says
        (
            "main.bicep",
            "module signInApp './app/signin-app.bicep' = if (signInAppEnabled) {",
            "module signInApp './app/signin-app.bicep' = {",
            "is not behind the createSignInApp parameter",
        ),
        # on by default: every `azd up` would need the right to create app registrations
        (
            "main.bicep",
            "param createSignInApp bool = false",
            "param createSignInApp bool = true",
            "defaults to false",
        ),
        # a given AUTH_CLIENT_ID no longer wins: a second registration would be created
        (
            "main.bicep",
            "var signInAppEnabled = createSignInApp && empty(authClientId)",
            "var signInAppEnabled = createSignInApp",
            "module signInApp is deployed with createSignInApp=true and authClientId='existing-client-id'",
        ),
        # a gate that ignores the parameter
        (
            "main.bicep",
            "var signInAppEnabled = createSignInApp && empty(authClientId)",
            "var signInAppEnabled = empty(authClientId)",
            "module signInApp is deployed with createSignInApp=false and authClientId=''",
        ),
        # the registration is created but Easy Auth is not configured with it
        (
            "main.bicep",
            "var easyAuthEnabled = signInAppEnabled || !empty(authClientId)",
            "var easyAuthEnabled = !empty(authClientId)",
            "module easyAuth (Easy Auth) is not deployed with createSignInApp=true and authClientId=''",
        ),
        # valid Bicep that pycep would read wrongly is reported, not evaluated
        (
            "main.bicep",
            "var easyAuthEnabled = signInAppEnabled || !empty(authClientId)",
            "var easyAuthEnabled = !empty(authClientId) || signInAppEnabled",
            "mis-parses a leading '!'",
        ),
        # the created app's client id does not reach Easy Auth
        (
            "main.bicep",
            "clientId: signInAppEnabled ? signInApp.outputs.appId : authClientId",
            "clientId: authClientId",
            "module easyAuth gets client id '' with createSignInApp=true",
        ),
        (
            "main.bicep",
            "clientId: signInAppEnabled ? signInApp.outputs.appId : authClientId",
            "clientId: signInAppEnabled ? api.outputs.name : authClientId",
            "expected Ref(path=('signInApp', 'outputs', 'appId'))",
        ),
        # the module's output is not the registration's appId
        (
            "app/signin-app.bicep",
            SIGNIN_APP_OUTPUT,
            "output appId string = signInApp.id\n",
            "no output returns",
        ),
        # redirect URI: wrong path, plain http, wrong host
        (
            "app/signin-app.bicep",
            "'https://${appHostName}/.auth/login/aad/callback'",
            "'https://${appHostName}/.auth/login/aad/complete'",
            "web.redirectUris",
        ),
        (
            "app/signin-app.bicep",
            "'https://${appHostName}/.auth/login/aad/callback'",
            "'http://${appHostName}/.auth/login/aad/callback'",
            "web.redirectUris",
        ),
        (
            "main.bicep",
            "appHostName: api.outputs.defaultHostName",
            "appHostName: webPubSub.outputs.hostName",
            "gets redirect host ('webPubSub', 'outputs', 'hostName')",
        ),
        # the registration itself
        (
            "app/signin-app.bicep",
            "enableIdTokenIssuance: true",
            "enableIdTokenIssuance: false",
            "enableIdTokenIssuance is not true",
        ),
        (
            "app/signin-app.bicep",
            "signInAudience: 'AzureADMyOrg'",
            "signInAudience: 'AzureADMultipleOrgs'",
            "signInAudience is 'AzureADMultipleOrgs'",
        ),
        ("app/signin-app.bicep", "  uniqueName: uniqueName\n", "", "has no uniqueName"),
        # secrets: a password on the registration, a client secret in Easy Auth
        (
            "app/signin-app.bicep",
            "  signInAudience: 'AzureADMyOrg'\n",
            "  signInAudience: 'AzureADMyOrg'\n  passwordCredentials: [\n    {\n      displayName: 'secret'\n    }\n  ]\n",
            "signInApp creates passwordCredentials",
        ),
        (
            "app/auth.bicep",
            "          clientId: clientId\n",
            "          clientId: clientId\n          clientSecretSettingName: 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'\n",
            "Easy Auth is given a client secret (clientSecretSettingName)",
        ),
        (
            "app/auth.bicep",
            "          clientId: clientId\n",
            "          clientId: 'fixed'\n",
            "registration.clientId is not",
        ),
    ],
)
def test_sign_in_app_mistakes_are_caught(
    project_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(project_copy / "infra" / file, old, new)
    assert_caught(signin.check_sign_in_app(project_copy), message)


def test_sign_in_app_without_service_principal_is_caught(project_copy: Path) -> None:
    remove_block(app(project_copy, "signin-app.bicep"), "resource signInServicePrincipal ")
    assert_caught(
        signin.check_sign_in_app(project_copy), "no service principal for app registration signInApp"
    )


def test_registration_secret_in_an_output_is_caught(project_copy: Path) -> None:
    path = app(project_copy, "signin-app.bicep")
    path.write_text(
        path.read_text(encoding="utf-8")
        + "output secret string = signInApp.passwordCredentials[0].secretText\n",
        encoding="utf-8",
    )
    assert_caught(checks.check_outputs(project_copy), "output secret reads secret propert")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["extensions"].update(
                microsoftGraphV1="br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:0.2.0-preview"
            ),
            "not a GA version",
        ),
        (
            lambda c: c["extensions"].update(
                microsoftGraphV1="br:mcr.microsoft.com/bicep/extensions/microsoftgraph/beta:1.0.0"
            ),
            "expected br:mcr.microsoft.com",
        ),
        (
            lambda c: c.update(extensions={"graph": c["extensions"]["microsoftGraphV1"]}),
            "extension 'microsoftGraphV1' is None",
        ),
    ],
)
def test_bicepconfig_mistakes_are_caught(project_copy: Path, change, message: str) -> None:
    path = project_copy / "infra" / "bicepconfig.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(json.dumps(config), encoding="utf-8")
    assert_caught(signin.check_graph_extension(project_copy), message)


def test_missing_bicepconfig_is_caught(project_copy: Path) -> None:
    (project_copy / "infra" / "bicepconfig.json").unlink()
    assert_caught(signin.check_graph_extension(project_copy), "no bicepconfig.json declares extension alias")


def test_graph_resource_without_extension_is_caught(project_copy: Path) -> None:
    edit(app(project_copy, "signin-app.bicep"), "extension microsoftGraphV1\n", "")
    assert_caught(signin.check_graph_extension(project_copy), "but 0 extension aliases")
