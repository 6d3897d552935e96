#!/bin/bash
# t9010-auth-hostile.sh: hostile authentication through lighttpd over HTTPS
# with the real MariaDB, signatures made with `openssl dgst` (never with the
# project's code):
#   - replay: a timestamp outside the window; a signature made for one
#     request never authorises another (path, query, method, body, a body of
#     another length, another key, the timestamp dropped or changed);
#   - headers: oversized, repeated, NUL / CR / LF / control bytes inside
#     values (a raw TLS client), non-hex, short and over-long signatures,
#     malformed keys and timestamps;
#   - accounts: a disabled account's key, a revoked key.
# All of it 400/401/431 (never 5xx, never 200), the responders never
# restarted, and no log of the run holds a secret or a signature.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/security/lib.sh"

sec_stack t9010-auth
MALLORY_KEY=$API_KEY MALLORY_SECRET=$API_SECRET
sec_responder_pids >"$T/pids.before"

# hdrs KEY SIG [TS]: curl arguments for hand-made authentication headers.
hdrs() {
	printf '%s\n' -H "X-singularity-apikey: $1" -H "X-singularity-signature: $2"
	[ $# -lt 3 ] || printf '%s\n' -H "X-singularity-timestamp: $3"
}

# forged EXPECT WHAT METHOD URI BODYFILE KEY SIG [TS]: a request with the
# given headers, unsigned by st_req.
forged() {
	local expect=$1 what=$2 method=$3 uri=$4 body=$5
	shift 5
	local args=()
	mapfile -t args < <(hdrs "$@")
	ST_NOSIGN=1 sec_req "$expect" "$what" "$method" "$uri" "$body" "${args[@]}"
}

sql() { st_mysql -N -B singularity -e "$1"; }

# --- replay: the timestamp window ----------------------------------------------
# NOTE: the clock moves on while the requests run: each offset is taken from
# the time of its own request, and a future one keeps a few seconds of slack
# (the exact edges are pinned by tests/unit/test-auth).
for d in -301 305 -3600 86400 -1000000000; do
	ST_TS=$(($(date +%s) + d)) sec_req 401 "timestamp now$(printf %+d "$d")" GET /account
done
now=$(date +%s)
st_check_error 401 unauthorized "stale timestamp"
ST_TS=$((now - 240)) sec_req 200 "timestamp now-240 (inside the 300 s window)" GET /account
st_ok "a timestamp outside the 300 s window is 401 (past or future), inside 200"

sig=$(st_sign GET /account "" "$now")
forged 200 "signed with a timestamp" GET /account "" "$API_KEY" "$sig" "$now"
forged 401 "timestamp header dropped" GET /account "" "$API_KEY" "$sig"
forged 401 "timestamp changed by one second" GET /account "" "$API_KEY" "$sig" "$((now + 1))"
forged 401 "timestamp with a leading zero" GET /account "" "$API_KEY" "$sig" "0$now"
for ts in abc -5 "+$now" "$now.0" 1e9 99999999999999999999999 0x10 "$now$now"; do
	forged 401 "timestamp '$ts'" GET /account "" "$API_KEY" "$(st_sign GET /account "" "$ts")" "$ts"
done
sig=$(st_sign GET /account)
forged 401 "a signature without timestamp sent with one" GET /account "" "$API_KEY" "$sig" "$now"
st_ok "the timestamp is signed: dropped, changed or malformed is 401"

# --- replay: a signature for one request never authorises another ------------
printf '{"name": "replay-a", "pilot_count": 2}' >"$T/a.json"
printf '{"name": "replay-b", "pilot_count": 2}' >"$T/b.json"
printf '{"name": "replay-a", "pilot_count": 2} ' >"$T/a-longer.json"
printf '{"name": "replay-a", "pilot_count": 2' >"$T/a-shorter.json"
printf '{"name": "replay-a", "pilot_count": 3}' >"$T/a-same-length.json"
sig_a=$(st_sign POST /data "$T/a.json")

forged 401 "body swapped" POST /data "$T/b.json" "$API_KEY" "$sig_a"
forged 401 "body one byte longer" POST /data "$T/a-longer.json" "$API_KEY" "$sig_a"
forged 401 "body one byte shorter" POST /data "$T/a-shorter.json" "$API_KEY" "$sig_a"
forged 401 "body of the same length, one byte changed" POST /data "$T/a-same-length.json" "$API_KEY" "$sig_a"
forged "401|411" "body dropped" POST /data "" "$API_KEY" "$sig_a"
st_expect_eq "$(sql 'SELECT COUNT(*) FROM datasets')" 0 "data sets created by forged bodies"
st_ok "a signature over one body never authorises another (swapped, longer, shorter, same length, none)"

forged 201 "the genuine POST /data" POST /data "$T/a.json" "$API_KEY" "$sig_a"
set_uuid=$(st_json dataset_uuid)
forged 409 "the same POST /data replayed" POST /data "$T/a.json" "$API_KEY" "$sig_a"
st_check_error 409 name_taken "POST /data replayed"
st_expect_eq "$(sql "SELECT COUNT(*) FROM datasets WHERE name = 'replay-a'")" 1 "sets named replay-a"
st_ok "a replayed POST /data (no timestamp) creates nothing twice: 409 name_taken"

sig=$(st_sign GET /account)
forged 401 "path swapped (/account -> /data)" GET /data "" "$API_KEY" "$sig"
forged 401 "query added" GET '/account?x=1' "" "$API_KEY" "$sig"
forged 401 "empty query added" GET '/account?' "" "$API_KEY" "$sig"
forged "401|404" "path %-encoded" GET /%61ccount "" "$API_KEY" "$sig"
forged "401|404" "path with a trailing slash" GET /account/ "" "$API_KEY" "$sig"
forged "401|404" "path with a dot segment" GET /./account "" "$API_KEY" "$sig"
forged "401|404" "path with a double slash" GET //account "" "$API_KEY" "$sig"
sig=$(st_sign GET '/account?a=1')
forged 401 "query value changed" GET '/account?a=2' "" "$API_KEY" "$sig"
forged 401 "query dropped" GET /account "" "$API_KEY" "$sig"
forged 401 "query parameter repeated" GET '/account?a=1&a=1' "" "$API_KEY" "$sig"
sig=$(st_sign GET "/data/$set_uuid")
forged 200 "the genuine GET /data/{set}" GET "/data/$set_uuid" "" "$API_KEY" "$sig"
forged 401 "method swapped (GET -> DELETE)" DELETE "/data/$set_uuid" "" "$API_KEY" "$sig"
forged 401 "uuid swapped for the name" GET /data/replay-a "" "$API_KEY" "$sig"
forged 401 "uuid in upper case" GET "/data/$(printf %s "$set_uuid" | tr a-f A-F)" "" "$API_KEY" "$sig"
st_expect_eq "$(sql "SELECT COUNT(*) FROM datasets WHERE uuid = '$set_uuid'")" 1 "set still there after a forged DELETE"
st_ok "a signature for one path never authorises another path, query or method"

# Another account's key with mallory's signature, and the reverse.
st_account eve
EVE_KEY=$API_KEY
SEC_SECRETS="$API_SECRET ${SEC_SECRETS:-}"
API_KEY=$MALLORY_KEY API_SECRET=$MALLORY_SECRET
sig=$(st_sign GET /account)
forged 401 "mallory's signature with eve's key" GET /account "" "$EVE_KEY" "$sig"
forged 401 "mallory's signature, unknown key" GET /account "" 00000000000000000000000000000000 "$sig"
st_ok "a signature works with the key of its secret only"

# --- headers ------------------------------------------------------------------
sig=$(st_sign GET /account)
big=$(head -c 9000 /dev/zero | tr '\0' a)
forged "400|401|431" "9000-byte signature" GET /account "" "$API_KEY" "$big"
forged "400|401|431" "9000-byte API key" GET /account "" "$big" "$sig"
sec_req 431 "9000-byte other header" GET /account "" -H "X-Junk: $big"
ST_NOSIGN=1 sec_req "400|401|431" "300 extra headers" GET /account "" \
    $(for i in $(seq 1 300); do printf -- '-H X-Junk-%d:%s ' "$i" "$sig"; done) \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig"
# 100 KiB of header: lighttpd answers 431 while the client still sends.
{
	printf 'GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
	printf 'X-singularity-apikey: %s\r\nX-singularity-signature: %s\r\n' "$API_KEY" "$sig"
	printf 'X-Junk: %s\r\n\r\n' "$(head -c 102400 /dev/zero | tr '\0' a)"
} >"$T/raw.req"
sec_raw 431 "100 KiB header" "$T/raw.req"
st_ok "oversized headers 431 (or 400/401), none 5xx"

for v in "$(printf %0128d 0 | tr 0 g)" "${sig:0:127}" "${sig}0" "$sig$sig" \
    "0x${sig:2}" "${sig:0:64}" "" "-" "$(printf %s "$sig" | sed 's/./ /64')" \
    "' OR '1'='1" "$sig;" "%$sig"; do
	forged 401 "signature '${v:0:20}...' (${#v} characters)" GET /account "" "$API_KEY" "$v"
done
st_ok "non-hex, short, over-long and odd signatures 401"

for k in "$(printf %s "$API_KEY" | tr a-f A-F)" "${API_KEY:0:31}" "${API_KEY}0" \
    "' OR '1'='1' -- " "%" "_______________________________%" \
    "$API_KEY%00" "../../$API_KEY" "$API_KEY;rm -rf /"; do
	forged 401 "API key '${k:0:40}'" GET /account "" "$k" "$sig"
done
st_ok "malformed API keys (case, length, SQL wildcards and quotes) 401"

# Repeated headers: the web server joins them with ", " (or passes one);
# never a 200 with two different values.
ST_NOSIGN=1 sec_req 401 "apikey header twice (same value)" GET /account "" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-apikey: $API_KEY" \
    -H "X-singularity-signature: $sig"
ST_NOSIGN=1 sec_req 401 "apikey header twice (eve's, then mallory's)" GET /account "" \
    -H "X-singularity-apikey: $EVE_KEY" -H "X-singularity-apikey: $API_KEY" \
    -H "X-singularity-signature: $sig"
ST_NOSIGN=1 sec_req 401 "signature header twice (same value)" GET /account "" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
    -H "X-singularity-signature: $sig"
ST_NOSIGN=1 sec_req 401 "signature header twice (a bad one first)" GET /account "" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: ${sig%?}0" \
    -H "X-singularity-signature: $sig"
sig_ts=$(st_sign GET /account "" "$now")
ST_NOSIGN=1 sec_req 401 "timestamp header twice" GET /account "" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig_ts" \
    -H "X-singularity-timestamp: $now" -H "X-singularity-timestamp: $now"
st_ok "repeated authentication headers 401"

# Bytes curl will not send: a raw client over TLS. raw EXPECT HEADERS WHAT:
# HEADERS with \r, \n and \xHH (exactly two hex digits) turned into bytes;
# nothing else is an escape, so hex signatures next to them stay intact.
raw() {
	python3 - "$2" >"$T/raw.req" <<'PY'
import re, sys
h = re.sub(rb"\\(r|n|x[0-9a-fA-F]{2})",
           lambda m: {b"r": b"\r", b"n": b"\n"}.get(m.group(1)) or bytes([int(m.group(1)[1:], 16)]),
           sys.argv[1].encode("utf-8", "surrogateescape"))
sys.stdout.buffer.write(b"GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + h + b"\r\n")
PY
	sec_raw "$1" "raw: $3" "$T/raw.req"
}
K=$API_KEY
raw 200 "X-singularity-apikey: $K\r\nX-singularity-signature: $sig\r\n" "the genuine request"
raw 400 "X-singularity-apikey: $K\x00\r\nX-singularity-signature: $sig\r\n" "NUL after the key"
raw 400 "X-singularity-apikey: $K\r\nX-singularity-signature: ${sig:0:10}\x00${sig:10}\r\n" "NUL inside the signature"
raw 400 "X-singularity-apikey: $K\rX-Evil: 1\r\nX-singularity-signature: $sig\r\n" "bare CR inside the key"
raw 400 "X-singularity-apikey: $K\nX-singularity-signature: $sig\r\n" "bare LF after the key"
raw 400 "X-singularity-apikey: $K\r\nX-singularity-signature: $sig\r\nX-singularity-timestamp: $now\n\r\n" "bare LF after the timestamp"
raw "400|401" "X-singularity-apikey: $K\r\nX-singularity-signature: ${sig:0:64}\r\n ${sig:64}\r\n" "signature folded over two lines"
raw "400|401" "X-singularity-apikey: $K\r\nX-singularity-signature: ${sig:0:64}\x01${sig:64}\r\n" "control byte 0x01 in the signature"
raw "400|401" "X-singularity-apikey: $K\x7f\r\nX-singularity-signature: $sig\r\n" "DEL after the key"
raw "400|401" "X-singularity-apikey: $K\r\nX-singularity-signature: $sig\r\nX-singularity-timestamp: $now\x0b\r\n" "vertical tab in the timestamp"
raw "400|401" "X-singularity-apikey: $K\r\nX-singularity-signature: \xc3\xa9${sig:1}\r\n" "UTF-8 in the signature"
raw "400|401" "X-singularity-apikey: $K\xff\r\nX-singularity-signature: $sig\r\n" "byte 0xff after the key"
raw 401 "X-singularity-apikey:\r\nX-singularity-signature: $sig\r\n" "empty key"
raw 401 "X-singularity-apikey: $K\r\nX-singularity-signature:\r\n" "empty signature"
raw "400|401" "X-singularity-apikey: $K\r\nX-singularity-signature: $sig\r\nX-singularity-signature: ${sig%?}0\r\n" "two different signatures"
# A body shorter than its Content-Length is never handed over whole.
printf 'POST /data HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 100\r\nX-singularity-apikey: %s\r\nX-singularity-signature: %s\r\n\r\n{}' \
    "$K" "$(st_sign POST /data /dev/null)" >"$T/raw.req"
got=$(python3 "$SEC_DIR/rawhttp.py" 127.0.0.1 "$HTTPS_PORT" "$CA_FILE" "$T/raw.req" \
    "$T/resp.headers" "$T/resp.body" 3)
sec_expect "000|400|408" "$got" "raw: body shorter than Content-Length"
printf 'GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nX-singularity-apikey: %s\r\nX-singularity-signature: %s\r\n\r\n0\r\n\r\n' \
    "$K" "$sig" >"$T/raw.req"
sec_raw 400 "raw: Transfer-Encoding with Content-Length (smuggling)" "$T/raw.req"
st_ok "NUL, CR, LF and control bytes in header values 400 (or 401), none 200 or 5xx"

# --- accounts: disabled, re-enabled, revoked ------------------------------------
sec_req 200 "mallory before disabling" GET /account
"$ST_ADMIN" account disable mallory >/dev/null || st_fail "account disable"
sec_req 401 "disabled account" GET /account
st_check_error 401 unauthorized "disabled account"
disabled_body=$(cat "$T/resp.body")
ST_TS=$(date +%s) sec_req 401 "disabled account, with a timestamp" GET /account
sec_req 401 "disabled account, POST /data" POST /data "$T/b.json"
st_expect_eq "$(sql "SELECT COUNT(*) FROM datasets WHERE name = 'replay-b'")" 0 "sets made by a disabled account"
forged 401 "unknown key" GET /account "" 0123456789abcdef0123456789abcdef "$(st_sign GET /account)"
st_expect_eq "$(cat "$T/resp.body")" "$disabled_body" "401 body: disabled account vs unknown key"
"$ST_ADMIN" account enable mallory >/dev/null || st_fail "account enable"
sec_req 200 "mallory re-enabled" GET /account
st_ok "a disabled account's key is 401 (the same body as an unknown key); enabled again 200"

out=$("$ST_ADMIN" key create mallory 2>/dev/null) || st_fail "key create"
K2=$(printf '%s\n' "$out" | sed -n 's/^api_key: //p')
S2=$(printf '%s\n' "$out" | sed -n 's/^secret: //p')
SEC_SECRETS="$S2 ${SEC_SECRETS:-}"
API_KEY=$K2 API_SECRET=$S2 sec_req 200 "second key" GET /account
"$ST_ADMIN" key revoke "$K2" >/dev/null || st_fail "key revoke"
API_KEY=$K2 API_SECRET=$S2 sec_req 401 "revoked key" GET /account
API_KEY=$K2 API_SECRET=$S2 ST_TS=$(date +%s) sec_req 401 "revoked key, with a timestamp" GET /account
sec_req 200 "the other key of the account" GET /account
st_ok "a revoked key is 401; the account's other key still works"

# --- the same processes served it all -------------------------------------------
sec_responder_pids >"$T/pids.after"
cmp -s "$T/pids.before" "$T/pids.after" || {
	diff "$T/pids.before" "$T/pids.after" >&2
	st_fail "responder processes changed (one crashed or was restarted)"
}
st_ok "no responder crashed or was restarted ($(wc -l <"$T/pids.after") processes)"

sec_finish
