#!/bin/bash
# t9130-docker-faults.sh: Docker hosts failing under a running dispatcher
# (`st-dispatch --loop 1`, real dockerd engines "a" and "b", host_grace 4 s):
#   1. engine a restarted while its jobs run: they end ERRORED with the
#      reason (their containers died with the engine) or COMPLETED, never
#      stay PROCESSING;
#   2. engine b cut off (stopped) for longer than the grace period while its
#      jobs run: they are requeued (the default retry policy: 3 attempts
#      on host_failure) and COMPLETE on host a as a later attempt;
#   3. engine b comes back: the containers it still holds of the requeued
#      jobs' first attempts are removed by the dispatcher's sweep;
# and at the end every job is final, every allocation is back to zero and
# no container is left on either engine.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/faults/lib.sh"

st_init t9130-docker-faults
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
flt_dockerd_remember "$SOCK_A"
flt_dockerd_remember "$SOCK_B"
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
ST_CONF_EXTRA="
[dispatcher]
host_grace = 4
stop_grace = 1
"
st_mariadb_start
st_db_setup
st_account ops
# a: 4 CPUs, b: 2. Four 1-CPU jobs go two to b (the best fit) and two
# to a, which keeps room for the two of b once b is lost.
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 4 --ram-gb 8 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 2 --ram-gb 8 >/dev/null
st_dataset ops faults 0 2
read -r want_sum want_count <"$T/expect/$DS_ID"
st_batch ops production 1 0 1
for i in 1 2 3 4; do
	st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 10"
done

"$ST_DISPATCH" --loop 1 >>"$T/dispatch.out" 2>&1 &
DISP=$!
st_track_pid "$DISP"
flt_wait_sql 30 "SELECT COUNT(*) FROM jobs WHERE status <> 'PROCESSING'" ||
    { tail -20 "$T/dispatch.out" >&2; st_fail "the 4 jobs are not all PROCESSING after 30 s"; }
ON_A=$(st_sql "SELECT j.uuid FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE h.name = 'a'")
ON_B=$(st_sql "SELECT j.uuid FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE h.name = 'b'")
st_expect_eq "$(echo $ON_A | wc -w) $(echo $ON_B | wc -w)" "2 2" "jobs on a and b"
st_ok "4 jobs PROCESSING, 2 on each host"

# 2. Engine b is cut off; 1. engine a restarts under its jobs.
st_dockerd_stop "$SOCK_B"
cut_at=$(date +%s)
st_ok "engine b cut off under 2 running jobs"
t0=$(date +%s.%N)
flt_dockerd_respawn "$SOCK_A"
st_ok "engine a restarted under 2 running jobs (down for $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"

# Every job ends: none stays PROCESSING (or anything else not final).
flt_wait_sql 90 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')" ||
    { tail -30 "$T/dispatch.out" >&2; st_fail "jobs not final 90 s after the faults"; }
took=$(( $(date +%s) - cut_at ))
for u in $ON_A; do
	row=$(st_sql "SELECT status, COALESCE(error, '') FROM jobs WHERE uuid = '$u'")
	case $row in
	COMPLETED*) ;;
	ERRORED*?) ;;
	*) st_fail "job $u of host a: '$row' (want COMPLETED, or ERRORED with a reason)" ;;
	esac
done
st_ok "every job final $took s after the faults; those of the restarted engine: $(st_sql "SELECT GROUP_CONCAT(CONCAT(status, ' (', COALESCE(error, 'ok'), ', requeues ', requeues, ')') SEPARATOR '; ') FROM jobs WHERE uuid IN ('$(echo $ON_A | sed "s/ /','/g")')")"

# The jobs of b: requeued after the grace period, completed on a.
for u in $ON_B; do
	row=$(st_sql "SELECT j.status, h.name, j.requeues > 0, j.attempt > 1, JSON_VALUE(j.result, '\$.sum'), JSON_VALUE(j.result, '\$.count')
	    FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE j.uuid = '$u'" | tr '\t' ' ')
	st_expect_eq "$row" "COMPLETED a 1 1 $want_sum $want_count" "job $u of the lost host (status, host, requeued, retried, sum, count)"
done
st_ok "the jobs of the cut-off host were requeued after the 4 s grace and COMPLETED on a with the right results"

st_expect_eq "$(flt_allocations | tr '\t' ' ' | paste -sd ';')" "a 0.000 0 0.000;b 0.000 0 0.000" "allocations (cpu gpu ram) once the queue drained"
st_ok "queue drained: every job final, allocations back to zero on both hosts"

# 3. b comes back holding the dead containers of the requeued jobs.
flt_dockerd_respawn "$SOCK_B"
n=$(st_dk "$SOCK_B" GET '/containers/json?all=1' | grep -o '"Id"' | wc -l)
echo "# engine b came back with $n containers"
end=$(( $(date +%s) + 30 ))
until [ "$(st_dk "$SOCK_B" GET '/containers/json?all=1')" = "[]" ] &&
    [ "$(st_dk "$SOCK_A" GET '/containers/json?all=1')" = "[]" ]; do
	[ "$(date +%s)" -lt "$end" ] || { tail -20 "$T/dispatch.out" >&2; st_fail "containers left on the engines"; }
	sleep 0.5
done
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM hosts WHERE unreachable_since IS NOT NULL")" 0 "hosts still marked unreachable"
kill -0 "$DISP" || st_fail "the dispatcher died"
st_ok "engine b back: its $n stale containers swept, none left anywhere; the same dispatcher ran throughout"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
st_ok "$(tail -1 "$T/fsck.out")"
