#!/usr/bin/env bash
# Store analytics API benchmark (not a test): appacquisitions grouped by
# date and market at week level over a year for an app with 10 M daily
# rows, and failurehits over 30 days, each under 8 concurrent clients (wrk).
# Prints requests/s, p50 and p99 next to a reference: DuckDB running the
# same aggregation over the same Parquet files (median of single runs).
#
#   bench/store.sh                 # ROWS=10000000 DURATION=20s CONNECTIONS=8
#
# Installs wrk (Debian) and DuckDB (PyPI, in a venv) when missing; builds
# in release.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-10000000}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-8}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/store"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

if ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq wrk >/dev/null
fi
VENV="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import duckdb" 2>/dev/null; then
  echo "== installing duckdb into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet duckdb
fi

echo "== building (release)"
cargo build --release --quiet --bin openinsights -p cli
BIN="$CARGO_TARGET_DIR/release/openinsights"

rm -rf "$WORK"; mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

OPENINSIGHTS__RATE_LIMIT__BURST=4000000000 OPENINSIGHTS__RATE_LIMIT__PER_SECOND=1000000000 \
OPENINSIGHTS__LOG__FILTER=warn \
  "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --demo-rows 200 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
for _ in $(seq 1 1200); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -1)
[ -n "$BASE" ] || { echo "server did not start: $(cat "$WORK/serve.err")"; exit 1; }

C="$WORK/data/demo-credentials.json"
json() { python3 -c "import json,sys; print(json.load(open('$C'))['$1'])"; }
TENANT=$(json tenantId)
echo "== seeding $ROWS rows of app acquisitions (one app, 365 days)"
"$BIN" seed --data-dir "$WORK/data" --tenant "$TENANT" --store --store-acquisition-rows "$ROWS" 2>&1 | tail -1

TOKEN=$(curl -s -X POST "$(json tokenUrl)" -d grant_type=client_credentials \
  -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
  -d resource=https://manage.devcenter.microsoft.com \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")

TODAY=$(date -u +%Y-%m-%d)
YEAR_AGO=$(date -u -d "-365 days" +%Y-%m-%d)
MONTH_AGO=$(date -u -d "-30 days" +%Y-%m-%d)
ACQ="$BASE/v1.0/my/analytics/appacquisitions?applicationId=9NBLGGH4R315&startDate=$YEAR_AGO&endDate=$TODAY&groupby=date,market&aggregationLevel=week&orderby=date%20desc"
FAIL="$BASE/v1.0/my/analytics/failurehits?applicationId=9NBLGGH4R315&startDate=$MONTH_AGO&endDate=$TODAY&groupby=failureName,failureHash,market"
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$ACQ" || { echo "appacquisitions failed"; exit 1; }
ROWS_BACK=$(curl -s -H "Authorization: Bearer $TOKEN" "$ACQ" | python3 -c "import json,sys; print(json.load(sys.stdin)['TotalCount'])")
echo "   appacquisitions answers $ROWS_BACK rows (weeks x markets)"

# A wrk script that makes every request a new query (a filter no row
# fails, numbered per request), so the answer cache never hits.
cat >"$WORK/uncached.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&filter=market%20ne%20%27Z" .. n .. "%27")
end
LUA

run() { # name url [wrk args...]
  local out name="$1" url="$2"; shift 2
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$@" "$url")
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$name|$rps|$p50|$p99|${non2xx:-0}"
}

echo "== wrk: $CONNECTIONS connections, $DURATION each (2 cores shared by wrk and the server)"
A_COLD=$(run "appacquisitions, every query new" "$ACQ" -s "$WORK/uncached.lua")
A_ROW=$(run "appacquisitions, repeated (cached)" "$ACQ")
F_COLD=$(run "failurehits, every query new" "$FAIL" -s "$WORK/uncached.lua")
F_ROW=$(run "failurehits, repeated (cached)" "$FAIL")

echo "== reference: DuckDB, same aggregation over the same Parquet files"
REF=$("$VENV/bin/python" - "$WORK/data" "$TENANT" "$YEAR_AGO" "$TODAY" <<'PY'
import duckdb, glob, json, os, statistics, sys, time
data, tenant, start, end = sys.argv[1:5]
def live(dataset):
    d = f"{data}/data/{dataset}/tenant={tenant}/_manifest"
    newest = max(glob.glob(f"{d}/*.json"), key=lambda p: int(os.path.basename(p).split(".")[0]))
    return [f"{data}/{f['path']}" for f in json.load(open(newest))["files"]]
con = duckdb.connect()
con.execute("SET threads TO 2")
files = live("store_acquisitions")
q = f"""SELECT date_trunc('week', date) AS w, market, sum(acquisitionQuantity)
FROM read_parquet({files!r}) WHERE applicationId = '9NBLGGH4R315' AND productType = 'app'
AND date BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY 1, 2 ORDER BY 1 DESC, 2"""
times = []
for _ in range(15):
    t = time.perf_counter(); con.execute(q).fetchall(); times.append(time.perf_counter() - t)
print(f"{statistics.median(times)*1000:.1f}ms")
PY
)

python3 - "$A_COLD" "$A_ROW" "$F_COLD" "$F_ROW" "$REF" <<'PY'
import sys
rows = [r.split("|") for r in sys.argv[1:5]]
ref = sys.argv[5]
print(f"{'request':<36} {'requests/s':>11} {'p50':>10} {'p99':>10} {'non-2xx':>8}")
for name, rps, p50, p99, bad in rows:
    print(f"{name:<36} {float(rps):>11.1f} {p50:>10} {p99:>10} {bad:>8}")
print(f"{'DuckDB, appacquisitions query, 1 client':<36} {'':>11} {ref:>10}  (median of 15)")
PY
