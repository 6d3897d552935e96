#!/bin/bash
# A responder killed with SIGKILL in the middle of a 10 MiB shard upload
# leaves no file under a final name and no row; `st-admin gc --tmp-age 0`
# removes the temporary file it leaves; the same upload then succeeds.
#
# st-data is run the way a web server runs a plain CGI program (environment
# plus the body on stdin, here a FIFO the test fills half-way), so the kill
# lands mid-stream deterministically; signatures come from `openssl dgst`.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/sign.sh"

st_init t0101-data-crash
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account alice
ST_DATA="$top_builddir/src/responders/st-data"
[ -x "$ST_DATA" ] || st_fail "st-data is not built"

# cgi_env METHOD URI BODYFILE: the CGI environment of a signed request.
cgi_env() {
	local sig
	sig=$(st_sign "$1" "$2" "$3")
	CGI_ENV=(env -i PATH="$PATH" SINGULARITY_CONF="$SINGULARITY_CONF"
	    GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 HTTPS=on
	    REQUEST_METHOD="$1" REQUEST_URI="$2"
	    CONTENT_LENGTH="$(stat -c %s "$3")"
	    HTTP_X_SINGULARITY_APIKEY="$API_KEY"
	    HTTP_X_SINGULARITY_SIGNATURE="$sig")
}

# cgi METHOD URI BODYFILE: run st-data once; prints the status code.
cgi() {
	cgi_env "$@"
	"${CGI_ENV[@]}" "$ST_DATA" < "$3" > "$T/cgi.out" ||
	    st_fail "st-data exited $?"
	sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/cgi.out"
}

sql() { st_mysql -N -B singularity -e "$1"; }

printf '{"name": "crash", "pilot_count": 2}' > "$T/create.json"
st_expect_eq "$(cgi POST /data "$T/create.json")" 201 "POST /data as CGI"
st_ok "st-data answers as plain CGI"

# A zip of 10 MiB, its base64 without line breaks.
python3 - "$T/big.zip" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("big.bin", os.urandom(10 * 1024 * 1024 - 200))
EOF
SHA=$(sha256sum "$T/big.zip" | cut -d' ' -f1)
base64 -w0 "$T/big.zip" > "$T/big.b64"
LEN=$(stat -c %s "$T/big.b64")
URI=/data/crash/shard/$SHA

# Half of the body through a FIFO, then SIGKILL.
mkfifo "$T/body.fifo"
cgi_env POST "$URI" "$T/big.b64"
"${CGI_ENV[@]}" "$ST_DATA" < "$T/body.fifo" > "$T/crash.out" 2>&1 &
PID=$!
st_track_pid "$PID"
exec 3> "$T/body.fifo"
head -c $((LEN / 2)) "$T/big.b64" >&3
tmpfile=
for i in $(seq 1 100); do
	tmpfile=$(find "$T/store/tmp" -name 'st-shard-*.tmp' -size +1M 2>/dev/null | head -1)
	[ -n "$tmpfile" ] && break
	sleep 0.1
done
[ -n "$tmpfile" ] || st_fail "no growing temporary file while uploading"
kill -0 "$PID" 2>/dev/null || st_fail "st-data ended before the kill: $(cat "$T/crash.out")"
kill -KILL "$PID"
wait "$PID" 2>/dev/null && st_fail "st-data survived SIGKILL"
exec 3>&-
st_ok "st-data killed with SIGKILL half-way through a 10 MiB upload"

st_expect_eq "$(find "$T/store/shards" -type f 2>/dev/null | wc -l)" 0 "files under a final name"
st_expect_eq "$(sql 'SELECT COUNT(*) FROM shards')" 0 "shards rows"
st_expect_eq "$(sql 'SELECT COUNT(*) FROM dataset_shards')" 0 "membership rows"
st_expect_eq "$(find "$T/store/tmp" -name 'st-shard-*.tmp' | wc -l)" 1 "temporary files left"
st_ok "no final file and no row; one temporary file left behind"

# An hour-old threshold keeps it (it was written seconds ago) ...
"$ST_ADMIN" gc > "$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "st-admin gc"; }
[ -f "$tmpfile" ] || st_fail "gc (default age) removed a fresh temporary file"
# ... --tmp-age 0 removes it.
"$ST_ADMIN" gc --tmp-age 0 > "$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "st-admin gc --tmp-age 0"; }
grep -q "removed temporary file tmp/${tmpfile##*/}" "$T/gc.out" || st_fail "gc output: $(cat "$T/gc.out")"
[ ! -e "$tmpfile" ] || st_fail "gc --tmp-age 0 left $tmpfile"
st_ok "st-admin gc --tmp-age 0 removes the leftover temporary file"

# The same upload, whole this time.
st_expect_eq "$(cgi POST "$URI" "$T/big.b64")" 201 "the upload again"
cmp -s "$T/big.zip" "$T/store/shards/${SHA:0:2}/${SHA:2:2}/$SHA.zip" || st_fail "stored shard differs"
st_expect_eq "$(sql 'SELECT COUNT(*) FROM dataset_shards')" 2 "membership rows after the retry"
st_expect_eq "$(find "$T/store/tmp" -type f | wc -l)" 0 "temporary files after the retry"
st_ok "the same upload then succeeds (201), stored whole"
