#!/usr/bin/env bash
# Load figures for the OpenAI core, all in one run on this machine:
#   the minimal FastAPI endpoint (same body size) vs /v1/responses (store false and true)
#   vs /v1/chat/completions (also for a caller with long-term memories), each with k6 at
#   $VUS connections for $DURATION, one worker each;
#   then $VUS concurrent SSE streams with k6 while a one-connection probe measures the time to
#   the first text delta (the server computes the first delta before it sends any byte, so
#   k6's time to first byte is the same figure seen from the load itself).
# With ROUNDS=N (N > 1) the minimal endpoint, `store: false` and chat completions are measured
# N times, taking turns (the order reversed every other round), and each share is given per
# round and as the median of the rounds: on a shared machine one pair of runs can land in
# different minutes of a neighbour's load.
# Usage: load/run_k6.sh   (env: VUS=32 DURATION=20s ROUNDS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
VUS=${VUS:-32}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-1}
WORK=$(mktemp -d)
KEY=lk-load-0123456789abcdef         # a caller that stores nothing: no long-term memory to search
KEY_WRITER=lk-load-writer-0123456789  # the store:true caller, whose turns are remembered
LPORT=8111
MPORT=8112
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Limits high enough never to refuse: the limiter still runs on every request, as in production.
printf 'window_seconds: 60\ndefault: {requests: 1000000000, tokens: 1000000000000}\n' > "$WORK/limits.yaml"
env -u LUKHAS_DATABASE_URL -u LUKHAS_REDIS_URL LUKHAS_DATA_DIR="$WORK/data" LUKHAS_API_KEYS="$KEY,$KEY_WRITER" \
  LUKHAS_LOG_LEVEL=warning LUKHAS_RATE_LIMITS_FILE="$WORK/limits.yaml" \
  $BIN/lukhas serve --port $LPORT --workers 1 >"$WORK/lukhas.log" 2>&1 &
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$LPORT/readyz" >/dev/null && break; sleep 0.5; done

BODY_NOSTORE='{"model":"lukhas-matriz","input":"What is 2+2?","store":false}'
BODY_STORE='{"model":"lukhas-matriz","input":"What is 2+2?","store":true}'
BODY_CHAT='{"model":"lukhas-matriz","messages":[{"role":"user","content":"What is 2+2?"}]}'
SIZE=$(curl -s "http://127.0.0.1:$LPORT/v1/responses" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -d "$BODY_NOSTORE" | wc -c)

LOAD_BODY_BYTES=$SIZE $BIN/uvicorn load.minimal_app:app --port $MPORT --workers 1 \
  --no-access-log --log-level warning >"$WORK/minimal.log" 2>&1 &
for _ in $(seq 1 60); do curl -sf -X POST "http://127.0.0.1:$MPORT/v1/responses" -d '{}' >/dev/null && break; sleep 0.25; done

run() {  # name url body [key]
  URL=$2 BODY=$3 KEY=${4:-$KEY} VUS=$VUS DURATION=$DURATION OUT="$WORK/$1.json" \
    $BIN/k6 run --quiet --no-usage-report load/http.js >/dev/null 2>&1
  python3 - "$1" "$WORK/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]:<22} {r['rps']:>8.0f} req/s  p50 {r['p50_ms']:>7.2f} ms  p99 {r['p99_ms']:>7.2f} ms  failed {r['failed']}")
PY
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; k6 $VUS VUs for $DURATION; body $SIZE bytes"
trio() {  # suffix: the three cases of the shares, in the order given by the round
  local cases=(minimal_fastapi responses_store_false chat_completions)
  if (( ${2:-0} % 2 )); then cases=(chat_completions responses_store_false minimal_fastapi); fi
  for c in "${cases[@]}"; do
    case $c in
      minimal_fastapi) run "minimal_fastapi$1" "http://127.0.0.1:$MPORT/v1/responses" "$BODY_NOSTORE" ;;
      responses_store_false) run "responses_store_false$1" "http://127.0.0.1:$LPORT/v1/responses" "$BODY_NOSTORE" ;;
      chat_completions) run "chat_completions$1" "http://127.0.0.1:$LPORT/v1/chat/completions" "$BODY_CHAT" ;;
    esac
  done
}
trio ""
run responses_store_true "http://127.0.0.1:$LPORT/v1/responses" "$BODY_STORE" "$KEY_WRITER"
run chat_with_memories "http://127.0.0.1:$LPORT/v1/chat/completions" "$BODY_CHAT" "$KEY_WRITER"
python3 - "$WORK" <<'PY'
import json, sys
d = sys.argv[1]
base = json.load(open(f"{d}/minimal_fastapi.json"))["rps"]
for name in ("responses_store_false", "chat_completions", "responses_store_true",
             "chat_with_memories"):
    print(f"{name:<22} {json.load(open(f'{d}/{name}.json'))['rps'] / base:>6.1%} of the minimal endpoint")
PY
if (( ROUNDS > 1 )); then
  echo "-- $ROUNDS rounds of the three, taking turns (the first is the table above) --"
  for r in $(seq 2 "$ROUNDS"); do trio "_$r" "$r"; done
  python3 - "$WORK" "$ROUNDS" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
rps = lambda name: json.load(open(f"{d}/{name}.json"))["rps"]
for name in ("responses_store_false", "chat_completions"):
    shares = [rps(name + s) / rps("minimal_fastapi" + s)
              for s in [""] + [f"_{r}" for r in range(2, rounds + 1)]]
    print(f"{name:<22} {statistics.median(shares):>6.1%} of the minimal endpoint, median of "
          f"{rounds} rounds ({', '.join(f'{x:.1%}' for x in shares)})")
PY
fi
echo "-- streaming: k6 holds $VUS concurrent streams; a probe measures time to the first delta --"
BODY_STREAM='{"model":"lukhas-matriz","input":"What is 12*12?","stream":true,"store":false}'
URL="http://127.0.0.1:$LPORT/v1/responses" BODY=$BODY_STREAM KEY=$KEY VUS=$VUS DURATION=$DURATION \
  OUT="$WORK/stream.json" $BIN/k6 run --quiet --no-usage-report load/http.js >/dev/null 2>&1 &
K6=$!
sleep 2  # the probe runs only while k6's streams do: from 2 s in to 2 s before their end
$BIN/python load/ttfd.py "http://127.0.0.1:$LPORT" "$KEY" 1 $(( ${DURATION%s} - 4 ))
wait $K6
python3 - "$WORK/stream.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"k6 streams: {r['rps']:.0f} streams/s; first byte p50 {r['ttfb_p50_ms']:.2f} ms p99 {r['ttfb_p99_ms']:.2f} ms; whole stream p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms")
PY
