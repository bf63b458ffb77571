#!/usr/bin/env bash
# `make load-smoke`: the service on its embedded defaults under k6's mixed traffic
# (load/smoke.js), judged against configs/observability/slo_budgets.yaml. Prints p95, p99 and
# the error rate per route; exits non-zero when any request failed.
# env: VUS=100 DURATION=2m (CI runs a short version), PORT=8131, OUT=load/results/smoke.json
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
VUS=${VUS:-100}
DURATION=${DURATION:-2m}
PORT=${PORT:-8131}
OUT=${OUT:-load/results/smoke.json}
mkdir -p "$(dirname "$OUT")"

BUDGETS=$($BIN/python - <<'PY'
import json, yaml
b = yaml.safe_load(open("configs/observability/slo_budgets.yaml"))["routes"]
ms = lambda route: b[route]["latency"]["threshold_seconds"] * 1000
print(json.dumps({"responses": ms("/v1/responses"), "responses_stream": ms("/v1/responses"),
                  "chat": ms("/v1/responses"), "embeddings": ms("/v1/embeddings"),
                  "index_search": ms("/v1/embeddings")}))
PY
)
# The service on its embedded defaults, limits high enough never to refuse (the limiter still
# counts every request); k6's log is shown only when it fails.
LOG=$(mktemp)
SERVICE_LOG=$(mktemp)
trap 'rm -f "$LOG" "$SERVICE_LOG"' EXIT
export VUS DURATION OUT BUDGETS SERVICE_LOG  # k6 reads the first four as __ENV
PORT=$PORT LIMITS=generous load/with_service.sh bash -c \
  'BASE=${LUKHAS_BASE_URL%/v1} KEY=$LUKHAS_API_KEY .venv/bin/k6 run --quiet --no-color load/smoke.js' \
  >"$LOG" 2>&1 || { cat "$LOG"; exit 1; }

status=0
$BIN/python - "$OUT" <<'PY' || status=$?
import json, sys
s = json.load(open(sys.argv[1]))
print(f"load smoke: {s['vus']} VUs for {s['duration']}, {s['rps']:.0f} req/s in all")
print(f"{'route':<18}{'requests':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'p95 budget':>12}")
over = 0
for name, r in s["routes"].items():
    budget = r["p95_budget_ms"]
    mark = "" if budget is None or r["p95_ms"] <= budget else "  over budget"
    over += bool(mark)
    print(f"{name:<18}{r['requests']:>9}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
          f"{r['error_rate']:>8.2%}{budget or 0:>10.0f}ms{mark}")
print(f"error rate {s['error_rate']:.4%}, failed checks {s['checks_failed']}")
sys.exit(1 if s["error_rate"] > 0 or s["checks_failed"] > 0 else 0)
PY
# A failed request names itself: k6 logged the first few, with status and body, and the
# service its errors.
if [ "$status" -ne 0 ]; then
  grep -o 'failed request: .*' "$LOG" | head -n 10 || true
  grep -E '"level": ?"(error|critical)"|Traceback' "$SERVICE_LOG" | head -n 20 || true
fi
exit "$status"
