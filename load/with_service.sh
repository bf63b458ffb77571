#!/usr/bin/env bash
# Run a command against the service on its embedded defaults, started for it in a temporary
# data directory and stopped afterwards: `load/with_service.sh COMMAND...`. The command gets
# LUKHAS_BASE_URL (…/v1) and LUKHAS_API_KEY (an admin key) in its environment.
# env: PORT (8131); LIMITS=generous keeps every request under the rate limits; SERVICE_LOG, a
#      file for the service's log (by default one in the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8131}
WORK=$(mktemp -d)
KEY=lk-local-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SERVICE_LOG=${SERVICE_LOG:-$WORK/lukhas.log}
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
EXTRA=()
if [ "${LIMITS:-}" = generous ]; then
  printf 'window_seconds: 60\ndefault: {requests: 1000000000, tokens: 1000000000000}\n' > "$WORK/limits.yaml"
  EXTRA=(LUKHAS_RATE_LIMITS_FILE="$WORK/limits.yaml")
fi
env -u LUKHAS_DATABASE_URL LUKHAS_DATA_DIR="$WORK/data" LUKHAS_API_KEYS="$KEY" \
  LUKHAS_LOG_LEVEL=warning "${EXTRA[@]}" .venv/bin/lukhas serve --port "$PORT" >"$SERVICE_LOG" 2>&1 &
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$SERVICE_LOG"; exit 1; }
LUKHAS_BASE_URL="http://127.0.0.1:$PORT/v1" LUKHAS_API_KEY="$KEY" "$@"
