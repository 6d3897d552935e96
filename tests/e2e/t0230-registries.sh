#!/bin/bash
# Private registry credentials (/account/registries) through lighttpd +
# mod_fastcgi over HTTPS with the real MariaDB: create, replace (the same
# server in another spelling), list sorted by server, delete (a
# percent-encoded IPv6 server and a Docker Hub alias too), 404 for an
# unknown server and for another account's, the validation errors of the
# body (table below), unsigned and badly signed requests 401, the
# singularity-cli commands; and no password in any answer, in a
# mariadb-dump of the database or in a log file.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0230-registries
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account alice
ALICE_KEY=$API_KEY ALICE_SECRET=$API_SECRET
st_account bob
BOB_KEY=$API_KEY BOB_SECRET=$API_SECRET
st_lighttpd_start
API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET

# Passwords with what JSON must escape, non-ASCII, and a random part no
# other byte of the database or the logs can hold by chance.
PW1="p@ss \"w\\rd\" é $(openssl rand -hex 12)"
PW2="second-$(openssl rand -hex 12)"
PW3="hub-$(openssl rand -hex 12)"
PW4="v6-$(openssl rand -hex 12)"
PW5="bob-$(openssl rand -hex 12)"
PW6="cli-$(openssl rand -hex 12)"
PW7="cli2-$(openssl rand -hex 12)"
ALL_PW=("$PW1" "$PW2" "$PW3" "$PW4" "$PW5" "$PW6" "$PW7")

# regbody SERVER USERNAME PASSWORD: the JSON body in $T/req.body.
regbody() {
	python3 -c 'import json, sys
sys.stdout.write(json.dumps({"server": sys.argv[1], "username": sys.argv[2], "password": sys.argv[3]}))' \
	    "$1" "$2" "$3" >"$T/req.body"
}
nrows() { sql "SELECT COUNT(*) FROM registry_credentials"; }
# nopw WHAT: the last answer holds no password.
nopw() {
	local p
	for p in "${ALL_PW[@]}"; do
		! grep -qF -- "$p" "$T/resp.body" || st_fail "$1: a password in the answer"
	done
	! grep -qi '"password' "$T/resp.body" || st_fail "$1: a password field in the answer"
}

# --- create ---------------------------------------------------------------------

regbody registry.example.com:5000 robot1 "$PW1"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "POST /account/registries"
nopw "POST"
st_expect_eq "$(jv 'sorted(d.keys())')" '["created_at", "replaced", "server", "updated_at", "username"]' "fields"
st_expect_eq "$(jv 'd["server"]')" registry.example.com:5000 "server"
st_expect_eq "$(jv 'd["username"]')" robot1 "username"
st_expect_eq "$(jv 'd["replaced"]')" false "replaced"
jv 'd["created_at"]' | grep -Eq "$TIME_RE" || st_fail "created_at $(jv 'd["created_at"]')"
CREATED=$(jv 'd["created_at"]')
st_expect_eq "$(sql "SELECT COUNT(*) FROM registry_credentials r JOIN accounts a ON a.id = r.account_id WHERE a.name = 'alice' AND r.server = 'registry.example.com:5000' AND r.username = 'robot1'")" 1 "the row"
# Sealed: version byte, nonce, ciphertext as long as the password, tag.
st_expect_eq "$(sql "SELECT LENGTH(password_enc) - 29 = $(printf '%s' "$PW1" | wc -c), HEX(LEFT(password_enc, 1)) FROM registry_credentials")" \
    "$(printf '1\t01')" "password_enc is the sealed password (0x01, 12 + n + 16 bytes)"
st_ok "POST /account/registries: 201 {server, username, created_at, updated_at, replaced: false}, the password sealed"

# --- replace: the same server, spelt otherwise ------------------------------------

sleep 1
SEALED1=$(sql "SELECT HEX(password_enc) FROM registry_credentials")
regbody Registry.Example.COM:5000 robot2 "$PW2"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "POST again"
nopw "POST again"
st_expect_eq "$(jv 'd["server"]')" registry.example.com:5000 "normalised server"
st_expect_eq "$(jv 'd["username"]')" robot2 "new username"
st_expect_eq "$(jv 'd["replaced"]')" true "replaced"
st_expect_eq "$(jv 'd["created_at"]')" "$CREATED" "created_at kept"
[ "$(jv 'd["updated_at"]')" \> "$CREATED" ] || st_fail "updated_at $(jv 'd["updated_at"]') not after $CREATED"
st_expect_eq "$(nrows)" 1 "one row"
[ "$(sql "SELECT HEX(password_enc) FROM registry_credentials")" != "$SEALED1" ] || st_fail "password not replaced"
st_ok "the same server again (any case): 201 replaced, username and password replaced, created_at kept"

# --- list --------------------------------------------------------------------------

regbody index.docker.io hubuser "$PW3"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "POST index.docker.io"
st_expect_eq "$(jv 'd["server"]')" docker.io "index.docker.io is docker.io"
regbody '[::1]:5000' v6user "$PW4"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "POST [::1]:5000"
ST_GOT=$(st_req GET /account/registries)
st_check_status 200 "GET /account/registries"
nopw "GET"
st_expect_eq "$(jv 'list(d.keys())')" '["registries"]' "list: one key"
st_expect_eq "$(jv '[r["server"] for r in d["registries"]]')" '["[::1]:5000", "docker.io", "registry.example.com:5000"]' "sorted by server"
st_expect_eq "$(jv '[r["username"] for r in d["registries"]]')" '["v6user", "hubuser", "robot2"]' "usernames"
st_expect_eq "$(jv 'sorted(set(tuple(sorted(r.keys())) for r in d["registries"]))')" '[["created_at", "server", "updated_at", "username"]]' "entry fields"
st_ok "GET /account/registries: sorted by server, {server, username, created_at, updated_at}, no password"

# --- accounts ----------------------------------------------------------------------

API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET
ST_GOT=$(st_req GET /account/registries)
st_check_status 200 "bob's list"
st_expect_eq "$(jv 'd["registries"]')" '[]' "bob sees none of alice's"
ST_GOT=$(st_req DELETE /account/registries/registry.example.com:5000)
st_check_error 404 not_found "bob deletes alice's server"
regbody registry.example.com:5000 bobby "$PW5"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "bob's own credentials for the server"
st_expect_eq "$(jv 'd["replaced"]')" false "bob's are new"
API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET
st_expect_eq "$(sql "SELECT r.username FROM registry_credentials r JOIN accounts a ON a.id = r.account_id WHERE a.name = 'alice' AND r.server = 'registry.example.com:5000'")" robot2 "alice's untouched"
st_expect_eq "$(nrows)" 4 "rows"
st_ok "accounts: another's credentials invisible (404 on delete), the same server kept per account"

# --- delete ------------------------------------------------------------------------

ST_GOT=$(st_req DELETE /account/registries/registry.example.com:5000)
st_check_status 200 "DELETE"
st_expect_eq "$(jv 'd')" '{"deleted": true, "server": "registry.example.com:5000"}' "DELETE answer"
ST_GOT=$(st_req DELETE /account/registries/registry.example.com:5000)
st_check_error 404 not_found "DELETE again"
ST_GOT=$(st_req DELETE /account/registries/%5B%3A%3A1%5D%3A5000)
st_check_status 200 "DELETE of a percent-encoded IPv6 server"
st_expect_eq "$(jv 'd["server"]')" '[::1]:5000' "IPv6 server"
ST_GOT=$(st_req DELETE /account/registries/Index.Docker.IO)
st_check_status 200 "DELETE by a Docker Hub alias"
st_expect_eq "$(jv 'd["server"]')" docker.io "alias server"
ST_GOT=$(st_req DELETE /account/registries/unknown.example.com)
st_check_error 404 not_found "DELETE of an unknown server"
ST_GOT=$(st_req DELETE /account/registries/a_b.example.com)
st_check_error 422 invalid_server "DELETE of a malformed server"
ST_GOT=$(st_req DELETE /account/registries/r.example%2Fx)
st_check_error 422 invalid_server "DELETE of a server with a path"
ST_GOT=$(st_req GET /account/registries)
st_expect_eq "$(jv 'd["registries"]')" '[]' "alice's list after the deletes"
st_expect_eq "$(sql "SELECT username FROM registry_credentials")" bobby "bob's kept"
st_ok "DELETE /account/registries/{server}: 200 {server, deleted}, 404 unknown, 422 malformed; bob's kept"

# --- validation (one line per case: STATUS CODE BODY) ----------------------------

before=$(nrows)
while IFS='|' read -r status code what body; do
	[ -n "$status" ] || continue
	printf '%b' "$body" >"$T/req.body"
	ST_GOT=$(st_req POST /account/registries "$T/req.body")
	st_check_error "$status" "$code" "validation: $what"
done <<'EOF'
400|invalid_json|not JSON|server=r.example
400|invalid_json|an array|[]
400|invalid_json|cut short|{"server": "r.example", "username": "u", "password": "p"
400|invalid_json|text after the value|{"server": "r.example", "username": "u", "password": "p"} x
400|invalid_json|a second value|{"server": "r.example", "username": "u", "password": "p"}{}
400|invalid_json|a byte order mark|\xef\xbb\xbf{"server": "r.example", "username": "u", "password": "p"}
400|invalid_json|a raw tab in a string|{"server": "r.example", "username": "u", "password": "a\tb"}
400|invalid_json|a control byte|{"server": "r.example", "username": "u", "password": "a\x01b"}
400|invalid_json|a NUL byte|{"server": "r.example", "username": "u", "password": "p"}\x00
400|invalid_json|\\u0000|{"server": "r.example", "username": "u", "password": "a\\u0000b"}
400|invalid_json|not UTF-8|{"server": "r.example", "username": "u", "password": "\xff"}
400|invalid_json|a key twice|{"server": "r.example", "username": "u", "password": "p", "password": "q"}
400|unknown_field|an unknown key|{"server": "r.example", "username": "u", "password": "p", "email": "e"}
400|invalid_server|no server|{"username": "u", "password": "p"}
400|invalid_server|a number as server|{"server": 5000, "username": "u", "password": "p"}
422|invalid_server|a scheme|{"server": "https://r.example", "username": "u", "password": "p"}
422|invalid_server|a path|{"server": "r.example/team", "username": "u", "password": "p"}
422|invalid_server|a user|{"server": "u@r.example", "username": "u", "password": "p"}
422|invalid_server|port 0|{"server": "r.example:0", "username": "u", "password": "p"}
422|invalid_server|port 65536|{"server": "r.example:65536", "username": "u", "password": "p"}
422|invalid_server|an empty server|{"server": "", "username": "u", "password": "p"}
422|invalid_server|not an IPv4 address|{"server": "300.1.1.1", "username": "u", "password": "p"}
400|invalid_username|no username|{"server": "r.example", "password": "p"}
400|invalid_username|null username|{"server": "r.example", "username": null, "password": "p"}
422|invalid_username|an empty username|{"server": "r.example", "username": "", "password": "p"}
422|invalid_username|a space|{"server": "r.example", "username": "a b", "password": "p"}
422|invalid_username|a colon|{"server": "r.example", "username": "a:b", "password": "p"}
400|invalid_password|no password|{"server": "r.example", "username": "u"}
400|invalid_password|a number as password|{"server": "r.example", "username": "u", "password": 1234}
422|invalid_password|an empty password|{"server": "r.example", "username": "u", "password": ""}
EOF
python3 -c 'import json; print(json.dumps({"server": "r.example", "username": "u" * 256, "password": "p"}), end="")' >"$T/req.body"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_error 422 invalid_username "validation: 256-byte username"
python3 -c 'import json; print(json.dumps({"server": "r.example", "username": "u", "password": "p" * 1025}), end="")' >"$T/req.body"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_error 422 invalid_password "validation: 1025-byte password"
python3 -c 'import json; print(json.dumps({"server": "r.example", "username": "u", "password": "p" * 17000}), end="")' >"$T/req.body"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_error 413 payload_too_large "validation: a 17 kB body"
st_expect_eq "$(nrows)" "$before" "nothing stored by a refused body"
# The limits themselves pass.
python3 -c 'import json; print(json.dumps({"server": "r.example", "username": "u" * 255, "password": "p" * 1024}), end="")' >"$T/req.body"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "255-byte username and 1024-byte password"
ST_GOT=$(st_req DELETE /account/registries/r.example)
st_check_status 200 "DELETE r.example"
st_ok "validation: 400 invalid_json / unknown_field / wrong types, 422 unacceptable values, 413 too big; nothing stored"

# --- authentication and methods ---------------------------------------------------------

regbody r.example u "$PW1"
before=$(nrows)
ST_GOT=$(ST_NOSIGN=1 st_req GET /account/registries)
st_check_error 401 unauthorized "unsigned GET"
ST_GOT=$(ST_NOSIGN=1 st_req POST /account/registries "$T/req.body")
st_check_error 401 unauthorized "unsigned POST"
ST_GOT=$(ST_NOSIGN=1 st_req DELETE /account/registries/r.example)
st_check_error 401 unauthorized "unsigned DELETE"
sig=$(st_sign POST /account/registries "$T/req.body" | tr '0-9a-f' '1-9a-f0')
ST_GOT=$(ST_NOSIGN=1 st_req POST /account/registries "$T/req.body" \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig")
st_check_error 401 unauthorized "badly signed POST"
st_expect_eq "$(nrows)" "$before" "nothing stored unsigned"
ST_GOT=$(st_req PUT /account/registries "$T/req.body")
st_check_error 405 method_not_allowed "PUT /account/registries"
st_expect_eq "$(st_header Allow)" "GET, POST" "Allow"
ST_GOT=$(st_req GET /account/registries/r.example)
st_check_error 405 method_not_allowed "GET /account/registries/{server}"
st_expect_eq "$(st_header Allow)" "DELETE" "Allow of {server}"
ST_GOT=$(st_req DELETE /account/registries/)
st_check_error 404 not_found "DELETE /account/registries/"
st_ok "unsigned or badly signed: 401, nothing stored; wrong methods 405 with Allow"

# --- singularity-cli ---------------------------------------------------------------

st_cli_config
# cli_stdin WANT INPUT ARGS...: cli_run with INPUT on standard input.
cli_stdin() {
	local want=$1 input=$2 rc=0
	shift 2
	printf '%s' "$input" | "$ST_CLI" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = "$want" ] || {
		cat "$T/out" "$T/err" >&2
		st_fail "singularity-cli $*: exit $rc, want $want"
	}
}
cli_stdin 0 "$PW6"$'\n' registry add ghcr.io --username ci-bot --password-stdin
st_expect_eq "$(cat "$T/out")" "registry ghcr.io: credentials of ci-bot added" "registry add"
cli_stdin 0 "$PW7"$'\r\n' registry add GHCR.io --username ci-bot2 --password-stdin
st_expect_eq "$(cat "$T/out")" "registry ghcr.io: credentials of ci-bot2 replaced" "registry add again"
# One final newline was taken off: the password stored is PW7 itself,
# which the server alone can tell; its sealed length says so.
st_expect_eq "$(sql "SELECT LENGTH(password_enc) - 29 FROM registry_credentials WHERE server = 'ghcr.io'")" \
    "$(printf '%s' "$PW7" | wc -c)" "password without its CR LF"
cli_stdin 0 "$PW6" --json registry add localhost:5000 --username me --password-stdin
st_expect_eq "$(st_pyjson "$T/out" 'd["replaced"]')" false "registry add --json"
cli_run 0 registry list
st_expect_eq "$(head -1 "$T/out" | tr -s ' ')" "SERVER USERNAME CREATED UPDATED" "list header"
st_expect_eq "$(sed 1d "$T/out" | awk '{ print $1, $2 }' | paste -sd ' ')" "ghcr.io ci-bot2 localhost:5000 me" "list rows"
cli_run 0 --json registry list
ST_GOT=$(st_req GET /account/registries)
st_expect_eq "$(cat "$T/out")" "$(cat "$T/resp.body")" "registry list --json is the server's answer"
cli_run 0 registry remove localhost:5000
st_expect_eq "$(cat "$T/out")" "registry localhost:5000: credentials removed" "registry remove"
cli_run 4 registry remove localhost:5000
grep -q '(404 not_found)' "$T/err" || st_fail "remove again: $(cat "$T/err")"
cli_stdin 1 "x" registry add https://ghcr.io --username u --password-stdin
grep -q '(422 invalid_server)' "$T/err" || st_fail "add with a scheme: $(cat "$T/err")"
cli_stdin 2 "" registry add ghcr.io --username u --password-stdin
grep -q 'no password on standard input' "$T/err" || st_fail "empty stdin: $(cat "$T/err")"
cli_stdin 2 "x" registry add ghcr.io --username u
grep -q -- '--password-stdin is needed' "$T/err" || st_fail "no --password-stdin: $(cat "$T/err")"
cli_stdin 2 "$(head -c 1025 /dev/zero | tr '\0' x)" registry add ghcr.io --username u --password-stdin
grep -q 'longer than 1024 bytes' "$T/err" || st_fail "long password: $(cat "$T/err")"
cli_stdin 2 "x" registry add ghcr.io --password-stdin
cli_run 0 registry list
st_expect_eq "$(sed 1d "$T/out" | awk '{ print $1, $2 }')" "ghcr.io ci-bot2" "list after the refusals"
cli_run 0 registry remove ghcr.io
cli_run 0 registry list
grep -q '^no registry credentials' "$T/out" || st_fail "empty list: $(cat "$T/out")"
st_ok "singularity-cli registry add (stdin, added/replaced), list (table, --json), remove (4 when none), usage errors"

# --- no password in the clear anywhere -----------------------------------------------

# Put two back, so that the dump holds sealed passwords.
regbody registry.example.com alice "$PW1"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "POST before the dump"
DUMP=$(dirname "$ST_MARIADB_CLIENT")/mariadb-dump
[ -x "$DUMP" ] || DUMP=$(command -v mariadb-dump || command -v mysqldump || :)
[ -n "$DUMP" ] || st_skip "mariadb-dump is not installed"
"$DUMP" --no-defaults -S "$DB_SOCK" -uroot singularity >"$T/dump.sql" ||
    st_fail "mariadb-dump"
"$DUMP" --no-defaults -S "$DB_SOCK" -uroot --hex-blob singularity >"$T/dump-hex.sql" ||
    st_fail "mariadb-dump --hex-blob"
grep -q 'INSERT INTO `registry_credentials`' "$T/dump.sql" || st_fail "the dump holds no registry_credentials rows"
grep -q 'registry credentials for registry.example.com added' "$T/singularity.log" ||
    st_fail "the log has no registry line: is it the log the responders write?"
for p in "${ALL_PW[@]}"; do
	hex=$(printf '%s' "$p" | od -An -tx1 | tr -d ' \n')
	for f in "$T/dump.sql" "$T/dump-hex.sql" "$T/singularity.log" "$T/lighttpd-error.log"; do
		[ -f "$f" ] || continue
		! grep -qF -- "$p" "$f" || st_fail "a password in clear in $(basename "$f")"
		! grep -qiF -- "$hex" "$f" || st_fail "a password in hex in $(basename "$f")"
	done
done
st_ok "no password in clear (nor in hex) in a mariadb-dump of the database or in the logs"
