#!/usr/bin/env bash
# Runs the date-sensitive suites (the Store API end to end and the reports
# that run) with every test server's clock pinned to awkward dates: month
# starts and ends, Mondays, leap days, year ends. The suites pass on any
# day only if they pass on all of these.
#   scripts/calendar-tests.sh            # the dozen dates below
#   scripts/calendar-tests.sh 2031-07-14 # chosen dates
# (--workspace, as everywhere: `-p server` would change feature unification
# and rebuild DataFusion.)
set -euo pipefail
cd "$(dirname "$0")/.."
dates=("$@")
if [ ${#dates[@]} -eq 0 ]; then
  dates=(2024-02-29 2024-03-01 2025-01-01 2025-12-31T23:00:00Z 2026-03-30
         2026-06-01 2026-11-30 2026-12-01 2026-12-02 2027-01-04 2027-02-28
         2028-02-29)
fi
cargo test --workspace --test it --no-run -q
failed=()
for d in "${dates[@]}"; do
  echo "== OPENINSIGHTS_TEST_NOW=$d"
  if ! OPENINSIGHTS_TEST_NOW="$d" cargo test -q --workspace --test it -- store_api:: reports::; then
    failed+=("$d")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED on: ${failed[*]}"
  exit 1
fi
echo "all ${#dates[@]} dates passed"
