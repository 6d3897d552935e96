# harness.sh: shared conventions of the end-to-end shell tests.
#
# A test does `. "$top_srcdir/tests/lib/harness.sh"`, calls `st_init NAME`,
# starts what it needs (st_mariadb_start, st_db_setup, ...) and exits 0 on
# success, 1 on failure, 77 when skipped. Everything it starts is tracked
# and killed on exit; its files live under $T, removed on exit unless
# KEEP_TMP=1. automake exports top_srcdir and top_builddir (absolute),
# LIGHTTPD, APACHE2, MARIADBD and SPAWN_FCGI.

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"

ST_ADMIN="$top_builddir/src/admin/st-admin"
ST_TMPROOT="$top_builddir/tests/tmp"
ST_PORTS="$ST_TMPROOT/.ports"
ST_PIDS=""
ST_EXTRA_DIRS=""

# st_init NAME: strict mode, a private directory $T, cleanup on exit.
st_init() {
	set -eu
	mkdir -p "$ST_TMPROOT" "$ST_PORTS"
	chmod 755 "$ST_TMPROOT" 2>/dev/null || :
	T=$(mktemp -d "$ST_TMPROOT/$1.XXXXXX")
	chmod 755 "$T"
	export T
	trap st_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Kill every tracked process (and its process group), release the ports,
# remove $T. Runs on exit.
st_cleanup() {
	local rc=$? pid i alive
	set +e
	for pid in $ST_PIDS; do
		kill -TERM -- "-$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 1 50); do
		alive=""
		for pid in $ST_PIDS; do
			kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in $ST_PIDS; do
		kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	# Reap only what we tracked: a bare `wait` would also block on any
	# untracked background job of the test.
	for pid in $ST_PIDS; do
		wait "$pid" 2>/dev/null
	done
	# Ports are taken in command substitutions: the list is a file.
	if [ -f "${T:-/nonexistent}/.ports-taken" ]; then
		while read -r i; do
			rmdir "$ST_PORTS/$i" 2>/dev/null
		done <"$T/.ports-taken"
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		[ -n "${T:-}" ] && rm -rf "$T"
		for i in $ST_EXTRA_DIRS; do
			rm -rf "$i"
		done
	fi
	exit "$rc"
}

# st_skip REASON: skip (77); a failure (1) when CI=true.
st_skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipped in CI: $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

st_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

st_ok() {
	echo "ok - $*"
}

# st_expect_eq GOT WANT WHAT
st_expect_eq() {
	[ "$1" = "$2" ] || st_fail "$3: got '$1', want '$2'"
}

# st_track_pid PID: kill it (and its process group) on exit.
st_track_pid() {
	ST_PIDS="$ST_PIDS $1"
}

# Whether something accepts connections on 127.0.0.1:PORT.
st_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# st_free_port: print a TCP port of 127.0.0.1 that nothing listens on and
# no other test of this build tree took (below the ephemeral range).
st_free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		mkdir "$ST_PORTS/$port" 2>/dev/null || continue
		if st_port_open "$port"; then
			rmdir "$ST_PORTS/$port"
			continue
		fi
		echo "$port" >>"$T/.ports-taken"
		echo "$port"
		return 0
	done
	st_fail "no free TCP port found"
}

# st_wait_port PORT [SECS]: wait until 127.0.0.1:PORT accepts.
st_wait_port() {
	local i limit=$(( ${2:-10} * 10 ))
	for i in $(seq 1 "$limit"); do
		st_port_open "$1" && return 0
		sleep 0.1
	done
	st_fail "nothing listens on 127.0.0.1:$1 after ${2:-10} s"
}

# --- MariaDB ---------------------------------------------------------------

ST_MARIADB_OPTS="--innodb-buffer-pool-size=32M --innodb-log-file-size=8M"

st_mariadb_bins() {
	MARIADBD=${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}
	[ -x "$MARIADBD" ] || st_skip "mariadbd is not installed (apt-get install mariadb-server)"
	ST_MARIADB_CLIENT=$(command -v mariadb || command -v mysql || :)
	[ -n "$ST_MARIADB_CLIENT" ] || st_skip "the mariadb client is not installed"
	ST_MARIADB_INSTALL=$(command -v mariadb-install-db || command -v mysql_install_db || :)
	[ -n "$ST_MARIADB_INSTALL" ] || st_skip "mariadb-install-db is not installed"
	if [ "$(id -u)" = 0 ]; then ST_MARIADB_USER="--user=root"; else ST_MARIADB_USER=""; fi
}

# The data directory template, made once per build tree.
st_mariadb_template() {
	local tpl="$ST_TMPROOT/.mariadb-template"
	(
		flock 9
		if [ ! -f "$tpl/.done" ]; then
			rm -rf "$tpl" "$tpl.tmp"
			mkdir -p "$tpl.tmp"
			# shellcheck disable=SC2086
			"$ST_MARIADB_INSTALL" --no-defaults --datadir="$tpl.tmp" \
			    --auth-root-authentication-method=normal --skip-test-db \
			    $ST_MARIADB_USER $ST_MARIADB_OPTS \
			    >"$ST_TMPROOT/.mariadb-template.log" 2>&1 ||
			    { cat "$ST_TMPROOT/.mariadb-template.log" >&2; exit 1; }
			touch "$tpl.tmp/.done"
			mv "$tpl.tmp" "$tpl"
		fi
	) 9>"$ST_TMPROOT/.mariadb-template.lock" ||
	    st_fail "mariadb-install-db failed"
}

# st_mariadb_run: start mariadbd on $T/mariadb/data and DB_PORT (made by
# st_mariadb_start), wait until it answers; also starts it again after
# st_mariadb_stop.
st_mariadb_run() {
	local i
	# shellcheck disable=SC2086
	setsid "$MARIADBD" --no-defaults --datadir="$T/mariadb/data" \
	    --socket="$DB_SOCK" --port="$DB_PORT" --bind-address=127.0.0.1 \
	    --pid-file="$T/mariadb/mariadbd.pid" --tmpdir="$T/mariadb/tmp" \
	    --skip-name-resolve --log-error="$T/mariadb/err.log" \
	    --innodb-flush-log-at-trx-commit=2 \
	    $ST_MARIADB_USER $ST_MARIADB_OPTS </dev/null >>"$T/mariadb/err.log" 2>&1 &
	ST_MARIADB_PID=$!
	st_track_pid "$ST_MARIADB_PID"
	for i in $(seq 1 300); do
		if "$ST_MARIADB_CLIENT" --no-defaults -S "$DB_SOCK" -uroot \
		    -e 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$ST_MARIADB_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/mariadb/err.log" >&2
	st_fail "mariadbd did not start"
}

# st_mariadb_start: a private MariaDB on 127.0.0.1:$DB_PORT, socket $DB_SOCK.
st_mariadb_start() {
	st_mariadb_bins
	st_mariadb_template
	mkdir -p "$T/mariadb/tmp"
	cp -a "$ST_TMPROOT/.mariadb-template" "$T/mariadb/data"
	# A unix socket path is limited to 107 bytes.
	DB_SOCK="$T/mariadb/db.sock"
	if [ "${#DB_SOCK}" -gt 100 ]; then
		local d
		d=$(mktemp -d /tmp/st-db.XXXXXX)
		ST_EXTRA_DIRS="$ST_EXTRA_DIRS $d"
		DB_SOCK="$d/db.sock"
	fi
	DB_PORT=$(st_free_port)
	export DB_PORT DB_SOCK
	st_mariadb_run
}

# st_mariadb_stop: stop the server (same data directory kept).
st_mariadb_stop() {
	local i
	[ -n "${ST_MARIADB_PID:-}" ] || return 0
	kill -TERM "$ST_MARIADB_PID" 2>/dev/null || :
	for i in $(seq 1 300); do
		kill -0 "$ST_MARIADB_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$ST_MARIADB_PID" 2>/dev/null; then
		kill -KILL "$ST_MARIADB_PID" 2>/dev/null || :
	fi
	wait "$ST_MARIADB_PID" 2>/dev/null || :
	ST_MARIADB_PID=""
}

# st_mariadb_restart: stop, then start on the same port and data.
st_mariadb_restart() {
	st_mariadb_stop
	st_mariadb_run
}

# st_mysql ARGS...: the mariadb client as root over the socket.
st_mysql() {
	"$ST_MARIADB_CLIENT" --no-defaults -S "$DB_SOCK" -uroot "$@"
}

# st_db_setup: database, user, key file, store, config; then migrate.
st_db_setup() {
	DB_PASSWORD=$(openssl rand -hex 16)
	st_mysql -e "
CREATE DATABASE singularity CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'singularity'@'%' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER 'singularity'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON singularity.* TO 'singularity'@'%';
GRANT ALL PRIVILEGES ON singularity.* TO 'singularity'@'localhost';" ||
	    st_fail "cannot create the database"
	(umask 077 && openssl rand -hex 32 >"$T/secret.key")
	chmod 600 "$T/secret.key"
	mkdir -p "$T/store"
	cat >"$T/singularity.conf" <<EOF
[database]
host = 127.0.0.1
port = $DB_PORT
user = singularity
password = $DB_PASSWORD
name = singularity

[store]
dir = $T/store

[auth]
key_file = $T/secret.key
allow_http = ${ST_ALLOW_HTTP:-false}

[log]
file = $T/singularity.log
${ST_CONF_EXTRA:-}
EOF
	SINGULARITY_CONF="$T/singularity.conf"
	export SINGULARITY_CONF DB_PASSWORD
	st_migrate >/dev/null || st_fail "st-admin migrate failed"
}

st_migrate() {
	"$ST_ADMIN" migrate --sql-dir "$top_srcdir/sql"
}

# st_account NAME: an account with one key; sets API_KEY and API_SECRET.
st_account() {
	local out
	"$ST_ADMIN" account add "$1" >/dev/null || st_fail "account add $1"
	out=$("$ST_ADMIN" key create "$1" 2>/dev/null) || st_fail "key create $1"
	API_KEY=$(printf '%s\n' "$out" | sed -n 's/^api_key: //p')
	API_SECRET=$(printf '%s\n' "$out" | sed -n 's/^secret: //p')
	[ "${#API_KEY}" = 32 ] && [ "${#API_SECRET}" = 64 ] ||
	    st_fail "unexpected key create output"
	export API_KEY API_SECRET
}

# st_chown_runtime USER: the files the responders read or write, to USER.
st_chown_runtime() {
	touch "$T/singularity.log"
	chown "$1" "$T/secret.key" "$T/singularity.conf" "$T/singularity.log"
	chown -R "$1" "$T/store"
}
