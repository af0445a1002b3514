#!/bin/sh
# azd postdeploy hook (POSIX): print where the chat is and smoke-check the webhook preflight.
# azd passes the Bicep outputs (infra/main.bicep) as environment variables.
set -u

if [ -z "${SERVICE_API_BASE_URL:-}" ] && command -v azd >/dev/null 2>&1; then
  # Older azd versions: read the environment explicitly.
  eval "$(azd env get-values)"
fi

base_url="${SERVICE_API_BASE_URL:-}"
chat_url="${CHAT_PAGE_URL:-}"
hub="${WEBPUBSUB_HUB:-chat}"
wps_host="${WEBPUBSUB_HOST:-}"

if [ -z "$base_url" ]; then
  echo "postdeploy: SERVICE_API_BASE_URL is not set; run 'azd provision' first." >&2
  exit 0
fi

echo ""
echo "Web PubSub:   ${WEBPUBSUB_ENDPOINT:-?} (hub: $hub)"
echo "Function app: $base_url"

# Abuse-protection preflight, as the service sends it before delivering events.
if command -v curl >/dev/null 2>&1 && [ -n "$wps_host" ]; then
  allowed="$(curl -s -o /dev/null -D - --max-time 60 -X OPTIONS \
      -H "WebHook-Request-Origin: $wps_host" -H "ce-awpsversion: 1.0" \
      "$base_url/api/$hub/validate" | tr -d '\r' | grep -i '^webhook-allowed-origin:' | cut -d' ' -f2-)"
  if [ -n "$allowed" ]; then
    echo "Webhook preflight: OK (WebHook-Allowed-Origin: $allowed)"
  else
    echo "Webhook preflight: no WebHook-Allowed-Origin yet (cold start or still deploying?)."
    echo "  Retry: curl -i -X OPTIONS -H 'WebHook-Request-Origin: $wps_host' $base_url/api/$hub/validate"
  fi
fi

is_true() { case "$1" in [Tt]rue|1) return 0 ;; *) return 1 ;; esac; }

if is_true "${EASY_AUTH_ENABLED:-false}"; then
  echo "Sign in:      $base_url/.auth/login/aad?post_login_redirect_uri=/api/index"
elif ! is_true "${GUESTS_ENABLED:-true}"; then
  echo "Note: guests are off and no sign-in is configured, so the chat cannot issue tokens. Either"
  echo "  azd env set CREATE_SIGNIN_APP true                        (Entra sign-in, registration created by azd), or"
  echo "  azd env set AUTH_CLIENT_ID <app registration client id>   (Entra sign-in, your registration), or"
  echo "  azd env set CHAT_ALLOW_GUESTS true                        (guests with server-assigned ids)"
  echo "then run 'azd provision'. See docs/deploy.md."
fi
echo ""
echo "Chat page:    ${chat_url:-$base_url/api/index}"
echo ""

# --- Smoke test (scripts/smoke; docs/deploy.md#smoke-test-scriptssmoke) ---------------------------
# Negotiate, connect through Web PubSub, send, read back: PASS/FAIL per step, a diagnosis for each
# failure. Informational only: its exit code is ignored and the deployment stays.
set -- "$base_url"
if [ -n "${WEBPUBSUB_HUB:-}" ]; then set -- "$@" --hub "$WEBPUBSUB_HUB"; fi
if [ -n "$wps_host" ]; then set -- "$@" --webpubsub-host "$wps_host"; fi
"$(dirname "$0")/smoke" "$@" || echo "Smoke test: see the diagnosis above; run it again with: scripts/smoke $base_url"
echo ""
exit 0
