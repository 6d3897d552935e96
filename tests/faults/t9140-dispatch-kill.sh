#!/bin/bash
# t9140-dispatch-kill.sh: st-dispatch SIGKILLed at random points over N jobs
# (DISPATCH_KILL_JOBS, default 10; `make soak` runs 200) submitted with
# POST /batch through lighttpd over HTTPS, on two real Docker engines, while
# a few jobs are cancelled with DELETE /job/{id} at random moments:
#   - every job ends final exactly once: one final transition in the
#     dispatchers' log, COMPLETED ones with the right result, CANCELED ones
#     only among those cancelled;
#   - no job container was ever started twice (the engines' events);
#   - nothing is left: no container, allocations zero, st-admin fsck clean;
#   - the API agrees: GET /batch/{id} counts every job where SQL does.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/faults/lib.sh"

N=${DISPATCH_KILL_JOBS:-10}
st_init t9140-dispatch-kill
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"

# The engines' container start events, streamed from now on: an engine keeps
# only its last 256 events, far fewer than a run of 200 jobs makes, so the
# history cannot be asked for afterwards.
start_filter='%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D'
for s in "$SOCK_A" "$SOCK_B"; do
	curl -sSN --unix-socket "$s" \
	    "http://localhost/v1.41/events?filters=$start_filter" >>"$T/events" &
	st_track_pid $!
done
st_mariadb_start
st_db_setup
st_account killer
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 4 --ram-gb 16 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 4 --ram-gb 16 >/dev/null
st_dataset killer kill 0 2
read -r want_sum want_count <"$T/expect/$DS_ID"
st_lighttpd_start

# The batch, through the web server.
python3 - "$N" "$DS_UUID" >"$T/batch.json" <<'PY'
import json, random, sys
n, ds = int(sys.argv[1]), sys.argv[2]
jobs = [{"command": "/train.sh --sleep 0.%d" % random.randint(1, 9),
         "image": "singularity/testai", "image_tag": "1", "data_set_id": ds}
        for _ in range(n)]
print(json.dumps({"mode": "production", "jobs": jobs,
                  "requisitions": {"cpu": 1, "gpu": 0}}), end="")
PY
ST_GOT=$(st_req POST /batch "$T/batch.json")
st_check_status 201 "POST /batch of $N jobs"
BATCH=$(st_json batch_uuid)
st_expect_eq "$(st_json successful)" "$N" "jobs accepted"
JOBS=$(st_sql "SELECT uuid FROM jobs ORDER BY idx")
: >"$T/cancelled"

kills=0 cancels=0 round=0
start=$(date +%s)
limit=$((120 + N * 3))
while [ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')
    OR cancel_requested = 1")" != 0 ]; do
	[ $(( $(date +%s) - start )) -lt "$limit" ] ||
	    { tail -30 "$T/dispatch.out" >&2; st_fail "jobs not final after $limit s"; }
	"$ST_DISPATCH" --loop 1 >>"$T/dispatch.out" 2>&1 &
	pid=$!
	sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
	# Now and then a job is cancelled through the API, whatever its state.
	round=$((round + 1))
	if [ $((round % 4)) = 2 ] && [ "$cancels" -lt $((N / 5 + 1)) ]; then
		u=$(printf '%s\n' $JOBS | shuf -n 1)
		got=$(st_req DELETE "/job/$u")
		case $got in
		200) echo "$u" >>"$T/cancelled" ;;
		409) ;;	# finishing or final already
		*) st_check_status 200 "DELETE /job/$u" ;;
		esac
		cancels=$((cancels + 1))
	fi
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || :
	echo "--- SIGKILL" >>"$T/dispatch.out"
done
took=$(( $(date +%s) - start ))
[ "$kills" -ge 3 ] || st_fail "only $kills kills"
st_ok "$N jobs final across $kills SIGKILLs of the dispatcher and $cancels cancels in $took s"

# Exactly once: one final transition per job in the log of all the runs.
python3 - "$T/singularity.log" $JOBS <<'PY' || st_fail "a job reached a final state more than once (or never)"
import re, sys
log = open(sys.argv[1]).read()
bad = 0
for u in sys.argv[2:]:
    n = len(re.findall(r"job %s: \w+ -> (COMPLETED|ERRORED)\b" % u, log))
    c = len(re.findall(r"job %s: \w+ -> CANCELED\b" % u, log))
    if n > 1 or c > 1 or (n and c):
        print("job %s: %d completions/errors, %d cancels in the log" % (u, n, c), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
bad=$(st_sql "SELECT uuid FROM jobs WHERE status = 'COMPLETED' AND (JSON_VALUE(result, '\$.sum') <> $want_sum
    OR JSON_VALUE(result, '\$.count') <> $want_count OR result IS NULL)")
[ -z "$bad" ] || st_fail "COMPLETED jobs with a wrong result: $bad"
for u in $(st_sql "SELECT uuid FROM jobs WHERE status = 'CANCELED'"); do
	grep -qx "$u" "$T/cancelled" || st_fail "job $u CANCELED but never cancelled"
done
errored=$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'ERRORED'")
st_expect_eq "$errored" 0 "ERRORED jobs ($(st_sql "SELECT GROUP_CONCAT(DISTINCT error) FROM jobs WHERE status = 'ERRORED'"))"
counts=$(st_sql "SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status" | tr '\t\n' ': ')
st_ok "every job final exactly once, results right, cancels only where asked ($counts)"

# No container started twice: the engines' start events.
sleep 1	# the last events reach the streams
python3 - "$T/events" $JOBS <<'PY' || st_fail "a job container started more than once"
import re, sys
names = re.findall(r'"name":"(st-job-[0-9a-f-]+)"', open(sys.argv[1]).read())
bad = [n for n in set(names) if names.count(n) > 1]
for n in bad:
    print("%s started %d times" % (n, names.count(n)), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
for u in $(st_sql "SELECT uuid FROM jobs WHERE status = 'COMPLETED'"); do
	grep -q "\"name\":\"st-job-$u\"" "$T/events" || st_fail "COMPLETED job $u never started"
done
st_ok "no job container started twice ($(grep -o '"name":"st-job-' "$T/events" | wc -l) starts for $N jobs)"

"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "a last st-dispatch --once"
for s in "$SOCK_A" "$SOCK_B"; do
	st_expect_eq "$(st_dk "$s" GET '/containers/json?all=1')" "[]" "containers left"
done
st_expect_eq "$(flt_allocations | tr '\t' ' ' | paste -sd ';')" "a 0.000 0 0.000;b 0.000 0 0.000" "allocations (cpu gpu ram)"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
st_ok "nothing left: no container, allocations zero, $(tail -1 "$T/fsck.out")"

ST_GOT=$(st_req GET "/batch/$BATCH")
st_check_status 200 "GET /batch/$BATCH"
python3 - "$T/resp.body" "$N" "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'COMPLETED'")" \
    "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'CANCELED'")" <<'PY' ||
import json, sys
b = json.load(open(sys.argv[1]))[0]
want = {"job_count": int(sys.argv[2]), "completed": int(sys.argv[3]),
        "canceled": int(sys.argv[4]), "errored": 0, "queued": 0, "pending": 0,
        "processing": 0, "processed": 0, "uploading": 0}
got = {k: b.get(k) for k in want}
if got != want:
    print("GET /batch: %s, the database: %s" % (got, want), file=sys.stderr)
    sys.exit(1)
PY
    st_fail "GET /batch disagrees with the database"
st_ok "GET /batch/{id} agrees with the database"
