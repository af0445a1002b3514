# azd postdeploy hook (Windows / PowerShell): print where the chat is and smoke-check the
# webhook preflight. azd passes the Bicep outputs (infra/main.bicep) as environment variables.
$ErrorActionPreference = 'Continue'

if (-not $env:SERVICE_API_BASE_URL -and (Get-Command azd -ErrorAction SilentlyContinue)) {
    # Older azd versions: read the environment explicitly.
    foreach ($line in (azd env get-values)) {
        if ($line -match '^([^=]+)="?(.*?)"?$') {
            Set-Item -Path "env:$($Matches[1])" -Value $Matches[2]
        }
    }
}

$baseUrl = $env:SERVICE_API_BASE_URL
$chatUrl = $env:CHAT_PAGE_URL
$hub = if ($env:WEBPUBSUB_HUB) { $env:WEBPUBSUB_HUB } else { 'chat' }
$wpsHost = $env:WEBPUBSUB_HOST

if (-not $baseUrl) {
    Write-Warning "postdeploy: SERVICE_API_BASE_URL is not set; run 'azd provision' first."
    exit 0
}

Write-Host ""
Write-Host "Web PubSub:   $($env:WEBPUBSUB_ENDPOINT) (hub: $hub)"
Write-Host "Function app: $baseUrl"

# Abuse-protection preflight, as the service sends it before delivering events.
if ($wpsHost) {
    try {
        $response = Invoke-WebRequest -Method Options -Uri "$baseUrl/api/$hub/validate" `
            -Headers @{ 'WebHook-Request-Origin' = $wpsHost; 'ce-awpsversion' = '1.0' } `
            -TimeoutSec 60 -UseBasicParsing
        $allowed = $response.Headers['WebHook-Allowed-Origin']
    } catch {
        $allowed = $null
    }
    if ($allowed) {
        Write-Host "Webhook preflight: OK (WebHook-Allowed-Origin: $allowed)"
    } else {
        Write-Host "Webhook preflight: no WebHook-Allowed-Origin yet (cold start or still deploying?)."
    }
}

if ($env:EASY_AUTH_ENABLED -eq 'true') {
    Write-Host "Sign in:      $baseUrl/.auth/login/aad?post_login_redirect_uri=/api/index"
} elseif ($env:GUESTS_ENABLED -eq 'false') {
    Write-Host "Note: guests are off and no sign-in is configured, so the chat cannot issue tokens. Either"
    Write-Host "  azd env set CREATE_SIGNIN_APP true                        (Entra sign-in, registration created by azd), or"
    Write-Host "  azd env set AUTH_CLIENT_ID <app registration client id>   (Entra sign-in, your registration), or"
    Write-Host "  azd env set CHAT_ALLOW_GUESTS true                        (guests with server-assigned ids)"
    Write-Host "then run 'azd provision'. See docs/deploy.md."
}
Write-Host ""
if ($chatUrl) { Write-Host "Chat page:    $chatUrl" } else { Write-Host "Chat page:    $baseUrl/api/index" }
Write-Host ""

# --- Smoke test (scripts/smoke; docs/deploy.md#smoke-test-scriptssmoke) ---------------------------
# Negotiate, connect through Web PubSub, send, read back: PASS/FAIL per step, a diagnosis for each
# failure. Informational only: its exit code is ignored and the deployment stays.
$root = Split-Path -Parent $PSScriptRoot
$python = @('.venv/Scripts/python.exe', '.venv/bin/python') | ForEach-Object { Join-Path $root $_ } |
    Where-Object { Test-Path $_ } | Select-Object -First 1
if ($python) {
    $smokeArgs = @('-m', 'smoke', $baseUrl)
    if ($env:WEBPUBSUB_HUB) { $smokeArgs += @('--hub', $env:WEBPUBSUB_HUB) }
    if ($wpsHost) { $smokeArgs += @('--webpubsub-host', $wpsHost) }
    Push-Location $root
    try { & $python @smokeArgs } finally { Pop-Location }
    if ($LASTEXITCODE -ne 0) { Write-Host "Smoke test: see the diagnosis above; run it again with: python -m smoke $baseUrl" }
} else {
    Write-Host "Smoke test skipped: no .venv yet. python -m venv .venv; .venv\Scripts\pip install -r requirements-dev.txt;"
    Write-Host "  then: .venv\Scripts\python -m smoke $baseUrl"
}
Write-Host ""
exit 0
