#!/bin/bash
# t9020-paths-hostile.sh: hostile paths and names through lighttpd over HTTPS
# with the real MariaDB: `..` and encoded slashes, NUL and CR/LF, over-long
# ids, non-UUIDs, SQL and shell metacharacters in data set names, shard ids
# and every id of every route group. Each gets the right 4xx (never 5xx);
# nothing outside the blob store is touched (a canary tree beside it is
# byte for byte the same afterwards), no command runs, the schema and the
# rows are intact, every file in the store has its canonical name and
# `st-admin fsck` finds the one genuine shard whole.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/security/lib.sh"

sec_stack t9020-paths
sec_responder_pids >"$T/pids.before"

# A genuine set with one shard, the reference for what must stay intact.
printf '{"name": "genuine", "pilot_count": 2}' >"$T/req.json"
sec_req 201 "POST /data genuine" POST /data "$T/req.json"
SET=$(sec_jv 'd["dataset_uuid"]')
PILOT=$(sec_jv 'd["pilot_ids"][0]')
sec_mkzip "$T/shard.zip" 4096
SHA=$(sha256sum "$T/shard.zip" | cut -d' ' -f1)
base64 -w0 "$T/shard.zip" >"$T/shard.b64"
sec_req 201 "genuine shard" POST "/data/$SET/shard/$SHA" "$T/shard.b64"
tables_before=$(sec_sql 'SHOW TABLES' | sort | tr '\n' ' ')

# --- names in POST /data ----------------------------------------------------
# name_body NAME: {"name": NAME, "pilot_count": 1} with NAME JSON-escaped.
name_body() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	printf '{"name": "%s", "pilot_count": 1}' "$s" >"$T/req.json"
}
n=0
while IFS= read -r name; do
	name_body "$name"
	sec_req 422 "POST /data name '${name:0:40}'" POST /data "$T/req.json"
	sec_code invalid_name "POST /data name '${name:0:40}'"
	n=$((n + 1))
done <<'EOF'
../../canary
../etc/passwd
a/b
/abs
a\b
x'; DROP TABLE accounts; --
x" OR "1"="1
a%2Fb
%
*
$(touch st-pwned-dollar)
`touch st-pwned-backtick`
a;touch st-pwned-semicolon
a|touch st-pwned-pipe
a&&touch st-pwned-and
a b
naïve
	tab
EOF
name_body "$(printf '%129s' '' | tr ' ' a)"
sec_req 422 "POST /data name of 129 characters" POST /data "$T/req.json"
name_body ""
sec_req 422 "POST /data empty name" POST /data "$T/req.json"
printf '{"name": "a\\u0000b", "pilot_count": 1}' >"$T/req.json"
sec_req 400 "POST /data name with \\u0000" POST /data "$T/req.json"
printf '{"name": "a\\nb", "pilot_count": 1}' >"$T/req.json"
sec_req 422 "POST /data name with a newline" POST /data "$T/req.json"
st_ok "$((n + 4)) names with path, SQL and shell metacharacters, control bytes or bad lengths: 422 invalid_name (400 for \\u0000)"

# Names made only of dots fit the grammar, but no URL can name them (clients
# and web servers remove dot segments): refused.
for name in . .. ...; do
	name_body "$name"
	sec_req 422 "POST /data name '$name'" POST /data "$T/req.json"
done
name_body "$(printf '%128s' '' | tr ' ' a)"
sec_req 201 "POST /data name of 128 characters" POST /data "$T/req.json"
st_ok "dot-only names refused (422), 128 characters accepted"

# --- set ids in paths ----------------------------------------------------------
hostile_ids() {
	cat <<'EOF'
..
%2e%2e
%2E%2E%2F%2E%2E%2Fcanary
..%2F..%2Fcanary
..%2f..%2fetc%2fpasswd
%2Fetc%2Fpasswd
..%5C..%5Ccanary
x%27%3B%20DROP%20TABLE%20accounts%3B--
x%27%20OR%20%271%27%3D%271
%24%28touch%20st-pwned-path%29
%60touch%20st-pwned-path%60
a%3Btouch%20st-pwned-path
12345678-1234-1234-1234-1234567890ag
12345678-1234-1234-1234-1234567890abc
12345678123412341234123456789012
{12345678-1234-1234-1234-1234567890ab}
%25
%2A
EOF
	printf '%s\n' "$(printf '%300s' '' | tr ' ' a)" "$(printf '%4000s' '' | tr ' ' a)"
}
n=0 i=0
while IFS= read -r id; do
	sec_req 404 "GET /data/${id:0:40}" GET "/data/$id"
	sec_req 404 "DELETE /data/${id:0:40}" DELETE "/data/$id"
	n=$((n + 2)) i=$((i + 1))
	# Uploads (with a body) for every other id, to keep the test short.
	[ $((i % 2)) = 1 ] || continue
	sec_req "400|404" "POST /data/${id:0:40}/shard" POST "/data/$id/shard" "$T/shard.b64"
	sec_req 404 "POST /data/${id:0:40}/shard/SHA" POST "/data/$id/shard/$SHA" "$T/shard.b64"
	n=$((n + 2))
done < <(hostile_ids)
long=$(printf '%5000s' '' | tr ' ' a)
sec_req 414 "GET /data/<5000 characters>" GET "/data/$long"
st_check_error 414 uri_too_long "GET /data/<5000 characters>"
for p in '/data/../canary' '/data/./../../canary' '/data/a/../../etc/passwd' \
    '/data//genuine' '/data/genuine/../../account' "/data/$SET/shard/../../../canary"; do
	sec_req 404 "GET $p" GET "$p"
done
st_ok "$((n + 7)) set ids with dot segments, encoded slashes, SQL and shell metacharacters, non-UUIDs, over-long: 404 (414 past 4096 bytes)"

# Bytes lighttpd refuses before any responder sees them.
for p in '/data/a%00b' '/data/%00' '/data/a%0d%0aX-Evil:%201' '/data/a%0ab'; do
	sec_req 400 "GET $p" GET "$p"
done
st_ok "NUL and CR/LF in paths: 400"

# --- shard ids ---------------------------------------------------------------------
n=0
while IFS= read -r id; do
	case $id in
	*%2F*)	# an encoded slash: no route (404), or a malformed id (400)
		want="400|404" code='' h='' ;;
	*%00*)	# refused by lighttpd before any responder (over HTTP/2 it
		# resets the stream of a request whose body is on its way)
		want=400 code='' h=--http1.1 ;;
	*)	want=400 code=invalid_shard_id h='' ;;
	esac
	sec_req "$want" "POST shard id '${id:0:40}'" POST "/data/$SET/shard/$id" "$T/shard.b64" $h
	[ -z "$code" ] || sec_code "$code" "POST shard id '${id:0:40}'"
	sec_req "$want" "DELETE shard id '${id:0:40}'" DELETE "/data/$SET/shard/$id"
	[ -z "$code" ] || sec_code "$code" "DELETE shard id '${id:0:40}'"
	n=$((n + 2))
done <<EOF
..%2F..%2F..%2Fcanary%2Fblob
..%2F..%2F..%2F..%2F${SHA:0:50}
${SHA:0:63}
${SHA}0
${SHA:0:62}%2F
${SHA:0:63}g
%2E%2E${SHA:2}
${SHA:0:60}%00ab
${SHA}%00
${SHA:0:63}%20
x%27%20OR%201%3D1--
EOF
sec_req 200 "the genuine shard again (no change)" POST "/data/$SET/shard/$SHA" "$T/shard.b64"
st_expect_eq "$(sec_jv 'd["created"]')" false "genuine shard again: created"
sec_req "200|201" "the genuine shard under its upper-case id" POST "/data/$SET/shard/$(printf %s "$SHA" | tr a-f A-F)" "$T/shard.b64"
other=$(printf %s "$SHA" | tr '0-9a-f' '1-9a-f0')
sec_req 400 "the genuine shard under another id" POST "/data/$SET/shard/$other" "$T/shard.b64"
st_check_error 400 shard_id_mismatch "the genuine shard under another id"
st_ok "$n shard ids with traversal, NUL, wrong lengths and metacharacters: 400 invalid_shard_id (404 with an encoded slash, 400 from lighttpd with NUL); a wrong id 400 shard_id_mismatch"

# --- ids of the other route groups -------------------------------------------------
n=0
while IFS= read -r id; do
	for p in "/batch/$id" "/job/$id" "/job/$id/log" "/model/$id" "/model/$id/$id"; do
		sec_req "400|404|414|431" "GET ${p:0:60}" GET "$p"
		n=$((n + 1))
	done
	sec_req "400|404|405" "DELETE /batch/${id:0:40}" DELETE "/batch/$id"
	sec_req "400|404|405" "DELETE /job/${id:0:40}" DELETE "/job/$id"
	n=$((n + 2))
done < <(hostile_ids | sed -n '1p;4p;8p;10p;13p;16p;20p')
for q in 'limit=-1' 'limit=0' 'limit=99999999999999999999' 'limit=1%3BDROP%20TABLE%20jobs' \
    'before=..%2F..' 'before=%27%20OR%201%3D1' 'limit=%00' "before=$(printf '%300s' '' | tr ' ' 9)"; do
	for g in batch job; do
		sec_req "200|400|422" "GET /$g?${q:0:40}" GET "/$g?$q"
		n=$((n + 1))
	done
done
st_ok "$n hostile ids and queries on /batch, /job, /job/{id}/log, /model: 4xx"

# Hostile fields in a batch: each job refused with its reason, no batch.
python3 - "$SET" >"$T/batch.json" <<'PY'
import json, sys
s = sys.argv[1]
jobs = [
    {"command": "true", "image": "../../etc", "image_tag": "latest", "data_set_id": s},
    {"command": "true", "image": "busybox", "image_tag": "../../x", "data_set_id": s},
    {"command": "true", "image": "busybox", "image_tag": "latest", "data_set_id": "../../canary"},
    {"command": "true", "image": "busybox", "image_tag": "latest", "data_set_id": "x' OR '1'='1"},
    {"command": "true", "image": "busybox", "image_tag": "latest", "data_set_id": "a" * 5000},
    {"command": "true", "image": "busybox;touch st-pwned-image", "image_tag": "latest", "data_set_id": s},
    {"command": "true", "image": "busybox", "image_tag": "$(touch st-pwned-tag)", "data_set_id": s},
    {"command": "true", "image": "a" * 300, "image_tag": "latest", "data_set_id": s},
]
print(json.dumps({"mode": "production", "jobs": jobs, "requisitions": {"cpu": 1, "gpu": 0}}), end="")
PY
sec_req "400|422" "POST /batch with hostile jobs only" POST /batch "$T/batch.json"
st_expect_eq "$(sec_sql 'SELECT COUNT(*) FROM batches')" 0 "batches made of hostile jobs"
st_ok "a batch of hostile images, tags and data set ids is refused whole (no batch)"

# --- what must be intact ---------------------------------------------------------------
st_expect_eq "$(sec_sql 'SHOW TABLES' | sort | tr '\n' ' ')" "$tables_before" "tables after the run"
st_expect_eq "$(sec_sql 'SELECT COUNT(*) FROM accounts')" 1 "accounts after the run"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM shards")" 1 "shard rows after the run"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM dataset_shards m JOIN datasets d ON d.id = m.dataset_id WHERE d.uuid IN ('$SET', '$PILOT') OR d.parent_id = (SELECT id FROM datasets WHERE uuid = '$SET')")" 2 "memberships of the genuine shard (set + one pilot)"
sec_req 200 "GET /data/genuine" GET /data/genuine
st_expect_eq "$(sec_jv 'd["shard_count"]')" 1 "genuine set: shard_count"
st_ok "schema, accounts, shards and memberships intact"

sec_responder_pids >"$T/pids.after"
cmp -s "$T/pids.before" "$T/pids.after" || {
	diff "$T/pids.before" "$T/pids.after" >&2
	st_fail "responder processes changed (one crashed or was restarted)"
}
st_ok "no responder crashed or was restarted"

sec_finish
