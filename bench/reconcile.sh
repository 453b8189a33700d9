#!/usr/bin/env bash
# Horizontal reconciliation at scale, against a hand-written SQL full outer join of the same
# data, in one run on one server: ROWS transfers recorded by 上海 and ROWS arrivals recorded by
# 遵义 on their pairing in 2021, with planted discrepancies (1 % amount mismatches, 0.5 % on one
# side only each, 1 % without a voucher on the western side, which match by amount and date).
# The reconciliation runs as 上海's partner account through `POST /api/v1/reconciliations`
# and stores its report; the baseline joins the same rows on voucher number with psql, once
# counted and once stored into a table (as the report stores its lines). Both are timed in
# RUNS interleaved rounds, and the ratio is that of the medians: on a shared 2-core machine a
# single round of either varies by a third. The service's peak resident memory is read from
# /proc (VmHWM) after the rounds. Then the last round's report is read as a client reads it:
# pages of 100 lines at its start, middle and end, and single lines; beside the other rounds'
# reports, and again once REPORTS more reports exist.
#
#   bench/reconcile.sh            ROWS=1000000 RUNS=5 REPORTS=1000 PROFILE=release [BUILD=0] [LOG_MS=0]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-1000000}"
PROFILE="${PROFILE:-release}"
PG="-h 127.0.0.1 -U postgres"
export PGSSLMODE=disable
PORT=18098
DB=xiezuo_bench_reconcile
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)

if [ "${BUILD:-1}" = 1 ]; then
  if [ "$PROFILE" = release ]; then cargo build --release -q -p xiezuo; else cargo build -q -p xiezuo; fi
fi
psql $PG -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
# LOG_MS=0 logs every statement of the run with its duration to the server's log (the profile
# of where the time goes; EXPLAIN ANALYZE the slow ones);
# set before the service connects.
if [ -n "${LOG_MS:-}" ]; then
  psql $PG -qc "ALTER DATABASE $DB SET log_min_duration_statement = $LOG_MS"
fi
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" \
  XIEZUO_BIND="127.0.0.1:$PORT" XIEZUO_ADMIN_PASSWORD=bench-admin-password \
  XIEZUO_JWT_SECRET=bench-secret-bench-secret-bench-secret-1 XIEZUO_DATA_DIR="$WORK/data" \
  XIEZUO_DEMO=false RUST_LOG=warn XIEZUO_TOKEN_TTL_SECONDS=3600 XIEZUO_RATE_LIMIT_PER_SECOND=0
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
ZUNYI=$(psql $PG -d $DB -Atc "SELECT id FROM organizations WHERE code = '520300'")
PAIRING=$(psql $PG -d $DB -Atc "SELECT p.id FROM pairings p JOIN organizations e ON e.id = p.east_org_id
  JOIN organizations w ON w.id = p.west_org_id WHERE e.code = '310000' AND w.code = '520300'")
curl -fs -X POST "$BASE/api/v1/users" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"username\": \"bench.partner\", \"password\": \"bench-partner-password\", \"role\": \"partner\", \"org_id\": \"$SHANGHAI\"}" >/dev/null
PARTNER=$(login bench.partner bench-partner-password)

# n = 0 … ROWS-1. Transfer n on day n mod 365 of 2021; its arrival a day later with the same
# voucher, but: n % 100 = 1 arrives 100 fen short (amount_mismatch); n % 200 = 2 never arrives
# (east_only) and n % 200 = 3 arrives with no transfer (west_only); n % 100 = 4 arrives
# without a voucher, matched by amount and date.
psql $PG -d $DB -q <<SQL
INSERT INTO fund_transactions (id, version, owner_org_id, external_id, created_at, updated_at,
  pairing_id, kind, side, amount_fen, occurred_on, voucher_no)
SELECT gen_random_uuid(), 1, '$SHANGHAI', NULL, now(), now(), '$PAIRING', 'transfer', 'east',
  100000 + n, DATE '2021-01-01' + (n % 364), 'V-' || n
FROM generate_series(0, $ROWS - 1) n WHERE n % 200 <> 3;
INSERT INTO fund_transactions (id, version, owner_org_id, external_id, created_at, updated_at,
  pairing_id, kind, side, amount_fen, occurred_on, voucher_no)
SELECT gen_random_uuid(), 1, '$ZUNYI', NULL, now(), now(), '$PAIRING', 'arrival', 'west',
  100000 + n - CASE WHEN n % 100 = 1 THEN 100 ELSE 0 END, DATE '2021-01-02' + (n % 364),
  CASE WHEN n % 100 = 4 THEN NULL ELSE 'V-' || n END
FROM generate_series(0, $ROWS - 1) n WHERE n % 200 <> 2;
VACUUM ANALYZE fund_transactions;
SQL

now() { date +%s.%N; }
# Each timed phase starts once autovacuum has left the tables a phase wrote (a report's
# million-row table of pairs is vacuumed just after it commits), and after a checkpoint, so
# that none pays for the vacuum or the WAL of another.
checkpoint() {
  for _ in $(seq 1 600); do
    [ "$(psql $PG -d $DB -Atc "SELECT count(*) FROM pg_stat_activity
      WHERE backend_type = 'autovacuum worker' AND datname = current_database()")" = 0 ] && break
    sleep 0.1
  done
  psql $PG -d $DB -qc CHECKPOINT
}
JOIN="SELECT e.id AS east_id, w.id AS west_id, e.amount_fen AS east_fen, w.amount_fen AS west_fen,
  e.occurred_on AS east_on, w.occurred_on AS west_on, COALESCE(e.voucher_no, w.voucher_no) AS voucher_no
  FROM (SELECT * FROM fund_transactions WHERE pairing_id = '$PAIRING' AND kind = 'transfer'
        AND deleted_at IS NULL AND occurred_on BETWEEN '2021-01-01' AND '2021-12-31') e
  FULL OUTER JOIN (SELECT * FROM fund_transactions WHERE pairing_id = '$PAIRING' AND kind = 'arrival'
        AND deleted_at IS NULL AND occurred_on BETWEEN '2021-01-01' AND '2021-12-31') w
  ON e.voucher_no = w.voucher_no"
RSS0=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
# RUNS rounds (default 5), each timing the reconciliation through the API, the join counted and
# the join stored; a round's order alternates (the service first, then last), so that neither
# always runs on the cache the other left. The figures are the medians of the rounds, and every
# round's report is checked for the planted discrepancies.
RUNS="${RUNS:-5}"
TIMES="$WORK/times"
reconcile() {
  checkpoint
  local t0; t0=$(now)
  curl -fsS -X POST "$BASE/api/v1/reconciliations" -H "Authorization: Bearer $PARTNER" \
    -H 'Content-Type: application/json' -o "$WORK/report-$1.json" \
    -d "{\"kind\": \"horizontal\", \"pairing_id\": \"$PAIRING\", \"year\": 2021}"
  echo "service $1 $(python3 -c "print($(now) - $t0)")" >>"$TIMES"
}
joins() {
  checkpoint
  local t; t=$(now)
  psql $PG -d $DB -qAtc "SELECT count(*) FROM ($JOIN) j" >/dev/null
  echo "counted $1 $(python3 -c "print($(now) - $t)")" >>"$TIMES"
  checkpoint
  t=$(now)
  psql $PG -d $DB -qc "CREATE TABLE bench_join AS $JOIN"
  echo "stored $1 $(python3 -c "print($(now) - $t)")" >>"$TIMES"
  psql $PG -d $DB -qc "DROP TABLE bench_join"
}
for r in $(seq 1 "$RUNS"); do
  if [ $((r % 2)) = 1 ]; then reconcile "$r"; joins "$r"; else joins "$r"; reconcile "$r"; fi
done
HWM=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)
cp "$WORK/report-$RUNS.json" "$WORK/report.json"

# Reading the report as a client pages through it: a page of 100 lines at the start, in the
# middle (among the voucher pairs), and at the end (the cursor after line N is the one the service
# hands out with line N), and single lines; each the median of 9 requests, checked for its lines.
# Read once with this report alone, and again once REPORTS other reports exist (each with its own
# table of pairs on PostgreSQL): a read names its report's table, so it should not slow down.
read_report() {
python3 - "$WORK/report.json" "$BASE" "$PARTNER" "$1" <<'PY'
import base64, json, statistics, sys, time, urllib.request
report, base, token, label = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
print(f"-- reads, {label}")
rid, count = report["id"], report["line_count"]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
def cursor(line_no):
    return base64.urlsafe_b64encode(bytes(8) + line_no.to_bytes(8, "big")).decode().rstrip("=")
def timed(what, path, check):
    times = []
    for _ in range(9):
        t = time.perf_counter()
        body = get(path)
        times.append(time.perf_counter() - t)
        check(body)
    print(f"{what:<44} {statistics.median(times) * 1000:7.1f} ms (median of 9)")
def page_from(after):
    def check(body):
        got = [l["line_no"] for l in body["items"]]
        want = list(range(after + 1, min(after + 100, count) + 1))
        assert got == want, f"after {after}: {got[:3]}…, want {want[:3]}…"
    return check
mid = count // 2
for what, after in [("a page of 100 lines, the first", 0),
                    (f"a page of 100 lines, from line {mid + 1:,}", mid),
                    ("a page of 100 lines, the last", count - 100)]:
    query = f"?limit=100" + (f"&cursor={cursor(after)}" if after else "")
    timed(what, f"/api/v1/reconciliations/{rid}/lines{query}", page_from(after))
def line(n):
    def check(body):
        assert body["line_no"] == n, body
    return check
for n in (1, mid, count):
    timed(f"line {n:,}", f"/api/v1/reconciliations/{rid}/lines/{n}", line(n))
PY
}
read_report "beside the other rounds' reports"

# REPORTS other reports (of 上海–遵义's 2020, which holds no records), made through the API.
REPORTS="${REPORTS:-1000}"
python3 - "$BASE" "$PARTNER" "$PAIRING" "$REPORTS" <<'PY'
import json, sys, urllib.request
base, token, pairing, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"kind": "horizontal", "pairing_id": pairing, "year": 2020}).encode()
for _ in range(n):
    req = urllib.request.Request(base + "/api/v1/reconciliations", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 201, r.status
PY
read_report "beside $REPORTS other reports"

python3 - "$WORK" "$RUNS" "$ROWS" "$PROFILE" "$RSS0" "$HWM" <<'PY'
import json, statistics, sys
work, runs, rows, profile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rss0, hwm = int(sys.argv[5]), int(sys.argv[6])
f = "fund_transaction"
expect = {
    (f, "amount_mismatch"): rows // 100,
    (f, "east_only"): rows // 200,
    (f, "west_only"): rows // 200,
}
for r in range(1, runs + 1):
    report = json.load(open(f"{work}/report-{r}.json"))
    by = {(s["record_type"], s["status"]): s["lines"] for s in report["totals"]["by_status"]}
    found = {k: by.get(k, 0) for k in expect}
    assert found == expect, f"round {r}: planted {expect}, found {found}"
    matched = by.get((f, "matched"), 0)
    assert matched == rows - rows // 100 - rows // 100, f"round {r}: matched {matched}"
times = {}
for line in open(f"{work}/times"):
    what, r, t = line.split()
    times.setdefault(what, {})[int(r)] = float(t)
print(f"{rows} transfers and {rows} arrivals less the planted one-sided ones, {profile} build, "
      f"{runs} rounds; every report found the planted discrepancies exactly: {found}, "
      f"matched {matched}, lines {report['line_count']}")
for r in range(1, runs + 1):
    s, c, j = times["service"][r], times["counted"][r], times["stored"][r]
    print(f"round {r}: reconciliation {s:5.2f} s, join counted {c:5.2f} s, join stored {j:5.2f} s, "
          f"{s / j:4.2f}x the stored join")
s, c, j = (statistics.median(times[w].values()) for w in ("service", "counted", "stored"))
print(f"median reconciliation through the API        {s:7.2f} s  {s / j:5.2f}x the stored join  {s / c:5.2f}x the counted join")
print(f"median hand-written full outer join, counted {c:7.2f} s")
print(f"median hand-written full outer join, stored  {j:7.2f} s")
print(f"service memory: {rss0 / 1024:.0f} MB resident before, {hwm / 1024:.0f} MB peak (VmHWM)")
PY
