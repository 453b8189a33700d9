#!/usr/bin/env bash
# Throughput of xiezuo's read paths, measured as its users (a western editor, whose scope must be
# resolved), beside two baselines on the same PostgreSQL in the same sitting:
#   - `pgbench -S` (one indexed SELECT per transaction): the ceiling for a one-statement read;
#   - PostGraphile 4 (npm `postgraphile`) serving the same GraphQL query over the same tables.
# Each rate is reported as a ratio to its baseline.
#
#   bench/run.sh            # 100,000 projects, 20 s per measurement
#   ROWS=10000 SECONDS_EACH=10 bench/run.sh
#   PG_SOCKET=/var/run/postgresql bench/run.sh   # every client reaches PostgreSQL over its Unix
#                                                # socket instead of loopback TCP
#
# Needs: a local PostgreSQL (trust auth for user postgres), pgbench, wrk (installed with apt-get
# when missing), Node.js with npm (PostGraphile is installed under bench/.node), a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-100000}"
SECONDS_EACH="${SECONDS_EACH:-20}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_SOCKET="${PG_SOCKET:-}"
PG="-h ${PG_SOCKET:-127.0.0.1} -U postgres"
# No TLS on loopback, for every client alike (libpq and sqlx would otherwise negotiate it with a
# server that offers it, and node-postgres would not).
export PGSSLMODE=disable
PORT=18099
PGL_PORT=18098
DB=xiezuo_bench
BASE="http://127.0.0.1:$PORT"
NODE_DIR="bench/.node"

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
if [ ! -x "$NODE_DIR/node_modules/.bin/postgraphile" ]; then
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" postgraphile@4 >/dev/null
fi
cargo build --release -q -p xiezuo

psql $PG -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" -c "DROP DATABASE IF EXISTS pgbench_baseline" -c "CREATE DATABASE pgbench_baseline" >/dev/null
pgbench $PG -i -s 10 -q pgbench_baseline >/dev/null 2>&1

if [ -n "$PG_SOCKET" ]; then
  DATABASE_URL="postgres://postgres@localhost/$DB?host=$PG_SOCKET&sslmode=disable"
else
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
fi
export DATABASE_URL XIEZUO_BIND="127.0.0.1:$PORT" \
  XIEZUO_ADMIN_PASSWORD=bench-admin-password XIEZUO_JWT_SECRET=bench-secret-bench-secret-bench-secret-1 \
  XIEZUO_DATA_DIR="$(mktemp -d)" XIEZUO_DEMO=false RUST_LOG=warn XIEZUO_TOKEN_TTL_SECONDS=3600 \
  XIEZUO_RATE_LIMIT_PER_SECOND=0
target/release/xiezuo serve >/tmp/xiezuo-bench.log 2>&1 &
SERVER=$!
PGL=""
trap 'kill $SERVER $PGL 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done

# Bulk rows straight into the tables: the subject is reading, not writing. The projects belong
# to 遵义 (520300) on 上海–遵义; each gets a pledge and an arrival so that totals are real sums.
psql $PG -d $DB -q <<SQL
WITH p AS (SELECT pr.id, pr.west_org_id FROM pairings pr JOIN organizations o ON o.id = pr.west_org_id
           WHERE o.code = '520300' LIMIT 1)
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

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
login() {
  curl -fs -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d "username=$1" -d "password=$2" \
    | json '["access_token"]'
}
ADMIN=$(login admin bench-admin-password)
ZUNYI=$(curl -fs -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/organizations?division_code=520300" | json '["items"][0]["id"]')
curl -fs -X POST "$BASE/api/v1/users" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"username\": \"bench.editor\", \"password\": \"bench-editor-password\", \"role\": \"editor\", \"org_id\": \"$ZUNYI\"}" >/dev/null
EDITOR=$(login bench.editor bench-editor-password)
PROJECT=$(curl -fs -H "Authorization: Bearer $EDITOR" "$BASE/api/v1/projects?limit=1" | json '["items"][0]["id"]')

# The same query for both GraphQL servers: 50 projects with their organization's name.
cat > /tmp/xiezuo-bench-gql.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ projects(first: 50) { edges { node { code title organization { name } } } } }"}'
LUA
cat > /tmp/xiezuo-bench-gql-totals.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ projects(first: 50) { edges { node { code pledgedFen arrivedFen spentFen organization { name } } } } }"}'
LUA
cat > /tmp/postgraphile-bench.lua <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ allProjects(first: 50, orderBy: ID_ASC) { nodes { code title organizationByOwnerOrgId { name } } } }"}'
LUA

"$NODE_DIR/node_modules/.bin/postgraphile" -c "$DATABASE_URL" --schema public --host 127.0.0.1 \
  --port "$PGL_PORT" --disable-query-log >/tmp/postgraphile-bench.log 2>&1 &
PGL=$!
for _ in $(seq 1 100); do
  curl -fs -X POST -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' \
    "http://127.0.0.1:$PGL_PORT/graphql" >/dev/null 2>&1 && break
  sleep 0.3
done
# Both servers answer the query with 50 projects before anything is timed.
for check in "$BASE/graphql /tmp/xiezuo-bench-gql.lua $EDITOR" "http://127.0.0.1:$PGL_PORT/graphql /tmp/postgraphile-bench.lua -"; do
  set -- $check
  body=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$2")
  n=$(curl -fs -X POST -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$body" "$1" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; v=list(d.values())[0]; print(len(v.get("edges", v.get("nodes", []))))')
  [ "$n" = 50 ] || { echo "$1 answered $n projects, not 50"; exit 1; }
done

rate() { grep -Eo 'Requests/sec: *[0-9.]+' | grep -Eo '[0-9.]+$'; }
tps() { grep -Eo 'tps = [0-9.]+' | grep -Eo '[0-9.]+$'; }
run() { wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" "$@" | rate; }

echo "rows: $ROWS projects, $((2 * ROWS)) fund transactions; $CONNECTIONS connections, ${SECONDS_EACH}s each; PostgreSQL over ${PG_SOCKET:-loopback TCP}"
BASELINE=$(pgbench $PG -S -c "$CONNECTIONS" -j 2 -T "$SECONDS_EACH" pgbench_baseline 2>/dev/null | tps)
PROJECT_RATE=$(run -H "Authorization: Bearer $EDITOR" "$BASE/api/v1/projects/$PROJECT")
ORG_RATE=$(run -H "Authorization: Bearer $EDITOR" "$BASE/api/v1/organizations/$ZUNYI")
LIST_RATE=$(run -H "Authorization: Bearer $EDITOR" "$BASE/api/v1/projects?limit=50")
GQL_RATE=$(run -H "Authorization: Bearer $EDITOR" -s /tmp/xiezuo-bench-gql.lua "$BASE/graphql")
GQL_ADMIN_RATE=$(run -H "Authorization: Bearer $ADMIN" -s /tmp/xiezuo-bench-gql.lua "$BASE/graphql")
GQL_TOTALS_RATE=$(run -H "Authorization: Bearer $EDITOR" -s /tmp/xiezuo-bench-gql-totals.lua "$BASE/graphql")
PGL_RATE=$(run -s /tmp/postgraphile-bench.lua "http://127.0.0.1:$PGL_PORT/graphql")
BASELINE2=$(pgbench $PG -S -c "$CONNECTIONS" -j 2 -T "$SECONDS_EACH" pgbench_baseline 2>/dev/null | tps)

python3 - "$BASELINE" "$BASELINE2" "$PROJECT_RATE" "$ORG_RATE" "$LIST_RATE" "$GQL_RATE" \
  "$GQL_ADMIN_RATE" "$GQL_TOTALS_RATE" "$PGL_RATE" <<'PY'
import sys
b1, b2, project, org, lst, gql, gql_admin, gql_totals, pgl = map(float, sys.argv[1:])
base = (b1 + b2) / 2
print(f"pgbench -S (baseline)                       {base:9.0f} tps    (runs: {b1:.0f}, {b2:.0f})")
for name, r in [("editor GET /projects/{id}", project), ("editor GET /organizations/{id}", org),
                ("editor GET /projects?limit=50", lst)]:
    print(f"{name:43s} {r:9.0f} req/s  {r / base:.3f} of pgbench -S")
print(f"PostGraphile 4, 50 projects + org name      {pgl:9.0f} req/s")
for name, r in [("editor GraphQL, same query", gql), ("admin GraphQL, same query", gql_admin),
                ("editor GraphQL, + money totals", gql_totals)]:
    print(f"{name:43s} {r:9.0f} req/s  {r / pgl:.2f}x PostGraphile")
PY
