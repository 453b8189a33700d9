#!/usr/bin/env bash
# Batch sync against PostgreSQL's own bulk load, in one run on one server: 100,000 fund
# transactions pushed by 上海's partner account through `POST /api/v1/sync/fund_transaction` in
# batches of 1,000 (one client, one batch at a time, as a partner system syncs), then the same
# batches again (all `unchanged`), beside `\copy` with psql of 100,000 rows of the same shape
# into the same table, with the same indexes.
#
#   bench/sync.sh                 ROWS=100000 BATCH=1000 PROFILE=release [BUILD=0] [LOG_MS=0]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-100000}"
BATCH="${BATCH:-1000}"
PROFILE="${PROFILE:-release}"
PG="-h 127.0.0.1 -U postgres"
export PGSSLMODE=disable
PORT=18097
DB=xiezuo_bench_sync
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)

if [ "${BUILD:-1}" = 1 ]; then
  if [ "$PROFILE" = release ]; then cargo build --release -q -p xiezuo; else cargo build -q -p xiezuo; fi
fi
psql $PG -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
# LOG_MS=0 logs every statement with its duration to the server's log (where the time goes);
# set before the service connects.
if [ -n "${LOG_MS:-}" ]; then
  psql $PG -qc "ALTER DATABASE $DB SET log_min_duration_statement = $LOG_MS"
fi
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" \
  XIEZUO_BIND="127.0.0.1:$PORT" XIEZUO_ADMIN_PASSWORD=bench-admin-password \
  XIEZUO_JWT_SECRET=bench-secret-bench-secret-bench-secret-1 XIEZUO_DATA_DIR="$WORK/data" \
  XIEZUO_DEMO=false RUST_LOG=warn XIEZUO_TOKEN_TTL_SECONDS=3600 XIEZUO_RATE_LIMIT_PER_SECOND=0 \
  XIEZUO_SYNC_BATCH_MAX="$BATCH" XIEZUO_MAX_BODY_BYTES=$((BATCH * 1024))
"target/$PROFILE/xiezuo" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 150); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
login() {
  curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d "username=$1" -d "password=$2" \
    | json '["access_token"]'
}
ADMIN=$(login admin bench-admin-password)
SHANGHAI=$(psql $PG -d $DB -Atc "SELECT id FROM organizations WHERE code = '310000'")
PAIRING=$(psql $PG -d $DB -Atc "SELECT p.id FROM pairings p JOIN organizations e ON e.id = p.east_org_id
  JOIN organizations w ON w.id = p.west_org_id WHERE e.code = '310000' AND w.code = '520300'")
curl -fs -X POST "$BASE/api/v1/users" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"username\": \"bench.partner\", \"password\": \"bench-partner-password\", \"role\": \"partner\", \"org_id\": \"$SHANGHAI\"}" >/dev/null
PARTNER=$(login bench.partner bench-partner-password)

# The batches, and the same rows as CSV for \copy.
python3 - "$WORK" "$ROWS" "$BATCH" "$PAIRING" "$SHANGHAI" <<'PY'
import json, sys, uuid
work, rows, batch, pairing, owner = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def item(n):
    return {"external_id": f"SYNC-{n}", "kind": "pledge" if n % 2 else "transfer",
            "amount_fen": 1000 + n, "occurred_on": "2019-06-03", "pairing_id": pairing,
            "voucher_no": f"V-{n}"}
for b in range(0, rows, batch):
    with open(f"{work}/batch-{b // batch:05d}.json", "w") as f:
        json.dump({"items": [item(n) for n in range(b, min(b + batch, rows))]}, f)
with open(f"{work}/rows.csv", "w") as f:
    for n in range(rows):
        i = item(n)
        f.write(f"{uuid.uuid4()},1,{owner},COPY-{n},2026-12-01 00:00:00+00,2026-12-01 00:00:00+00,,"
                f"{pairing},,{i['kind']},east,{i['amount_fen']},{i['occurred_on']},{i['voucher_no']},\n")
PY

# One client process sends every batch, one after the other on one kept-alive connection, as a
# partner system does (a process per batch would time 100 process starts beside the service).
push() {
  local expect=$1 args=()
  rm -f "$WORK"/out-*.json
  for f in "$WORK"/batch-*.json; do
    [ ${#args[@]} -gt 0 ] && args+=(--next)
    args+=(-fsS -X POST "$BASE/api/v1/sync/fund_transaction" -H "Authorization: Bearer $PARTNER"
      -H 'Content-Type: application/json' --data-binary "@$f" -o "$WORK/out-$(basename "$f")")
  done
  curl "${args[@]}"
  for f in "$WORK"/batch-*.json; do
    grep -q "\"$expect\"" "$WORK/out-$(basename "$f")" \
      || { echo "$f did not answer $expect"; head -c 400 "$WORK/out-$(basename "$f")"; exit 1; }
  done
}
now() { date +%s.%N; }
# CPU seconds of the service and of all PostgreSQL processes: where a phase's time goes.
ticks() { for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{s += $14 + $15} END {print s / 100}'; }
cpu() { echo "$(ticks $SERVER)/$(ticks $(pgrep -x postgres))"; }
c0=$(cpu); t0=$(now); push created; t1=$(now); c1=$(cpu); push unchanged; t2=$(now); c2=$(cpu)
psql $PG -d $DB -qc "\\copy fund_transactions (id, version, owner_org_id, external_id, created_at, updated_at, deleted_at, pairing_id, project_id, kind, side, amount_fen, occurred_on, voucher_no, note) FROM '$WORK/rows.csv' CSV"
t3=$(now)
COUNT=$(psql $PG -d $DB -Atc "SELECT count(*) FILTER (WHERE external_id LIKE 'SYNC-%'), count(*) FILTER (WHERE external_id LIKE 'COPY-%') FROM fund_transactions")
FEED=$(psql $PG -d $DB -Atc "SELECT count(*) FROM changes WHERE record_type = 'fund_transaction'")
AUDIT=$(psql $PG -d $DB -Atc "SELECT count(*) FROM audit_log WHERE record_type = 'fund_transaction'")
python3 - "$t0" "$t1" "$t2" "$t3" "$ROWS" "$BATCH" "$COUNT" "$FEED" "$AUDIT" "$PROFILE" "$c0" "$c1" "$c2" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
rows, batch, count, feed, audit, profile = sys.argv[5:11]
(s0, p0), (s1, p1), (s2, p2) = (map(float, c.split("/")) for c in sys.argv[11:14])
sync, again, copy = t1 - t0, t2 - t1, t3 - t2
print(f"{rows} fund transactions, batches of {batch}, {profile} build; rows stored (sync|copy): {count}; feed entries {feed}, audit entries {audit}")
print(f"sync, created        {sync:7.2f} s  {int(rows) / sync:8.0f} rows/s  {sync / copy:5.2f}x \\copy")
print(f"sync again, unchanged{again:7.2f} s  {int(rows) / again:8.0f} rows/s  {again / copy:5.2f}x \\copy")
print(f"psql \\copy (baseline) {copy:7.2f} s  {int(rows) / copy:8.0f} rows/s")
print(f"CPU seconds, service / PostgreSQL: created {s1 - s0:.2f} / {p1 - p0:.2f}, unchanged {s2 - s1:.2f} / {p2 - p1:.2f}")
PY
