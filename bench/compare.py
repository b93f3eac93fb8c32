"""Runs each benchmark query through openinsights and DuckDB, alternating,
checks that both wrote the same rows, and prints one table of medians."""

import argparse
import csv
import glob
import json
import math
import os
import re
import statistics
import subprocess
import time

import duckdb

AT = "2026-11-15T00:00:00Z"  # LAST_2_YEARS = [2024-11-01, 2026-11-01): all seeded months
WINDOW = "Month >= DATE '2024-11-01' AND Month < DATE '2026-11-01'"

QUERIES = [
    (
        "filtered projection, 8 columns",
        "SELECT CustomerName, CustomerTpid, CustomerMarket, CustomerSegment, Product, SKU, Month, SalesChannel "
        "FROM CustomersAndTenants WHERE CustomerMarket = 'Germany' TIMESPAN LAST_2_YEARS",
        "SELECT CustomerName, CustomerTpid, CustomerMarket, CustomerSegment, Product, SKU, "
        "Month, SalesChannel FROM t "
        f"WHERE lower(CustomerMarket) = 'germany' AND {WINDOW}",
    ),
    (
        "metrics grouped by 3 columns, ORDER BY",
        "SELECT CustomerMarket, CustomerSegment, Product, CustomerCount, AvailableSeats, BilledRevenueUSD "
        "FROM CustomersAndTenants ORDER BY BilledRevenueUSD TIMESPAN LAST_2_YEARS",
        "SELECT CustomerMarket, CustomerSegment, Product, count(DISTINCT CustomerTpid) AS CustomerCount, "
        "coalesce(sum(AvailableSeats), 0) AS AvailableSeats, coalesce(sum(BilledRevenueUSD), 0) AS BilledRevenueUSD "
        f"FROM t WHERE {WINDOW} GROUP BY ALL ORDER BY BilledRevenueUSD DESC NULLS LAST",
    ),
    (
        "SELECT DISTINCT, 2 columns",
        "SELECT DISTINCT CustomerTenantId, SKU FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
        f"SELECT DISTINCT CustomerTenantId, SKU FROM t WHERE {WINDOW}",
    ),
    (
        "LIKE + IN filters, 5 columns",
        "SELECT CustomerName, CustomerMarket, Product, SKU, Month FROM CustomersAndTenants "
        "WHERE CustomerName LIKE '%ltd' AND CustomerMarket IN ('Germany', 'France', 'Japan') "
        "TIMESPAN LAST_2_YEARS",
        "SELECT CustomerName, CustomerMarket, Product, SKU, Month FROM t "
        "WHERE lower(CustomerName) LIKE '%ltd' AND lower(CustomerMarket) IN ('germany', 'france', 'japan') "
        f"AND {WINDOW}",
    ),
    (
        # Only the sort keys are selected, so rows tied at the cut are equal.
        "ORDER BY 2 keys, LIMIT 1000",
        "SELECT CustomerTpid, Month FROM CustomersAndTenants ORDER BY CustomerTpid, Month "
        "LIMIT 1000 TIMESPAN LAST_2_YEARS",
        "SELECT CustomerTpid, Month FROM t "
        f"WHERE {WINDOW} ORDER BY CustomerTpid DESC NULLS LAST, Month DESC NULLS LAST LIMIT 1000",
    ),
]


def live_files(data):
    """The part files of the latest manifest: exactly what our engine reads."""
    base = os.path.join(data, "data", "CustomersAndTenants", "tenant=bench")
    manifests = sorted(glob.glob(os.path.join(base, "_manifest", "*.json")))
    with open(manifests[-1]) as f:
        manifest = json.load(f)
    return [os.path.join(data, entry["path"]) for entry in manifest["files"]]


def run_ours(binary, data, text, out):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "query", "run", "--data-dir", data, "--tenant", "bench", "--at", AT, "-o", out, text],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, _ = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"openinsights failed: {err}")
    # The process reports its own peak RSS (a forked child's rusage would
    # include this Python process's memory from before the exec).
    match = re.search(r"peak RSS (\d+) KiB", err)
    return elapsed, int(match.group(1)) * 1024 if match else 0


def run_duckdb(con, sql, out):
    start = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{out}' (HEADER, DELIMITER ',')")
    return time.perf_counter() - start


def parse_value(value):
    """Decimals become floats (compared with a tolerance); the rest stays text."""
    if "." in value or "e" in value.lower():
        try:
            return float(value)
        except ValueError:
            pass
    return value


def normalise(path):
    """Header and rows sorted by their text fields then rounded numbers, so
    that row order and float summation order (both engine-specific) do not
    matter."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [tuple(parse_value(v) for v in row) for row in reader]
    rows.sort(key=lambda r: tuple(f"{v:.6g}" if isinstance(v, float) else v for v in r))
    return header, rows


def same_rows(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for va, vb in zip(ra, rb):
            if isinstance(va, float) or isinstance(vb, float):
                try:
                    if not math.isclose(float(va), float(vb), rel_tol=1e-9, abs_tol=1e-9):
                        return False
                except ValueError:
                    return False
            elif va != vb:
                return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the table's figures here")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    con = duckdb.connect()
    con.execute("SET threads = 2")
    files = live_files(args.data)
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({files!r}, hive_partitioning = false)")

    table = []
    for name, ours_text, duck_sql in QUERIES:
        ours_out = os.path.join(args.out, "ours.csv")
        duck_out = os.path.join(args.out, "duckdb.csv")
        ours_times, duck_times, rss = [], [], 0
        for _ in range(args.runs):
            t, r = run_ours(args.bin, args.data, ours_text, ours_out)
            ours_times.append(t)
            rss = max(rss, r)
            duck_times.append(run_duckdb(con, duck_sql, duck_out))
        ours_header, ours_rows = normalise(ours_out)
        duck_header, duck_rows = normalise(duck_out)
        same = ours_header == duck_header and same_rows(ours_rows, duck_rows)
        ours_med, duck_med = statistics.median(ours_times), statistics.median(duck_times)
        ratio = f"{ours_med / duck_med:.2f}" if same else "OUTPUTS DIFFER"
        if not same:
            print(f"{name}: outputs differ ({len(ours_rows)} vs {len(duck_rows)} rows; headers {ours_header} vs {duck_header})")
        table.append((name, len(ours_rows), ours_med, duck_med, ratio, rss))

    print()
    print(f"| query | rows out | openinsights median | DuckDB median | ratio | our peak RSS |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for name, rows, ours, duck, ratio, rss in table:
        print(f"| {name} | {rows:,} | {ours:.3f} s | {duck:.3f} s | {ratio} | {rss / 2**20:.0f} MiB |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                [
                    {"query": n, "rows": r, "ours": o, "duckdb": d, "same": ra != "OUTPUTS DIFFER", "rss": m}
                    for n, r, o, d, ra, m in table
                ],
                f,
            )


if __name__ == "__main__":
    main()
