#!/bin/bash
# t9110-mariadb-restart.sh: MariaDB restarted (once cleanly, once killed
# with SIGKILL) while 16 clients read and write through lighttpd over HTTPS:
# GET /account, GET /data, GET /data/{set}, POST /data, shard uploads and
# POST /batch (tests/faults/loadgen.py).
#   - requests in flight get 503 with Retry-After (the responders' JSON
#     error), never a 500, a 502 from lighttpd or a dropped connection;
#   - the responders survive it (same pids before and after) and every route
#     group answers again without a restart of its own;
#   - nothing is half-written: every batch holds all the jobs of its
#     request, every set its pilots, every shard answered 2xx is in the set
#     and one pilot, and st-admin fsck finds every accepted shard whole.
# FAULT_SECONDS (default 12) sets the length of the run.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/faults/lib.sh"

flt_stack t9110-mariadb-restart
"$ST_ADMIN" host add gpu1 --endpoint unix:///nonexistent/docker.sock \
    --cpus 64 --ram-gb 512 >/dev/null || st_fail "host add"
flt_set base 2 2
flt_responder_pids >"$T/pids.before"
flt_every_group_answers

secs=${FAULT_SECONDS:-12}
flt_loadgen --threads 16 --duration "$secs" --set "$SET" --shard-bytes 16384 \
    --batch-jobs 3 --allow 200,201,503 --ledger "$T/ledger.json" \
    --mix account=3,data_list=2,data_get=2,data_create=2,shard_upload=1,batch_create=2 \
    >"$T/loadgen.out" 2>&1 &
LG=$!

# Restart 1: clean shutdown. Restart 2: SIGKILL (InnoDB crash recovery).
sleep 2
st_mariadb_stop
sleep 2
st_mariadb_run
sleep $((secs / 2 - 3))
kill -KILL "$ST_MARIADB_PID"
wait "$ST_MARIADB_PID" 2>/dev/null || :
sleep 2
st_mariadb_run
wait "$LG" && lg=0 || lg=$?
cat "$T/loadgen.out"
[ "$lg" = 0 ] || st_fail "loadgen saw answers other than 200/201/JSON 503 with Retry-After"

n503=$(python3 -c 'import json,sys; L=json.load(open(sys.argv[1])); print(sum(r["statuses"].get("503",0) for r in L["requests"].values()))' "$T/ledger.json")
nok=$(python3 -c 'import json,sys; L=json.load(open(sys.argv[1])); print(sum(r["statuses"].get("200",0)+r["statuses"].get("201",0) for r in L["requests"].values()))' "$T/ledger.json")
[ "$n503" -gt 0 ] || st_fail "no request met the restarts (no 503 at all): the fault was not exercised"
[ "$nok" -gt 0 ] || st_fail "no request succeeded"
st_ok "16 clients through two MariaDB restarts: $nok answered 2xx, $n503 answered 503 with Retry-After, nothing else"

flt_every_group_answers
flt_responder_pids >"$T/pids.after"
cmp -s "$T/pids.before" "$T/pids.after" || {
	diff "$T/pids.before" "$T/pids.after" >&2
	st_fail "responder processes changed (crashed or restarted)"
}
grep -q reconnect "$T/singularity.log" || st_fail "the log does not show the reconnects"
st_ok "every route group answers again with the same $(wc -l <"$T/pids.after") responder processes"

flt_check_ledger "$T/ledger.json" 2 3
st_ok "no write lost, no batch half-written, every set with its pilots"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
st_ok "$(tail -1 "$T/fsck.out")"
if grep -Eq 'backend (died|is overloaded)|child (exited|signaled)' "$T/lighttpd-error.log"; then
	grep -E 'backend|child' "$T/lighttpd-error.log" >&2
	st_fail "lighttpd saw a responder die"
fi
st_ok "lighttpd's error log shows no responder death"
