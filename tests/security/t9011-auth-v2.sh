#!/bin/bash
# t9011-auth-v2.sh: signature v2, replays and strict JSON bodies (DESIGN,
# "Authentication"; issue 13, hole 1) through lighttpd over HTTPS with the
# real MariaDB, every signature made with `openssl dgst` (tests/lib/sign.sh),
# never with the project's code:
#   - the timestamp relocation: a timestamp moved from its header to the end
#     of the body buys nothing (401 or 400, nothing created);
#   - a v2 signature sent without its timestamp header, an original one sent
#     with one: 401; stale and future timestamps: 401;
#   - a timestamped POST or DELETE sent twice: 401 replayed, nothing created
#     or deleted twice (checked in the database); a timestamped GET is not
#     remembered; `st-admin gc` removes the expired records;
#   - a retry with the same Idempotency-Key and a fresh signature gets the
#     recorded answer;
#   - bytes after the JSON value on each JSON route: 400 invalid_json,
#     nothing created; a body on GET or DELETE: 400 body_not_allowed;
#   - [auth] require_timestamp: the original form refused, v2 served (the
#     responder run as plain CGI with that configuration).
# All of it without a 5xx, with the same responder processes throughout,
# and no signature in any log.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/security/lib.sh"

sec_stack t9011-auth-v2
sec_responder_pids >"$T/pids.before"

# forged EXPECT WHAT METHOD URI BODYFILE SIG [TS [curl args...]]: a request
# with hand-made authentication headers (the key is $API_KEY).
forged() {
	local expect=$1 what=$2 method=$3 uri=$4 body=$5 sig=$6
	shift 6
	local args=(-H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig")
	if [ $# -gt 0 ]; then
		[ -z "$1" ] || args+=(-H "X-singularity-timestamp: $1")
		shift
	fi
	ST_NOSIGN=1 sec_req "$expect" "$what" "$method" "$uri" "$body" "${args[@]}" "$@"
}

sets_named() { sec_sql "SELECT COUNT(*) FROM datasets WHERE name = '$1'"; }
# remembered SIG: 1 when the replay table holds SIG, by the SHA-256 of its
# bytes (computed by MariaDB, not by the code under test).
remembered() {
	sec_sql "SELECT COUNT(*) FROM replay_signatures WHERE id = UNHEX(SHA2(UNHEX('$1'), 256))"
}

# --- the timestamp relocation (issue 13, hole 1) -------------------------------
# The first scheme signed METHOD "\n" ENDPOINT "\n" BODY "\n" TIMESTAMP for a
# request with X-singularity-timestamp. A request captured with its
# timestamp T of two hours ago could be sent again with the header dropped
# and "\n" T appended to the body: the signed text was byte for byte the
# same (an original-form text of the longer body), the signature held, and
# cJSON ignored what followed the JSON value: POST /data answered 201, as
# often as it was sent. Today the timestamped request is signed in the v2
# form (its body bound by its SHA-256), and bytes after a JSON value are 400.
old=$(($(date +%s) - 7200))
printf '{"name": "relocated", "pilot_count": 1}' >"$T/reloc.json"
{ cat "$T/reloc.json"; printf '\n%s' "$old"; } >"$T/reloc-moved.json"
# What the first scheme's client sent: the signature of the original text
# of reloc.json plus the timestamp line (= the original text of
# reloc-moved.json), made as that client made it.
sig_first=$({ printf 'POST\n/data\n'; cat "$T/reloc.json"; printf '\n%s' "$old"; } |
    openssl dgst -sha512 -hmac "$API_SECRET" -r | awk '{ print $1 }')
printf '%s\n' "$sig_first" >>"$T/signatures"
forged 401 "first-scheme capture, as sent (timestamp 2 h old)" POST /data "$T/reloc.json" "$sig_first" "$old"
forged 400 "first-scheme capture, timestamp moved into the body" POST /data "$T/reloc-moved.json" "$sig_first"
sec_code invalid_json "first-scheme capture, timestamp moved into the body"
# A v2 capture of two hours ago, relocated the same way.
sig_v2=$(st_sign POST /data "$T/reloc.json" "$old")
forged 401 "v2 capture, as sent (timestamp 2 h old)" POST /data "$T/reloc.json" "$sig_v2" "$old"
st_check_error 401 unauthorized "v2 capture, as sent"
forged 401 "v2 capture, timestamp moved into the body" POST /data "$T/reloc-moved.json" "$sig_v2"
forged 401 "v2 capture, header dropped" POST /data "$T/reloc.json" "$sig_v2"
st_expect_eq "$(sets_named relocated)" 0 "sets created by relocated timestamps"
st_ok "the timestamp relocation: 401 (v2 capture) or 400 invalid_json (first-scheme capture), nothing created"

# --- v2 against the original form, and the window -------------------------------
printf '{"name": "forms", "pilot_count": 1}' >"$T/forms.json"
now=$(date +%s)
sig_v2=$(st_sign POST /data "$T/forms.json" "$now")
sig_v1=$(st_sign POST /data "$T/forms.json")
forged 401 "a v2 signature sent without its timestamp header" POST /data "$T/forms.json" "$sig_v2"
st_check_error 401 unauthorized "a v2 signature sent as the original form"
forged 401 "an original signature sent with a timestamp header" POST /data "$T/forms.json" "$sig_v1" "$now"
st_check_error 401 unauthorized "an original signature sent with a timestamp"
forged 401 "a v2 signature with another timestamp header" POST /data "$T/forms.json" "$sig_v2" "$((now - 1))"
sig=$(st_sign GET /account "" "$now")
forged 401 "GET: a v2 signature sent without its timestamp header" GET /account "" "$sig"
forged 401 "GET: an original signature sent with a timestamp header" GET /account "" "$(st_sign GET /account)" "$now"
st_expect_eq "$(sets_named forms)" 0 "sets created by signatures of the other form"
# Each with the header of its own form: served.
forged 200 "GET: the v2 signature with its timestamp header" GET /account "" "$sig" "$now"
forged 201 "the v2 signature with its timestamp header" POST /data "$T/forms.json" "$sig_v2" "$now"
st_expect_eq "$(sets_named forms)" 1 "sets created by the v2 signature with its header"
st_ok "a v2 signature without its header and an original one with a header: 401, nothing created; each with its own form's header served"

# NOTE: the clock moves on while a request is made: a future offset keeps a
# few seconds of slack (the exact edges are pinned by tests/unit/test-auth).
printf '{"name": "window", "pilot_count": 1}' >"$T/window.json"
for d in -7200 -301 305 7200; do
	ts=$(($(date +%s) + d))
	forged 401 "POST with a timestamp now$(printf %+d "$d")" POST /data "$T/window.json" \
	    "$(st_sign POST /data "$T/window.json" "$ts")" "$ts"
	st_check_error 401 unauthorized "timestamp now$(printf %+d "$d")"
done
st_expect_eq "$(sets_named window)" 0 "sets created with stale or future timestamps"
ts=$(($(date +%s) - 240))
forged 201 "POST with a timestamp now-240 (inside the window)" POST /data "$T/window.json" \
    "$(st_sign POST /data "$T/window.json" "$ts")" "$ts"
st_ok "stale and future timestamps (2 h either way, 301 s back, 305 s ahead): 401, nothing created; 240 s back served"

# --- replays: a timestamped write is accepted once ----------------------------------
printf '{"name": "once", "pilot_count": 1}' >"$T/once.json"
ts=$(date +%s)
sig=$(st_sign POST /data "$T/once.json" "$ts")
forged 201 "timestamped POST /data" POST /data "$T/once.json" "$sig" "$ts"
once_uuid=$(st_json dataset_uuid)
st_expect_eq "$(remembered "$sig")" 1 "the POST's signature remembered"
records=$(sec_sql "SELECT COUNT(*) FROM replay_signatures")
forged 401 "the same timestamped POST /data again" POST /data "$T/once.json" "$sig" "$ts"
st_check_error 401 replayed "timestamped POST replayed"
forged 401 "the same, signature in upper case" POST /data "$T/once.json" \
    "$(printf %s "$sig" | tr a-f A-F)" "$ts"
st_check_error 401 replayed "timestamped POST replayed, upper-case signature"
st_expect_eq "$(sets_named once)" 1 "sets named once"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM replay_signatures")" "$records" "replay records (the refused copies add none)"
st_ok "a timestamped POST sent again: 401 replayed (either hex case), one set in the database"

# A replayed DELETE would remove what now holds the name: it must not run.
ts=$(date +%s)
sig_del=$(st_sign DELETE /data/once "" "$ts")
forged 200 "timestamped DELETE /data/once" DELETE /data/once "" "$sig_del" "$ts"
st_expect_eq "$(sets_named once)" 0 "sets named once after the DELETE"
printf '{"name": "once", "pilot_count": 2}' >"$T/once-again.json"
ST_GOT=$(ST_TS=$(date +%s) st_req POST /data "$T/once-again.json")
st_check_status 201 "a new set named once"
new_uuid=$(st_json dataset_uuid)
[ "$new_uuid" != "$once_uuid" ] || st_fail "the new set has the old UUID"
forged 401 "the same timestamped DELETE again" DELETE /data/once "" "$sig_del" "$ts"
st_check_error 401 replayed "timestamped DELETE replayed"
st_expect_eq "$(sec_sql "SELECT uuid FROM datasets WHERE name = 'once'")" "$new_uuid" "the new set after the replayed DELETE"
st_expect_eq "$(remembered "$sig_del")" 1 "the DELETE's signature remembered"
st_ok "a timestamped DELETE sent again: 401 replayed, the set that took the name is still there"

# A timestamped GET is not remembered (README): it changes nothing.
ts=$(date +%s)
sig=$(st_sign GET /account "" "$ts")
forged 200 "timestamped GET /account" GET /account "" "$sig" "$ts"
forged 200 "the same timestamped GET /account again" GET /account "" "$sig" "$ts"
st_expect_eq "$(remembered "$sig")" 0 "a GET's signature remembered"
st_ok "a timestamped GET sent again: 200, not remembered"

# An original-form write (no timestamp) cannot be remembered: the unique
# name answers the copy, as before.
printf '{"name": "original", "pilot_count": 1}' >"$T/original.json"
sig=$(st_sign POST /data "$T/original.json")
forged 201 "original-form POST /data" POST /data "$T/original.json" "$sig"
forged 409 "the same original-form POST /data again" POST /data "$T/original.json" "$sig"
st_check_error 409 name_taken "original-form POST replayed"
st_expect_eq "$(remembered "$sig")" 0 "an original-form signature remembered"
st_ok "an original-form write is not remembered (409 name_taken for its copy)"

# gc: only what has expired goes.
"$ST_ADMIN" gc --dry-run >"$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "gc --dry-run"; }
grep -q '^gc: would remove .*, 0 replay records, ' "$T/gc.out" || st_fail "gc --dry-run: $(cat "$T/gc.out")"
kept=$(($(sec_sql "SELECT COUNT(*) FROM replay_signatures") - 1))
sec_sql "UPDATE replay_signatures SET expires_at = $(($(date +%s) - 1)) WHERE id = UNHEX(SHA2(UNHEX('$sig_del'), 256))"
"$ST_ADMIN" gc >"$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "gc"; }
grep -q '^gc: removed .*, 1 replay records, ' "$T/gc.out" || st_fail "gc: $(cat "$T/gc.out")"
st_expect_eq "$(remembered "$sig_del")" 0 "the expired record after gc"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM replay_signatures")" "$kept" "records kept by gc"
st_ok "st-admin gc removes the expired replay records only"

# --- a retry with the same Idempotency-Key, signed afresh ---------------------------
printf '{"name": "idem-v2", "pilot_count": 1}' >"$T/idem.json"
ts=$(date +%s)
sig1=$(st_sign POST /data "$T/idem.json" "$ts")
forged 201 "POST /data with Idempotency-Key" POST /data "$T/idem.json" "$sig1" "$ts" \
    -H "Idempotency-Key: k-v2-1"
first=$(cat "$T/resp.body")
# The retry: the same request, a new timestamp (one second back, inside the
# window), so a new signature.
sig2=$(st_sign POST /data "$T/idem.json" "$((ts - 1))")
forged 201 "the retry, signed afresh" POST /data "$T/idem.json" "$sig2" "$((ts - 1))" \
    -H "Idempotency-Key: k-v2-1"
st_expect_eq "$(st_header Idempotent-Replayed)" true "the retry: Idempotent-Replayed"
st_expect_eq "$(cat "$T/resp.body")" "$first" "the retry: the recorded answer"
forged 401 "the first copy again (its signature seen)" POST /data "$T/idem.json" "$sig1" "$ts" \
    -H "Idempotency-Key: k-v2-1"
st_check_error 401 replayed "the first copy again"
st_expect_eq "$(sets_named idem-v2)" 1 "sets named idem-v2"
st_ok "a retry with the same Idempotency-Key and a fresh signature: the recorded answer; the same signature again: 401 replayed"

# --- strict JSON on every JSON route ----------------------------------------------
# Each route with a good body and what it answers (the batch names the
# set "once", which has no shard: 422 no_valid_jobs; the promoted batch does
# not exist: 404); each bad body is the good one with bytes after its
# value, signed correctly (v2 and original form).
printf '{"name": "strict", "pilot_count": 1}' >"$T/good-data.json"
printf '{"mode": "production", "jobs": [{"command": "true", "image": "busybox", "image_tag": "latest", "data_set_id": "once"}], "requisitions": {"cpu": 1}}' >"$T/good-batch.json"
printf '{"top_k": 1}' >"$T/good-promote.json"
printf '{"server": "r.example:5000", "username": "u", "password": "p"}' >"$T/good-registry.json"
nobatch=$(cat /proc/sys/kernel/random/uuid)
before_batches=$(sec_sql "SELECT COUNT(*) FROM batches")
i=0
while read -r name uri good blank_status; do
	for tail in ' x' "\n$(date +%s)" '{}' ',' '\x0b' '\x01' '\x7f' '\x00'; do
		i=$((i + 1))
		{ cat "$T/$good"; printf "$tail"; } >"$T/bad.$i.json"
		ST_GOT=$(ST_TS=$(date +%s) st_req POST "$uri" "$T/bad.$i.json")
		sec_expect 400 "$ST_GOT" "$name: v2, bytes '$tail' after the value"
		st_check_error 400 invalid_json "$name: bytes '$tail' after the value"
		ST_GOT=$(st_req POST "$uri" "$T/bad.$i.json")
		sec_expect 400 "$ST_GOT" "$name: original form, bytes '$tail' after the value"
		sec_code invalid_json "$name: original form, bytes '$tail' after the value"
	done
	# Blanks after the value are no trailing bytes.
	{ cat "$T/$good"; printf ' \r\n\t'; } >"$T/blank.json"
	ST_GOT=$(ST_TS=$(date +%s) st_req POST "$uri" "$T/blank.json")
	sec_expect "$blank_status" "$ST_GOT" "$name: blanks after the value"
done <<EOF
POST-/data /data good-data.json 201
POST-/batch /batch good-batch.json 422
POST-/batch/{id}/promote /batch/$nobatch/promote good-promote.json 404
POST-/account/registries /account/registries good-registry.json 201
EOF
st_expect_eq "$(sets_named strict)" 1 "sets named strict (the blank-tailed body only)"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM registry_credentials")" 1 "registry credentials (the blank-tailed body only)"
st_expect_eq "$(sec_sql "SELECT COUNT(*) FROM batches")" "$before_batches" "batches created"
st_ok "$i bodies with bytes after the JSON value on each JSON route: 400 invalid_json, nothing created; blanks after it accepted"

# GET, HEAD and DELETE carry no body.
printf '{}' >"$T/empty.json"
ST_GOT=$(ST_TS=$(date +%s) st_req GET /account "$T/empty.json")
sec_expect 400 "$ST_GOT" "GET /account with a body"
st_check_error 400 body_not_allowed "GET /account with a body"
ST_GOT=$(ST_TS=$(date +%s) st_req DELETE /data/strict "$T/empty.json")
sec_expect 400 "$ST_GOT" "DELETE /data/strict with a body"
st_check_error 400 body_not_allowed "DELETE /data/strict with a body"
ST_GOT=$(st_req DELETE /data/strict "$T/empty.json")
sec_expect 400 "$ST_GOT" "DELETE /data/strict with a body, original form"
st_expect_eq "$(sets_named strict)" 1 "the set after DELETEs with a body"
st_ok "GET and DELETE with a body: 400 body_not_allowed, nothing deleted"

# --- [auth] require_timestamp -------------------------------------------------------
# The responder as plain CGI (one request from the environment and stdin),
# with the configuration plus require_timestamp = true.
sed 's/^\[auth\]$/[auth]\nrequire_timestamp = true/' "$SINGULARITY_CONF" >"$T/strict.conf"
grep -q '^require_timestamp = true$' "$T/strict.conf" || st_fail "no [auth] section to edit"
# cgi RESPONDER METHOD URI BODYFILE SIG [TS]: prints the status.
cgi() {
	local prog=$1 method=$2 uri=$3 body=$4 sig=$5 ts=${6:-} len=0
	[ -z "$body" ] || len=$(wc -c <"$body")
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    SERVER_NAME=localhost SERVER_PORT=443 REMOTE_ADDR=127.0.0.1 HTTPS=on \
	    REQUEST_METHOD="$method" REQUEST_URI="$uri" SCRIPT_NAME="$uri" \
	    QUERY_STRING= CONTENT_LENGTH="$len" \
	    HTTP_X_SINGULARITY_APIKEY="$API_KEY" HTTP_X_SINGULARITY_SIGNATURE="$sig" \
	    ${ts:+HTTP_X_SINGULARITY_TIMESTAMP="$ts"} \
	    "$T/libexec/$prog" -c "$T/strict.conf" <"${body:-/dev/null}" >"$T/cgi.out" 2>>"$T/cgi.err" ||
	    st_fail "$prog as CGI exited $?"
	awk 'BEGIN { s = 200 } { sub(/\r$/, "") } $0 == "" { exit }
	    tolower($1) == "status:" { s = $2 } END { print s }' "$T/cgi.out"
}
printf '{"name": "required", "pilot_count": 1}' >"$T/required.json"
st_expect_eq "$(cgi st-account GET /account "" "$(st_sign GET /account)")" 401 "require_timestamp: original-form GET"
st_expect_eq "$(cgi st-data POST /data "$T/required.json" "$(st_sign POST /data "$T/required.json")")" 401 \
    "require_timestamp: original-form POST"
grep -q '"code": *"unauthorized"' "$T/cgi.out" || st_fail "require_timestamp: $(cat "$T/cgi.out")"
st_expect_eq "$(sets_named required)" 0 "sets created without a timestamp under require_timestamp"
ts=$(date +%s)
st_expect_eq "$(cgi st-account GET /account "" "$(st_sign GET /account "" "$ts")" "$ts")" 200 "require_timestamp: v2 GET"
st_expect_eq "$(cgi st-data POST /data "$T/required.json" "$(st_sign POST /data "$T/required.json" "$ts")" "$ts")" 201 \
    "require_timestamp: v2 POST"
st_expect_eq "$(sets_named required)" 1 "sets created with a timestamp under require_timestamp"
st_ok "[auth] require_timestamp = true: the original form 401, v2 served"

# --- the same processes served it all -------------------------------------------
sec_responder_pids >"$T/pids.after"
cmp -s "$T/pids.before" "$T/pids.after" || {
	diff "$T/pids.before" "$T/pids.after" >&2
	st_fail "responder processes changed (one crashed or was restarted)"
}
st_ok "no responder crashed or was restarted ($(wc -l <"$T/pids.after") processes)"

SEC_EXTRA_LOGS="$T/cgi.err"
sec_finish
