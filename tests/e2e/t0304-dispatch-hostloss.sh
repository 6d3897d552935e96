#!/bin/bash
# A host lost mid-job (issue 5): its engine stopped while two jobs run on
# it; after the grace period (3 s here) they go back to QUEUED and finish
# on the other host; the lost host is recorded unreachable with the reason.
# Each requeue keeps the lost attempt (class host_failure) and the job's
# next attempt runs in a container of its own. Jobs that only the lost host
# could hold wait with hosts_unreachable; a job whose batch's retry policy
# allows no further attempt ends ERRORED.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0304-dispatch-hostloss
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_dk_watch "$SOCK_B"
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
ST_CONF_EXTRA='
[dispatcher]
host_grace = 3'
st_mariadb_start
st_db_setup
st_account erin
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 4 --ram-gb 8 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 2 --ram-gb 8 >/dev/null
"$ST_ADMIN" host drain b >/dev/null
st_dataset erin lost 0 2
st_batch erin production 1 0 1
st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 4"; J1=$JOB_ID U1=$JOB_UUID
st_batch erin production 1 0 1
st_sql "UPDATE batches SET retry_attempts = 1 WHERE id = $BATCH_ID"	# no retry
st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 4"; J2=$JOB_ID
st_batch erin production 3 0 1
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J3=$JOB_ID	# 3 CPUs: only a

st_dispatch_until 30 "SELECT COUNT(*) FROM jobs WHERE id IN ($J1, $J2) AND status <> 'PROCESSING'"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE h.name = 'a' AND j.id IN ($J1, $J2)")" 2 "jobs on host a"
"$ST_ADMIN" host enable b >/dev/null
st_dockerd_stop "$SOCK_A"
t0=$(date +%s)

st_dispatch_until 60 "SELECT COUNT(*) FROM jobs WHERE id IN ($J1, $J2) AND status NOT IN ('COMPLETED','ERRORED')"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', j.status, h.name, j.requeues, j.attempt) FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE j.id = $J1")" \
    "COMPLETED b 1 2" "requeued job (status, host, requeues, attempt)"
st_expect_eq "$(st_sql "SELECT CONCAT_WS(' ', attempt, host_name, failure, exit_code IS NULL, error) FROM job_attempts WHERE job_id = $J1")" \
    "1 a host_failure 1 host a was unreachable for more than 3 s" "the lost attempt"
[ "$(st_dk_starts "$SOCK_B" "st-job-$U1-2")" = 1 ] || st_fail "attempt 2 did not run as st-job-$U1-2 on b"
[ $(( $(date +%s) - t0 )) -ge 3 ] || st_fail "requeued before the grace period"
grep -q "requeued: host a was unreachable for more than 3 s; attempt 2 of 3 next" "$T/dispatch.out" || st_fail "no requeue line"
st_ok "a job of a lost host: attempt kept, requeued after the grace period, COMPLETED on the other host as attempt 2"

got=$(st_sql "SELECT CONCAT(status, ': ', error, ' ', attempt) FROM jobs WHERE id = $J2")
case $got in
"ERRORED: host a was unreachable for more than 3 s 1") ;;
*) st_fail "job of a batch allowing one attempt: $got" ;;
esac
st_ok "a job whose batch allows one attempt: ERRORED with the reason"

st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', pending_reason) FROM jobs WHERE id = $J3")" \
    "QUEUED hosts_unreachable" "a job only the lost host can hold"
st_expect_eq "$(st_sql "SELECT unreachable_since IS NOT NULL AND last_error LIKE '%cannot reach%' FROM hosts WHERE name = 'a'")" 1 "host a recorded unreachable"
st_ok "the lost host is recorded unreachable; what only it can hold waits (hosts_unreachable)"
