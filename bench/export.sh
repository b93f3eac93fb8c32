#!/usr/bin/env bash
# Export benchmark: our engine end to end (query text -> CSV file) against
# DuckDB over the same Parquet files writing the same CSV. Not a test.
#
#   bench/export.sh [ROWS...]   # default 10000000 rows of CustomersAndTenants
#   bench/export.sh 1000000 10000000 100000000   # and how it grows with size
#
# Builds in release, seeds a tenant, installs DuckDB (PyPI) into a venv
# under the work directory, checks both engines produce the same rows, and
# prints: query, rows out, our median, DuckDB median, ratio, our peak RSS.
# Five shapes: a filtered projection, metrics grouped with ORDER BY,
# DISTINCT, LIKE + IN filters, ORDER BY with LIMIT.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(10000000)
RUNS="${RUNS:-5}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

echo "== building (${PROFILE:-release})"
PROFILE="${PROFILE:-release}"
cargo build --profile "$PROFILE" --quiet --bin openinsights
BIN="$CARGO_TARGET_DIR/$PROFILE/openinsights"

mkdir -p "$WORK"
if [ ! -x "$WORK/venv/bin/python" ]; then
  echo "== installing duckdb into $WORK/venv"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet duckdb
fi

RESULTS=()
for ROWS in "${SIZES[@]}"; do
  DATA="$WORK/data-$ROWS"
  if [ ! -d "$DATA/data/CustomersAndTenants/tenant=bench" ]; then
    echo "== seeding $ROWS rows of CustomersAndTenants"
    rm -rf "$DATA"
    "$BIN" seed --data-dir "$DATA" --tenant bench --rows "$ROWS" --seed 1 \
      --dataset CustomersAndTenants --through 2026-10
  fi
  echo "== $ROWS rows"
  "$WORK/venv/bin/python" bench/compare.py --bin "$BIN" --data "$DATA" --out "$WORK/out" \
    --runs "$RUNS" --json "$WORK/result-$ROWS.json"
  RESULTS+=("$ROWS=$WORK/result-$ROWS.json")
done

# With more than one size: per shape, how our time, the ratio to DuckDB
# and our peak RSS grow with the row count.
if [ ${#RESULTS[@]} -gt 1 ]; then
  python3 - "${RESULTS[@]}" <<'PY'
import json, sys
sizes = [(int(a.split("=", 1)[0]), json.load(open(a.split("=", 1)[1]))) for a in sys.argv[1:]]
print()
print("| query | " + " | ".join(f"{n:,} rows: ours / ratio / RSS" for n, _ in sizes) + " |")
print("|---|" + "---:|" * len(sizes))
for i, first in enumerate(sizes[0][1]):
    cells = []
    for _, rows in sizes:
        r = rows[i]
        ratio = f"{r['ours'] / r['duckdb']:.2f}" if r["same"] else "DIFFER"
        cells.append(f"{r['ours']:.3f} s / {ratio} / {r['rss'] / 2**20:.0f} MiB")
    print(f"| {first['query']} | " + " | ".join(cells) + " |")
PY
fi
