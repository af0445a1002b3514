# Sourced by scripts/dev and scripts/test: install Azurite (Microsoft's storage emulator, the
# chat history's local table store) from npm into devhost/azurite when missing or outdated.
# Needs Node 20+ and npm; python -m devhost finds it there.
AZURITE_DIR="$ROOT/devhost/azurite"
# npm writes node_modules/.package-lock.json on install: newer than the lock = up to date.
if [ ! "$AZURITE_DIR/node_modules/.package-lock.json" -nt "$AZURITE_DIR/package-lock.json" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "Installing Azurite (npm ci in devhost/azurite)" >&2
        npm ci --prefix "$AZURITE_DIR" --no-audit --no-fund --silent
    else
        echo "warning: npm not found; Azurite (chat history) cannot be installed (needs Node 20)" >&2
    fi
fi
