#!/usr/bin/env bash
# Seeding benchmark: `openinsights seed` of the 36-column dataset
# (CustomersAndTenants) and the 18-column one (OfficeUsage) into a fresh
# local directory. Not a test.
#
#   bench/seed.sh [ROWS]                  # default 2000000 rows, 5 runs each
#   REF_BIN=/path/to/older/openinsights bench/seed.sh   # and a reference build
#
# Prints per dataset the median time, rows/s against the target (1.5 M
# rows/s for 36 columns, 2.5 M for 18), peak RSS and the size written. With
# REF_BIN the two builds run alternately (this machine's speed drifts by a
# third over minutes) and the table gains the reference's figures and the
# speed-up.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-2000000}"
RUNS="${RUNS:-5}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/seed"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

echo "== building (release)"
cargo build --release --quiet --bin openinsights
BIN="$CARGO_TARGET_DIR/release/openinsights"
mkdir -p "$WORK"

python3 - "$BIN" "${REF_BIN:-}" "$ROWS" "$RUNS" "$WORK" <<'PY'
import os, shutil, statistics, subprocess, sys, time

binary, reference, rows, runs, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
datasets = [("CustomersAndTenants", 36, 1.5e6), ("OfficeUsage", 18, 2.5e6)]
builds = [("ours", binary)] + ([("reference", reference)] if reference else [])

def seed(path, dataset):
    out = os.path.join(work, "data")
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [path, "seed", "--data-dir", out, "--tenant", "bench", "--rows", str(rows),
         "--seed", "1", "--dataset", dataset, "--through", "2026-10"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{path} seed {dataset} failed: {proc.stderr.read().decode()}")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    return elapsed, usage.ru_maxrss / 1024, size / 2**20

print(f"== {rows:,} rows, {runs} runs each, medians")
header = "| dataset | columns | ours s | ours rows/s | target | RSS MiB | MiB written |"
rule = "|---|---:|---:|---:|---:|---:|---:|"
if reference:
    header += " reference s | reference rows/s | reference RSS MiB | speed-up |"
    rule += "---:|---:|---:|---:|"
print(header)
print(rule)
for dataset, columns, target in datasets:
    results = {name: [] for name, _ in builds}
    for _ in range(runs):
        for name, path in builds:
            results[name].append(seed(path, dataset))
    med = {name: [statistics.median(r[i] for r in rs) for i in range(3)] for name, rs in results.items()}
    ours = med["ours"]
    line = (f"| {dataset} | {columns} | {ours[0]:.2f} | {rows / ours[0] / 1e6:.2f} M"
            f" | {target / 1e6:.1f} M | {ours[1]:.0f} | {ours[2]:.0f} |")
    if reference:
        ref = med["reference"]
        line += f" {ref[0]:.2f} | {rows / ref[0] / 1e6:.2f} M | {ref[1]:.0f} | {ref[0] / ours[0]:.2f}x |"
    print(line, flush=True)
PY
