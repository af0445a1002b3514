#!/bin/sh
# azd postdeploy hook (POSIX). Informational: it reports and never fails `azd up`.
#  1. Key Vault references: asks App Service to fetch them now and prints the status of the
#     WebPubSubAccessKeys reference (a reference resolved before the app's role applied keeps the
#     raw "@Microsoft.KeyVault(...)" text for up to 24 h, and every event is then refused).
#  2. Functions: checks the deployed app indexed its functions (none means every event gets 404).
#  3. Each declared hub: the abuse-protection preflight Web PubSub sends before any event.
#  4. Where to go: the app, its page (the backend declaration's pageRoute) and sign-in.
# azd passes the Bicep outputs (infra/main.bicep) and AZURE_SUBSCRIPTION_ID as environment
# variables. Steps 1-2 use the Azure CLI (`az login`); without it they print what to run.
# scripts/postdeploy.ps1 does the same on Windows; tests/infra checks both.
set -u

if [ -z "${SERVICE_API_BASE_URL:-}" ] && command -v azd >/dev/null 2>&1; then
  # Older azd versions: read the environment explicitly.
  eval "$(azd env get-values)"
fi

base_url="${SERVICE_API_BASE_URL:-}"
page_url="${APP_PAGE_URL:-}"
hubs="${WEBPUBSUB_HUBS:-}"
wps_host="${WEBPUBSUB_HOST:-}"
# Seconds to wait for the functions to be indexed after a deployment (0: look once).
wait_seconds="${POSTDEPLOY_WAIT_SECONDS:-90}"

# ARM: the Key Vault reference API (Learn: "Use Key Vault references as app settings",
# "Understand rotation"; REST: Web Apps - Get App Setting Key Vault Reference).
arm_api="2022-03-01"
kv_setting="WebPubSubAccessKeys"

if [ -z "$base_url" ]; then
  echo "postdeploy: SERVICE_API_BASE_URL is not set; run 'azd provision' first." >&2
  exit 0
fi

echo ""
echo "Web PubSub:   ${WEBPUBSUB_ENDPOINT:-?} (hubs: ${hubs:-none declared})"
echo "Function app: $base_url"

site_id="/subscriptions/${AZURE_SUBSCRIPTION_ID:-}/resourceGroups/${AZURE_RESOURCE_GROUP:-}/providers/Microsoft.Web/sites/${AZURE_FUNCTION_NAME:-}"
arm="https://management.azure.com$site_id"

have_az() {
  command -v az >/dev/null 2>&1 && az account show -o none >/dev/null 2>&1
}

# --- 1. Key Vault references --------------------------------------------------------------------
if have_az; then
  if az rest --method post -o none \
      --url "$arm/config/configreferences/appsettings/refresh?api-version=$arm_api" >/dev/null 2>&1; then
    echo "Key Vault references: refresh requested"
  else
    echo "Key Vault references: the refresh request failed (you need write access to the function app)."
  fi
  status="$(az rest --method get \
      --url "$arm/config/configreferences/appsettings/$kv_setting?api-version=$arm_api" \
      --query properties.status -o tsv 2>/dev/null)"
  case "$status" in
    Resolved)
      echo "Key Vault reference $kv_setting: Resolved" ;;
    "")
      echo "Key Vault reference $kv_setting: status unknown (could not read it)." ;;
    *)
      echo "Key Vault reference $kv_setting: $status"
      echo "  Until it says Resolved the app has no signing keys and refuses every event with 401."
      echo "  A new role assignment can take a few minutes to apply; then run 'azd hooks run postdeploy'." ;;
  esac
else
  echo "Key Vault references: not checked (needs the Azure CLI, signed in with 'az login'). To do it yourself:"
  echo "  az rest --method post --url \"$arm/config/configreferences/appsettings/refresh?api-version=$arm_api\""
  echo "  az rest --method get --url \"$arm/config/configreferences/appsettings/$kv_setting?api-version=$arm_api\" --query properties.status"
fi

# --- 2. Functions indexed -------------------------------------------------------------------------
if have_az; then
  count=""
  waited=0
  while :; do
    count="$(az rest --method get --url "$arm/functions?api-version=$arm_api" \
        --query "length(value)" -o tsv 2>/dev/null)"
    if [ -n "$count" ] && [ "$count" != "0" ]; then
      break
    fi
    if [ "$waited" -ge "$wait_seconds" ]; then
      break
    fi
    sleep 10
    waited=$((waited + 10))
  done
  runtime="$(az rest --method get --url "$arm?api-version=$arm_api" \
      --query properties.functionAppConfig.runtime.version -o tsv 2>/dev/null)"
  if [ -n "$count" ] && [ "$count" != "0" ]; then
    echo "Functions:    $count indexed (Python ${runtime:-?})"
  else
    echo "Functions:    none indexed (Python ${runtime:-?} configured). Every event will get 404."
    echo "  Most likely the remote build used another Python than the app runs: Azure/azure-dev#8538"
    echo "  reports Flex Consumption building with Python 3.11 for a 3.13 app. requirements.txt then"
    echo "  installs azure-functions 1.x and 3.11 wheels, which the ${runtime:-configured} worker cannot load."
    echo "  Check the build log in the deployment output for '--platform-version'. Workaround: run the"
    echo "  app on the Python the build used, e.g. 'azd env set PYTHON_VERSION 3.11' then 'azd up'."
    echo "  Otherwise see the exceptions in Application Insights (an import error at start-up)."
  fi
fi

# --- 3. Abuse-protection preflight, per hub ---------------------------------------------------------
if command -v curl >/dev/null 2>&1 && [ -n "$wps_host" ] && [ -n "$hubs" ]; then
  old_ifs="$IFS"
  IFS=','
  for hub in $hubs; do
    IFS="$old_ifs"
    allowed="$(curl -s -o /dev/null -D - --max-time 60 -X OPTIONS \
        -H "WebHook-Request-Origin: $wps_host" -H "ce-awpsversion: 1.0" \
        "$base_url/api/$hub/validate" | tr -d '\r' | grep -i '^webhook-allowed-origin:' | cut -d' ' -f2-)"
    if [ -n "$allowed" ]; then
      echo "Hub $hub preflight: OK (WebHook-Allowed-Origin: $allowed)"
    else
      echo "Hub $hub preflight: no WebHook-Allowed-Origin yet (cold start, or see 'Functions' above)."
      echo "  Retry: curl -i -X OPTIONS -H 'WebHook-Request-Origin: $wps_host' $base_url/api/$hub/validate"
    fi
  done
  IFS="$old_ifs"
fi

# --- 4. Where to go ----------------------------------------------------------------------------------
is_true() { case "$1" in [Tt]rue|1) return 0 ;; *) return 1 ;; esac; }

if is_true "${EASY_AUTH_ENABLED:-false}"; then
  redirect="${page_url#"$base_url"}"
  echo "Sign in:      $base_url/.auth/login/aad?post_login_redirect_uri=${redirect:-/}"
fi
if [ -n "$page_url" ]; then
  echo "Page:         $page_url"
fi
echo ""

# --- 5. Smoke test (scripts/smoke; docs/deploy.md#smoke-test-scriptssmoke) --------------------------------
# Negotiate, connect through Web PubSub, send, read back: PASS/FAIL per step, a diagnosis for each
# failure. Informational only: its exit code is ignored and the deployment stays. Found beside this
# script: newer azd versions run hooks in the script's folder, older ones in the project's.
smoke="$(dirname "$0")/smoke"
if [ -x "$smoke" ]; then
  set -- "$base_url"
  if [ -n "$wps_host" ]; then set -- "$@" --webpubsub-host "$wps_host"; fi
  if "$smoke" "$@"; then
    echo "Smoke test: passed"
  else
    echo "Smoke test: FAILED (see the diagnosis above; run it again with: scripts/smoke $base_url)"
  fi
  echo ""
fi
exit 0
