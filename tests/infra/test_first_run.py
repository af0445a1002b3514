# ruff: noqa: E501  (messages and patterns read best on one line)
"""What makes the first `azd up` work (first_run_checks.py): the project passes, each mistake is
caught, and the POSIX postdeploy hook really calls what it should (Azure CLI and curl replaced
by recording stand-ins: Azure cannot be reached from here)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from . import first_run_checks as first


def assert_caught(problems: list[str], *fragments: str) -> None:
    assert problems, "the check did not notice the mutation"
    joined = "\n".join(problems)
    for fragment in fragments:
        assert fragment in joined, joined


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"anchor {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_project_passes_every_first_run_check(root: Path) -> None:
    for check in (
        first.check_regions,
        first.check_required_azd,
        first.check_key_vault_reference_order,
        first.check_postdeploy_hooks,
        first.check_sign_in_app_recreatable_and_consentable,
        first.check_easy_auth_restriction,
    ):
        assert check(root) == [], check.__name__


# --- 1. region ------------------------------------------------------------------------------------


def test_every_allowed_region_offers_both_services(root: Path) -> None:
    from .bicep_checks import parse

    spec = parse(root / "infra" / "main.bicep")["parameters"]["location"]
    allowed = next(d["argument"] for d in spec["decorators"] if d["type"] == "allowed")
    lists = first.region_lists()["lists"]
    assert allowed and set(allowed) <= set(lists["flexConsumption"]["regions"]) & set(
        lists["webPubSub"]["regions"]
    )


def test_region_without_one_of_the_services_is_caught(project_copy: Path) -> None:
    # westeurope offers Flex Consumption (first list) but is not in the Web PubSub list
    edit(project_copy / "infra" / "main.bicep", "  'westus2'\n])", "  'westus2'\n  'westeurope'\n])")
    assert_caught(first.check_regions(project_copy), "region 'westeurope' is not in the webPubSub list")


def test_missing_region_list_is_caught(project_copy: Path) -> None:
    path = project_copy / "infra" / "main.bicep"
    text = path.read_text(encoding="utf-8")
    start = text.index("@allowed([\n  'australiaeast'")
    end = text.index("])\n", start) + 3
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    assert_caught(first.check_regions(project_copy), "has no @allowed list")


def test_region_list_without_its_source_is_caught(project_copy: Path, tmp_path: Path) -> None:
    data = first.region_lists()
    data["lists"]["webPubSub"]["source"] = ""
    regions = tmp_path / "regions.json"
    regions.write_text(json.dumps(data), encoding="utf-8")
    assert_caught(
        first.check_regions(project_copy, regions), "list 'webPubSub' needs its regions and its source"
    )


def test_docs_without_the_region_sources_are_caught(project_copy: Path) -> None:
    docs = project_copy / "docs" / "deploy.md"
    docs.write_text(
        docs.read_text(encoding="utf-8").replace("Azure/azure-webpubsub", "the Web PubSub repository"),
        encoding="utf-8",
    )
    assert_caught(
        first.check_regions(project_copy), "docs/deploy.md does not name the source of the webPubSub list"
    )


# --- 2. azd version ------------------------------------------------------------------------------------


def mutate_azure_yaml(copy_root: Path, change) -> None:
    path = copy_root / "azure.yaml"
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    change(doc)
    path.write_text(text.splitlines()[0] + "\n" + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("requiredVersions"), "has no requiredVersions.azd"),
        (lambda d: d.update(requiredVersions={"azd": ">= 1.16.1"}), "Bicep 0.36.1"),
        (lambda d: d.update(requiredVersions={"azd": ">= 1.17.0"}), ".funcignore"),
        (lambda d: d.update(requiredVersions={"azd": "latest"}), "is not '>= X.Y.Z'"),
    ],
)
def test_required_azd_mistakes_are_caught(project_copy: Path, schema_file: Path, change, message) -> None:
    from .bicep_checks import check_azure_yaml

    mutate_azure_yaml(project_copy, change)
    assert check_azure_yaml(project_copy, schema_file) == []  # all of these are valid azure.yaml
    assert_caught(first.check_required_azd(project_copy), message)


# --- 3. Key Vault reference ---------------------------------------------------------------------------------


def test_secret_role_assigned_outside_the_secret_module_is_caught(project_copy: Path) -> None:
    from .test_mutations import remove_block

    remove_block(project_copy / "infra" / "app" / "keyvault.bicep", "resource readerKeyVaultSecretsUser ")
    assert_caught(
        first.check_key_vault_reference_order(project_copy), "does not grant Key Vault Secrets User itself"
    )


def test_secret_uri_not_from_the_vault_module_is_caught(project_copy: Path) -> None:
    edit(
        project_copy / "infra" / "main.bicep",
        "accessKeysSecretUri: keyVault.outputs.accessKeysSecretUri",
        "accessKeysSecretUri: 'https://example.vault.azure.net/secrets/keys'",
    )
    assert_caught(first.check_key_vault_reference_order(project_copy), "not a module output")


def test_secret_role_for_another_identity_is_caught(project_copy: Path) -> None:
    edit(
        project_copy / "infra" / "main.bicep",
        "readerPrincipalId: apiIdentity.outputs.principalId",
        "readerPrincipalId: webPubSubIdentity.outputs.principalId",
    )
    assert_caught(first.check_key_vault_reference_order(project_copy), "not to the identity the app runs as")


@pytest.mark.parametrize("script", first.HOOK_SCRIPTS)
@pytest.mark.parametrize(
    ("needle", "message"),
    [
        ("config/configreferences/appsettings/refresh", "refreshes the app's Key Vault references"),
        ("--query properties.status", "reads the reference's status"),
        ("/functions?api-version", "counts the indexed functions"),
        ("Azure/azure-dev#8538", "names the remote-build Python mismatch"),
    ],
)
def test_hook_losing_a_step_is_caught(project_copy: Path, script: str, needle: str, message: str) -> None:
    path = project_copy / script
    text = path.read_text(encoding="utf-8")
    assert needle in text, (script, needle)
    path.write_text(text.replace(needle, "REMOVED"), encoding="utf-8")
    assert_caught(first.check_postdeploy_hooks(project_copy), f"{script} no longer {message}")


# The POSIX hook, run for real with stand-ins for `az` and `curl` that log their arguments.
FAKE_AZ = r"""#!/bin/sh
echo "az $*" >> "$FAKE_LOG"
case "$*" in
  *"account show"*) exit "${FAKE_AZ_LOGGED_OUT:-0}" ;;
  *"appsettings/refresh"*) exit 0 ;;
  *"configreferences/appsettings/WebPubSubAccessKeys"*) echo "$FAKE_KV_STATUS" ;;
  *"/functions?"*) echo "$FAKE_FUNCTION_COUNT" ;;
  *"runtime.version"*) echo "3.13" ;;
esac
exit 0
"""
FAKE_CURL = r"""#!/bin/sh
echo "curl $*" >> "$FAKE_LOG"
printf 'HTTP/1.1 200 OK\r\nWebHook-Allowed-Origin: wps.example.net\r\n\r\n'
"""


def run_hook(root: Path, tmp_path: Path, **env: str) -> tuple[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (("az", FAKE_AZ), ("curl", FAKE_CURL)):
        tool = bin_dir / name
        tool.write_text(body, encoding="utf-8")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    for tool in ("sh", "tr", "grep", "cut", "sleep", "cat", "printf", "dirname"):
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    log = tmp_path / "calls.log"
    log.write_text("", encoding="utf-8")
    variables = {
        "PATH": str(bin_dir),
        "FAKE_LOG": str(log),
        "FAKE_KV_STATUS": "Resolved",
        "FAKE_FUNCTION_COUNT": "9",
        "POSTDEPLOY_WAIT_SECONDS": "0",
        "SERVICE_API_BASE_URL": "https://func-api-x.azurewebsites.net",
        "APP_PAGE_URL": "https://func-api-x.azurewebsites.net/api/index",
        "WEBPUBSUB_HUBS": "chat,poll",
        "WEBPUBSUB_HOST": "wps.example.net",
        "WEBPUBSUB_ENDPOINT": "https://wps.example.net",
        "AZURE_SUBSCRIPTION_ID": "sub-1",
        "AZURE_RESOURCE_GROUP": "rg-x",
        "AZURE_FUNCTION_NAME": "func-api-x",
        **env,
    }
    # A copy, so that only a stand-in smoke script (if a test puts one) sits beside it.
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    shutil.copy(root / "scripts" / "postdeploy.sh", scripts / "postdeploy.sh")
    result = subprocess.run(
        ["sh", str(scripts / "postdeploy.sh")],
        cwd=tmp_path,
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, log.read_text(encoding="utf-8")


SITE = "https://management.azure.com/subscriptions/sub-1/resourceGroups/rg-x/providers/Microsoft.Web/sites/func-api-x"


def test_hook_refreshes_key_vault_references_and_reports_the_status(root: Path, tmp_path: Path) -> None:
    out, calls = run_hook(root, tmp_path)
    assert (
        f"az rest --method post -o none --url {SITE}/config/configreferences/appsettings/refresh?api-version="
        in calls
    )
    assert f"--url {SITE}/config/configreferences/appsettings/WebPubSubAccessKeys?api-version=" in calls
    assert calls.index("appsettings/refresh") < calls.index("appsettings/WebPubSubAccessKeys")
    assert "Key Vault reference WebPubSubAccessKeys: Resolved" in out
    assert "Functions:    9 indexed (Python 3.13)" in out
    # every declared hub gets its preflight, and the page is printed
    assert "/api/chat/validate" in calls and "/api/poll/validate" in calls
    assert (
        "Hub poll preflight: OK" in out
        and "Page:         https://func-api-x.azurewebsites.net/api/index" in out
    )


def test_hook_explains_an_unresolved_reference(root: Path, tmp_path: Path) -> None:
    out, _ = run_hook(root, tmp_path, FAKE_KV_STATUS="AccessToKeyVaultDenied")
    assert "Key Vault reference WebPubSubAccessKeys: AccessToKeyVaultDenied" in out
    assert "refuses every event with 401" in out and "azd hooks run postdeploy" in out


def test_hook_diagnoses_a_build_on_the_wrong_python(root: Path, tmp_path: Path) -> None:
    out, _ = run_hook(root, tmp_path, FAKE_FUNCTION_COUNT="0")
    assert "none indexed (Python 3.13 configured)" in out
    assert "Azure/azure-dev#8538" in out and "azd env set PYTHON_VERSION 3.11" in out


def test_hook_without_az_prints_what_to_run_and_still_succeeds(root: Path, tmp_path: Path) -> None:
    out, calls = run_hook(root, tmp_path, FAKE_AZ_LOGGED_OUT="1")
    assert "not checked (needs the Azure CLI" in out
    assert f'az rest --method post --url "{SITE}/config/configreferences/appsettings/refresh' in out
    assert "appsettings/refresh" not in calls.replace("account show", "")  # only `az account show` ran
    assert "Hub chat preflight: OK" in out


def test_hook_runs_the_smoke_test_when_there_is_one(root: Path, tmp_path: Path) -> None:
    smoke = tmp_path / "scripts" / "smoke"
    smoke.parent.mkdir(exist_ok=True)
    smoke.write_text('#!/bin/sh\necho "smoke ran for $SERVICE_API_BASE_URL"\nexit 3\n', encoding="utf-8")
    smoke.chmod(smoke.stat().st_mode | stat.S_IEXEC)
    out, _ = run_hook(root, tmp_path)
    assert "smoke ran for https://func-api-x.azurewebsites.net" in out
    assert "Smoke test: FAILED" in out  # reported, yet the hook (and azd up) succeeds


# --- 5. sign-in app -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "main.bicep",
            "-r${signInAppRevision}'",
            "'",
            "does not include ${resourceToken} and ${signInAppRevision}",
        ),
        ("main.parameters.json", '"${SIGNIN_APP_REVISION=1}"', '"1"', "not an azd variable with a default"),
        (
            "app/signin-app.bicep",
            "      resourceAppId: microsoftGraphAppId\n",
            "      resourceAppId: 'other'\n",
            "no requiredResourceAccess for Microsoft Graph",
        ),
        (
            "app/signin-app.bicep",
            "'e1fe6dd8-ba31-4d61-89e7-88639da4683d' // User.Read",
            "'e1fe6dd8-ba31-4d61-89e7-88639da4683e'",
            "lacks Microsoft Graph delegated permission User.Read",
        ),
        (
            "app/signin-app.bicep",
            "'64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0' // email\n          type: 'Scope'",
            "'64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0' // email\n          type: 'Role'",
            "lacks Microsoft Graph delegated permission email",
        ),
        ("../docs/deploy.md", "SIGNIN_APP_REVISION", "the revision", "does not explain SIGNIN_APP_REVISION"),
    ],
)
def test_sign_in_app_mistakes_are_caught(
    project_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    path = project_copy / "infra" / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert_caught(first.check_sign_in_app_recreatable_and_consentable(project_copy), message)


# --- 6. Easy Auth restriction ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        # the policy ignores the parameter
        (
            "app/auth.bicep",
            "allowedApplications: allowedApplications",
            "allowedApplications: []",
            "does not use the allowedApplications parameter",
        ),
        # the restriction is applied whatever the parameter says
        (
            "main.bicep",
            "allowedApplications: easyAuthRestrictToClient ? [",
            "allowedApplications: true ? [",
            "with easyAuthRestrictToClient=False",
        ),
        # it names the created app even when an existing client id was given
        (
            "main.bicep",
            "    allowedApplications: easyAuthRestrictToClient ? [\n      signInAppEnabled ? signInApp.outputs.appId : authClientId",
            "    allowedApplications: easyAuthRestrictToClient ? [\n      signInApp.outputs.appId",
            "expected ['existing-client-id']",
        ),
    ],
)
def test_easy_auth_restriction_mistakes_are_caught(
    project_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(project_copy / "infra" / file, old, new)
    assert_caught(first.check_easy_auth_restriction(project_copy), message)


def test_easy_auth_restriction_parameter_must_be_mapped(project_copy: Path) -> None:
    path = project_copy / "infra" / "main.parameters.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["parameters"][first.RESTRICT_PARAM]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert_caught(first.check_easy_auth_restriction(project_copy), "does not map easyAuthRestrictToClient")
