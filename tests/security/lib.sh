# lib.sh: what the hostile-input tests (tests/security/) share. Sourced after
# harness.sh, servers.sh, sign.sh and checks.sh.
#
#   sec_stack NAME            st_init NAME, MariaDB, schema, account "mallory"
#                             (API_KEY, API_SECRET), a canary tree outside the
#                             blob store ($T/canary, snapshot taken), and
#                             lighttpd over HTTPS with the shipped template
#   sec_req EXPECT WHAT METHOD URI [BODYFILE] [curl args]
#                             st_req, then fail unless the status is one of
#                             EXPECT ("401" or "400|431"); never a 5xx
#   sec_raw EXPECT WHAT FILE  send FILE's bytes as one raw request over TLS
#                             (tests/security/rawhttp.py); same checks
#   sec_check_canary          the canary tree is byte for byte as it was
#   sec_check_store           the blob store holds only well-named files
#   sec_check_secrets         no log of the run holds a secret or signature;
#                             the api_keys table holds no secret in any form
#   sec_responder_pids        the responder processes lighttpd runs
#   sec_code CODE WHAT        the last answer is the JSON error CODE
#   sec_mkzip, sec_jv, sec_sql  small helpers
#
# Every status answered is appended to $T/statuses; sec_finish fails when
# any of them is 5xx, then runs the three checks above and st-admin fsck.

SEC_DIR="$top_srcdir/tests/security"

# Signatures are remembered as they are made: st_req calls st_sign in a
# command substitution, so the list is a file.
eval "$(declare -f st_sign | sed '1s/^st_sign/sec_st_sign_orig/')"
st_sign() {
	local s
	s=$(sec_st_sign_orig "$@")
	printf '%s\n' "$s" >>"$T/signatures"
	printf '%s\n' "$s"
}

# A tree of files outside the blob store that no request may touch: names a
# traversal would reach ($T/canary, and siblings of the store).
sec_canary_make() {
	mkdir -p "$T/canary/etc" "$T/canary/shards/ab/cd"
	echo "root:x:0:0:canary:/root:/bin/sh" >"$T/canary/etc/passwd"
	echo "canary" >"$T/canary/shards/ab/cd/canary.zip"
	echo "canary" >"$T/canary/accounts"
	head -c 4096 /dev/urandom >"$T/canary/blob"
	chmod 644 "$T/canary/etc/passwd"
	sec_canary_snapshot >"$T/canary.before"
}

sec_canary_snapshot() {
	(cd "$T/canary" && find . -printf '%p %y %m %s %T@\n' | sort &&
	    find . -type f -exec sha256sum {} + | sort)
}

sec_check_canary() {
	sec_canary_snapshot >"$T/canary.after"
	if ! cmp -s "$T/canary.before" "$T/canary.after"; then
		diff "$T/canary.before" "$T/canary.after" >&2
		st_fail "the canary tree outside the blob store changed"
	fi
	# Shell metacharacters in names must not have run anything.
	if [ -n "$(find "$T" /tmp -maxdepth 1 -name 'st-pwned*' 2>/dev/null)" ]; then
		st_fail "a shell metacharacter in a request ran a command"
	fi
	st_ok "nothing outside the blob store touched (canary tree unchanged, no command ran)"
}

# Every file under the store is a temporary file, a content-addressed shard,
# a model or a log (of attempt 1, or <uuid>.<n>.log) with its canonical name.
sec_check_store() {
	local bad
	bad=$(cd "$T/store" && find . -type f | grep -Ev \
	    '^\./(tmp/st-[a-z]+-[0-9]+-[0-9a-f]+\.tmp|shards/([0-9a-f]{2})/([0-9a-f]{2})/\2\3[0-9a-f]{60}\.zip|models/[0-9a-f]{2}/[0-9a-f-]{36}\.zip|logs/[0-9a-f]{2}/[0-9a-f-]{36}(\.[1-9][0-9]*)?\.log)$' || :)
	[ -z "$bad" ] || st_fail "unexpected files in the blob store: $bad"
	bad=$(cd "$T/store" && find . -type l)
	[ -z "$bad" ] || st_fail "symbolic links in the blob store: $bad"
	st_ok "the blob store holds only canonically named files"
}

sec_stack() {
	st_init "$1"
	command -v python3 >/dev/null || st_skip "python3 not installed"
	st_mariadb_start
	st_db_setup
	st_account mallory
	ST_ACCOUNT_NAME=mallory
	sec_canary_make
	st_lighttpd_start
	: >"$T/statuses"
}

# sec_expect EXPECT GOT WHAT: GOT is one of the |-separated EXPECT and no 5xx.
sec_expect() {
	ST_GOT=$2
	printf '%s %s\n' "$2" "$3" >>"$T/statuses"
	case $2 in
	5*)
		echo "--- response" >&2; cat "$T/resp.headers" "$T/resp.body" >&2 2>/dev/null
		st_server_log
		st_fail "$3: server error $2"
		;;
	esac
	case "|$1|" in
	*"|$2|"*) ;;
	*)
		echo "--- response" >&2; head -c 1500 "$T/resp.headers" "$T/resp.body" >&2 2>/dev/null
		st_fail "$3: status $2, want $1"
		;;
	esac
}

sec_req() {
	local expect=$1 what=$2 method=$3 uri=$4 body=${5:-} got
	shift 4
	[ $# -eq 0 ] || shift
	# --globoff: braces and brackets in a hostile URI are sent as they are.
	got=$(st_req "$method" "$uri" "$body" --globoff "$@")
	ST_GOT=$got
	sec_expect "$expect" "$got" "$what"
}

# sec_raw EXPECT WHAT FILE: FILE is a whole HTTP/1.1 request, sent as is.
sec_raw() {
	local got
	got=$(python3 "$SEC_DIR/rawhttp.py" 127.0.0.1 "$HTTPS_PORT" "$CA_FILE" \
	    "$3" "$T/resp.headers" "$T/resp.body") || st_fail "$2: raw client failed"
	sec_expect "$1" "$got" "$2"
}

# sec_check_secrets: the api_keys table holds no secret (text, upper case,
# raw bytes, hex or base64 of either), and no log of the run holds a secret,
# the seal key, the database password or any signature sent.
sec_check_secrets() {
	local f logs=""
	st_mysql singularity -e 'SELECT * FROM api_keys' >"$T/dump.select"
	st_mysql -N -B singularity -e 'SELECT HEX(secret_enc), TO_BASE64(secret_enc) FROM api_keys' \
	    >"$T/dump.hex"
	if command -v mariadb-dump >/dev/null 2>&1; then
		mariadb-dump --no-defaults -S "$DB_SOCK" -uroot singularity api_keys \
		    >"$T/dump.sql" 2>/dev/null || :
		mariadb-dump --no-defaults -S "$DB_SOCK" -uroot --hex-blob \
		    singularity api_keys >"$T/dump.hexblob.sql" 2>/dev/null || :
	fi
	[ -s "$T/dump.hex" ] || st_fail "no api_keys rows to check"
	printf '%s\n' "${SEC_SECRETS:-}" "$API_SECRET" | grep . >"$T/secrets"
	python3 "$SEC_DIR/findsecret.py" "$T/secrets" /dev/null \
	    "$T"/dump.* || st_fail "an API secret is readable in the api_keys table"
	st_ok "the api_keys table holds no secret in clear (text, raw, hex, base64)"

	cat "$T/secret.key" >>"$T/secrets"
	printf '%s\n' "$DB_PASSWORD" >>"$T/secrets"
	for f in "$T/singularity.log" "$T/lighttpd-error.log" "$T/lighttpd.out" \
	    "$T/mariadb/err.log" ${SEC_EXTRA_LOGS:-}; do
		[ -f "$f" ] && logs="$logs $f"
	done
	[ -s "$T/singularity.log" ] || st_fail "the responders wrote no log"
	# shellcheck disable=SC2086
	python3 "$SEC_DIR/findsecret.py" "$T/secrets" "$T/signatures" $logs ||
	    st_fail "a secret or a signature is in a log"
	st_ok "no log line holds a secret, the seal key, the DB password or any of $(sort -u "$T/signatures" | wc -l) signatures ($(cat $logs | wc -l) lines)"
}

# sec_finish: no 5xx was answered, the canary and the store are intact,
# the secrets stayed secret, and st-admin fsck agrees.
sec_finish() {
	local n
	n=$(wc -l <"$T/statuses")
	if grep -q '^5' "$T/statuses"; then
		grep '^5' "$T/statuses" >&2
		st_fail "server errors answered"
	fi
	st_ok "$n hostile requests, none answered 5xx"
	if grep -Eq '(crash|segfault|SIGSEGV|abort|backend is overloaded|died)' "$T/lighttpd-error.log" 2>/dev/null; then
		grep -E '(crash|segfault|SIGSEGV|abort|overloaded|died)' "$T/lighttpd-error.log" >&2
		st_fail "the lighttpd error log shows a responder crash"
	fi
	sec_check_canary
	sec_check_store
	sec_check_secrets
	"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
	st_ok "$(tail -1 "$T/fsck.out")"
}

# sec_responder_pids: "PID NAME" of every responder lighttpd spawned, sorted;
# the same list before and after a test means none crashed or restarted.
sec_responder_pids() {
	ps -o pid=,comm= --ppid "$LIGHTTPD_PID" | awk '{ print $1, $2 }' | sort
}

# sec_mkzip OUT SIZE: a zip holding one stored member of SIZE random bytes.
sec_mkzip() {
	python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("part.bin", os.urandom(int(sys.argv[2])))
PY
}

# sec_jv EXPR: a Python expression over the last response's JSON (d).
sec_jv() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' \
	    "$T/resp.body" "$1" || st_fail "sec_jv $1 on $(head -c 300 "$T/resp.body")"
}

# sec_code CODE WHAT: the last response is a JSON error with that code (a
# grep: cheaper than st_check_error where hundreds of answers are checked).
sec_code() {
	grep -Eq "\"code\": ?\"$1\"" "$T/resp.body" ||
	    st_fail "$2: want code $1, got $(head -c 200 "$T/resp.body")"
}

# sec_sql QUERY: QUERY in the singularity database, tab-separated, no header.
sec_sql() { st_mysql -N -B singularity -e "$1"; }
