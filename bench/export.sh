#!/usr/bin/env bash
# Export benchmark: our engine end to end (query text -> CSV file) against
# DuckDB over the same Parquet files writing the same CSV. Not a test.
#
#   bench/export.sh [ROWS]      # default 10000000 rows of CustomersAndTenants
#
# Builds in release, seeds a tenant, installs DuckDB (PyPI) into a venv
# under the work directory, checks both engines produce the same rows, and
# prints: query, rows out, our median, DuckDB median, ratio, our peak RSS.
# Five shapes: a filtered projection, metrics grouped with ORDER BY,
# DISTINCT, LIKE + IN filters, ORDER BY with LIMIT.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-10000000}"
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

DATA="$WORK/data-$ROWS"
if [ ! -d "$DATA/data/CustomersAndTenants/tenant=bench" ]; then
  echo "== seeding $ROWS rows of CustomersAndTenants"
  rm -rf "$DATA"
  "$BIN" seed --data-dir "$DATA" --tenant bench --rows "$ROWS" --seed 1 \
    --dataset CustomersAndTenants --through 2026-10
fi

"$WORK/venv/bin/python" bench/compare.py --bin "$BIN" --data "$DATA" --out "$WORK/out" --runs "$RUNS"
