#!/usr/bin/env bash
# Start-up time (not a test): `openinsights serve` on an empty data
# directory until it prints `listening on`, demo data included (the
# default 2,000 rows per Insights dataset and the Store demo publisher),
# then a restart on the same directory (nothing to create). Prints each
# run, the medians and the server's own breakdown of the last first start.
#
#   bench/startup.sh                 # RUNS=5, the release build
#   PROFILE=dist bench/startup.sh    # the distribution build
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
PROFILE="${PROFILE:-release}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/startup"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

echo "== building ($PROFILE)"
cargo build --profile "$PROFILE" --quiet --bin openinsights -p cli
BIN="$CARGO_TARGET_DIR/$PROFILE/openinsights"
rm -rf "$WORK"; mkdir -p "$WORK"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT

# One start; prints seconds to `listening on`.
once() {
  local start end
  start=$(date +%s.%N)
  "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  PID=$!
  until grep -q "listening on" "$WORK/serve.out" 2>/dev/null; do sleep 0.01; done
  end=$(date +%s.%N)
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  python3 -c "print(f'{$end - $start:.3f}')"
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }

first=(); again=()
for i in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/data"
  f=$(once); first+=("$f")
  cp "$WORK/serve.err" "$WORK/first.err"
  a=$(once); again+=("$a")
  echo "run $i: empty dir ${f} s, restart ${a} s"
done
echo
echo "| start | median of $RUNS | target |"
echo "|---|---|---|"
echo "| empty data dir, demo created | $(median "${first[@]}") s | ≤ 3 s |"
echo "| restart on the same dir | $(median "${again[@]}") s | |"
echo
echo "breakdown of the last first start (server log):"
grep -o 'seeded the demo data.*\|started total_ms.*' "$WORK/first.err" | sed 's/\x1b\[[0-9;]*m//g' || true
ls -l "$BIN" | awk '{printf "binary: %.0f MB\n", $5/1e6}'
