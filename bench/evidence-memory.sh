#!/usr/bin/env bash
# The memory high-water mark of the service while it takes a large evidence upload, serves it
# back, and streams the assessment package holding it: the file streams through bounded buffers,
# so the peak should not grow with the file.
# Usage: bench/evidence-memory.sh [SIZE_MIB]   (default 1024: a 1 GiB file)
#   PROFILE=debug  use the debug build (no release build needed; same buffers, slower)
# Prints the server's VmHWM (peak resident memory) after start, after the upload, after the
# download and after the package, beside the file size; then checks the package's manifest
# against its files.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB="${1:-1024}"
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then cargo build -q --release --bin xiezuo; else cargo build -q --bin xiezuo; fi
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
PASSWORD="memory-bench-password"
DATABASE_URL="sqlite://$WORK/db.sqlite3?mode=rwc" XIEZUO_BIND="127.0.0.1:$PORT" \
  XIEZUO_DATA_DIR="$WORK/data" XIEZUO_ADMIN_PASSWORD="$PASSWORD" XIEZUO_DEMO=false \
  XIEZUO_EVIDENCE_MAX_BYTES=$((4 * 1024 * 1024 * 1024)) XIEZUO_BODY_TIMEOUT_SECONDS=120 \
  XIEZUO_RATE_LIMIT_PER_SECOND=0 RUST_LOG=warn \
  "target/$PROFILE/xiezuo" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 60); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 1; done
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$SERVER/status"; }
echo "file: $SIZE_MIB MiB"
echo "peak after start:    $(hwm)"

TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/token" -d grant_type=password -d username=admin \
  -d "password=$PASSWORD" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
read -r PAIRING WEST < <(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/pairings?limit=1" \
  | python3 -c 'import json,sys; p=json.load(sys.stdin)["items"][0]; print(p["id"], p["west_org_id"])')
# The file proves money arrived in 2019, so the year's assessment (and its package) holds it.
ARRIVAL=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  "$BASE/api/v1/fund-transactions" -d "{\"kind\":\"arrival\",\"amount_fen\":100,\"occurred_on\":\"2019-05-06\",\"pairing_id\":\"$PAIRING\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
FILE="$WORK/big.pdf"
{ printf '%%PDF-1.7\n'; head -c $((SIZE_MIB * 1024 * 1024 - 9)) /dev/urandom; } >"$FILE"

START=$(date +%s.%N)
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/evidence" \
  -F category=video -F title=x -F "links=[{\"record_type\":\"pairing\",\"record_id\":\"$PAIRING\"}]" \
  -F "file=@$FILE;type=application/pdf" -o /dev/null -w '%{http_code}' || true)
# A PDF sent as a video is refused at its first bytes: the refusal must not read the rest.
echo "a PDF as a video:    HTTP $ID, peak $(hwm)"
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/evidence" \
  -F category=document -F title=大文件 -F "links=[{\"record_type\":\"fund_transaction\",\"record_id\":\"$ARRIVAL\"}]" \
  -F "file=@$FILE;type=application/pdf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
END=$(date +%s.%N)
echo "peak after upload:   $(hwm) ($(python3 -c "print(round($SIZE_MIB / ($END - $START), 1))") MiB/s)"
curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/evidence/$ID/content" -o "$WORK/back.pdf"
echo "peak after download: $(hwm)"
cmp -s "$FILE" "$WORK/back.pdf" && echo "the download equals the upload ($(stat -c %s "$FILE") bytes)"

START=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/assessments/$WEST/2019/package" -o "$WORK/package.zip"
END=$(date +%s.%N)
echo "peak after package:  $(hwm) ($(stat -c %s "$WORK/package.zip") bytes, $(python3 -c "print(round($SIZE_MIB / ($END - $START), 1))") MiB/s)"
python3 - "$WORK/package.zip" <<'PY'
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
manifest = json.loads(z.read("manifest.json"))["files"]
for f in manifest:
    h, n = hashlib.sha256(), 0
    with z.open(f["path"]) as entry:
        for block in iter(lambda: entry.read(1 << 20), b""):
            h.update(block); n += len(block)
    assert (h.hexdigest(), n) == (f["sha256"], f["size_bytes"]), f["path"]
names = sorted(set(z.namelist()) - {"manifest.json"})
assert names == sorted(f["path"] for f in manifest), names
print(f"the package's manifest matches its {len(manifest)} files")
PY
