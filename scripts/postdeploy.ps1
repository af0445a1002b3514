# azd postdeploy hook (Windows / PowerShell). Informational: it reports and never fails `azd up`.
# The same steps as scripts/postdeploy.sh (read its header): Key Vault reference refresh and
# status, functions indexed, each declared hub's abuse-protection preflight, where to go, smoke.
# azd passes the Bicep outputs (infra/main.bicep) and AZURE_SUBSCRIPTION_ID as environment
# variables. Steps 1-2 use the Azure CLI (`az login`); without it they print what to run.
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
$pageUrl = $env:APP_PAGE_URL
$hubs = if ($env:WEBPUBSUB_HUBS) { $env:WEBPUBSUB_HUBS -split ',' } else { @() }
$wpsHost = $env:WEBPUBSUB_HOST
$waitSeconds = if ($env:POSTDEPLOY_WAIT_SECONDS) { [int]$env:POSTDEPLOY_WAIT_SECONDS } else { 90 }
$armApi = '2022-03-01'
$kvSetting = 'WebPubSubAccessKeys'

if (-not $baseUrl) {
    Write-Warning "postdeploy: SERVICE_API_BASE_URL is not set; run 'azd provision' first."
    exit 0
}

Write-Host ""
Write-Host "Web PubSub:   $($env:WEBPUBSUB_ENDPOINT) (hubs: $($env:WEBPUBSUB_HUBS))"
Write-Host "Function app: $baseUrl"

$siteId = "/subscriptions/$($env:AZURE_SUBSCRIPTION_ID)/resourceGroups/$($env:AZURE_RESOURCE_GROUP)/providers/Microsoft.Web/sites/$($env:AZURE_FUNCTION_NAME)"
$arm = "https://management.azure.com$siteId"

$haveAz = $false
if (Get-Command az -ErrorAction SilentlyContinue) {
    az account show -o none 2>$null
    $haveAz = ($LASTEXITCODE -eq 0)
}

# --- 1. Key Vault references ---------------------------------------------------------------------
if ($haveAz) {
    az rest --method post -o none --url "$arm/config/configreferences/appsettings/refresh?api-version=$armApi" 2>$null
    if ($LASTEXITCODE -eq 0) {
        Write-Host "Key Vault references: refresh requested"
    } else {
        Write-Host "Key Vault references: the refresh request failed (you need write access to the function app)."
    }
    $status = az rest --method get --url "$arm/config/configreferences/appsettings/$kvSetting`?api-version=$armApi" --query properties.status -o tsv 2>$null
    if ($status -eq 'Resolved') {
        Write-Host "Key Vault reference ${kvSetting}: Resolved"
    } elseif (-not $status) {
        Write-Host "Key Vault reference ${kvSetting}: status unknown (could not read it)."
    } else {
        Write-Host "Key Vault reference ${kvSetting}: $status"
        Write-Host "  Until it says Resolved the app has no signing keys and refuses every event with 401."
        Write-Host "  A new role assignment can take a few minutes to apply; then run 'azd hooks run postdeploy'."
    }
} else {
    Write-Host "Key Vault references: not checked (needs the Azure CLI, signed in with 'az login'). To do it yourself:"
    Write-Host "  az rest --method post --url `"$arm/config/configreferences/appsettings/refresh?api-version=$armApi`""
    Write-Host "  az rest --method get --url `"$arm/config/configreferences/appsettings/$kvSetting`?api-version=$armApi`" --query properties.status"
}

# --- 2. Functions indexed ------------------------------------------------------------------------
if ($haveAz) {
    $waited = 0
    while ($true) {
        $count = az rest --method get --url "$arm/functions?api-version=$armApi" --query "length(value)" -o tsv 2>$null
        if ($count -and $count -ne '0') { break }
        if ($waited -ge $waitSeconds) { break }
        Start-Sleep -Seconds 10
        $waited += 10
    }
    $runtime = az rest --method get --url "$arm`?api-version=$armApi" --query properties.functionAppConfig.runtime.version -o tsv 2>$null
    if ($count -and $count -ne '0') {
        Write-Host "Functions:    $count indexed (Python $runtime)"
    } else {
        Write-Host "Functions:    none indexed (Python $runtime configured). Every event will get 404."
        Write-Host "  Most likely the remote build used another Python than the app runs: Azure/azure-dev#8538"
        Write-Host "  reports Flex Consumption building with Python 3.11 for a 3.13 app. requirements.txt then"
        Write-Host "  installs azure-functions 1.x and 3.11 wheels, which the $runtime worker cannot load."
        Write-Host "  Check the build log in the deployment output for '--platform-version'. Workaround: run the"
        Write-Host "  app on the Python the build used, e.g. 'azd env set PYTHON_VERSION 3.11' then 'azd up'."
        Write-Host "  Otherwise see the exceptions in Application Insights (an import error at start-up)."
    }
}

# --- 3. Abuse-protection preflight, per hub --------------------------------------------------------
if ($wpsHost) {
    foreach ($hub in $hubs) {
        try {
            $response = Invoke-WebRequest -Method Options -Uri "$baseUrl/api/$hub/validate" `
                -Headers @{ 'WebHook-Request-Origin' = $wpsHost; 'ce-awpsversion' = '1.0' } `
                -TimeoutSec 60 -UseBasicParsing
            $allowed = $response.Headers['WebHook-Allowed-Origin']
        } catch {
            $allowed = $null
        }
        if ($allowed) {
            Write-Host "Hub $hub preflight: OK (WebHook-Allowed-Origin: $allowed)"
        } else {
            Write-Host "Hub $hub preflight: no WebHook-Allowed-Origin yet (cold start, or see 'Functions' above)."
        }
    }
}

# --- 4. Where to go -----------------------------------------------------------------------------------
if ($env:EASY_AUTH_ENABLED -eq 'true') {
    $redirect = if ($pageUrl) { $pageUrl.Substring($baseUrl.Length) } else { '/' }
    Write-Host "Sign in:      $baseUrl/.auth/login/aad?post_login_redirect_uri=$redirect"
}
if ($pageUrl) { Write-Host "Page:         $pageUrl" }
Write-Host ""

# --- 5. Smoke test (scripts/smoke; docs/deploy.md#smoke-test-scriptssmoke) --------------------------------
# Negotiate, connect through Web PubSub, send, read back: PASS/FAIL per step, a diagnosis for each
# failure. Informational only: its exit code is ignored and the deployment stays.
$root = Split-Path -Parent $PSScriptRoot
$python = @('.venv/Scripts/python.exe', '.venv/bin/python') | ForEach-Object { Join-Path $root $_ } |
    Where-Object { Test-Path $_ } | Select-Object -First 1
if ($python) {
    $smokeArgs = @('-m', 'smoke', $baseUrl)
    if ($wpsHost) { $smokeArgs += @('--webpubsub-host', $wpsHost) }
    Push-Location $root
    try { & $python @smokeArgs } finally { Pop-Location }
    if ($LASTEXITCODE -eq 0) { Write-Host "Smoke test: passed" }
    else { Write-Host "Smoke test: FAILED (see the diagnosis above; run it again with: python -m smoke $baseUrl)" }
} else {
    Write-Host "Smoke test skipped: no .venv yet. python -m venv .venv; .venv\Scripts\pip install -r requirements-dev.txt;"
    Write-Host "  then: .venv\Scripts\python -m smoke $baseUrl"
}
Write-Host ""
exit 0
