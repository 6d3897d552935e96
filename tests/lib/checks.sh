# checks.sh: the foundation's behaviour, checked through the web server under
# test (one named assertion each). Needs harness.sh and sign.sh, a running
# server (HTTPS_PORT, HTTP_PORT, CA_FILE) and an account (API_KEY,
# API_SECRET, ST_ACCOUNT_NAME or "demo").

# st_check_status WANT WHAT: the last response's status was WANT.
st_check_status() {
	if [ "$ST_GOT" != "$1" ]; then
		echo "--- response headers" >&2; cat "$T/resp.headers" >&2
		echo "--- response body" >&2; head -c 2000 "$T/resp.body" >&2; echo >&2
		st_server_log
		st_fail "$2: status $ST_GOT, want $1"
	fi
}

# st_check_error STATUS CODE WHAT: the last response is STATUS with a JSON
# error body {"error": "<sentence>", "code": CODE}.
st_check_error() {
	st_check_status "$1" "$3"
	case $(st_header Content-Type) in
	application/json*) ;;
	*) st_fail "$3: Content-Type '$(st_header Content-Type)', want application/json" ;;
	esac
	local code err
	code=$(st_json code) || st_fail "$3: body is not JSON: $(head -c 300 "$T/resp.body")"
	err=$(st_json error)
	st_expect_eq "$code" "$2" "$3: error code"
	[ -n "$err" ] || st_fail "$3: no \"error\" sentence in $(head -c 300 "$T/resp.body")"
	st_check_ids "$3"
}

# st_check_ids WHAT: X-Request-Id and X-atlas-trace are present and equal.
st_check_ids() {
	local id trace
	id=$(st_header X-Request-Id)
	trace=$(st_header X-atlas-trace)
	[ -n "$id" ] || st_fail "$1: no X-Request-Id header"
	st_expect_eq "$trace" "$id" "$1: X-atlas-trace equals X-Request-Id"
}

st_check_common() {
	local now body_unknown body_badsig sig

	# --- ping, unsigned -------------------------------------------------
	ST_GOT=$(ST_NOSIGN=1 st_req GET /ping)
	st_check_status 200 "GET /ping"
	st_expect_eq "$(cat "$T/resp.body")" pong "GET /ping body"
	case $(st_header Content-Type) in
	text/plain*) ;;
	*) st_fail "GET /ping: Content-Type '$(st_header Content-Type)', want text/plain" ;;
	esac
	st_check_ids "GET /ping"
	st_ok "GET /ping 200 pong text/plain with X-Request-Id = X-atlas-trace"

	ST_GOT=$(ST_NOSIGN=1 st_req HEAD /ping)
	st_check_status 200 "HEAD /ping"
	st_check_ids "HEAD /ping"
	# No body after the headers: a HEAD and a GET on one kept-alive
	# connection; stray bytes after the HEAD would garble the GET.
	local both
	both=$(curl -sS --max-time 10 --cacert "$CA_FILE" \
	    -o /dev/null -w '%{http_code} %{num_connects}\n' --head \
	    "https://127.0.0.1:$HTTPS_PORT/ping" --next --cacert "$CA_FILE" \
	    -w '%{http_code} %{num_connects} %{size_download}\n' -o "$T/resp.body" \
	    "https://127.0.0.1:$HTTPS_PORT/ping") || st_fail "HEAD then GET /ping on one connection"
	st_expect_eq "$(printf '%s\n' "$both" | paste -sd ' ')" "200 1 200 0 4" "HEAD then GET /ping on one connection (status, new connections, body size)"
	st_expect_eq "$(cat "$T/resp.body")" pong "GET /ping after HEAD on the same connection"
	st_ok "HEAD /ping 200 without a body"

	# --- signed GET /account ----------------------------------------------
	ST_GOT=$(st_req GET /account)
	st_check_status 200 "signed GET /account"
	case $(st_header Content-Type) in
	application/json*) ;;
	*) st_fail "GET /account: Content-Type '$(st_header Content-Type)'" ;;
	esac
	st_expect_eq "$(st_json account)" "${ST_ACCOUNT_NAME:-demo}" "GET /account account"
	st_expect_eq "$(st_json api_key)" "$API_KEY" "GET /account api_key"
	st_json created_at | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$' ||
	    st_fail "GET /account created_at '$(st_json created_at)' is not YYYY-MM-DDTHH:MM:SS"
	st_check_ids "GET /account"
	st_ok "signed GET /account 200 {account, api_key, created_at}"

	# The URI is signed exactly as sent: query string and %-escapes reach
	# the responder unchanged (REQUEST_URI), so the signature still holds.
	ST_GOT=$(st_req GET '/account?probe=a%20b%2Fc&x=%7E')
	st_check_status 200 "signed GET /account?probe=a%20b%2Fc&x=%7E (REQUEST_URI as sent)"
	st_ok "REQUEST_URI reaches the responder as sent (query and %-escapes)"

	now=$(date +%s)
	ST_GOT=$(ST_TS=$now st_req GET /account)
	st_check_status 200 "signed GET /account with X-singularity-timestamp"
	st_ok "signed GET /account with a fresh timestamp 200"

	ST_GOT=$(ST_TS=$((now - 3600)) st_req GET /account)
	st_check_error 401 unauthorized "GET /account with a stale timestamp"
	st_ok "stale timestamp 401"

	# --- authentication failures -------------------------------------------
	# A signature of the right length and form, but not the right one.
	sig=$(st_sign GET /account)
	sig=$(printf '%s' "$sig" | tr '0-9a-f' '1-9a-f0')
	ST_GOT=$(ST_NOSIGN=1 st_req GET /account "" \
	    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig")
	st_check_error 401 unauthorized "GET /account with a bad signature"
	body_badsig=$(cat "$T/resp.body")
	st_ok "bad signature 401"

	sig=$(st_sign GET /account)
	ST_GOT=$(ST_NOSIGN=1 st_req GET /account "" \
	    -H "X-singularity-apikey: 0123456789abcdef0123456789abcdef" \
	    -H "X-singularity-signature: $sig")
	st_check_error 401 unauthorized "GET /account with an unknown key"
	body_unknown=$(cat "$T/resp.body")
	st_ok "unknown key 401"
	st_expect_eq "$body_unknown" "$body_badsig" "401 body for unknown key vs bad signature"
	st_ok "the 401 body does not tell an unknown key from a bad signature"

	ST_GOT=$(ST_NOSIGN=1 st_req GET /account "" -H "X-singularity-apikey: $API_KEY")
	st_check_error 401 unauthorized "GET /account without a signature header"
	st_ok "missing signature header 401"

	ST_GOT=$(ST_NOSIGN=1 st_req GET /account "" -H "X-singularity-signature: $sig")
	st_check_error 401 unauthorized "GET /account without an apikey header"
	st_ok "missing apikey header 401"

	sig=$(st_sign GET /account | tr 'a-f' 'A-F')
	ST_GOT=$(ST_NOSIGN=1 st_req GET /account "" \
	    -H "x-SINGULARITY-apikey: $API_KEY" -H "X-Singularity-Signature: $sig")
	st_check_status 200 "GET /account with an upper-case hex signature and odd header case"
	st_ok "upper-case hex signature and any header-name case 200"

	# --- HTTPS only -----------------------------------------------------------
	ST_GOT=$(ST_BASE_URL=http://127.0.0.1:$HTTP_PORT ST_NOSIGN=1 st_req GET /ping)
	st_check_error 403 not_https "GET /ping over plain HTTP"
	ST_GOT=$(ST_BASE_URL=http://127.0.0.1:$HTTP_PORT st_req GET /account)
	st_check_error 403 not_https "signed GET /account over plain HTTP"
	st_ok "plain HTTP 403 not_https (HTTPS is seen only over TLS)"

	# --- routing --------------------------------------------------------------
	ST_GOT=$(ST_NOSIGN=1 st_req GET /nope)
	st_check_error 404 not_found "GET /nope"
	ST_GOT=$(st_req GET /account/x)
	st_check_error 404 not_found "GET /account/x"
	ST_GOT=$(ST_NOSIGN=1 st_req GET /)
	st_check_error 404 not_found "GET /"
	st_ok "unknown paths 404 not_found JSON (/nope, /account/x, /)"

	# /account/registries and below reach st-account (the catch-all would
	# answer 404 to each), a percent-encoded server too.
	ST_GOT=$(st_req GET /account/registries)
	st_check_status 200 "signed GET /account/registries"
	st_expect_eq "$(st_json registries)" "[]" "GET /account/registries: none yet"
	ST_GOT=$(st_req DELETE /account/registries/a_b)
	st_check_error 422 invalid_server "DELETE /account/registries/a_b"
	ST_GOT=$(st_req DELETE /account/registries/%5B%3A%3A1%5D%3A5000)
	st_check_error 404 not_found "DELETE /account/registries/%5B%3A%3A1%5D%3A5000"
	st_expect_eq "$(st_json error)" "you have no registry credentials for that server" \
	    "DELETE /account/registries/{percent-encoded server}: st-account's sentence"
	st_ok "/account/registries and /account/registries/{server} reach st-account"

	printf '{}' >"$T/empty.json"
	ST_GOT=$(st_req POST /account "$T/empty.json")
	st_check_error 405 method_not_allowed "POST /account"
	st_expect_eq "$(st_header Allow)" "GET" "POST /account: Allow"
	ST_GOT=$(ST_NOSIGN=1 st_req DELETE /ping)
	st_check_error 405 method_not_allowed "DELETE /ping"
	st_expect_eq "$(st_header Allow)" "GET, HEAD" "DELETE /ping: Allow"
	st_ok "wrong method 405 with Allow"

	# --- body limit -----------------------------------------------------------
	# 2 MiB against the default max_body of 1 MiB: refused from
	# CONTENT_LENGTH, before any reading or authentication.
	head -c 2097152 /dev/zero | tr '\0' 'a' > "$T/big.body"
	ST_GOT=$(ST_REQ_TIMEOUT=20 st_req GET /account "$T/big.body")
	st_check_error 413 payload_too_large "GET /account with a 2 MiB body"
	ST_GOT=$(ST_REQ_TIMEOUT=20 st_req GET /account "$T/big.body" -H 'Expect:')
	st_check_error 413 payload_too_large "GET /account with a 2 MiB body, no Expect"
	rm -f "$T/big.body"
	st_ok "oversized body 413 payload_too_large"

	# The server still serves after all that.
	ST_GOT=$(st_req GET /account)
	st_check_status 200 "signed GET /account at the end"
	st_ok "still serving"
}
