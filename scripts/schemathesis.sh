#!/usr/bin/env bash
# Property-based API testing: schemathesis (PyPI) reads the served OpenAPI
# document and fuzzes every operation against a real server, checking for
# 5xx answers and answers that contradict the schema. Not part of CI.
#
#   scripts/schemathesis.sh [SECONDS]     # default 180 s of fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_BUDGET="${1:-180}"
WORK="${BENCH_DIR:-${TMPDIR:-/tmp}/openinsights-bench}/schemathesis"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/tmp}/.cache/openinsights-target}"

if [ ! -x "$WORK/venv/bin/schemathesis" ]; then
  echo "== installing schemathesis into $WORK/venv"
  mkdir -p "$WORK"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet schemathesis
fi

echo "== building"
cargo build --quiet --bin openinsights
BIN="$CARGO_TARGET_DIR/debug/openinsights"

rm -rf "$WORK/data"
OPENINSIGHTS__RATE_LIMIT__BURST=1000000 OPENINSIGHTS__RATE_LIMIT__PER_SECOND=1000000 OPENINSIGHTS__LOG__FILTER=warn \
  "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --demo-rows 300 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' "$WORK/serve.out")
C="$WORK/data/demo-credentials.json"
json() { python3 -c "import json; print(json.load(open('$C'))['$1'])"; }
token() {
  curl -s -X POST "$(json tokenUrl)" -d grant_type=client_credentials \
    -d client_id="$(json clientId)" --data-urlencode client_secret="$(json clientSecret)" \
    -d resource="$1" \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])"
}
TOKEN=$(token https://api.partnercenter.microsoft.com)
STORE_TOKEN=$(token https://manage.devcenter.microsoft.com)

# Each API with a token for its own audience, half the time each.
HALF=$((SECONDS_BUDGET / 2))
echo "== schemathesis (Insights API) against $BASE for ${HALF}s"
"$WORK/venv/bin/schemathesis" run "$BASE/insights/v1/mpn/swagger/swagger.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "$HALF" \
  --exclude-path-regex '/oauth2/|/v1.0/my/analytics' || status=$?
echo "schemathesis (Insights) exit: ${status:-0}"
echo "== schemathesis (Store analytics API) against $BASE for ${HALF}s"
"$WORK/venv/bin/schemathesis" run "$BASE/insights/v1/mpn/swagger/swagger.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $STORE_TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "$HALF" \
  --include-path-regex '/v1.0/my/analytics' || store_status=$?
echo "schemathesis (Store) exit: ${store_status:-0}"
[ "${status:-0}" = 0 ] && [ "${store_status:-0}" = 0 ]
