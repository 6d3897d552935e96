#!/bin/bash
# t9120-store-full.sh: the blob store's file system fills up. The store
# is a 4 MiB tmpfs; 1 MiB shards are uploaded through lighttpd until one
# does not fit:
#   - that upload is 507 insufficient_storage with a clear sentence;
#   - nothing half-written remains: no temporary file, no final name, no row;
#   - the shards accepted before are intact (st-admin fsck hashes them) and
#     listed in their set;
#   - the same responders go on serving: a small shard that fits is 201.
# Needs root for the mount (as in CI); skipped elsewhere when mount fails.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/faults/lib.sh"

st_init t9120-store-full
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
mount -t tmpfs -o size=4m,mode=0755 st-store-full "$T/store" 2>"$T/mount.err" ||
    st_skip "cannot mount a tmpfs on the store: $(cat "$T/mount.err")"
# The harness removes $T on exit: the tmpfs goes first (lazily, in case a
# responder still holds a file in it).
trap 'ST_RC=$?; set +e; umount -l "$T/store" 2>/dev/null; (exit $ST_RC); st_cleanup' EXIT
st_account full
st_lighttpd_start

printf '{"name": "full", "pilot_count": 2}' >"$T/req.json"
ST_GOT=$(st_req POST /data "$T/req.json")
st_check_status 201 "POST /data full"
SET=$(st_json dataset_uuid)
flt_responder_pids >"$T/pids.before"

# mkshard SIZE: a zip of SIZE random bytes in $T/s.zip, its base64 in
# $T/s.b64, its SHA-256 in SHA.
mkshard() {
	python3 - "$T/s.zip" "$1" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("part.bin", os.urandom(int(sys.argv[2])))
PY
	base64 -w0 "$T/s.zip" >"$T/s.b64"
	SHA=$(sha256sum "$T/s.zip" | cut -d' ' -f1)
}

accepted=""
full=""
for i in $(seq 1 8); do
	mkshard 1048576
	ST_GOT=$(st_req POST "/data/$SET/shard/$SHA" "$T/s.b64")
	case $ST_GOT in
	201) accepted="$accepted $SHA" ;;
	507) full=$SHA; break ;;
	*) st_check_status 201 "shard $i (1 MiB) into a 4 MiB store" ;;
	esac
done
[ -n "$full" ] || st_fail "8 MiB of shards fit in a 4 MiB store?"
st_check_error 507 insufficient_storage "shard upload into a full store"
err=$(st_json error)
case $err in
*space*|*room*|*storage*|*full*) ;;
*) st_fail "507 error sentence does not say what is wrong: '$err'" ;;
esac
naccepted=$(echo $accepted | wc -w)
[ "$naccepted" -ge 1 ] || st_fail "not even one shard fit"
st_ok "store full after $naccepted shards of 1 MiB: 507 insufficient_storage, \"$err\""

left=$(find "$T/store/tmp" -type f 2>/dev/null | wc -l)
st_expect_eq "$left" 0 "temporary files left in the store"
[ ! -e "$T/store/shards/${full:0:2}/${full:2:2}/$full.zip" ] ||
    st_fail "the refused shard has a final name"
st_expect_eq "$(flt_sql "SELECT COUNT(*) FROM shards WHERE sha256 = '$full'")" 0 "rows of the refused shard"
st_ok "nothing half-written: no temporary file, no final name, no row"

ST_GOT=$(st_req GET "/data/$SET")
st_check_status 200 "GET /data/full"
st_expect_eq "$(st_json shard_count)" "$naccepted" "shard_count of the set"
for s in $accepted; do
	[ "$(sha256sum "$T/store/shards/${s:0:2}/${s:2:2}/$s.zip" | cut -d' ' -f1)" = "$s" ] ||
	    st_fail "shard $s damaged"
done
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
grep -q "^fsck: $naccepted shards" "$T/fsck.out" || st_fail "fsck: $(tail -1 "$T/fsck.out")"
st_ok "the $naccepted earlier shards are intact ($(tail -1 "$T/fsck.out"))"

# The same upload again still does not fit, and still leaves nothing.
ST_GOT=$(st_req POST "/data/$SET/shard/$full" "$T/s.b64")
st_check_error 507 insufficient_storage "the same shard again"
st_expect_eq "$(find "$T/store/tmp" -type f | wc -l)" 0 "temporary files after a second refusal"

# Space for a small one is still there: the service goes on.
mkshard 16384
ST_GOT=$(st_req POST "/data/$SET/shard/$SHA" "$T/s.b64")
st_check_status 201 "a 16 KiB shard into what is left"
flt_responder_pids >"$T/pids.after"
cmp -s "$T/pids.before" "$T/pids.after" || st_fail "responder processes changed"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck at the end"; }
st_ok "a shard that fits is accepted afterwards by the same responders; fsck clean"
