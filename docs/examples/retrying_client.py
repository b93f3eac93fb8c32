#!/usr/bin/env python3
"""A small client of the kind integrators write against the public service:
it signs in, calls the Insights API and the Store analytics API, and retries
429 and 5xx answers after the Retry-After the service sends (at most five
times). Run against openinsights with a fault rule to test that retry path:

    python3 retrying_client.py --base http://127.0.0.1:8080 --tenant TENANT \
        --client-id ID --client-secret SECRET --app 9NBLGGH4R315 --calls 6

Prints one JSON line: {"calls": ..., "attempts": ..., "retried": ...}.
Needs `requests` (pip install requests).
"""
import argparse
import json
import time

import requests

INSIGHTS = "https://api.partnercenter.microsoft.com"
STORE = "https://manage.devcenter.microsoft.com"
RETRIED = {429, 500, 502, 503, 504}


def token(base, tenant, client_id, secret, resource):
    for _ in range(6):
        r = requests.post(f"{base}/{tenant}/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "resource": resource}, timeout=30)
        if r.status_code in RETRIED:
            time.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        r.raise_for_status()
        return r.json()["access_token"]
    raise RuntimeError("no token after retries")


def get(url, bearer, stats):
    for attempt in range(6):
        stats["attempts"] += 1
        r = requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
        if r.status_code in RETRIED and attempt < 5:
            stats["retried"] += 1
            time.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError(f"{url}: still failing after retries")


def main():
    p = argparse.ArgumentParser()
    for name in ("base", "tenant", "client-id", "client-secret", "app"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--calls", type=int, default=6)
    a = p.parse_args()
    stats = {"calls": 0, "attempts": 0, "retried": 0}
    insights = token(a.base, a.tenant, a.client_id, a.client_secret, INSIGHTS)
    store = token(a.base, a.tenant, a.client_id, a.client_secret, STORE)
    for _ in range(a.calls):
        value = get(f"{a.base}/insights/v1/mpn/ScheduledDataset", insights, stats)["value"]
        assert value, "datasets listed"
        stats["calls"] += 1
        rows = get(f"{a.base}/v1.0/my/analytics/appacquisitions?applicationId={a.app}",
                   store, stats)
        assert "Value" in rows
        stats["calls"] += 1
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
