#!/usr/bin/env bash
# Load benchmark: authenticated GET /ScheduledQueries and GET
# /ScheduledDataset against a bare axum "hello" handler built from the same
# stack (crates/server/examples/hello.rs), under wrk with 64 connections.
# Not a test. Prints requests/s, p99 latency and the ratio to hello.
#
#   bench/load.sh               # 20 s per endpoint; DURATION=10s to shorten
#
# Installs wrk (Debian) when missing; builds in release.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/load"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

if ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq wrk >/dev/null
fi

echo "== building (release)"
cargo build --release --quiet --bin openinsights -p cli
cargo build --release --quiet --example hello -p server
BIN="$CARGO_TARGET_DIR/release/openinsights"
HELLO="$CARGO_TARGET_DIR/release/examples/hello"

rm -rf "$WORK"; mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

first_line() { # wait for "listening on URL" in a file
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$1" 2>/dev/null; then sed -n 's/^listening on //p' "$1" | head -1; return; fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2; exit 1
}

OPENINSIGHTS__RATE_LIMIT__BURST=4000000000 OPENINSIGHTS__RATE_LIMIT__PER_SECOND=1000000000 \
OPENINSIGHTS__LOG__FILTER=warn \
  "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --demo-rows 1000 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
BASE=$(first_line "$WORK/serve.out")
"$HELLO" 127.0.0.1:0 >"$WORK/hello.out" 2>&1 &
PIDS+=($!)
HELLO_URL=$(first_line "$WORK/hello.out")

C="$WORK/data/demo-credentials.json"
json() { python3 -c "import json,sys; print(json.load(open('$C'))['$1'])"; }
TOKEN=$(curl -s -X POST "$(json tokenUrl)" -d grant_type=client_credentials \
  -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
  -d resource=https://api.partnercenter.microsoft.com \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
for i in $(seq 1 10); do
  curl -s -o /dev/null -X POST "$BASE/insights/v1/mpn/ScheduledQueries" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"Name\":\"q$i\",\"Query\":\"SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS\"}"
done

run() { # name url [auth]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $3" "$2")
  else
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$2")
  fi
  local rps p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$1|$rps|$p99|${non2xx:-0}"
}

echo "== wrk: $CONNECTIONS connections, $DURATION each (2 cores shared by wrk and the server)"
HELLO_ROW=$(run "axum hello (reference)" "$HELLO_URL/hello")
size() { curl -s -H "Authorization: Bearer $TOKEN" "$1" | wc -c; }
Q_URL="$BASE/insights/v1/mpn/ScheduledQueries"
D_URL="$BASE/insights/v1/mpn/ScheduledDataset"
Q_SIZE=$(size "$Q_URL"); D_SIZE=$(size "$D_URL")
Q_ROW=$(run "GET /ScheduledQueries" "$Q_URL" "$TOKEN")
QREF_ROW=$(run "axum, same $Q_SIZE bytes" "$HELLO_URL/bytes/$Q_SIZE")
D_ROW=$(run "GET /ScheduledDataset" "$D_URL" "$TOKEN")
DREF_ROW=$(run "axum, same $D_SIZE bytes" "$HELLO_URL/bytes/$D_SIZE")

# Ratios: against "hello" (5 bytes), and against a bare handler answering
# the same number of bytes (what the stack costs, not the body's writing).
python3 - "$HELLO_ROW" "$Q_ROW" "$QREF_ROW" "$D_ROW" "$DREF_ROW" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:]]
hello = float(rows[0][1])
print(f"{'endpoint':<28} {'requests/s':>11} {'p99':>10} {'vs hello':>9} {'vs same size':>13} {'non-2xx':>8}")
name, rps, p99, bad = rows[0]
print(f"{name:<28} {float(rps):>11.0f} {p99:>10} {1:>9.2f} {'':>13} {bad:>8}")
for ours, ref in ((rows[1], rows[2]), (rows[3], rows[4])):
    for r, same in ((ours, float(ours[1]) / float(ref[1])), (ref, None)):
        name, rps, p99, bad = r
        col = f"{same:>13.2f}" if same is not None else f"{'':>13}"
        print(f"{name:<28} {float(rps):>11.0f} {p99:>10} {float(rps)/hello:>9.2f} {col} {bad:>8}")
PY
