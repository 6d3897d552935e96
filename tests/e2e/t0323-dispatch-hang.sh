#!/bin/bash
# A host whose engine hangs (accepts connections, never answers a byte:
# st_hang_start) registered beside a real Docker Engine (issue 12: a slow or
# dead host delays only its own jobs), st-dispatch --loop 1 with
# host_grace = 2:
#   a. a baseline job on the real engine alone: the same times measured
#      (the engine's debug log says when each call reached it);
#   b. the hung host registered: two jobs filling the real engine are
#      placed by the next iteration after their submission (1.3 s), their
#      start is asked of the engine within two loop intervals (2 s) of
#      that, their exit is looked at within 1 s and they are COMPLETED
#      within 5 s of it, while the hung host's first ping hangs (a call
#      waiting behind it would take 10 s); the third job, placed on the
#      hung host (still taken for reachable), waits;
#   c. the hung host ends marked unreachable (hosts.unreachable_since, its
#      last_error the ping's timeout);
#   d. the job placed on the hung host is requeued after host_grace (its
#      attempt 1 kept as host_failure on the hung host) and COMPLETES on
#      the real engine with the right sums; jobs submitted then (the hung
#      host unreachable, its next ping hanging) start and end as fast;
#   e. the loop stopped (SIGTERM) while a ping of the hung host hangs: the
#      call is given up, not taken for the host's failure (its last_error
#      stays the ping's timeout; the real engine is not marked);
#   f. st-dispatch --once with pass_budget = 4 and the hung host taken for
#      reachable again (its ping hangs past the budget): the pass returns
#      within the budget, it launched the job placed on the real engine,
#      and it marked the hung host unreachable for not answering within
#      the pass; later passes complete the job, each within the budget.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/netfaults.sh"

st_init t0323-dispatch-hang
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
# --debug: the engine logs when each call reaches it (times.py below).
ST_DOCKERD_ARGS=--debug st_dockerd_start good
st_test_image singularity/testai:1
st_hang_start unix
ST_CONF_EXTRA='
[dispatcher]
host_grace = 2'
st_mariadb_start
st_db_setup
st_account hugo
# Best fit puts a job on "good" while it has room (with less RAM, it is
# left the smaller fraction), then on "hung".
"$ST_ADMIN" host add good --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 4 >/dev/null
st_dataset hugo hang_set 0 2
read -r WANT_SUM WANT_COUNT <"$T/expect/$DS_ID"

FINAL="('COMPLETED','ERRORED','CANCELED')"
now() { date +%s.%N; }
# When a job is done: the seconds from its container's exit to the first
# time this test saw it final (polled every 0.2 s: that much slack).
declare -A SEEN_DONE
wait_done() {	# ID... : poll until every one is final, noting when
	local id t_end=$(( $(date +%s) + 90 )) left
	while :; do
		left=0
		for id in "$@"; do
			[ -n "${SEEN_DONE[$id]:-}" ] && continue
			if [ "$(st_sql "SELECT status IN $FINAL FROM jobs WHERE id = $id")" = 1 ]; then
				SEEN_DONE[$id]=$(st_sql "SELECT TIMESTAMPDIFF(MICROSECOND, finished_at, UTC_TIMESTAMP(6)) / 1e6 FROM jobs WHERE id = $id")
			else
				left=$((left + 1))
			fi
		done
		[ "$left" = 0 ] && return 0
		[ "$(date +%s)" -lt "$t_end" ] ||
		    { tail -30 "$T/loop.out" >&2; st_fail "jobs $* not final after 90 s"; }
		sleep 0.2
	done
}
# The engine's debug log says when each call reached it ("Calling POST
# /v1.41/containers/NAME/start"): what the dispatcher did when, apart from
# how long the engine took (seconds, under load, to start a container).
cat >"$T/times.py" <<'EOF'
import re, sys
from datetime import datetime, timezone
log, name = sys.argv[1], sys.argv[2]
created, placed, started, finished, seen = map(float, sys.argv[3:8])
calls = []
for line in open(log):
    m = re.match(r'time="([^"]+)" level=debug msg="Calling (\w+) /v[0-9.]+(\S+)"', line)
    if m:
        t = datetime.strptime(m.group(1)[:26], "%Y-%m-%dT%H:%M:%S.%f")
        calls.append((t.replace(tzinfo=timezone.utc).timestamp(), m.group(2), m.group(3)))
def first(method, path, after=0):
    return min(t for t, mt, p in calls if mt == method and p == path and t >= after)
start = first("POST", "/containers/%s/start" % name)
look = first("GET", "/containers/%s/json" % name, finished)
# placed, start asked, engine's start, looked at after the exit, COMPLETED seen
print("%.3f %.3f %.3f %.3f %.3f" % (placed - created, start - placed,
      started - start, look - finished, seen))
EOF
# job_times ID: "PLACE ASK RUN LOOK DONE" in seconds: from its submission
# (created_at) to its placement (placed_at), from there to the start the
# dispatcher asked the engine for, from there to the container's start
# (StartedAt: the engine's time), from the container's exit (FinishedAt)
# to the dispatcher's first look at it (the die event followed), from the
# exit to the first time this test saw it COMPLETED.
job_times() {
	local uuid
	uuid=$(st_sql "SELECT uuid FROM jobs WHERE id = $1")
	python3 "$T/times.py" "$T/docker-good.log" "st-job-$uuid" $(st_sql "SET time_zone = '+00:00';
	    SELECT UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(placed_at), UNIX_TIMESTAMP(started_at),
	    UNIX_TIMESTAMP(finished_at) FROM jobs WHERE id = $1") "${SEEN_DONE[$1]}" ||
	    st_fail "job $1: no times"
}
check_done() {	# ID HOST WHAT
	st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', j.status, h.name, JSON_VALUE(j.result, '\$.sum'),
	    JSON_VALUE(j.result, '\$.count')) FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE j.id = $1")" \
	    "COMPLETED $2 $WANT_SUM $WANT_COUNT" "$3: status, host, sum, count"
}
# in_time ID...: each job placed by the next iteration after its
# submission (one loop interval, 1 s, and 0.3 s for the iteration's own
# work); its start asked of the engine within two loop intervals of its
# placement (the launch's calls: image, data, create, /output, start);
# looked at within 1 s of its exit; COMPLETED within 5 s of its exit. A
# call of the good engine waiting behind the hung one would take 10 s.
in_time() {
	local id p l r k c
	for id in "$@"; do
		read -r p l r k c <<<"$(job_times "$id")"
		python3 -c 'import sys; p, l, k, c = map(float, sys.argv[1:]); sys.exit(not (0 <= p <= 1.3 and 0 <= l <= 2.0 and 0 <= k <= 1.0 and c <= 5.0))' \
		    "$p" "$l" "$k" "$c" ||
		    st_fail "job $id placed $p s after its submission (at most 1.3), its start asked $l s after that (at most 2), looked at $k s after its exit (at most 1), COMPLETED $c s after its exit (at most 5)"
	done
}
times_of() {
	local id out=""
	for id in "$@"; do
		out="$out${out:+; }$(job_times "$id" | awk '{ printf "placed %.2f s, start asked %.2f s later, running %.2f s later; exit looked at in %.2f s, COMPLETED in %.2f s", $1, $2, $3, $4, $5 }')"
	done
	echo "$out"
}

"$ST_DISPATCH" --loop 1 --verbose >"$T/loop.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"

# --- a. the baseline: the real engine alone ------------------------------------------

st_batch hugo production 1 0 0.5
st_job "$DS_ID" singularity/testai 1 "sleep 1; /train.sh"; W=$JOB_ID
wait_done "$W"
check_done "$W" good "the baseline job"
BASE=$(times_of "$W")
st_ok "baseline on the real engine alone: $BASE (its data filled first)"

# --- b. the hung host beside it ----------------------------------------------------------

"$ST_ADMIN" host add hung --endpoint "$HANG_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
HUNG_ID=$(st_sql "SELECT id FROM hosts WHERE name = 'hung'")
sleep 2		# the loop's next iteration began pinging it
st_expect_eq "$(st_sql "SELECT unreachable_since IS NULL FROM hosts WHERE id = $HUNG_ID")" 1 \
    "the hung host, before its ping timed out, taken for reachable"
st_batch hugo production 2 0 0.5
st_job "$DS_ID" singularity/testai 1 "sleep 2; /train.sh"; J1=$JOB_ID
st_job "$DS_ID" singularity/testai 1 "sleep 2; /train.sh"; J2=$JOB_ID
st_job "$DS_ID" singularity/testai 1 "sleep 1; /train.sh"; J3=$JOB_ID
wait_done "$J1" "$J2"
check_done "$J1" good "job 1"
check_done "$J2" good "job 2"
in_time "$J1" "$J2"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', j.status, h.name) FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE j.id = $J3")" \
    "PENDING hung" "job 3, placed on the hung host"
st_ok "the hung host's ping hanging: jobs on the real engine placed at the next iteration, their start asked within 2 loop intervals, their exit looked at at once ($(times_of "$J1" "$J2"); baseline $BASE); job 3 waits on the hung host"

# --- c. marked unreachable ---------------------------------------------------------------

for _ in $(seq 1 150); do
	[ "$(st_sql "SELECT unreachable_since IS NOT NULL FROM hosts WHERE id = $HUNG_ID")" = 1 ] && break
	sleep 0.1
done
st_expect_eq "$(st_sql "SELECT unreachable_since IS NOT NULL FROM hosts WHERE id = $HUNG_ID")" 1 "the hung host marked unreachable"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM hosts WHERE unreachable_since IS NOT NULL")" 1 "hosts marked unreachable"
err=$(st_sql "SELECT last_error FROM hosts WHERE id = $HUNG_ID")
case $err in
*_ping*) ;;
*) st_fail "the hung host's last_error: '$err'" ;;
esac
down_after=$(st_sql "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, unreachable_since) / 1e6 FROM hosts WHERE id = $HUNG_ID")
st_ok "the hung host marked unreachable ${down_after} s after it was added ($err)"

# --- d. the job placed on the hung host requeued; new jobs as fast ------------------------

wait_done "$J3"
check_done "$J3" good "job 3"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', j.attempt, a.attempt, a.host_name, a.failure) FROM jobs j
    JOIN job_attempts a ON a.job_id = j.id WHERE j.id = $J3")" "2 1 hung host_failure" "job 3's attempts"
J3U=$(st_sql "SELECT uuid FROM jobs WHERE id = $J3")
grep -q "job $J3U requeued: host hung was unreachable for more than 2 s" "$T/loop.out" ||
    st_fail "no requeue line of job 3: $(grep "$J3U" "$T/loop.out")"
requeued_after=$(st_sql "SELECT TIMESTAMPDIFF(MICROSECOND, h.unreachable_since, j.placed_at) / 1e6
    FROM jobs j, hosts h WHERE j.id = $J3 AND h.id = $HUNG_ID")
python3 -c 'import sys; sys.exit(not 2.0 <= float(sys.argv[1]) <= 5.0)' "$requeued_after" ||
    st_fail "job 3 placed again $requeued_after s after the hung host was marked unreachable (host_grace 2 s)"
st_ok "the job placed on the hung host was requeued after host_grace and placed on the real engine ${requeued_after} s after the host was marked unreachable; COMPLETED"

# Jobs submitted now, the hung host unreachable, its next ping hanging.
st_batch hugo production 0.5 0 0.5
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J4=$JOB_ID
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J5=$JOB_ID
wait_done "$J4" "$J5"
check_done "$J4" good "job 4"
check_done "$J5" good "job 5"
in_time "$J4" "$J5"
st_ok "jobs submitted while the hung host is unreachable and its pings still hang: $(times_of "$J4" "$J5")"

# --- e. stopped while a ping of the hung host hangs (one always does) -----------------------

# That call is given up, not taken for the host's answer.
kill -TERM "$LOOP"
wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', name, unreachable_since IS NOT NULL) FROM hosts ORDER BY id" | paste -sd,)" \
    "good 0,hung 1" "hosts marked unreachable after SIGTERM"
err=$(st_sql "SELECT last_error FROM hosts WHERE id = $HUNG_ID")
case $err in
*"timed out"*) ;;
*) st_fail "the hung host's last_error after SIGTERM: '$err', want the ping's timeout" ;;
esac
st_ok "SIGTERM while its ping hangs: the hung host's last error is still the ping's timeout; the real engine is not marked"

# --- f. --once with a pass_budget shorter than the ping's timeout ---------------------------

sed 's/^host_grace = 2$/host_grace = 2\npass_budget = 4/' "$SINGULARITY_CONF" >"$T/once.conf"
grep -q '^pass_budget = 4$' "$T/once.conf" || st_fail "no pass_budget in $T/once.conf"
# The hung host as if it had answered again, then hung.
st_sql "UPDATE hosts SET unreachable_since = NULL, last_error = NULL WHERE id = $HUNG_ID"
st_batch hugo production 1 0 0.5
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J6=$JOB_ID
t0=$(now)
"$ST_DISPATCH" -c "$T/once.conf" --once --verbose >>"$T/once.out" 2>&1 || st_fail "st-dispatch --once"
t1=$(now)
took=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 5.5)' "$took" ||
    st_fail "st-dispatch --once with pass_budget 4 took $took s"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', j.status IN ('PROCESSING','PROCESSED','UPLOADING','COMPLETED'), h.name) FROM jobs j
    JOIN hosts h ON h.id = j.host_id WHERE j.id = $J6")" "1 good" "job 6 launched on the real engine in that pass"
st_expect_eq "$(st_sql "SELECT unreachable_since IS NOT NULL FROM hosts WHERE id = $HUNG_ID")" 1 \
    "the hung host marked unreachable by a pass it never answered"
err=$(st_sql "SELECT last_error FROM hosts WHERE id = $HUNG_ID")
case $err in
*"did not answer GET /_ping within the pass (pass_budget 4 s)") ;;
*) st_fail "the hung host's last_error after the pass: '$err'" ;;
esac
st_expect_eq "$(st_sql "SELECT unreachable_since IS NULL FROM hosts WHERE name = 'good'")" 1 "the real engine, reachable"
for _ in $(seq 1 10); do
	[ "$(st_sql "SELECT status FROM jobs WHERE id = $J6")" = COMPLETED ] && break
	t0=$(now)
	"$ST_DISPATCH" -c "$T/once.conf" --once --verbose >>"$T/once.out" 2>&1 || st_fail "st-dispatch --once"
	t1=$(now)
	python3 -c 'import sys; sys.exit(not float(sys.argv[2]) - float(sys.argv[1]) <= 5.5)' "$t0" "$t1" ||
	    st_fail "a later st-dispatch --once with pass_budget 4 took more than 5.5 s"
done
check_done "$J6" good "job 6"
st_ok "st-dispatch --once with pass_budget 4 and the hung host: the pass returned in $took s, launched job 6 on the real engine and marked the hung host unreachable; later passes completed it"
