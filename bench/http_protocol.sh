#!/usr/bin/env bash
# What the HTTP/1.1 protocol `lukhas serve` runs (httptools with a header deadline and bounded
# header bytes; app/http_protocol.py) costs against uvicorn's own httptools and h11 protocols,
# on the minimal endpoint (load/minimal_app.py), where the protocol's share of the time is
# largest. Same k6 load (load/http.js) on each, one worker each, one after the other.
# Usage: bench/http_protocol.sh   (env: VUS=32 DURATION=15s)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
VUS=${VUS:-32}
DURATION=${DURATION:-15s}
WORK=$(mktemp -d)
PORT=8121
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
BODY='{"model":"lukhas-matriz","input":"What is 2+2?","store":false}'

serve() {  # protocol (uvicorn's `http` option)
  PYTHONPATH=$PWD $BIN/python -c "import sys, uvicorn; uvicorn.run('load.minimal_app:app', \
port=$PORT, http=sys.argv[1], access_log=False, log_level='warning', timeout_keep_alive=5, \
h11_max_incomplete_event_size=16384)" "$1" >"$WORK/server.log" 2>&1 &
  for _ in $(seq 1 60); do
    curl -sf -X POST "http://127.0.0.1:$PORT/v1/responses" -d '{}' >/dev/null && return; sleep 0.25
  done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}

run() {  # name protocol
  serve "$2"
  URL="http://127.0.0.1:$PORT/v1/responses" BODY=$BODY KEY=none VUS=$VUS DURATION=$DURATION \
    OUT="$WORK/$1.json" $BIN/k6 run --quiet --no-usage-report load/http.js >/dev/null 2>&1
  kill %1; wait %1 2>/dev/null || true
  python3 - "$1" "$WORK/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]:<10} {r['rps']:>8.0f} req/s  p50 {r['p50_ms']:>7.2f} ms  p99 {r['p99_ms']:>7.2f} ms  failed {r['failed']}")
PY
}

echo "machine: $(nproc) cores; k6 $VUS VUs for $DURATION on the minimal endpoint"
run httptools httptools
run guarded app.http_protocol:GuardedHttpToolsProtocol
run h11 h11
python3 - "$WORK" <<'PY'
import json, sys
d = sys.argv[1]
rps = {n: json.load(open(f"{d}/{n}.json"))["rps"] for n in ("httptools", "guarded", "h11")}
for name in ("guarded", "h11"):
    print(f"{name}: {rps[name] / rps['httptools']:.1%} of plain httptools' throughput")
PY
