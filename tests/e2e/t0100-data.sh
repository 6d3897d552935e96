#!/bin/bash
# Data sets and shards (issue 3) through lighttpd + mod_fastcgi over HTTPS,
# with the real MariaDB: the whole contract of st-data, each error status
# and code, with curl and signatures made by `openssl dgst` (tests/lib/sign.sh),
# then the Python client (tests/e2e/data_client.py), 8 concurrent uploads of
# one shard, and `st-admin gc`.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"

st_init t0100-data
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account bob
BOB_KEY=$API_KEY BOB_SECRET=$API_SECRET
st_account alice
st_lighttpd_start

# --- helpers ----------------------------------------------------------------

# mkzip OUT SIZE: a zip holding one member of SIZE random bytes, stored.
mkzip() {
	python3 - "$1" "$2" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("part.bin", os.urandom(int(sys.argv[2])))
EOF
}

# sha FILE: lowercase hex SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# jv EXPR: evaluate a Python expression over the last response's JSON (d).
jv() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' \
	    "$T/resp.body" "$1" || st_fail "jv $1 on $(head -c 300 "$T/resp.body")"
}

# body TEXT: write TEXT (no newline) to $T/req.body.
body() { printf '%s' "$1" > "$T/req.body"; }

# create NAME PILOTS: POST /data, expect 201; sets SET_UUID and PILOTS.
create() {
	body "{\"name\": \"$1\", \"pilot_count\": $2}"
	ST_GOT=$(st_req POST /data "$T/req.body")
	st_check_status 201 "POST /data $1"
	SET_UUID=$(jv 'd["dataset_uuid"]')
	PILOTS=$(jv '" ".join(d["pilot_ids"])')
}

# upload SET ZIP [ID]: POST the base64 (no newlines) of ZIP to
# /data/SET/shard[/ID]; prints the status.
upload() {
	base64 -w0 "$2" > "$T/req.b64"
	if [ $# -ge 3 ]; then
		st_req POST "/data/$1/shard/$3" "$T/req.b64"
	else
		st_req POST "/data/$1/shard" "$T/req.b64"
	fi
}

# shard_file SHA: the shard's final path in the blob store.
shard_file() {
	echo "$T/store/shards/${1:0:2}/${1:2:2}/$1.zip"
}

# sql QUERY: run QUERY in the singularity database, tab-separated, no header.
sql() { st_mysql -N -B singularity -e "$1"; }

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'

# --- POST /data ---------------------------------------------------------------

create clean_data_set 10
st_expect_eq "$(jv 'd["name"]')" clean_data_set "POST /data name"
st_expect_eq "$(jv 'd["data_set_uuid"]')" "$SET_UUID" "data_set_uuid = dataset_uuid"
echo "$SET_UUID" | grep -Eq "$UUID_RE" || st_fail "dataset_uuid '$SET_UUID'"
st_expect_eq "$(jv 'len(d["pilot_ids"])')" 10 "10 pilot_ids"
st_expect_eq "$(jv 'len(set(d["pilot_ids"] + [d["dataset_uuid"]]))')" 11 "distinct UUIDs"
for p in $PILOTS; do
	echo "$p" | grep -Eq "$UUID_RE" || st_fail "pilot id '$p'"
done
case $(st_header Content-Type) in application/json*) ;; *) st_fail "Content-Type";; esac
st_check_ids "POST /data"
CLEAN=$SET_UUID CLEAN_PILOTS=$PILOTS
st_ok "POST /data 201: name, dataset_uuid = data_set_uuid, 10 distinct pilot UUIDs"

body '{"name": "clean_data_set", "pilot_count": 1}'
ST_GOT=$(st_req POST /data "$T/req.body")
st_check_error 409 name_taken "POST /data with a taken name"
st_ok "taken name 409 name_taken"

# Each malformed or unacceptable body: status, code.
while IFS='|' read -r want code json; do
	body "$json"
	ST_GOT=$(st_req POST /data "$T/req.body")
	st_check_error "$want" "$code" "POST /data $json"
done <<'EOF'
400|invalid_json|not json
400|invalid_json|
400|invalid_json|[1, 2]
400|invalid_json|"clean"
400|invalid_json|{"name": "a", "pilot_count": 1
400|invalid_name|{"pilot_count": 1}
400|invalid_name|{"name": 5, "pilot_count": 1}
400|invalid_name|{"name": null, "pilot_count": 1}
422|invalid_name|{"name": "", "pilot_count": 1}
422|invalid_name|{"name": "has space", "pilot_count": 1}
422|invalid_name|{"name": "slash/no", "pilot_count": 1}
422|invalid_name|{"name": "caf\u00e9", "pilot_count": 1}
400|invalid_json|{"name": "nul\u0000x", "pilot_count": 1}
400|invalid_pilot_count|{"name": "a"}
400|invalid_pilot_count|{"name": "a", "pilot_count": "3"}
400|invalid_pilot_count|{"name": "a", "pilot_count": true}
400|invalid_pilot_count|{"name": "a", "pilot_count": null}
400|invalid_pilot_count|{"name": "a", "pilot_count": [3]}
422|invalid_pilot_count|{"name": "a", "pilot_count": 3.5}
422|invalid_pilot_count|{"name": "a", "pilot_count": -1}
422|invalid_pilot_count|{"name": "a", "pilot_count": 257}
422|invalid_pilot_count|{"name": "a", "pilot_count": 1e300}
EOF
body "{\"name\": \"$(printf 'x%.0s' $(seq 1 129))\", \"pilot_count\": 1}"
ST_GOT=$(st_req POST /data "$T/req.body")
st_check_error 422 invalid_name "POST /data with a 129-character name"
st_ok "POST /data: 400 invalid_json / invalid_name / invalid_pilot_count, 422 for unacceptable values"

create whole.3 3.0
st_expect_eq "$(jv 'len(d["pilot_ids"])')" 3 "pilot_count 3.0"
WHOLE3=$SET_UUID WHOLE3_PILOTS=$PILOTS
create Zero_pilots 0
st_expect_eq "$(jv 'd["pilot_ids"]')" "[]" "pilot_count 0"
ZERO=$SET_UUID
create max-256 256
st_expect_eq "$(jv 'len(d["pilot_ids"])')" 256 "pilot_count 256"
N128=$(printf 'n%.0s' $(seq 1 128))
create "$N128" 1
st_ok "pilot_count 3.0 (whole), 0 and 256 accepted; a 128-character name accepted"

# --- GET /data/{set} -----------------------------------------------------------

ST_GOT=$(st_req GET /data/clean_data_set)
st_check_status 200 "GET /data/clean_data_set"
st_expect_eq "$(jv 'd["dataset_uuid"]')" "$CLEAN" "GET by name: dataset_uuid"
st_expect_eq "$(jv 'd["data_set_uuid"]')" "$CLEAN" "GET by name: data_set_uuid"
st_expect_eq "$(jv 'd["name"]')" clean_data_set "GET by name: name"
st_expect_eq "$(jv 'd["shard_count"]')" 0 "GET: shard_count"
st_expect_eq "$(jv 'd["bytes"]')" 0 "GET: bytes"
st_expect_eq "$(jv '" ".join(d["pilot_ids"])')" "$CLEAN_PILOTS" "GET: pilot_ids in order"
st_expect_eq "$(jv '" ".join(p["id"] for p in d["pilots"])')" "$CLEAN_PILOTS" "GET: pilots[].id"
st_expect_eq "$(jv 'sum(p["shard_count"] + p["bytes"] for p in d["pilots"])')" 0 "GET: pilots empty"
jv 'd["created_at"]' | grep -Eq "$TIME_RE" || st_fail "created_at '$(jv 'd["created_at"]')'"
ST_GOT=$(st_req GET "/data/$CLEAN")
st_check_status 200 "GET /data/UUID"
st_expect_eq "$(jv 'd["name"]')" clean_data_set "GET by UUID: name"
ST_GOT=$(st_req GET "/data/$(echo "$CLEAN" | tr a-f A-F)")
st_check_status 200 "GET /data/UPPER-CASE-UUID"
st_ok "GET /data/{name|uuid|UUID}: name, dataset_uuid, data_set_uuid, shard_count, bytes, created_at, pilot_ids, pilots"

P1=${CLEAN_PILOTS%% *}
ST_GOT=$(st_req GET "/data/$P1")
st_check_status 200 "GET /data/PILOT"
st_expect_eq "$(jv 'd["pilot"]')" true "pilot: pilot"
st_expect_eq "$(jv 'd["id"]')" "$P1" "pilot: id"
st_expect_eq "$(jv 'd["pilot_index"]')" 0 "pilot: pilot_index"
st_expect_eq "$(jv 'd["dataset_uuid"]')" "$CLEAN" "pilot: dataset_uuid of its set"
st_expect_eq "$(jv 'd["name"]')" clean_data_set "pilot: name of its set"
st_expect_eq "$(jv 'd["shard_count"]')" 0 "pilot: shard_count"
st_ok "GET /data/{pilot uuid}: the pilot with its set"

ST_GOT=$(st_req GET /data/no_such_set)
st_check_error 404 not_found "GET /data/no_such_set"
MISSING_BODY=$(jv 'd["code"] + d["error"]')
ST_GOT=$(st_req GET /data/00000000-0000-4000-8000-000000000000)
st_check_error 404 not_found "GET /data/<unknown uuid>"
ST_GOT=$(st_req GET '/data/bad%20name')
st_check_error 404 not_found "GET /data/bad%20name"
# Bob sees none of Alice's sets, exactly as missing ones.
for ref in clean_data_set "$CLEAN" "$P1"; do
	ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET st_req GET "/data/$ref")
	st_check_error 404 not_found "bob GET /data/$ref"
	st_expect_eq "$(jv 'd["code"] + d["error"]')" "$MISSING_BODY" "bob: 404 body like a missing set"
done
ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET st_req GET /data)
st_check_status 200 "bob GET /data"
st_expect_eq "$(jv 'd')" "[]" "bob GET /data"
st_ok "unknown sets and another account's sets 404 not_found, same body"

ST_GOT=$(ST_NOSIGN=1 st_req GET /data/clean_data_set)
st_check_error 401 unauthorized "unsigned GET /data/{set}"
ST_GOT=$(st_req PUT /data)
st_check_error 405 method_not_allowed "PUT /data"
st_expect_eq "$(st_header Allow)" "GET, HEAD, POST" "PUT /data: Allow"
ST_GOT=$(st_req PUT /data/clean_data_set/shard)
st_check_error 405 method_not_allowed "PUT /data/{set}/shard"
st_expect_eq "$(st_header Allow)" "POST" "PUT /data/{set}/shard: Allow"
ST_GOT=$(st_req GET /data/clean_data_set/nope)
st_check_error 404 not_found "GET /data/{set}/nope"
st_ok "401 unsigned, 405 with Allow, 404 for unknown sub-paths"

# --- shard upload ---------------------------------------------------------------

mkzip "$T/a.zip" 5000
A=$(sha "$T/a.zip")
ST_GOT=$(upload clean_data_set "$T/a.zip" "$A")
st_check_status 201 "upload a.zip"
st_expect_eq "$(jv 'd["shard_id"]')" "$A" "upload: shard_id"
st_expect_eq "$(jv 'd["size"]')" "$(stat -c %s "$T/a.zip")" "upload: size"
st_expect_eq "$(jv 'd["created"]')" true "upload: created"
st_expect_eq "$(jv 'd["name"]')" clean_data_set "upload: name"
st_expect_eq "$(jv 'd["dataset_uuid"]')" "$CLEAN" "upload: dataset_uuid"
st_expect_eq "$(jv 'd["data_set_uuid"]')" "$CLEAN" "upload: data_set_uuid"
A_PILOT=$(jv 'd["pilot_id"]')
case " $CLEAN_PILOTS " in *" $A_PILOT "*) ;; *) st_fail "pilot_id $A_PILOT not a pilot of the set";; esac
cmp -s "$T/a.zip" "$(shard_file "$A")" || st_fail "stored shard differs from the upload"
st_expect_eq "$(ls -A "$T/store/tmp" | wc -l)" 0 "no temporary file left"
st_ok "POST /data/{set}/shard/{id} 201: shard_id, size, created, set, pilot_id; stored as shards/ab/cd/<sha>.zip"

ST_GOT=$(upload clean_data_set "$T/a.zip" "$A")
st_check_status 200 "upload a.zip again"
st_expect_eq "$(jv 'd["created"]')" false "again: created"
st_expect_eq "$(jv 'd["pilot_id"]')" "$A_PILOT" "again: same pilot"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id WHERE s.sha256 = '$A'")" 2 "again: memberships"
st_ok "the same shard again 200 created=false, nothing changes"

mkzip "$T/b.zip" 3000
B=$(sha "$T/b.zip")
ST_GOT=$(upload "$CLEAN" "$T/b.zip")
st_check_status 201 "upload b.zip without an id"
st_expect_eq "$(jv 'd["shard_id"]')" "$B" "server-computed shard_id"
st_ok "POST /data/{set}/shard: the server computes the id"

# Padding stripped, CR LF line breaks, LF every 76, upper-case id.
mkzip "$T/c.zip" 2001
C=$(sha "$T/c.zip")
base64 -w0 "$T/c.zip" | tr -d '=' > "$T/req.b64"
grep -q '=' "$T/req.b64" && st_fail "padding not stripped"
ST_GOT=$(st_req POST "/data/$CLEAN/shard/$C" "$T/req.b64")
st_check_status 201 "upload without padding"
mkzip "$T/d.zip" 7000
D=$(sha "$T/d.zip")
base64 -w64 "$T/d.zip" | sed 's/$/\r/' > "$T/req.b64"
ST_GOT=$(st_req POST "/data/$CLEAN/shard/$(echo "$D" | tr a-f A-F)" "$T/req.b64")
st_check_status 201 "upload with CR LF line breaks and an upper-case id"
st_expect_eq "$(jv 'd["shard_id"]')" "$D" "upper-case id normalised"
mkzip "$T/e.zip" 100
E=$(sha "$T/e.zip")
base64 -w76 "$T/e.zip" > "$T/req.b64"
ST_GOT=$(st_req POST "/data/$CLEAN/shard/$E" "$T/req.b64")
st_check_status 201 "upload with LF line breaks"
st_ok "base64 without padding, with CR LF or LF line breaks, upper-case shard_id: accepted"

# A zip with no entries is a valid zip.
python3 -c 'import zipfile, sys; zipfile.ZipFile(sys.argv[1], "w").close()' "$T/empty.zip"
ST_GOT=$(upload "$CLEAN" "$T/empty.zip")
st_check_status 201 "upload an empty zip archive"
EMPTY=$(sha "$T/empty.zip")
st_ok "a zip archive with no entries is accepted"

# --- upload errors ---------------------------------------------------------------

base64 -w0 "$T/a.zip" > "$T/good.b64"
check_upload_error() { # WANT CODE WHAT URI BODYFILE
	ST_GOT=$(st_req POST "$4" "$5")
	st_check_error "$1" "$2" "$3"
}
# invalid base64: a space, a '-', '=' in the middle, one char too many
{ head -c 100 "$T/good.b64"; printf ' '; tail -c +101 "$T/good.b64"; } > "$T/bad.b64"
check_upload_error 400 invalid_base64 "a space in the base64" "/data/$CLEAN/shard" "$T/bad.b64"
{ head -c 100 "$T/good.b64"; printf -- '-'; tail -c +101 "$T/good.b64"; } > "$T/bad.b64"
check_upload_error 400 invalid_base64 "a '-' in the base64" "/data/$CLEAN/shard" "$T/bad.b64"
{ printf 'QQ=='; cat "$T/good.b64"; } > "$T/bad.b64"
check_upload_error 400 invalid_base64 "'=' in the middle" "/data/$CLEAN/shard" "$T/bad.b64"
printf 'QUJD' > "$T/bad.b64"; printf 'Q' >> "$T/bad.b64"
check_upload_error 400 invalid_base64 "a lone trailing character" "/data/$CLEAN/shard" "$T/bad.b64"
# not a zip, truncated zip, empty body
head -c 3000 /dev/urandom | base64 -w0 > "$T/bad.b64"
check_upload_error 400 invalid_zip "random bytes" "/data/$CLEAN/shard" "$T/bad.b64"
head -c 2500 "$T/a.zip" | base64 -w0 > "$T/bad.b64"
check_upload_error 400 invalid_zip "a truncated zip" "/data/$CLEAN/shard" "$T/bad.b64"
: > "$T/empty.b64"
ST_GOT=$(st_req POST "/data/$CLEAN/shard" "$T/empty.b64")
st_check_error 400 invalid_zip "an empty body"
# id mismatch, malformed ids
check_upload_error 400 shard_id_mismatch "shard_id of another file" "/data/$CLEAN/shard/$B" "$T/good.b64"
check_upload_error 400 invalid_shard_id "a short shard_id" "/data/$CLEAN/shard/abc" "$T/good.b64"
check_upload_error 400 invalid_shard_id "a non-hex shard_id" "/data/$CLEAN/shard/${A%?}g" "$T/good.b64"
check_upload_error 404 not_found "an unknown set" "/data/no_such_set/shard/$A" "$T/good.b64"
ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET st_req POST "/data/$CLEAN/shard/$A" "$T/good.b64")
st_check_error 404 not_found "bob uploads to alice's set"
ST_GOT=$(ST_NOSIGN=1 st_req POST "/data/$CLEAN/shard/$A" "$T/good.b64")
st_check_error 401 unauthorized "an unsigned upload"
sig=$(st_sign POST "/data/$CLEAN/shard/$A" "$T/bad.b64")
ST_GOT=$(ST_NOSIGN=1 st_req POST "/data/$CLEAN/shard/$A" "$T/good.b64" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig")
st_check_error 401 unauthorized "an upload whose body is not the signed one"
st_expect_eq "$(ls -A "$T/store/tmp" | wc -l)" 0 "no temporary file left after the errors"
st_expect_eq "$(sql 'SELECT COUNT(*) FROM shards')" 6 "no shard row from the refused uploads"
st_ok "upload errors: invalid_base64, invalid_zip, shard_id_mismatch, invalid_shard_id, 404, 401; nothing left behind"

# --- the size limit: 10 MiB decoded ------------------------------------------------

# Exactly at the limit (a zip of 10485760 bytes), with CR LF every 64
# characters: the largest body the Content-Length check lets through.
python3 - "$T/max.zip" <<'EOF'
import os, sys, zipfile
limit = 10 * 1024 * 1024
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("big.bin", os.urandom(limit - 200))
over = limit - os.path.getsize(sys.argv[1])
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("big.bin", os.urandom(limit - 200 + over))
assert os.path.getsize(sys.argv[1]) == limit, os.path.getsize(sys.argv[1])
EOF
MAX=$(sha "$T/max.zip")
base64 -w64 "$T/max.zip" | sed 's/$/\r/' > "$T/max.b64"
ST_GOT=$(ST_REQ_TIMEOUT=120 st_req POST "/data/$CLEAN/shard/$MAX" "$T/max.b64")
st_check_status 201 "a 10 MiB shard with CR LF line breaks"
st_expect_eq "$(jv 'd["size"]')" 10485760 "10 MiB shard size"
st_ok "a shard of exactly 10 MiB (CR LF every 64 characters) 201"

# One byte more, without line breaks: Content-Length passes, the decoded
# size does not: 413 while streaming, and nothing stored.
{ cat "$T/max.zip"; printf 'x'; } | base64 -w0 > "$T/over.b64"
ST_GOT=$(ST_REQ_TIMEOUT=120 st_req POST "/data/$CLEAN/shard" "$T/over.b64")
st_check_error 413 payload_too_large "10 MiB + 1 byte decoded"
# A Content-Length beyond the base64 of 10 MiB with line breaks: 413 before
# reading (the answer comes even though the body is never sent whole).
head -c 14417927 /dev/zero | tr '\0' 'A' > "$T/huge.b64"
ST_GOT=$(ST_REQ_TIMEOUT=120 st_req POST "/data/$CLEAN/shard" "$T/huge.b64")
st_check_error 413 payload_too_large "Content-Length over the bound"
rm -f "$T/huge.b64" "$T/over.b64" "$T/max.b64"
st_expect_eq "$(ls -A "$T/store/tmp" | wc -l)" 0 "no temporary file after the 413s"
st_ok "decoded size over 10 MiB 413 (while streaming, and from Content-Length)"

# --- pilots: balanced, random among the least filled --------------------------------

for i in 1 2 3 4 5 6 7; do
	mkzip "$T/w$i.zip" $((1000 + i))
	ST_GOT=$(upload "$WHOLE3" "$T/w$i.zip")
	st_check_status 201 "upload w$i.zip to whole.3"
done
ST_GOT=$(st_req GET /data/whole.3)
st_check_status 200 "GET /data/whole.3"
st_expect_eq "$(jv 'd["shard_count"]')" 7 "whole.3 shard_count"
st_expect_eq "$(jv 'sorted(p["shard_count"] for p in d["pilots"])')" "[2, 2, 3]" "pilot balance"
st_expect_eq "$(jv 'sum(p["bytes"] for p in d["pilots"]) == d["bytes"]')" true "pilot bytes sum"
want_bytes=0
for i in 1 2 3 4 5 6 7; do want_bytes=$((want_bytes + $(stat -c %s "$T/w$i.zip"))); done
st_expect_eq "$(jv 'd["bytes"]')" "$want_bytes" "whole.3 bytes"
st_ok "7 shards over 3 pilots: 3/2/2, bytes add up"

# Uploading to a pilot's UUID puts the shard in that pilot (and its set).
P3=${WHOLE3_PILOTS##* }
mkzip "$T/p.zip" 1234
ST_GOT=$(upload "$P3" "$T/p.zip")
st_check_status 201 "upload to a pilot"
st_expect_eq "$(jv 'd["pilot_id"]')" "$P3" "upload to a pilot: pilot_id"
st_expect_eq "$(jv 'd["dataset_uuid"]')" "$WHOLE3" "upload to a pilot: its set"
ST_GOT=$(st_req GET "/data/$P3")
st_expect_eq "$(jv 'd["shard_count"]')" "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id WHERE d.uuid = '$P3'")" "pilot shard_count"
ST_GOT=$(upload "$ZERO" "$T/p.zip")
st_check_status 201 "upload to a set without pilots"
st_expect_eq "$(jv 'd["pilot_id"]')" null "no pilot: pilot_id null"
st_expect_eq "$(ls "$T"/store/shards/*/*/"$(sha "$T/p.zip")".zip | wc -l)" 1 "one file for two sets"
st_ok "upload to a pilot UUID joins that pilot; a set without pilots; one file shared by two sets"

# --- GET /data: newest first -------------------------------------------------------

ST_GOT=$(st_req GET /data)
st_check_status 200 "GET /data"
st_expect_eq "$(jv '" ".join(s["name"] for s in d)')" "$N128 max-256 Zero_pilots whole.3 clean_data_set" "GET /data names, newest first"
st_expect_eq "$(jv '[s["shard_count"] for s in d]')" "[0, 0, 1, 8, 7]" "GET /data shard counts"
st_expect_eq "$(jv 'all(s["dataset_uuid"] == s["data_set_uuid"] for s in d)')" true "GET /data uuids"
st_ok "GET /data: the caller's sets, newest first, with counts"

# --- removal of shards and sets ---------------------------------------------------

ST_GOT=$(st_req DELETE "/data/clean_data_set/shard/$B")
st_check_status 200 "DELETE a shard"
st_expect_eq "$(jv 'd["removed"]')" true "DELETE shard: removed"
ST_GOT=$(st_req DELETE "/data/clean_data_set/shard/$B")
st_check_error 404 not_found "DELETE the shard again"
ST_GOT=$(st_req DELETE "/data/clean_data_set/shard/nothex")
st_check_error 400 invalid_shard_id "DELETE a malformed shard id"
ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET st_req DELETE "/data/clean_data_set/shard/$A")
st_check_error 404 not_found "bob DELETE alice's shard"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id WHERE s.sha256 = '$B'")" 0 "B left set and pilot"
[ -f "$(shard_file "$B")" ] || st_fail "the file of B went before gc"
st_ok "DELETE /data/{set}/shard/{id} 200, then 404; the file stays until gc"

# A job that is not final holds the set: 409 in_use, on the set and on a pilot.
ACCOUNT_ID=$(sql "SELECT id FROM accounts WHERE name = 'alice'")
job() { # DATASET_UUID STATUS
	sql "INSERT INTO batches (uuid, account_id, mode, cpu, gpu, ram_gb) VALUES (UUID(), $ACCOUNT_ID, 'pilot', 1, 0, 4);
	     INSERT INTO jobs (uuid, batch_id, account_id, idx, dataset_id, mode, image, image_tag, command, cpu, gpu, ram_gb, status)
	     SELECT UUID(), LAST_INSERT_ID(), $ACCOUNT_ID, 0, id, 'pilot', 'img', 'latest', 'true', 1, 0, 4, '$2' FROM datasets WHERE uuid = '$1'"
}
job "$P1" PROCESSING
ST_GOT=$(st_req DELETE /data/clean_data_set)
st_check_error 409 in_use "DELETE a set whose pilot a running job uses"
ST_GOT=$(st_req DELETE "/data/clean_data_set/shard/$A")
st_check_error 409 in_use "DELETE a shard of a set in use"
sql "UPDATE jobs SET status = 'COMPLETED'"
job "$CLEAN" QUEUED
ST_GOT=$(st_req DELETE /data/clean_data_set)
st_check_error 409 in_use "DELETE a set a queued job uses"
sql "UPDATE jobs SET status = 'CANCELED'"
ST_GOT=$(st_req DELETE "/data/$P1")
st_check_error 422 is_pilot "DELETE a pilot"
ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET st_req DELETE /data/clean_data_set)
st_check_error 404 not_found "bob DELETE alice's set"
ST_GOT=$(st_req DELETE /data/clean_data_set)
st_check_status 200 "DELETE a set whose jobs are final"
st_expect_eq "$(jv 'd["deleted"]')" true "DELETE set: deleted"
st_expect_eq "$(jv 'd["dataset_uuid"]')" "$CLEAN" "DELETE set: dataset_uuid"
ST_GOT=$(st_req GET /data/clean_data_set)
st_check_error 404 not_found "GET a deleted set"
ST_GOT=$(st_req GET "/data/$P1")
st_check_error 404 not_found "GET a pilot of a deleted set"
st_expect_eq "$(sql "SELECT COUNT(*) FROM datasets WHERE uuid = '$CLEAN' OR parent_id IN (SELECT id FROM datasets WHERE uuid = '$CLEAN')")" 0 "set and pilots gone"
st_ok "DELETE /data/{set}: 409 in_use while a job is not final, 422 is_pilot, 200, then 404"

# The name is free again.
create clean_data_set 2
CLEAN2=$SET_UUID
st_ok "a deleted set's name can be used again"

# --- the Python client (what the original CLI sends) ----------------------------------

mkzip "$T/py1.zip" 4096
mkzip "$T/py2.zip" 8192
mkzip "$T/py3.zip" 100
python3 "$top_srcdir/tests/e2e/data_client.py" "https://127.0.0.1:$HTTPS_PORT" \
    "$CA_FILE" py_set 2 "$T/py1.zip" "$T/py2.zip" "$T/py3.zip" ||
    { st_server_log; st_fail "data_client.py"; }
st_ok "Python client (requests, base64 without newlines, no Content-Type): create, upload, re-upload, read back"

# --- 8 clients upload the same new shard at once ---------------------------------------

mkzip "$T/race.zip" 200000
R=$(sha "$T/race.zip")
base64 -w0 "$T/race.zip" > "$T/race.b64"
sig=$(st_sign POST "/data/$CLEAN2/shard/$R" "$T/race.b64")
pids=
for i in 1 2 3 4 5 6 7 8; do
	curl -sS --max-time 60 --cacert "$CA_FILE" -o "$T/race.$i.body" \
	    -w '%{http_code}' -X POST --data-binary "@$T/race.b64" \
	    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
	    "https://127.0.0.1:$HTTPS_PORT/data/$CLEAN2/shard/$R" > "$T/race.$i.code" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || st_fail "a racing curl failed"; done
codes=$(for i in 1 2 3 4 5 6 7 8; do echo "$(cat "$T/race.$i.code")"; done | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
st_expect_eq "$codes" "200:7 201:1 " "8 concurrent uploads: statuses"
for i in 1 2 3 4 5 6 7 8; do
	grep -q "\"shard_id\":\"$R\"" "$T/race.$i.body" || st_fail "race answer $i: $(cat "$T/race.$i.body")"
done
st_expect_eq "$(ls "$T"/store/shards/*/*/"$R".zip | wc -l)" 1 "one file"
st_expect_eq "$(sql "SELECT COUNT(*) FROM shards WHERE sha256 = '$R'")" 1 "one shards row"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id JOIN datasets d ON d.id = ds.dataset_id WHERE s.sha256 = '$R' AND d.uuid = '$CLEAN2'")" 1 "one membership row in the set"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id WHERE s.sha256 = '$R'")" 2 "set + one pilot"
st_expect_eq "$(ls -A "$T/store/tmp" | wc -l)" 0 "no temporary file left by the race"
st_ok "8 concurrent uploads of one new shard: one 201, seven 200, one file, one membership"

# --- st-admin gc ---------------------------------------------------------------------------

# B (removed from its only set) and every shard of the deleted set that no
# other set has go; shards still in a set stay. A stale temporary file goes.
: > "$T/store/tmp/st-shard-1-0000000000000000.tmp"
touch -d '2 hours ago' "$T/store/tmp/st-shard-1-0000000000000000.tmp"
: > "$T/store/tmp/st-shard-2-1111111111111111.tmp"
"$ST_ADMIN" gc --dry-run > "$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "st-admin gc --dry-run"; }
grep -q "would remove shard $A" "$T/gc.out" || st_fail "gc --dry-run: $(cat "$T/gc.out")"
[ -f "$(shard_file "$A")" ] || st_fail "gc --dry-run removed a file"
"$ST_ADMIN" gc > "$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "st-admin gc"; }
grep -q "removed temporary file tmp/st-shard-1-0000000000000000.tmp" "$T/gc.out" || st_fail "gc: stale tmp: $(cat "$T/gc.out")"
[ -f "$T/store/tmp/st-shard-2-1111111111111111.tmp" ] || st_fail "gc removed a fresh temporary file"
for s in "$A" "$B" "$C" "$D" "$E" "$MAX" "$EMPTY"; do
	[ ! -f "$(shard_file "$s")" ] || st_fail "gc kept unreferenced shard $s: $(cat "$T/gc.out")"
	grep -q "removed shard $s" "$T/gc.out" || st_fail "gc did not report $s"
done
st_expect_eq "$(sql "SELECT COUNT(*) FROM shards WHERE sha256 IN ('$A', '$B', '$MAX')")" 0 "gc: rows gone"
for f in "$T"/w?.zip "$T/p.zip" "$T/race.zip" "$T/py1.zip"; do
	[ -f "$(shard_file "$(sha "$f")")" ] || st_fail "gc removed a referenced shard ($f)"
done
# an orphan file without a row
mkdir -p "$T/store/shards/00/00"
: > "$T/store/shards/00/00/0000$(printf '0%.0s' $(seq 1 60)).zip"
"$ST_ADMIN" gc --tmp-age 0 > "$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "st-admin gc --tmp-age 0"; }
grep -q "removed orphan shard file" "$T/gc.out" || st_fail "gc: orphan file: $(cat "$T/gc.out")"
st_expect_eq "$(ls -A "$T/store/tmp" | wc -l)" 0 "gc --tmp-age 0 empties tmp/"
"$ST_ADMIN" gc > "$T/gc.out" 2>&1
grep -q "^gc: removed 0 temporary files, 0 shards, 0 orphan shard files" "$T/gc.out" || st_fail "gc not idempotent: $(cat "$T/gc.out")"
# still served after gc
ST_GOT=$(st_req GET /data/whole.3)
st_check_status 200 "GET after gc"
st_expect_eq "$(jv 'd["shard_count"]')" 8 "whole.3 after gc"
st_ok "st-admin gc: unreferenced shards (file + row), stale and orphan files removed; referenced shards kept"
