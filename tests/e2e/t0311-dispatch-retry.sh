#!/bin/bash
# Retries with kept attempts (issue 8, part), through lighttpd over HTTPS,
# MariaDB, st-dispatch and a real Docker Engine running the test image:
#   a. a job failing with exit 7 on its first attempt, retry on [exit:7]
#      with 3 attempts: COMPLETED as attempt 2; GET /job/{id} lists both
#      attempts (exit 7 with its error, then exit 0), and the container of
#      attempt 2 saw SINGULARITY_ATTEMPT=2 and ran as st-job-<uuid>-2;
#   b. the same job under the default policy (host_failure only): ERRORED
#      after one attempt;
#   c. an OOM job: ERRORED after one attempt under the default policy; with
#      on [oom] and 2 attempts, ERRORED after two, both OOM kills;
#   d. an image no registry gives: ERRORED after one attempt by default,
#      after two with on [image_pull];
#   e. GET /batch/{id} shows each batch's policy, normalized;
#   f. bad retry bodies: 400 invalid_retry for wrong types, 422 for values.
# Host loss (class host_failure) is t0304's.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0311-dispatch-retry
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
st_dk_watch "$DK_SOCK"	# OOM kills flood the engine's last 256 events
st_test_image singularity/testai:1
# 0.5 CPU: 256 MiB of RAM, which --mem 600 goes well over.
ST_CONF_EXTRA='
[resources]
ram_per_cpu_gb = 0.5'
st_mariadb_start
st_db_setup
st_account ruth
st_lighttpd_start
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
mkset retry_set 0 1
SET=$SET_UUID

# post RETRY-JSON COMMAND...: a production batch of one job per command
# (image $IMAGE, default the test image, tag 1), with "retry": RETRY-JSON
# unless it is empty; sets ST_GOT (the status).
post() {
	python3 - "$SET" "$@" >"$T/req.body" <<'EOF'
import json, os, sys
b = {"mode": "production", "requisitions": {"cpu": 0.5},
     "jobs": [{"command": c, "image": os.environ.get("IMAGE", "singularity/testai"),
               "image_tag": "1", "data_set_id": sys.argv[1]} for c in sys.argv[3:]]}
if sys.argv[2]:
    b["retry"] = json.loads(sys.argv[2])
sys.stdout.write(json.dumps(b))
EOF
	ST_GOT=$(st_req POST /batch "$T/req.body")
}
# new RETRY-JSON COMMAND: post, expect 201; sets JOB (its one job's UUID).
new() {
	post "$@"
	st_check_status 201 "POST /batch retry $1"
	JOB=$(sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$(jv 'd["batch_uuid"]')'")
}
# job UUID: GET /job/UUID into $T/resp.body, expect 200.
job() {
	ST_GOT=$(st_req GET "/job/$1")
	st_check_status 200 "GET /job/$1"
}

FAIL7='/train.sh --exit 7 --fail-until-attempt 1 && echo "{\"attempt\": \"$SINGULARITY_ATTEMPT\"}" >/output/result.json'
new '{"attempts": 3, "on": ["exit:7"]}' "$FAIL7"; J_A=$JOB B_A=$(sql "SELECT b.uuid FROM batches b JOIN jobs j ON j.batch_id = b.id WHERE j.uuid = '$J_A'")
new '' "$FAIL7"; J_B=$JOB
new '' '/train.sh --mem 600'; J_C1=$JOB
new '{"attempts": 2, "on": ["oom", "oom"]}' '/train.sh --mem 600'; J_C2=$JOB B_C2=$(sql "SELECT b.uuid FROM batches b JOIN jobs j ON j.batch_id = b.id WHERE j.uuid = '$J_C2'")
# An image no registry can give (the engines here have no network).
IMAGE=nosuch/image new '{"attempts": 2, "on": ["image_pull"]}' /train.sh; J_D2=$JOB
IMAGE=nosuch/image new '' /train.sh; J_D1=$JOB

st_dispatch_until 180 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"

# --- a. exit 7 listed: a second attempt, COMPLETED ----------------------------
job "$J_A"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"])]')" '["COMPLETED", 2, 2]' "job a: status, attempt, attempts"
st_expect_eq "$(jv '[(a["attempt"], a["exit_code"], a["error"], a["host"]) for a in d[0]["attempts"]]')" \
    '[[1, 7, "exited with code 7", "a"], [2, 0, null, "a"]]' "job a: the attempts"
st_expect_eq "$(jv 'all(a["started_at"] and a["finished_at"] and a["started_at"] <= a["finished_at"] for a in d[0]["attempts"])')" true "job a: attempt times"
st_expect_eq "$(jv 'd[0]["attempts"][0]["finished_at"] <= d[0]["attempts"][1]["started_at"]')" true "job a: attempt 2 after attempt 1"
st_expect_eq "$(jv 'd[0]["result"]')" '{"attempt": "2"}' "job a: result written by attempt 2"
st_expect_eq "$(jv '[d[0]["exit_code"], d[0]["error"], d[0]["started_at"] == d[0]["attempts"][1]["started_at"]]')" '[0, null, true]' "job a: the job shows its last attempt"
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.attempt, a.failure, a.exit_code, a.oom_killed, a.host_name) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$J_A'")" \
    "1 exit:7 7 0 a" "job a: job_attempts row"
s1=$(st_dk_starts "$DK_SOCK" "st-job-$J_A") s2=$(st_dk_starts "$DK_SOCK" "st-job-$J_A-2")
[ "$s1 $s2" = "1 1" ] ||
    st_fail "job a: containers st-job-$J_A and st-job-$J_A-2 started $s1 and $s2 times, want once each"

grep -q "job $J_A requeued: exited with code 7; attempt 2 of 3 next" "$T/dispatch.out" || st_fail "job a: no requeue line"
st_ok "exit 7 with exit:7 listed: attempt 1 kept (exit 7), attempt 2 (SINGULARITY_ATTEMPT=2, st-job-<uuid>-2) COMPLETED"

# --- b. the default policy does not retry the user's own failure ---------------
job "$J_B"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], d[0]["exit_code"], d[0]["error"]]')" '["ERRORED", 1, 7, "exited with code 7"]' "job b"
st_expect_eq "$(jv '[(a["attempt"], a["exit_code"], a["error"]) for a in d[0]["attempts"]]')" '[[1, 7, "exited with code 7"]]' "job b: attempts"
st_expect_eq "$(sql "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$J_B'")" 0 "job b: job_attempts rows"
st_ok "the same job under the default policy: ERRORED after one attempt"

# --- c. OOM: retried only with oom listed --------------------------------------
job "$J_C1"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"]), d[0]["error"]]')" \
    '["ERRORED", 1, 1, "killed: out of memory (limit 0.25 GB)"]' "OOM job, default policy"
job "$J_C2"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], d[0]["error"]]')" \
    '["ERRORED", 2, "killed: out of memory (limit 0.25 GB) (after 2 attempts)"]' "OOM job, on [oom]"
st_expect_eq "$(jv '[(a["attempt"], a["error"]) for a in d[0]["attempts"]]')" \
    '[[1, "killed: out of memory (limit 0.25 GB)"], [2, "killed: out of memory (limit 0.25 GB) (after 2 attempts)"]]' "OOM job, on [oom]: attempts"
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.failure, a.oom_killed, j.oom_killed) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$J_C2'")" \
    "oom 1 1" "OOM job, on [oom]: both attempts OOM killed"
st_ok "an OOM job: ERRORED after one attempt by default, after two (both OOM) with on [oom], attempts 2"

# --- d. an image that cannot be pulled: retried only with image_pull -----------
job "$J_D1"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"])]')" \
    '["ERRORED", 1, 1]' "unpullable image, default policy"
job "$J_D2"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"]), all("nosuch/image:1" in a["error"] for a in d[0]["attempts"])]')" \
    '["ERRORED", 2, 2, true]' "unpullable image, on [image_pull]"
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.attempt, a.failure) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$J_D2'")" \
    "1 image_pull" "unpullable image, on [image_pull]: the kept attempt"
st_ok "an image that cannot be pulled: ERRORED after one attempt by default, after two with on [image_pull]"

# GET /job (the list) renders the same attempts.
ST_GOT=$(st_req GET "/job?limit=10")
st_check_status 200 "GET /job"
st_expect_eq "$(jv '[(j["attempt"], len(j["attempts"])) for j in d]')" '[[1, 1], [2, 2], [2, 2], [1, 1], [1, 1], [2, 2]]' "GET /job: attempts"
# No container left behind, of any attempt.
st_expect_eq "$(st_dk "$DK_SOCK" GET '/containers/json?all=1')" "[]" "containers left"
st_ok "GET /job lists the attempts too; every container removed"

# --- d. the policy on the batch ------------------------------------------------
ST_GOT=$(st_req GET "/batch/$B_A")
st_check_status 200 "GET /batch"
st_expect_eq "$(jv 'd[0]["retry"]')" '{"attempts": 3, "on": ["exit:7"]}' "batch a: retry"
ST_GOT=$(st_req GET "/batch/$B_C2")
st_expect_eq "$(jv 'd[0]["retry"]')" '{"attempts": 2, "on": ["oom"]}' "batch c2: retry (duplicate folded)"
ST_GOT=$(st_req GET "/batch?limit=6")
st_expect_eq "$(jv '[b["retry"] for b in d]')" \
    '[{"attempts": 3, "on": ["host_failure"]}, {"attempts": 2, "on": ["image_pull"]}, {"attempts": 2, "on": ["oom"]}, {"attempts": 3, "on": ["host_failure"]}, {"attempts": 3, "on": ["host_failure"]}, {"attempts": 3, "on": ["exit:7"]}]' "GET /batch: retry (default: 3 on host_failure)"
new '{"attempts": 10, "on": ["exit:255", "image_pull", "exit:1", "host_failure", "oom"]}' 'true'
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', b.retry_attempts, b.retry_on) FROM batches b JOIN jobs j ON j.batch_id = b.id WHERE j.uuid = '$JOB'")" \
    "10 host_failure,oom,image_pull,exit:1,exit:255" "stored policy, normalized"
st_ok "GET /batch shows the policy; stored normalized (canonical order, duplicates folded)"

# --- e. bad retry bodies -------------------------------------------------------
bad() {
	post "$1" true
	st_check_error "$2" invalid_retry "retry $1"
}
bad '3' 400
bad '["oom"]' 400
bad '{"attempts": "3"}' 400
bad '{"on": "oom"}' 400
bad '{"on": ["oom", 1]}' 400
bad '{"attempts": 0}' 422
bad '{"attempts": 11}' 422
bad '{"attempts": 1.5}' 422
bad '{"on": ["timeout"]}' 422
bad '{"on": ["exit:0"]}' 422
bad '{"on": ["exit:256"]}' 422
bad '{"on": ["exit:x"]}' 422
st_expect_eq "$(sql "SELECT COUNT(*) FROM batches")" 7 "batches written"
st_ok "bad retry bodies: 400 invalid_retry for wrong types, 422 for bad values, nothing written"
