#!/bin/bash
# Jobs that end badly, on a real Docker Engine (issue 5): exit code 3, an
# OOM kill, the time limit (3 s here) with its partial model kept, an image
# that does not exist, a result.json that is not a JSON object; a running
# job cancelled (container stopped and gone after the next pass, partial
# model kept) and a queued one cancelled (no container ever).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0302-dispatch-errors
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
SOCK=$DK_SOCK
st_dk_watch "$SOCK"
st_test_image singularity/testai:1
ST_CONF_EXTRA='
[time_limits]
pilot = 3

[dispatcher]
stop_grace = 1'
st_mariadb_start
st_db_setup
st_account bob
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 8 --ram-gb 16 >/dev/null
st_dataset bob nums 1 2
PILOT=${PILOT_IDS# }

st_batch bob pilot 0.5 0 0.25
st_job "$PILOT" singularity/testai 1 "/train.sh --exit 3"; J_EXIT=$JOB_ID
st_job "$PILOT" singularity/testai 1 "/train.sh --sleep 30"; J_LIMIT=$JOB_ID
st_job "$PILOT" nosuch/image v1 "/train.sh"; J_IMAGE=$JOB_ID
st_job "$PILOT" singularity/testai 1 "/train.sh; echo '[1, 2]' > /output/result.json"; J_BADRES=$JOB_ID
st_batch bob production 0.5 0 0.032	# no 3 s limit: a slow OOM stays an OOM
st_job "$DS_ID" singularity/testai 1 "/train.sh --mem 100"; J_OOM=$JOB_ID
st_batch bob production 0.5 0 0.25
st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 60"; J_CANCEL=$JOB_ID
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J_QCANCEL=$JOB_ID
st_cancel_job "$J_QCANCEL"
Q_UUID=$(st_sql "SELECT uuid FROM jobs WHERE id = $J_QCANCEL")

# The running job to cancel: wait until it runs, then cancel it.
end=$(( $(date +%s) + 30 ))
until [ "$(st_sql "SELECT status FROM jobs WHERE id = $J_CANCEL")" = PROCESSING ]; do
	"$ST_DISPATCH" --once --verbose >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch failed"
	[ "$(date +%s)" -lt "$end" ] || st_fail "job $J_CANCEL never ran"
	sleep 0.3
done
C_UUID=$(st_sql "SELECT uuid FROM jobs WHERE id = $J_CANCEL")
sleep 0.5
st_cancel_job "$J_CANCEL"
st_expect_eq "$(st_sql "SELECT cancel_requested FROM jobs WHERE id = $J_CANCEL")" 1 "cancel_requested"

st_dispatch_until 60 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED') OR cancel_requested = 1"

# row ID: status|exit_code|oom_killed|error
row() { st_sql "SELECT CONCAT_WS('|', status, IFNULL(exit_code, 'null'), oom_killed, IFNULL(error, 'null')) FROM jobs WHERE id = $1"; }

st_expect_eq "$(row "$J_EXIT")" "ERRORED|3|0|exited with code 3" "exit 3"
st_ok "exit code 3: ERRORED with exit_code 3"

got=$(row "$J_OOM")
case $got in
"ERRORED|"*"|1|killed: out of memory (limit 0.032 GB)") ;;
*) st_fail "OOM: got '$got'" ;;
esac
st_ok "over the memory limit: ERRORED naming the OOM kill"

got=$(row "$J_LIMIT")
case $got in
ERRORED\|*\|0\|"time limit exceeded") ;;
*) st_fail "time limit: got '$got'" ;;
esac
pt=$(st_sql "SELECT processing_time_ms FROM jobs WHERE id = $J_LIMIT")
[ "$pt" -ge 3000 ] && [ "$pt" -lt 20000 ] || st_fail "time limit: processing_time_ms $pt"
L_UUID=$(st_sql "SELECT uuid FROM jobs WHERE id = $J_LIMIT")
[ -n "$(st_sql "SELECT model_sha256 FROM jobs WHERE id = $J_LIMIT")" ] || st_fail "time limit: no partial model"
python3 -c 'import sys, zipfile; n = sorted(zipfile.ZipFile(sys.argv[1]).namelist()); assert n == ["model/params.txt", "model/weights.txt", "summary.txt"], n' \
    "$T/store/models/${L_UUID:0:2}/$L_UUID.zip" || st_fail "time limit: partial model"
grep -q 'sleeping 30 s' "$T/store/logs/${L_UUID:0:2}/$L_UUID.log" || st_fail "time limit: log"
st_ok "past the time limit: SIGTERM, ERRORED 'time limit exceeded', partial model and log kept"

got=$(row "$J_IMAGE")
case $got in
ERRORED\|null\|0\|*nosuch/image:v1*) ;;
*) st_fail "missing image: got '$got'" ;;
esac
st_ok "an image that does not exist: ERRORED naming it ($(st_sql "SELECT error FROM jobs WHERE id = $J_IMAGE" | cut -c1-90)...)"

st_expect_eq "$(row "$J_BADRES")" "COMPLETED|0|0|/output/result.json is not a JSON object" "bad result.json"
st_expect_eq "$(st_sql "SELECT result FROM jobs WHERE id = $J_BADRES")" "{}" "result of a bad result.json"
st_ok "a result.json that is not an object: COMPLETED with {} and the error recorded"

st_expect_eq "$(row "$J_CANCEL")" "CANCELED|null|0|null" "cancelled running job"
st_expect_eq "$(st_dk "$SOCK" GET "/containers/st-job-$C_UUID/json" -o /dev/null -w '%{http_code}')" 404 "container of the cancelled job"
[ -n "$(st_sql "SELECT model_sha256 FROM jobs WHERE id = $J_CANCEL")" ] || st_fail "cancel: no partial model"
grep -q 'sent SIGTERM to st-job-' "$T/dispatch.out" || st_fail "cancel: no SIGTERM"
st_ok "cancel of a running job: stopped, container gone, CANCELED, partial model kept"

st_expect_eq "$(row "$J_QCANCEL")" "CANCELED|null|0|null" "cancelled queued job"
st_expect_eq "$(st_dk_starts "$SOCK" "st-job-$Q_UUID")" 0 "starts of the job cancelled while queued"
st_expect_eq "$(st_dk "$SOCK" GET '/containers/json?all=1')" "[]" "containers left"
st_ok "cancel of a queued job: no container ever started; nothing left on the engine"
