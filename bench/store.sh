#!/usr/bin/env bash
# Store analytics API benchmark (not a test): five acquisitions shapes (one
# and two grouping dimensions, filters on a second dimension, and three
# dimensions, which no rollup holds) over an app with 10 M daily rows of
# acquisitions over a year, and failurehits over 30 days,
# each under 8 concurrent clients (wrk), every request a new query. Prints
# requests/s, p50 and p99 next to a reference: DuckDB running the same
# aggregation over the same Parquet files (median of single runs), and the
# seeding time of the 10 M rows (load + rollups).
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
SEED_START=$(date +%s.%N)
"$BIN" seed --data-dir "$WORK/data" --tenant "$TENANT" --store --store-acquisition-rows "$ROWS" 2>&1 | tail -1
SEED_SECONDS=$(echo "$(date +%s.%N) - $SEED_START" | bc)
echo "   seeded in ${SEED_SECONDS} s (rows written, then the rollups built)"

TOKEN=$(curl -s -X POST "$(json tokenUrl)" -d grant_type=client_credentials \
  -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
  -d resource=https://manage.devcenter.microsoft.com \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")

TODAY=$(date -u +%Y-%m-%d)
YEAR_AGO=$(date -u -d "-365 days" +%Y-%m-%d)
MONTH_AGO=$(date -u -d "-30 days" +%Y-%m-%d)
API="$BASE/v1.0/my/analytics"
ACQ="$API/appacquisitions?applicationId=9NBLGGH4R315&startDate=$YEAR_AGO&endDate=$TODAY"
# The shapes: name | path | DuckDB reference (level:groups:condition;
# empty: none). Each path carries a filter term no row fails, on a
# dimension the shape already names, numbered per request by wrk's script
# (NONCE), so the answer cache never hits. The last acquisitions shape
# names three dimensions: no set of the cube holds it; the first request
# builds the set of those three (its time is printed), later ones read it.
NE="market%20ne%20%27ZNONCE%27"
SHAPES=(
  "acquisitions by week, market|$ACQ&groupby=date,market&aggregationLevel=week&orderby=date%20desc&filter=$NE|week:market:"
  "acquisitions by week, market, device|$ACQ&groupby=date,market,deviceType&aggregationLevel=week&orderby=date%20desc&filter=$NE|week:market,deviceType:"
  "acquisitions by age, device = PC|$ACQ&groupby=ageGroup&aggregationLevel=month&filter=deviceType%20eq%20%27PC%27%20and%20deviceType%20ne%20%27ZNONCE%27|month:ageGroup:deviceType = 'PC'"
  "acquisitions by os, market in (US, DE)|$ACQ&groupby=date,osVersion&aggregationLevel=month&filter=(market%20eq%20%27US%27%20or%20market%20eq%20%27DE%27)%20and%20$NE|month:osVersion:market IN ('US', 'DE')"
  "acquisitions by age, gender, os (3 dims)|$ACQ&groupby=ageGroup,gender&aggregationLevel=month&filter=osVersion%20ne%20%27ZNONCE%27|month:ageGroup,gender:"
  "failurehits by failure, market|$API/failurehits?applicationId=9NBLGGH4R315&startDate=$MONTH_AGO&endDate=$TODAY&groupby=failureName,failureHash,market&filter=$NE|"
)
for shape in "${SHAPES[@]}"; do
  IFS='|' read -r name path _ <<<"$shape"
  url="${path//NONCE/0}"
  answer=$(curl -s -w '\n%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" "$url")
  read -r code seconds <<<"$(echo "$answer" | tail -1)"
  [ "$code" = 200 ] || { echo "$name failed: $answer"; exit 1; }
  count=$(echo "$answer" | head -n -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['TotalCount'])")
  echo "   $name: $count rows; first request $(echo "$seconds * 1000 / 1" | bc) ms"
done

cat >"$WORK/uncached.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, (wrk.path:gsub("NONCE", tostring(n))))
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
RESULTS=()
for shape in "${SHAPES[@]}"; do
  IFS='|' read -r name path _ <<<"$shape"
  RESULTS+=("$(run "$name" "$path" -s "$WORK/uncached.lua")")
done
FIRST="${SHAPES[0]#*|}"; FIRST="${FIRST%%|*}"
RESULTS+=("$(run "acquisitions by week, market (cached)" "${FIRST//NONCE/0}")")

echo "== reference: DuckDB, the same aggregations over the same Parquet files"
REFS=()
for shape in "${SHAPES[@]}"; do
  IFS='|' read -r name _ ref <<<"$shape"
  if [ -z "$ref" ]; then REFS+=("-"); continue; fi
  REFS+=("$("$VENV/bin/python" - "$WORK/data" "$TENANT" "$YEAR_AGO" "$TODAY" "$ref" <<'PY'
import duckdb, glob, json, os, statistics, sys, time
data, tenant, start, end, ref = sys.argv[1:6]
level, groups, where = ref.split(":", 2)
def live(dataset):
    d = f"{data}/data/{dataset}/tenant={tenant}/_manifest"
    newest = max(glob.glob(f"{d}/*.json"), key=lambda p: int(os.path.basename(p).split(".")[0]))
    return [f"{data}/{f['path']}" for f in json.load(open(newest))["files"]]
con = duckdb.connect()
con.execute("SET threads TO 2")
files = live("store_acquisitions")
extra = f" AND {where}" if where else ""
q = f"""SELECT date_trunc('{level}', date) AS w, {groups}, sum(acquisitionQuantity),
sum(purchasePriceUSDAmount) FROM read_parquet({files!r})
WHERE applicationId = '9NBLGGH4R315' AND productType = 'app'
AND date BETWEEN DATE '{start}' AND DATE '{end}'{extra} GROUP BY ALL ORDER BY 1 DESC"""
times = []
for _ in range(15):
    t = time.perf_counter(); con.execute(q).fetchall(); times.append(time.perf_counter() - t)
print(f"{statistics.median(times)*1000:.1f}ms")
PY
)")
done
REFS+=("-")

python3 - "${#RESULTS[@]}" "${RESULTS[@]}" "${REFS[@]}" <<'PY'
import sys
n = int(sys.argv[1])
rows = [r.split("|") for r in sys.argv[2:2 + n]]
refs = sys.argv[2 + n:]
print(f"{'request (every query new unless cached)':<42} {'requests/s':>11} {'p50':>9} {'p99':>9} {'non-2xx':>8} {'DuckDB 1 client':>16}")
for (name, rps, p50, p99, bad), ref in zip(rows, refs):
    print(f"{name:<42} {float(rps):>11.1f} {p50:>9} {p99:>9} {bad:>8} {ref:>16}")
PY
