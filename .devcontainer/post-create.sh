#!/usr/bin/env bash
# Dev container set-up (postCreateCommand), run once when the container is created:
# * the project's .venv with requirements-dev.txt, on the image's Python (3.13, what Azure runs),
#   and Azurite in devhost/azurite: the same scripts scripts/dev and scripts/test run on first use;
# * Azure Functions Core Tools (func) from npm (Microsoft's package; the devcontainers/features
#   collection has no Core Tools feature). Python, Node 20, azd, az and Bicep come from the image
#   and the features in devcontainer.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/_venv.sh
source scripts/_azurite.sh
npm install --global --no-audit --no-fund azure-functions-core-tools@4
echo "Ready: scripts/dev runs the whole app locally, scripts/test the tests."
