#!/usr/bin/env bash
# Throughput of xiezuo's read paths beside `pgbench -S` on the same PostgreSQL, in one sitting,
# reported as ratios (requests per second of the endpoint / pgbench transactions per second).
#
#   bench/run.sh            # 100,000 projects, 20 s per measurement
#   ROWS=10000 SECONDS_EACH=10 bench/run.sh
#
# Needs: a local PostgreSQL (trust auth for user postgres), wrk, pgbench, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-100000}"
SECONDS_EACH="${SECONDS_EACH:-20}"
CONNECTIONS="${CONNECTIONS:-32}"
PG="-h 127.0.0.1 -U postgres"
PORT=18099
DB=xiezuo_bench
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
cargo build --release -q -p xiezuo

psql $PG -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" -c "DROP DATABASE IF EXISTS pgbench_baseline" -c "CREATE DATABASE pgbench_baseline" >/dev/null
pgbench $PG -i -s 10 -q pgbench_baseline >/dev/null 2>&1

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" XIEZUO_BIND="127.0.0.1:$PORT" \
  XIEZUO_ADMIN_PASSWORD=bench-admin-password XIEZUO_JWT_SECRET=bench-secret-bench-secret-bench-secret-1 \
  XIEZUO_DATA_DIR="$(mktemp -d)" XIEZUO_DEMO=false RUST_LOG=warn XIEZUO_TOKEN_TTL_SECONDS=3600
target/release/xiezuo serve >/tmp/xiezuo-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done

# Bulk rows straight into the tables: the subject is reading, not writing. Each project gets a
# pledge and an arrival so that totals are real sums.
psql $PG -d $DB -q <<SQL
WITH p AS (SELECT id, west_org_id FROM pairings ORDER BY id LIMIT 1)
INSERT INTO projects (id, version, owner_org_id, external_id, created_at, updated_at, deleted_at,
  code, year, title, category, status, pairing_id, basis, items, quantity, measures, deep_poverty,
  beneficiaries_planned, beneficiaries_actual, budget_fen, responsible_contact_id, start_on, end_on,
  milestones)
SELECT gen_random_uuid(), 1, p.west_org_id, NULL, now(), now(), NULL, 'BENCH-' || g, 2019,
  '压测项目' || g, 'other', 'funded', p.id, '依据', '[]', NULL, '措施', false, 10, NULL, 100000,
  NULL, NULL, NULL, '[]'
FROM p, generate_series(1, $ROWS) g;
INSERT INTO fund_transactions (id, version, owner_org_id, external_id, created_at, updated_at,
  deleted_at, pairing_id, project_id, kind, side, amount_fen, occurred_on, voucher_no, note)
SELECT gen_random_uuid(), 1, pr.owner_org_id, NULL, now(), now(), NULL, pr.pairing_id, pr.id, k.kind,
  'west', 100000, DATE '2019-06-01', NULL, NULL
FROM projects pr, (VALUES ('pledge'), ('arrival')) AS k(kind);
ANALYZE;
SQL

TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=admin \
  -d password=bench-admin-password | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
ORG=$(curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/organizations?division_code=520300" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
cat > /tmp/xiezuo-bench-gql.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ projects(first: 50) { edges { node { code pledgedFen arrivedFen spentFen organization { name } } } } }"}'
LUA

rate() { grep -Eo 'Requests/sec: *[0-9.]+' | grep -Eo '[0-9.]+$'; }
tps() { grep -Eo 'tps = [0-9.]+' | grep -Eo '[0-9.]+$'; }

echo "rows: $ROWS projects, $((2 * ROWS)) fund transactions; $CONNECTIONS connections, ${SECONDS_EACH}s each"
BASELINE=$(pgbench $PG -S -c "$CONNECTIONS" -j 2 -T "$SECONDS_EACH" pgbench_baseline 2>/dev/null | tps)
ORG_RATE=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/organizations/$ORG" | rate)
LIST_RATE=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/projects?limit=50" | rate)
GQL_RATE=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -H "Authorization: Bearer $TOKEN" -s /tmp/xiezuo-bench-gql.lua "$BASE/graphql" | rate)
BASELINE2=$(pgbench $PG -S -c "$CONNECTIONS" -j 2 -T "$SECONDS_EACH" pgbench_baseline 2>/dev/null | tps)

python3 - "$BASELINE" "$BASELINE2" "$ORG_RATE" "$LIST_RATE" "$GQL_RATE" <<'PY'
import sys
b1, b2, org, lst, gql = map(float, sys.argv[1:])
base = (b1 + b2) / 2
print(f"pgbench -S (baseline)            {base:10.0f} tps   (runs: {b1:.0f}, {b2:.0f})")
for name, r in [("GET /organizations/{id}", org), ("GET /projects?limit=50", lst), ("GraphQL 50 projects+org+totals", gql)]:
    print(f"{name:32s} {r:10.0f} req/s  ratio {r / base:.3f}")
PY
