#!/usr/bin/env python3
"""Replays the outside review's resource attacks against a release build and
prints the server's resident memory (RSS) before and after each, side by
side with what the review measured before the fixes; then runs a large
export under a query memory limit while timing /healthz and token requests.

    cargo build --release --bin openinsights
    scripts/resource-attacks.py [--rows 10000000] [--bin target/release/openinsights]

Standard library only. Figures go to stdout as a table (docs/security.md
quotes them).
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

INSIGHTS = "https://api.partnercenter.microsoft.com"


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def call(method, url, body=None, headers=None, timeout=600, source="127.0.0.1"):
    """One request from `source` (attacks come from 127.0.0.2, so the
    failure limiter, keyed by address, does not slow this script down)."""
    data = body if isinstance(body, (bytes, type(None))) else body.encode()
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        path = u.path + ("?" + u.query if u.query else "")
        conn.request(method, path, body=data, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read()
    except (ConnectionError, OSError, http.client.HTTPException) as e:
        return 0, str(e).encode()
    finally:
        conn.close()


def form(pairs):
    return urllib.parse.urlencode(pairs)


def token(base, tenant, client, secret):
    status, body = call(
        "POST",
        f"{base}/{tenant}/oauth2/token",
        form({"grant_type": "client_credentials", "client_id": client,
              "client_secret": secret, "resource": INSIGHTS}),
        {"content-type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body
    return json.loads(body)["access_token"]


SERVERS = []


def stop_all():
    """Every server this script started ends with it, on every path."""
    for proc in SERVERS:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start(binary, data_dir, rows, env_extra):
    env = dict(os.environ, **env_extra)
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
         "--demo-rows", str(rows)],
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(os.path.dirname(data_dir), "server.log"), "a"),
        env=env, text=True,
    )
    SERVERS.append(proc)
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    return proc, line.split("listening on ", 1)[1].strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "openinsights"))
    ap.add_argument("--rows", type=int, default=10_000_000,
                    help="rows of the exported dataset")
    ap.add_argument("--sort", action="store_true",
                    help="export with ORDER BY (a sort of every row) instead of streaming")
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="oi-attacks-")
    data = os.path.join(root, "data")
    proc, base = start(args.bin, data, 2000, {
        "OPENINSIGHTS__LIMITS__QUERY_MEMORY_MB": "256",
        "OPENINSIGHTS__RATE_LIMIT__BURST": "100000",
        "OPENINSIGHTS__RATE_LIMIT__PER_SECOND": "100000",
    })
    creds = json.load(open(os.path.join(data, "demo-credentials.json")))
    tenant, client, secret = creds["tenantId"], creds["clientId"], creds["clientSecret"]
    pid = proc.pid
    rows = []

    def measure(name, review, attack):
        before = rss_mib(pid)
        note = attack()
        time.sleep(1)
        after = rss_mib(pid)
        rows.append((name, review, f"{before:.0f} → {after:.0f} MiB", note))
        print(*rows[-1], sep=" | ", flush=True)

    # 6: huge client ids at the token endpoint.
    def huge_ids():
        huge = "x" * 1_000_000
        codes = [call("POST", f"{base}/{tenant}/oauth2/token",
                      form({"grant_type": "client_credentials", "client_id": huge + str(i),
                            "client_secret": "x", "resource": INSIGHTS}),
                      {"content-type": "application/x-www-form-urlencoded"},
                      source="127.0.0.2")[0]
                 for i in range(200)]
        return f"answers: {sorted(set(codes))}"
    measure("6. 200 token requests, 1 MB client ids", "538 → 1,604 MiB", huge_ids)

    # 7: concurrent bad secrets (Argon2, 19 MiB each).
    def argon_burst():
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            codes = list(pool.map(lambda i: call(
                "POST", f"{base}/{tenant}/oauth2/token",
                form({"grant_type": "client_credentials", "client_id": client,
                      "client_secret": f"wrong{i}", "resource": INSIGHTS}),
                {"content-type": "application/x-www-form-urlencoded"},
                source="127.0.0.2")[0], range(64)))
        return "answers: " + ", ".join(f"{c}×{codes.count(c)}" for c in sorted(set(codes)))
    measure("7. 64 concurrent bad token requests", "40 → 1,201 MiB", argon_burst)

    # 8: list calls with distinct query strings over 100 large queries.
    t = token(base, tenant, client, secret)
    auth = {"authorization": f"Bearer {t}", "content-type": "application/json"}
    # 100 queries of about 60 kB each (the text limit is 64 KiB).
    for i in range(100):
        text = ("SELECT CustomerName FROM OfficeUsage WHERE CustomerName != '"
                + "y" * 60_000 + "'")
        status, body = call("POST", f"{base}/insights/v1/mpn/ScheduledQueries",
                            json.dumps({"Name": f"q{i}", "Query": text}), auth)
        assert status == 200, body[:300]

    def list_calls():
        sizes = []
        for i in range(256):
            status, body = call("GET", f"{base}/insights/v1/mpn/ScheduledQueries?top=100&n={i}",
                                headers=auth)
            sizes.append(len(body))
        return f"{statistics.mean(sizes) / 1e6:.1f} MB per answer"
    measure("8. 256 list calls, distinct query strings", "1.4 → 2.8 GiB", list_calls)

    proc.terminate()
    proc.wait()

    # The export: a large dataset, a query that sorts it, 256 MiB limit.
    subprocess.run([args.bin, "seed", "--data-dir", data, "--tenant", tenant,
                    "--rows", str(args.rows), "--dataset", "OfficeUsage"],
                   check=True, stdout=subprocess.DEVNULL)
    proc, base = start(args.bin, data, 2000, {
        "OPENINSIGHTS__LIMITS__QUERY_MEMORY_MB": "256",
        "OPENINSIGHTS__MIN_START_LEAD": "0s",
    })
    pid = proc.pid
    t = token(base, tenant, client, secret)
    auth = {"authorization": f"Bearer {t}", "content-type": "application/json"}
    status, body = call("POST", f"{base}/insights/v1/mpn/ScheduledQueries", json.dumps({
        "Name": "export", "Query": "SELECT CustomerTenantId, CustomerName, WorkloadName, Month, "
                                   "MonthlyActiveUsers FROM OfficeUsage"
                                   + (" ORDER BY CustomerName" if args.sort else "")}), auth)
    assert status == 200, body[:500]
    qid = json.loads(body)["value"][0]["queryId"]
    before = rss_mib(pid)
    status, body = call("POST", f"{base}/insights/v1/mpn/ScheduledReport", json.dumps({
        "ReportName": "export", "QueryId": qid, "ExecuteNow": True,
        # Every month of the seeded history (with --sort, a sort of all of
        # them, which must spill or fail to stay under the limit).
        "QueryStartTime": "2000-01-01T00:00:00Z", "QueryEndTime": "2100-01-01T00:00:00Z"}), auth)
    rid = json.loads(body)["value"][0]["reportId"]
    peak, health, tokens, done = before, [], [], None
    started = time.time()
    while done is None and time.time() - started < 1800:
        peak = max(peak, rss_mib(pid))
        t0 = time.perf_counter()
        call("GET", f"{base}/healthz")
        health.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        token(base, tenant, client, secret)
        tokens.append((time.perf_counter() - t0) * 1000)
        status, body = call("GET", f"{base}/insights/v1/mpn/ScheduledReport/execution/{rid}",
                            headers=auth)
        e = json.loads(body)["value"][0]
        if e["executionStatus"] in ("Completed", "Failed"):
            done = e
        time.sleep(0.2)
    elapsed = time.time() - started
    rows.append((f"export of {args.rows:,} rows{' sorted' if args.sort else ''}, 256 MiB limit",
                 "(no limit before)",
                 f"{before:.0f} → peak {peak:.0f} MiB",
                 f"{done and done['executionStatus']} in {elapsed:.0f} s, "
                 f"{(done or {}).get('rowCount')} rows"))
    proc.terminate()
    proc.wait()

    print(f"{'attack':48} {'review (before)':18} {'now (RSS)':24} notes")
    for name, review, now, note in rows:
        print(f"{name:48} {review:18} {now:24} {note}")
    if health:
        print(f"\nduring the export: /healthz median {statistics.median(health):.1f} ms, "
              f"max {max(health):.1f} ms ({len(health)} calls); token median "
              f"{statistics.median(tokens):.1f} ms, max {max(tokens):.1f} ms")


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
