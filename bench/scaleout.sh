#!/usr/bin/env bash
# Scale-out benchmark (not a test; prints tables, medians and ratios):
#  1. a 10 M-row report export from an S3 bucket (moto) against the same
#     export from a local directory (`openinsights query run`, 3 runs each);
#  2. authenticated API requests/s through HAProxy with 1 and with 3
#     replicas on PostgreSQL + the bucket (wrk, 64 connections), next to
#     one replica called directly;
#  3. a 1 GB CSV upload through the admin data API: time and the server's
#     peak RSS, next to a 1 MB upload's.
#
#   bench/scaleout.sh                 # ROWS=10000000 UPLOAD_MB=1024 DURATION=15s
#
# Needs python3 (moto in a venv, as the tests install it), PostgreSQL,
# HAProxy and wrk from Debian (installed when missing); builds in release.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-10000000}"
UPLOAD_MB="${UPLOAD_MB:-1024}"
DURATION="${DURATION:-15s}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/scaleout"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=""
command -v wrk >/dev/null || need="$need wrk"
[ -x /usr/sbin/haproxy ] || need="$need haproxy"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
if [ -n "$need" ]; then
  echo "== installing$need"; $SUDO apt-get install -y -qq $need >/dev/null
fi
MOTO="$CARGO_TARGET_DIR/test-tools/moto-venv/bin/moto_server"
if [ ! -x "$MOTO" ]; then
  python3 -m venv "$CARGO_TARGET_DIR/test-tools/moto-venv"
  "$CARGO_TARGET_DIR/test-tools/moto-venv/bin/pip" install --quiet "moto[server]"
fi

echo "== building (release)"
cargo build --release --quiet --bin openinsights -p cli
BIN="$CARGO_TARGET_DIR/release/openinsights"

rm -rf "$WORK"; mkdir -p "$WORK"
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -d "$WORK/pg" ]; then pgctl stop -m immediate >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { # file → the URL after "listening on"
  for _ in $(seq 1 1200); do
    if grep -q "listening on" "$1" 2>/dev/null; then sed -n 's/^listening on //p' "$1" | head -1; return; fi
    sleep 0.1
  done
  echo "did not start: $(tail -5 "${1%.out}.err")" >&2; exit 1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# --- moto and PostgreSQL ------------------------------------------------------
MOTO_PORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
S3="http://127.0.0.1:$MOTO_PORT"
for _ in $(seq 1 100); do curl -sf -X PUT "$S3/bench" >/dev/null && break; sleep 0.2; done

PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
AS=""; [ "$(id -u)" = 0 ] && { chown postgres "$WORK/pg"; AS="runuser -u postgres --"; }
pgctl() { $AS "$PGBIN/pg_ctl" -D "$WORK/pg/data" "$@"; }
$AS "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres >/dev/null
pgctl -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off" -l "$WORK/pg/log" start >/dev/null
DB="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

# --- 1. export from the bucket against a local directory ------------------------
echo "== seeding $ROWS OfficeUsage rows into a local directory and into the bucket"
"$BIN" seed --data-dir "$WORK/local" --tenant bench --rows "$ROWS" --dataset OfficeUsage 2>&1 | sed 's/^/   local: /'
"$BIN" seed --s3-bucket bench --s3-endpoint "$S3" --tenant bench --rows "$ROWS" --dataset OfficeUsage 2>&1 | sed 's/^/   s3:    /'
Q="SELECT CustomerTenantId, CustomerName, WorkloadName, Month, PaidAvailableUnits, MonthlyActiveUsers FROM OfficeUsage"
export_runs() { # label args... → 3 wall times in ms
  for i in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$BIN" query run --tenant bench "$@" --start 2000-01-01T00:00:00Z --end 2100-01-01T00:00:00Z "$Q" -o "$WORK/export.csv"
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
  done
}
LOCAL_MS=$(export_runs --data-dir "$WORK/local" | median)
LOCAL_BYTES=$(stat -c %s "$WORK/export.csv")
S3_MS=$(export_runs --s3-bucket bench --s3-endpoint "$S3" | median)
S3_BYTES=$(stat -c %s "$WORK/export.csv")
[ "$LOCAL_BYTES" = "$S3_BYTES" ] || { echo "the two exports differ in size: $LOCAL_BYTES vs $S3_BYTES" >&2; exit 1; }

# --- 2. requests/s through HAProxy with 1 and 3 replicas ------------------------
LB_PORT=$(free_port)
ADMIN=bench-admin-credential-0123456789
start_replica() { # index; sets REPLICA to its host:port (no subshell, so
  # its PID reaches the cleanup list)
  local port; port=$(free_port)
  OPENINSIGHTS__ADMIN__TOKEN=$ADMIN OPENINSIGHTS__LOG__FILTER=warn \
  OPENINSIGHTS__RATE_LIMIT__BURST=4000000000 OPENINSIGHTS__RATE_LIMIT__PER_SECOND=1000000000 \
    "$BIN" serve --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$LB_PORT" \
      --database-url "$DB" --s3-bucket bench --s3-endpoint "$S3" --data-dir "$WORK/replica-$1" \
      --demo-rows 200 >"$WORK/replica-$1.out" 2>"$WORK/replica-$1.err" &
  PIDS+=($!)
  wait_line "$WORK/replica-$1.out" >/dev/null
  REPLICA="127.0.0.1:$port"
}
start_replica 0; R0=$REPLICA
start_replica 1; R1=$REPLICA
start_replica 2; R2=$REPLICA
haproxy_with() { # backends...
  { printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
    printf '  retries 3\n  option redispatch\n  retry-on conn-failure empty-response response-timeout\n  option forwardfor\n'
    printf 'frontend api\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$LB_PORT"
    printf 'backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n  default-server inter 500ms fall 2 rise 1\n'
    local i=0; for b in "$@"; do printf '  server r%s %s check\n' "$i" "$b"; i=$((i+1)); done
  } >"$WORK/haproxy.cfg"
  /usr/sbin/haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  HAPROXY=$!
  PIDS+=($HAPROXY)
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$LB_PORT/readyz" >/dev/null && break; sleep 0.2; done
  sleep 1.5 # every backend through its first health checks
}
C=$(ls "$WORK"/replica-*/demo-credentials.json | head -1)
json() { python3 -c "import json,sys; print(json.load(open('$C'))['$1'])"; }
TENANT=$(json tenantId)
TOKEN=$(curl -s -X POST "http://$R0/$TENANT/oauth2/token" -d grant_type=client_credentials \
  -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
  -d resource=https://api.partnercenter.microsoft.com \
  | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
for i in $(seq 1 10); do
  curl -s -o /dev/null -X POST "http://$R0/insights/v1/mpn/ScheduledQueries" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"Name\":\"q$i\",\"Query\":\"SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage TIMESPAN LAST_6_MONTHS\"}"
done
rps() { # url → "requests/s p99 non2xx"
  local out
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$1")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1 == "99%" {print $2}') $(echo "$out" | awk '/Non-2xx/ {print $5}')"
}
PATH_Q=/insights/v1/mpn/ScheduledQueries
DIRECT=$(rps "http://$R0$PATH_Q")
haproxy_with "$R0"; LB1=$(rps "http://127.0.0.1:$LB_PORT$PATH_Q"); kill "$HAPROXY"; wait "$HAPROXY" 2>/dev/null || true
haproxy_with "$R0" "$R1" "$R2"; LB3=$(rps "http://127.0.0.1:$LB_PORT$PATH_Q"); kill "$HAPROXY"; wait "$HAPROXY" 2>/dev/null || true

# --- 3. a large upload through the data API --------------------------------------
echo "== writing a ${UPLOAD_MB} MB CSV"
python3 - "$WORK/big.csv" "$UPLOAD_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
line_block = "".join(f"customer{i % 50000},2024-{(i % 12) + 1:02d}-01,{i % 997}\n" for i in range(100000))
with open(path, "w") as f:
    f.write("CustomerName,Month,PaidAvailableUnits\n")
    written = 0
    while written < mb << 20:
        f.write(line_block)
        written += len(line_block)
PY
head -c 1048576 "$WORK/big.csv" | sed '$d' >"$WORK/small.csv"
UPLOAD_PORT=$(free_port)
OPENINSIGHTS__ADMIN__TOKEN=$ADMIN OPENINSIGHTS__LOG__FILTER=warn \
  "$BIN" serve --listen "127.0.0.1:$UPLOAD_PORT" --no-demo --data-dir "$WORK/upload" >"$WORK/upload.out" 2>"$WORK/upload.err" &
UPID=$!; PIDS+=($UPID)
wait_line "$WORK/upload.out" >/dev/null
curl -s -o /dev/null -X POST "http://127.0.0.1:$UPLOAD_PORT/admin/v1/tenants" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"Upload","tenantId":"upload"}'
hwm() { awk '/VmHWM/ {print $2}' "/proc/$UPID/status"; }
upload() { # file → "rows ms"
  curl -s -X POST "http://127.0.0.1:$UPLOAD_PORT/admin/v1/tenants/upload/datasets/OfficeUsage/rows" \
    -H "Authorization: Bearer $ADMIN" -H 'Content-Type: text/csv' -T "$1" \
    | python3 -c "import json,sys; a=json.load(sys.stdin); print(a.get('rowsLoaded'), a.get('elapsedMs'), a.get('message',''))"
}
BASE_KB=$(hwm)
SMALL=$(upload "$WORK/small.csv"); SMALL_KB=$(hwm)
BIG=$(upload "$WORK/big.csv"); BIG_KB=$(hwm)

# --- tables ----------------------------------------------------------------------
python3 - "$ROWS" "$LOCAL_MS" "$S3_MS" "$LOCAL_BYTES" "$DIRECT" "$LB1" "$LB3" \
  "$BASE_KB" "$SMALL" "$SMALL_KB" "$BIG" "$BIG_KB" "$UPLOAD_MB" <<'PY'
import sys
rows, local_ms, s3_ms, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
direct, lb1, lb3 = (a.split() for a in sys.argv[5:8])
base_kb, small, small_kb, big, big_kb, upload_mb = sys.argv[8:14]
print(f"\n1. Export of {rows:,} rows, 6 columns ({size / 2**20:.0f} MiB of CSV), median of 3 runs")
print(f"{'from':<18} {'seconds':>8} {'rows/s':>12} {'ratio':>6}")
for name, ms in (("local directory", local_ms), ("S3 bucket (moto)", s3_ms)):
    print(f"{name:<18} {ms / 1000:>8.2f} {rows / (ms / 1000):>12,.0f} {ms / local_ms:>6.2f}")
print(f"\n2. GET /ScheduledQueries, wrk 64 connections (2 cores shared by wrk, HAProxy and every replica)")
print(f"{'path':<28} {'requests/s':>11} {'p99':>9} {'ratio':>6} {'non-2xx':>8}")
ref = float(direct[0])
for name, r in (("one replica, direct", direct), ("HAProxy, 1 replica", lb1), ("HAProxy, 3 replicas", lb3)):
    bad = r[2] if len(r) > 2 else "0"
    print(f"{name:<28} {float(r[0]):>11.0f} {r[1]:>9} {float(r[0]) / ref:>6.2f} {bad:>8}")
print(f"\n3. Uploads through the admin data API (peak RSS of the server process)")
print(f"{'upload':<16} {'rows':>12} {'seconds':>8} {'peak RSS MiB':>13}")
print(f"{'(idle)':<16} {'':>12} {'':>8} {int(base_kb) / 1024:>13.0f}")
for name, r, kb in (("1 MB CSV", small, small_kb), (f"{upload_mb} MB CSV", big, big_kb)):
    parts = r.split()
    print(f"{name:<16} {parts[0]:>12} {int(parts[1]) / 1000:>8.2f} {int(kb) / 1024:>13.0f}")
PY
