# Sourced by scripts/dev and scripts/test: create .venv when missing and install
# requirements-dev.txt when it changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="$VENV/bin/python"
STAMP="$VENV/.requirements-dev.sha256"

if [ ! -x "$PYTHON" ]; then
    echo "Creating $VENV" >&2
    python3 -m venv "$VENV"
fi

wanted="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$wanted" ]; then
    echo "Installing requirements-dev.txt into $VENV" >&2
    "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
    echo "$wanted" > "$STAMP"
fi
