#!/usr/bin/env bash
# Fault injection's cost on the hot path (not a test): authenticated
# GET /ScheduledQueries under wrk (64 connections) with no rule, then with
# one unrelated rule (a callback rule, so every call checks the rules and
# none fires), then with the journal off. Prints requests/s, p99 and the
# ratio to "no rule"; medians of RUNS runs each.
#
#   bench/faults.sh            # RUNS=3 DURATION=10s
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/faults"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"
command -v wrk >/dev/null || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"; $SUDO apt-get install -y -qq wrk >/dev/null; }

echo "== building (release)"
cargo build --release --quiet --bin openinsights -p cli
BIN="$CARGO_TARGET_DIR/release/openinsights"
rm -rf "$WORK"; mkdir -p "$WORK"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT

start() { # journal size
  [ -n "$PID" ] && { kill "$PID"; wait "$PID" 2>/dev/null || true; }
  OPENINSIGHTS__RATE_LIMIT__BURST=4000000000 OPENINSIGHTS__RATE_LIMIT__PER_SECOND=1000000000 \
  OPENINSIGHTS__LOG__FILTER=warn OPENINSIGHTS__JOURNAL__PER_TENANT="$1" \
    "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --demo-rows 200 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  PID=$!
  for _ in $(seq 1 600); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  BASE=$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)
  C="$WORK/data/demo-credentials.json"
  json() { python3 -c "import json; print(json.load(open('$C'))['$1'])"; }
  TOKEN=$(curl -s -X POST "$BASE/$(json tenantId)/oauth2/token" -d grant_type=client_credentials \
    -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
    -d resource=https://api.partnercenter.microsoft.com \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  ADMIN=$(cat "$WORK/data/admin-token")
}
measure() { # label → "label rps p99" (median run by rps)
  local rows=""
  for _ in $(seq 1 "$RUNS"); do
    out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$BASE/insights/v1/mpn/ScheduledQueries")
    rows="$rows$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1 == "99%" {print $2}')\n"
  done
  echo "$1|$(printf "$rows" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')"
}

start 10000
NONE=$(measure "no rule (journal on)")
curl -s -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"api":"callback","fail":true}' "$BASE/admin/v1/faults"
ONE=$(measure "one unrelated rule")
start 0
OFF=$(measure "no rule, journal off")

python3 - "$NONE" "$ONE" "$OFF" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:]]
ref = float(rows[0][1].split()[0])
print(f"{'GET /ScheduledQueries, 64 connections':<40} {'requests/s':>11} {'p99':>9} {'ratio':>6}")
for name, cells in rows:
    rps, p99 = cells.split()
    print(f"{name:<40} {float(rps):>11.0f} {p99:>9} {float(rps)/ref:>6.2f}")
PY
