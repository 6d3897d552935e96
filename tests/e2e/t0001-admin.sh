#!/bin/bash
# t0001-admin.sh: st-admin end to end against a real MariaDB: migrations,
# status, accounts, API keys (secret shown once, never stored in clear),
# hosts, and the exit status of every kind of failure.
. "$top_srcdir/tests/lib/harness.sh"
st_init t0001-admin

[ -x "$ST_ADMIN" ] || st_fail "$ST_ADMIN is not built"
SQL="$top_srcdir/sql"

# run EXPECTED_RC CMD...: run st-admin, keep stdout in $OUT and stderr in
# $ERR, fail unless it exits with EXPECTED_RC.
run() {
	local want=$1 rc=0
	shift
	"$ST_ADMIN" "$@" >"$T/out" 2>"$T/err" || rc=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$rc" != "$want" ]; then
		echo "stdout: $OUT" >&2
		echo "stderr: $ERR" >&2
		st_fail "st-admin $*: exit $rc, want $want"
	fi
}

# contains TEXT PATTERN WHAT: fail unless TEXT matches the grep -E pattern.
contains() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || st_fail "$3: no '$2' in: $1"
}
lacks() {
	if printf '%s\n' "$1" | grep -Eqi -- "$2"; then
		st_fail "$3: '$2' found"
	fi
}

# aligned TEXT: every line's second column starts at the same offset.
aligned() {
	local n
	n=$(printf '%s\n' "$1" | awk '{ match($0, /^[^ ]+ +/); print RLENGTH }' |
	    sort -u | wc -l)
	st_expect_eq "$n" 1 "columns aligned in: $1"
}

# --- usage errors: exit 2 with a message, before any config is read -------
export SINGULARITY_CONF="$T/does-not-exist.conf"
run 2
contains "$ERR" "no command" "no command"
run 2 frobnicate
contains "$ERR" "unknown command" "unknown command"
run 2 --bogus status
run 2 account
run 2 account add
run 2 account add 'bad name!'
contains "$ERR" "invalid account name" "bad account name"
run 2 account add "$(printf 'x%.0s' $(seq 1 65))"
run 2 account rename a b
run 2 key create
run 2 key revoke not-a-key
run 2 host add h1
run 2 host frob
run 2 migrate --frob
run 0 --help
contains "$OUT" "usage: st-admin" "--help"
run 0 host --help
contains "$OUT" "host add NAME --endpoint" "host --help"
run 0 --version
contains "$OUT" "^st-admin [0-9]" "--version"
st_ok "usage errors exit 2"

# --- a missing configuration is a runtime failure (1) ---------------------
run 1 account list
contains "$ERR" "does-not-exist.conf" "missing config named"
run 1 -c "$T/also-missing.conf" status
contains "$ERR" "also-missing.conf" "missing -c config named"
st_ok "missing config"

# --- migrate --------------------------------------------------------------
st_mariadb_start
st_db_setup		# migrates (quietly)
n=$(st_mysql -N -e "SELECT COUNT(*) FROM singularity.schema_migrations WHERE version = 1")
st_expect_eq "$n" 1 "001 recorded"
run 0 migrate --sql-dir "$SQL"
contains "$OUT" "schema is up to date" "migrate again"

# A new file is applied alone, and only once.
mkdir "$T/sql"
cp "$SQL"/*.sql "$T/sql/"
cat >"$T/sql/900_t0001_extra.sql" <<'EOF'
-- a test migration; a comment with a semicolon;

CREATE TABLE t0001_extra (
  id INT NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
INSERT INTO t0001_extra (id) VALUES (1);
INSERT INTO t0001_extra (id)
  VALUES (2);
EOF
run 0 migrate --sql-dir "$T/sql"
contains "$OUT" "applied 900_t0001_extra.sql \(3 statements\)" "new migration applied"
lacks "$OUT" "applied 001_" "old migration not applied again"
n=$(st_mysql -N -e "SELECT COUNT(*) FROM singularity.t0001_extra")
st_expect_eq "$n" 2 "rows of the new migration"
run 0 migrate --sql-dir "$T/sql"
contains "$OUT" "schema is up to date \(version 900\)" "up to date after 900"
run 1 migrate --sql-dir "$T/no-such-dir"
st_ok "migrate"

# --- status ---------------------------------------------------------------
run 0 status --sql-dir "$SQL"
contains "$OUT" "^database: +reachable" "status reachable"
contains "$OUT" "version 900 applied" "status version"
contains "$OUT" "^accounts: +0 " "status accounts"
contains "$OUT" "QUEUED 0" "status jobs"
echo "-- bad" >"$T/sql/901_t0001_broken.sql"
echo "THIS IS NOT SQL;" >>"$T/sql/901_t0001_broken.sql"
run 0 status --sql-dir "$T/sql"
contains "$OUT" "1 pending" "status pending"
run 1 migrate --sql-dir "$T/sql"
contains "$ERR" "901_t0001_broken.sql" "failed migration named"
rm "$T/sql/901_t0001_broken.sql"
st_ok "status"

# --- accounts -------------------------------------------------------------
run 0 account add alice
run 0 account add bob.b-2_x
run 1 account add alice
contains "$ERR" "already exists" "duplicate account"
run 0 account list
contains "$OUT" "^NAME +STATE +KEYS +CREATED" "account list header"
contains "$OUT" "^alice +active +0 +[0-9]{4}-[0-9]{2}-[0-9]{2}T" "alice listed"
aligned "$OUT"
run 0 account disable alice
run 0 account list
contains "$OUT" "^alice +disabled" "alice disabled"
run 1 key create alice
contains "$ERR" "disabled" "no key for a disabled account"
run 0 account enable alice
run 1 account disable nobody
contains "$ERR" "no account" "disable unknown"
st_ok "accounts"

# --- keys -----------------------------------------------------------------
run 0 key create alice
contains "$ERR" "not shown again" "secret note on stderr"
st_expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 2 "key create prints two lines"
contains "$OUT" "^api_key: [0-9a-f]{32}$" "api_key line"
contains "$OUT" "^secret: [0-9a-f]{64}$" "secret line"
KEY=$(printf '%s\n' "$OUT" | sed -n 's/^api_key: //p')
SECRET=$(printf '%s\n' "$OUT" | sed -n 's/^secret: //p')
[ "$(printf '%s\n' "$OUT" | head -1)" = "api_key: $KEY" ] || st_fail "api_key first"

run 0 key list
contains "$OUT" "^$KEY +alice +[0-9-]+T[0-9:]+ +active" "key listed"
lacks "$OUT" "$SECRET" "key list shows no secret"
run 0 key list alice
contains "$OUT" "$KEY" "key list ACCOUNT"
run 0 key list bob.b-2_x
lacks "$OUT" "$KEY" "another account's keys"
run 1 key list nobody

# The database holds the secret sealed only: neither its text nor its hex.
SECRET_HEX=$(printf '%s' "$SECRET" | od -An -tx1 | tr -d ' \n')
st_mysql -e "SELECT *, HEX(secret_enc), TO_BASE64(secret_enc) FROM singularity.api_keys" >"$T/dump" ||
    st_fail "dumping api_keys"
grep -q "$KEY" "$T/dump" || st_fail "the dump holds the key"
if grep -qiF "$SECRET" "$T/dump"; then st_fail "secret stored in clear"; fi
if grep -qiF "$SECRET_HEX" "$T/dump"; then st_fail "secret stored hex-encoded"; fi
n=$(st_mysql -N -e "SELECT LENGTH(secret_enc) FROM singularity.api_keys WHERE api_key = '$KEY'")
st_expect_eq "$n" 93 "sealed secret length (1 + 12 + 64 + 16)"
if grep -qF "$SECRET" "$T/singularity.log" 2>/dev/null; then st_fail "secret in the log"; fi

run 0 key revoke "$KEY"
run 0 key list alice
contains "$OUT" "^$KEY +alice .*revoked [0-9-]+T" "key revoked"
run 0 key revoke "$KEY"
contains "$OUT" "already revoked" "revoke twice"
run 1 key revoke 0123456789abcdef0123456789abcdef
contains "$ERR" "no API key" "revoke unknown"
run 2 key revoke 0123456789ABCDEF0123456789ABCDEF
st_ok "keys"

# --- hosts ----------------------------------------------------------------
touch "$T/ca.pem" "$T/cert.pem" "$T/key.pem"
run 0 host add gpu1 --endpoint unix:///run/docker.sock --cpus 8 --ram-gb 64 \
    --gpus 2 --gpu-runtime env
run 0 host add gpu2 --endpoint tcp://127.0.0.1:2376 --cpus 0.5 --ram-gb 1.25 \
    --tls-ca "$T/ca.pem" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
run 0 host add gpu3 --endpoint tcp://docker.example:2375 --cpus 4 --ram-gb 8
contains "$ERR" "without TLS" "plain tcp warned"
run 1 host add gpu1 --endpoint unix:///run/docker.sock --cpus 8 --ram-gb 64
contains "$ERR" "already exists" "duplicate host"
run 1 host add gpu4 --endpoint tcp://h:1 --cpus 1 --ram-gb 1 \
    --tls-ca "$T/none.pem" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
for bad in \
    "--endpoint http://h:1 --cpus 1 --ram-gb 1" \
    "--endpoint unix://relative --cpus 1 --ram-gb 1" \
    "--endpoint tcp://h --cpus 1 --ram-gb 1" \
    "--endpoint tcp://h:0 --cpus 1 --ram-gb 1" \
    "--endpoint tcp://h:65536 --cpus 1 --ram-gb 1" \
    "--endpoint tcp://:2375 --cpus 1 --ram-gb 1" \
    "--cpus 1 --ram-gb 1" \
    "--endpoint unix:///s --ram-gb 1" \
    "--endpoint unix:///s --cpus 0 --ram-gb 1" \
    "--endpoint unix:///s --cpus -1 --ram-gb 1" \
    "--endpoint unix:///s --cpus abc --ram-gb 1" \
    "--endpoint unix:///s --cpus 1e3 --ram-gb 1" \
    "--endpoint unix:///s --cpus 1.2345 --ram-gb 1" \
    "--endpoint unix:///s --cpus 1 --ram-gb 0" \
    "--endpoint unix:///s --cpus 1" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --gpus 1.5" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --gpus -1" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --gpu-runtime rocm" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --tls-ca $T/ca.pem --tls-cert $T/cert.pem --tls-key $T/key.pem" \
    "--endpoint tcp://h:1 --cpus 1 --ram-gb 1 --tls-ca $T/ca.pem" \
    "--endpoint tcp://h:1 --cpus 1 --ram-gb 1 --tls-cert $T/cert.pem --tls-key $T/key.pem" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --frob 1" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 extra-name" \
    "--endpoint unix:///s --cpus 1 --ram-gb 1 --gpus"; do
	# shellcheck disable=SC2086
	run 2 host add hbad $bad
done
run 2 host add 'bad/name' --endpoint unix:///s --cpus 1 --ram-gb 1
n=$(st_mysql -N -e "SELECT COUNT(*) FROM singularity.hosts")
st_expect_eq "$n" 3 "only the good hosts stored"

run 0 host list
contains "$OUT" "^NAME +STATE +CPUS +GPUS +RAM_GB +RUNTIME +JOBS" "host list header"
contains "$OUT" "^gpu1 +active +8 +2 +64 +env +0 +never +unix:///run/docker.sock$" "gpu1 listed"
contains "$OUT" "^gpu2 +active +0.5 +0 +1.25 +nvidia " "gpu2 listed"
aligned "$OUT"
n=$(st_mysql -N -e "SELECT tls_ca FROM singularity.hosts WHERE name = 'gpu2'")
st_expect_eq "$n" "$(cd "$T" && pwd -P)/ca.pem" "TLS path stored absolute"

run 0 host drain gpu1
run 0 host list
contains "$OUT" "^gpu1 +draining " "gpu1 draining"
run 0 host enable gpu1
run 0 host list
contains "$OUT" "^gpu1 +active " "gpu1 enabled again"
run 1 host drain nohost
run 1 host remove nohost

# A host with a running job cannot be removed; once it finished, it can.
st_mysql singularity -e "
INSERT INTO batches (uuid, account_id, mode, cpu, gpu, ram_gb)
  SELECT '00000000-0000-4000-8000-000000000001', id, 'pilot', 1, 0, 4 FROM accounts WHERE name = 'alice';
INSERT INTO jobs (uuid, batch_id, account_id, idx, mode, image, image_tag, command, cpu, gpu, ram_gb, status, host_id)
  SELECT '00000000-0000-4000-8000-000000000002', b.id, b.account_id, 0, 'pilot', 'busybox', 'latest', 'true', 1, 0, 4, 'PROCESSING', h.id
  FROM batches b, hosts h WHERE h.name = 'gpu1';"
run 0 host list
contains "$OUT" "^gpu1 +active +8 +2 +64 +env +1 " "gpu1 has one job"
run 1 host remove gpu1
contains "$ERR" "1 job placed" "remove refused"
st_mysql singularity -e "UPDATE jobs SET status = 'COMPLETED'"
run 0 host remove gpu1
run 0 host list
lacks "$OUT" "^gpu1 " "gpu1 removed"
n=$(st_mysql -N -e "SELECT COUNT(*) FROM singularity.jobs WHERE host_id IS NULL AND status = 'COMPLETED'")
st_expect_eq "$n" 1 "finished job kept"
st_ok "hosts"

# --- the database going away is a runtime failure ---------------------------
st_mariadb_stop
run 1 account list
contains "$ERR" "cannot connect" "database down"
run 1 status --sql-dir "$SQL"
st_ok "database down"
