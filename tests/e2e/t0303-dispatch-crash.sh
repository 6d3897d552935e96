#!/bin/bash
# Crash safety (issue 5): `st-dispatch --loop 1` SIGKILLed at random moments
# and started again, over a batch of 20 short jobs on two engines: every
# job ends COMPLETED exactly once, with its predicted result, and the
# engines' events show one start per job container (no job ran twice).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0303-dispatch-crash
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_dk_watch "$SOCK_A"
st_dk_watch "$SOCK_B"
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
st_mariadb_start
st_db_setup
st_account dave
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 3 --ram-gb 8 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 3 --ram-gb 8 >/dev/null
st_dataset dave crash 0 3
st_batch dave production 1 0 1
for i in $(seq 1 20); do
	st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 0.$((RANDOM % 9 + 1))"
done

kills=0
end=$(( $(date +%s) + 120 ))
while [ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status <> 'COMPLETED'")" != 0 ]; do
	[ "$(date +%s)" -lt "$end" ] || { tail -30 "$T/dispatch.out" >&2; st_fail "jobs not done after 120 s"; }
	"$ST_DISPATCH" --loop 1 --verbose >>"$T/dispatch.out" 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	sleep "$((RANDOM % 2))"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || :
	echo "--- SIGKILL" >>"$T/dispatch.out"
done
[ "$kills" -ge 5 ] || st_fail "only $kills kills"
st_ok "20 jobs COMPLETED across $kills SIGKILLs of the dispatcher"

read -r want_sum want_count <"$T/expect/$DS_ID"
bad=$(st_sql "SELECT uuid FROM jobs WHERE JSON_VALUE(result, '\$.sum') <> $want_sum
    OR JSON_VALUE(result, '\$.count') <> $want_count OR error IS NOT NULL")
[ -z "$bad" ] || st_fail "wrong results: $bad"
for uuid in $(st_sql "SELECT uuid FROM jobs"); do
	n=$(( $(st_dk_starts "$SOCK_A" "st-job-$uuid") + $(st_dk_starts "$SOCK_B" "st-job-$uuid") ))
	st_expect_eq "$n" 1 "starts of st-job-$uuid"
done
"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1
for s in "$SOCK_A" "$SOCK_B"; do
	st_expect_eq "$(st_dk "$s" GET '/containers/json?all=1')" "[]" "containers left"
done
st_ok "every job started exactly once; results right; no container left"
