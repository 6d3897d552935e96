#!/bin/bash
# t0020-reconnect.sh: the db layer's transparent reconnect, seen through a
# real FastCGI responder (st-account under spawn-fcgi, driven by cgi-fcgi):
# a MariaDB restart between two requests costs the same responder process
# nothing; a stopped MariaDB is a 503 with Retry-After and a JSON error, the
# process survives it and answers 200 once the server is back.
. "$top_srcdir/tests/lib/harness.sh"
st_init t0020-reconnect

RESPONDER="$top_builddir/src/responders/st-account"
[ -x "$RESPONDER" ] || st_fail "$RESPONDER is not built"
SPAWN_FCGI=${SPAWN_FCGI:-$(command -v spawn-fcgi || :)}
[ -n "$SPAWN_FCGI" ] && [ -x "$SPAWN_FCGI" ] ||
    st_skip "spawn-fcgi is not installed (apt-get install spawn-fcgi)"
CGI_FCGI=$(command -v cgi-fcgi || :)
[ -n "$CGI_FCGI" ] || st_skip "cgi-fcgi is not installed (apt-get install libfcgi-bin)"

st_mariadb_start
st_db_setup
st_account reconnect-user

# The responder: one FastCGI process on a TCP port; -n: spawn-fcgi execs
# it in place, so $! is the responder itself.
FCGI_PORT=$(st_free_port)
setsid "$SPAWN_FCGI" -n -a 127.0.0.1 -p "$FCGI_PORT" -- "$RESPONDER" \
    </dev/null >>"$T/responder.out" 2>&1 &
RPID=$!
st_track_pid "$RPID"
st_wait_port "$FCGI_PORT" 10
if [ -r "/proc/$RPID/comm" ]; then
	st_expect_eq "$(cat "/proc/$RPID/comm")" st-account "process behind the port"
fi

# get_account: a signed GET /account through FastCGI, as a web server sends
# it. Sets STATUS, HEADERS (file) and BODY (file).
get_account() {
	local sig out
	sig=$(printf 'GET\n/account\n' |
	    openssl dgst -sha512 -hmac "$API_SECRET" -r | awk '{ print $1 }')
	out="$T/response"
	env -i PATH="$PATH" \
	    GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    SERVER_NAME=localhost SERVER_PORT=443 REMOTE_ADDR=127.0.0.1 \
	    REQUEST_METHOD=GET REQUEST_URI=/account SCRIPT_NAME=/account \
	    QUERY_STRING= HTTPS=on \
	    HTTP_X_SINGULARITY_APIKEY="$API_KEY" \
	    HTTP_X_SINGULARITY_SIGNATURE="$sig" \
	    "$CGI_FCGI" -bind -connect "127.0.0.1:$FCGI_PORT" </dev/null >"$out" ||
	    st_fail "cgi-fcgi failed"
	HEADERS="$T/headers"
	BODY="$T/body"
	# Split the CGI response at the first empty line.
	awk 'BEGIN { h = 1 } { sub(/\r$/, "") }
	    h && $0 == "" { h = 0; next }
	    h { print > "/dev/stderr"; next } { print }' "$out" \
	    >"$BODY" 2>"$HEADERS"
	STATUS=$(awk 'tolower($1) == "status:" { print $2; exit }' "$HEADERS")
	STATUS=${STATUS:-200}
}

header() {
	awk -v n="$1" 'BEGIN { n = tolower(n) ":" } tolower($1) == n {
	    sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$HEADERS"
}

expect_account() {
	get_account
	st_expect_eq "$STATUS" 200 "$1: status"
	grep -q '"account": *"reconnect-user"' "$BODY" || st_fail "$1: body $(cat "$BODY")"
	grep -q "\"api_key\": *\"$API_KEY\"" "$BODY" || st_fail "$1: api_key"
	grep -Eq '"created_at": *"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"' "$BODY" ||
	    st_fail "$1: created_at"
	kill -0 "$RPID" 2>/dev/null || st_fail "$1: responder died"
}

alive() {
	kill -0 "$RPID" 2>/dev/null || st_fail "responder $RPID died ($1)"
}

expect_account "first request"
st_ok "signed GET /account: 200"

# MariaDB restarts between two requests: the next one reconnects inside the
# same process and succeeds.
st_mariadb_restart
alive "after the restart"
expect_account "after a MariaDB restart"
grep -q "reconnecting" "$T/singularity.log" ||
    st_fail "the log does not show the reconnect"
st_ok "same responder ($RPID) answers 200 after a MariaDB restart"

# MariaDB down: 503 with Retry-After and a JSON error, and the process lives.
st_mariadb_stop
get_account
st_expect_eq "$STATUS" 503 "database down: status"
[ -n "$(header Retry-After)" ] || st_fail "503 without Retry-After"
header Content-Type | grep -q '^application/json' || st_fail "503 is not JSON"
grep -q '"code": *"unavailable"' "$BODY" || st_fail "503 body: $(cat "$BODY")"
grep -q '"error": *"' "$BODY" || st_fail "503 body without error"
alive "after a 503"
get_account
st_expect_eq "$STATUS" 503 "database still down: status"
alive "after a second 503"
st_ok "database down: 503 with Retry-After, responder alive"

# Back up: the same process answers again.
st_mariadb_run
expect_account "after MariaDB came back"
st_ok "same responder ($RPID) answers 200 once MariaDB is back"
