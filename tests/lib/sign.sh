# sign.sh: signed requests for the end-to-end tests, made with the openssl and
# curl commands only (never with the project's code), so that the tests check
# the server against the DESIGN's scheme and not against itself.
#
#   st_sign METHOD URI [BODYFILE] [TIMESTAMP]
#       lowercase hex HMAC-SHA512, keyed with the text of $API_SECRET, over
#       the original string METHOD "\n" URI "\n" BODY; with a TIMESTAMP,
#       st_sign_v2's.
#   st_sign_v2 METHOD URI BODYFILE TIMESTAMP
#       the same over the v2 string "ST2-HMAC-SHA512" "\n" TIMESTAMP "\n"
#       METHOD "\n" URI "\n" lowercase hex SHA-256 of BODY.
#   st_req METHOD URI [BODYFILE] [curl args...]
#       a request to https://127.0.0.1:$HTTPS_PORT (or $ST_BASE_URL) with
#       --cacert $CA_FILE; signed with $API_KEY/$API_SECRET unless
#       ST_NOSIGN=1; with X-singularity-timestamp when ST_TS is set; BODYFILE
#       "" or "-" sends no body. Writes the body to $T/resp.body and the
#       headers to $T/resp.headers, prints the status code.
#   st_header NAME      value of a header of the last response ("" when absent)
#   st_json KEY         value of a top-level key of the last response's JSON body

st_sign() {
	local method=$1 uri=$2 body=${3:-} ts=${4:-}
	[ "$body" = - ] && body=
	if [ -n "$ts" ]; then
		st_sign_v2 "$method" "$uri" "$body" "$ts"
		return
	fi
	{
		printf '%s\n%s\n' "$method" "$uri"
		[ -z "$body" ] || cat "$body"
	} | openssl dgst -sha512 -hmac "$API_SECRET" -r | awk '{ print $1 }'
}

st_sign_v2() {
	local method=$1 uri=$2 body=${3:-} ts=$4 sha
	[ "$body" = - ] && body=
	sha=$({ [ -z "$body" ] || cat "$body"; } | openssl dgst -sha256 -r |
	    awk '{ print $1 }')
	printf 'ST2-HMAC-SHA512\n%s\n%s\n%s\n%s' "$ts" "$method" "$uri" "$sha" |
	    openssl dgst -sha512 -hmac "$API_SECRET" -r | awk '{ print $1 }'
}

st_req() {
	local method=$1 uri=$2 body=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	[ "$body" = - ] && body=
	local base=${ST_BASE_URL:-https://127.0.0.1:$HTTPS_PORT}
	local sig
	set -- --path-as-is --max-time "${ST_REQ_TIMEOUT:-30}" \
	    --cacert "$CA_FILE" -o "$T/resp.body" -D "$T/resp.headers" \
	    -w '%{http_code}' "$@"
	if [ "$method" = HEAD ]; then
		set -- "$@" --head
	else
		set -- "$@" -X "$method"
	fi
	[ -z "$body" ] || set -- "$@" --data-binary "@$body" \
	    -H 'Content-Type: application/json'
	if [ "${ST_NOSIGN:-0}" != 1 ]; then
		sig=$(st_sign "$method" "$uri" "$body" "${ST_TS:-}")
		set -- "$@" -H "X-singularity-apikey: $API_KEY" \
		    -H "X-singularity-signature: $sig"
		[ -z "${ST_TS:-}" ] || set -- "$@" -H "X-singularity-timestamp: $ST_TS"
	fi
	rm -f "$T/resp.body" "$T/resp.headers"
	curl -sS "$@" "$base$uri" || true
	touch "$T/resp.body" "$T/resp.headers"
	# curl --head writes the headers where the body would go.
	[ "$method" != HEAD ] || : >"$T/resp.body"
}

st_header() {
	awk -v name="$1" 'BEGIN { name = tolower(name) }
	    { sub(/\r$/, "") }
	    index($0, ":") && tolower(substr($0, 1, index($0, ":") - 1)) == name {
		v = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", v); print v; exit }' \
	    "$T/resp.headers"
}

st_json() {
	python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2])
except Exception:
    sys.exit(1)
print("" if v is None else v)' "$T/resp.body" "$1"
}
