#!/bin/bash
# Reading and cancelling batches and jobs (issue 4) through lighttpd over
# HTTPS with the real MariaDB. Job status changes are made straight in
# MariaDB (as the dispatcher would) to walk a batch through every state,
# checking the derived status, the eight counts and processing_time at each
# step; then every field of GET /job, paging and filters of both lists,
# cancel and its 409s, and 8 clients cancelling one batch at once.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0201-batch-read
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account bob
st_lighttpd_start
"$ST_ADMIN" host add gpu1 --endpoint unix:///nonexistent/docker.sock --cpus 64 --ram-gb 512 --gpus 8 \
    --gpu-runtime env >/dev/null || st_fail "host add"
HOST_ID=$(sql "SELECT id FROM hosts WHERE name = 'gpu1'")
mkset clean_data_set 2 2
SET=$SET_UUID

# jobn BATCH IDX: the UUID of job IDX of BATCH.
jobn() {
	sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$1' AND j.idx = $2"
}
# setjob UUID SQL-ASSIGNMENTS: what the dispatcher would do.
setjob() {
	sql "UPDATE jobs SET $2 WHERE uuid = '$1'"
}
# expect_batch WHAT STATUS "Q Pe Pr Pd U Co E Ca": GET /batch/{BATCH}.
expect_batch() {
	ST_GOT=$(st_req GET "/batch/$BATCH")
	st_check_status 200 "GET /batch/{id}: $1"
	st_expect_eq "$(jv 'len(d)')" 1 "$1: an array of one"
	st_expect_eq "$(jv 'd[0]["status"]')" "$2" "$1: status"
	st_expect_eq "$(jv '" ".join(str(d[0][k]) for k in ("queued", "pending", "processing", "processed", "uploading", "completed", "errored", "canceled"))')" \
	    "$3" "$1: counts queued pending processing processed uploading completed errored canceled"
	st_expect_eq "$(jv 'd[0]["job_count"]')" 3 "$1: job_count"
	st_expect_eq "$(jv '[j["status"] for j in d[0]["jobs"]] == [d[0]["jobs"][i]["status"] for i in range(3)]')" true "$1: jobs"
	PT=$(jv 'd[0]["processing_time"]')
}

# --- walk one batch through every state ---------------------------------------

new_batch pilot 8 1 "$(job_json "$SET" 'python train.py --architecture classic')" \
    "$(job_json "$SET" 'python train.py --achitecture deep')" "$(job_json "$SET" 'python train.py --tiny')"
J0=$(jobn "$BATCH" 0) J1=$(jobn "$BATCH" 1) J2=$(jobn "$BATCH" 2)

expect_batch "all queued" QUEUED "3 0 0 0 0 0 0 0"
st_expect_eq "$PT" 0 "all queued: processing_time"
st_expect_eq "$(jv 'd[0]["id"]')" "$BATCH" "id"
st_expect_eq "$(jv 'd[0]["mode"]')" pilot "mode"
jv 'd[0]["created_at"]' | grep -Eq "$TIME_RE" || st_fail "created_at '$(jv 'd[0]["created_at"]')'"
st_expect_eq "$(jv 'sorted(d[0].keys())')" \
    '["auto_promote", "canceled", "completed", "created_at", "errored", "id", "job_count", "jobs", "mode", "objective", "pending", "processed", "processing", "processing_time", "promoted_batch_id", "promoted_from", "queued", "requisitions", "retry", "status", "uploading"]' \
    "batch fields"
st_expect_eq "$(jv 'd[0]["retry"]')" '{"attempts": 3, "on": ["host_failure"]}' "batch retry (default)"
st_expect_eq "$(jv 'd[0]["requisitions"]')" '{"cpu": 8, "gpu": 1, "ram": 60}' "batch requisitions"
st_expect_eq "$(jv '[j["id"] for j in d[0]["jobs"]]')" "[\"$J0\", \"$J1\", \"$J2\"]" "jobs in request order"
st_expect_eq "$(jv 'd[0]["jobs"][0]')" \
    "{\"command\": \"python train.py --architecture classic\", \"id\": \"$J0\", \"pending_reason\": \"not_yet_considered\", \"result\": {}, \"status\": \"QUEUED\"}" \
    "job of a batch: id, status, command, result {}, pending_reason"
st_ok "all QUEUED: batch QUEUED, queued 3, processing_time 0, every field of the reference"

setjob "$J0" "status = 'PENDING', host_id = $HOST_ID, gpu_devices = '0', placed_at = UTC_TIMESTAMP(3), pending_reason = NULL"
setjob "$J1" "pending_reason = 'insufficient_gpu'"
expect_batch "one pending" PROCESSING "2 1 0 0 0 0 0 0"
st_expect_eq "$PT" 0 "one pending: processing_time"
st_expect_eq "$(jv '[j["pending_reason"] for j in d[0]["jobs"]]')" '[null, "insufficient_gpu", "not_yet_considered"]' "pending_reason"
st_ok "PENDING: batch PROCESSING, pending 1; pending_reason shown, null once placed"

setjob "$J0" "status = 'PROCESSING', started_at = UTC_TIMESTAMP(3) - INTERVAL 5 SECOND"
expect_batch "one processing" PROCESSING "2 0 1 0 0 0 0 0"
[ "$PT" -ge 5000 ] && [ "$PT" -lt 65000 ] || st_fail "processing_time of a job running for 5 s: $PT"
st_ok "PROCESSING: processing_time counts the running job so far ($PT ms)"

setjob "$J0" "status = 'PROCESSED', exit_code = 0, finished_at = UTC_TIMESTAMP(3), processing_time_ms = 7000"
expect_batch "one processed" PROCESSING "2 0 0 1 0 0 0 0"
st_expect_eq "$PT" 7000 "processed: processing_time as recorded"
setjob "$J0" "status = 'UPLOADING'"
expect_batch "one uploading" PROCESSING "2 0 0 0 1 0 0 0"
setjob "$J0" "status = 'COMPLETED', result = '{\"fitness_score\": 0.43}'"
expect_batch "one completed" PROCESSING "2 0 0 0 0 1 0 0"
st_expect_eq "$(jv 'd[0]["jobs"][0]["result"]')" '{"fitness_score": 0.43}' "result of the completed job"
st_expect_eq "$PT" 7000 "completed: processing_time"
st_ok "PROCESSED, UPLOADING, COMPLETED: counts follow, result shown"

setjob "$J1" "status = 'PROCESSING', host_id = $HOST_ID, pending_reason = NULL, started_at = UTC_TIMESTAMP(3) - INTERVAL 2 SECOND"
expect_batch "second processing" PROCESSING "1 0 1 0 0 1 0 0"
[ "$PT" -ge 9000 ] && [ "$PT" -lt 69000 ] || st_fail "processing_time 7000 + running 2 s: $PT"
setjob "$J1" "status = 'ERRORED', exit_code = 3, error = 'the container exited with code 3', finished_at = UTC_TIMESTAMP(3), processing_time_ms = 1500"
expect_batch "one errored, one queued" PROCESSING "1 0 0 0 0 1 1 0"
st_expect_eq "$PT" 8500 "processing_time: sum of the recorded ones"
st_ok "the sum of processing times: recorded ones plus running ones so far"

ST_GOT=$(st_req DELETE "/job/$J2")
st_check_status 200 "DELETE /job/{id} of a queued job"
st_expect_eq "$(jv 'd')" "{\"batch_id\": \"$BATCH\", \"canceled\": 1, \"job_id\": \"$J2\", \"status\": \"CANCELED\"}" "DELETE /job answer"
st_expect_eq "$(sql "SELECT status, cancel_requested, finished_at IS NOT NULL, pending_reason IS NULL FROM jobs WHERE uuid = '$J2'")" \
    "$(printf 'CANCELED\t0\t1\t1')" "a queued job cancelled: no container to stop"
expect_batch "completed, errored, canceled" ERRORED "0 0 0 0 0 1 1 1"
st_expect_eq "$PT" 8500 "final: processing_time"
st_ok "all final with one ERRORED: batch ERRORED"

ST_GOT=$(st_req DELETE "/job/$J2")
st_check_error 409 job_final "DELETE /job of a CANCELED job"
ST_GOT=$(st_req DELETE "/job/$J0")
st_check_error 409 job_final "DELETE /job of a COMPLETED job"
ST_GOT=$(st_req DELETE "/batch/$BATCH")
st_check_error 409 batch_final "DELETE /batch of a final batch"
st_ok "cancelling what is final: 409 job_final / batch_final"

# --- GET /job/{id}: every field -------------------------------------------------

ST_GOT=$(st_req GET "/job/$J1")
st_check_status 200 "GET /job/{id}"
st_expect_eq "$(jv 'len(d)')" 1 "GET /job/{id}: an array of one"
st_expect_eq "$(jv 'sorted(d[0].keys())')" \
    '["attempt", "attempts", "batch_id", "command", "created_at", "data_set_id", "env", "error", "exit_code", "finished_at", "host", "id", "image", "mode", "pending_reason", "processing_time", "promoted_from", "requisitions", "result", "started_at", "status"]' \
    "job fields"
st_expect_eq "$(jv '[d[0]["attempt"]] + [[a["attempt"], a["exit_code"], a["error"], a["host"]] for a in d[0]["attempts"]]')" \
    '[1, [1, 3, "the container exited with code 3", "gpu1"]]' "job attempts (the current one)"
st_expect_eq "$(jv '[d[0][k] for k in ("id", "batch_id", "status", "command", "image", "mode", "processing_time", "exit_code", "error", "pending_reason", "host", "result")]')" \
    "[\"$J1\", \"$BATCH\", \"ERRORED\", \"python train.py --achitecture deep\", \"singularitytechnologies/testai:latest\", \"pilot\", 1500, 3, \"the container exited with code 3\", null, \"gpu1\", {}]" \
    "job values"
st_expect_eq "$(jv 'd[0]["requisitions"]')" '{"cpu": 8, "gpu": 1, "ram": 60}' "job requisitions"
PILOT1=$(sql "SELECT d.uuid FROM jobs j JOIN datasets d ON d.id = j.dataset_id WHERE j.uuid = '$J1'")
st_expect_eq "$(jv 'd[0]["data_set_id"]')" "$PILOT1" "data_set_id: the pilot it runs on"
for k in created_at started_at finished_at; do
	jv "d[0][\"$k\"]" | grep -Eq "$TIME_RE" || st_fail "$k '$(jv "d[0][\"$k\"]")'"
done
ST_GOT=$(st_req GET "/job/$J2")
st_expect_eq "$(jv '[d[0][k] for k in ("started_at", "exit_code", "error", "host", "processing_time")]')" '[null, null, null, null, 0]' \
    "a job never started: nulls and 0"
ST_GOT=$(st_req GET "/job/$(echo "$J0" | tr a-f A-F)")
st_check_status 200 "GET /job/{ID} in upper case"
st_ok "GET /job/{id}: every field (id, batch_id, status, command, image as run, mode, data_set_id, requisitions with ram, result, processing_time, times, exit_code, error, pending_reason, host)"

# --- other derived statuses and cancel rules ------------------------------------

new_batch production 2 0 "$(job_json "$SET")" "$(job_json "$SET")"
B2=$BATCH
sql "UPDATE jobs j JOIN batches b ON b.id = j.batch_id SET j.status = 'COMPLETED', j.processing_time_ms = 10 WHERE b.uuid = '$B2'"
BATCH=$B2
ST_GOT=$(st_req GET "/batch/$B2")
st_expect_eq "$(jv 'd[0]["status"]')" COMPLETED "all completed"
sql "UPDATE jobs SET status = 'CANCELED' WHERE uuid = '$(jobn "$B2" 1)'"
ST_GOT=$(st_req GET "/batch/$B2")
st_expect_eq "$(jv 'd[0]["status"]')" COMPLETED "completed + canceled"
st_expect_eq "$(jv 'd[0]["processing_time"]')" 20 "processing_time sums every job"

new_batch production 2 0 "$(job_json "$SET")" "$(job_json "$SET")" "$(job_json "$SET")"
B3=$BATCH
setjob "$(jobn "$B3" 0)" "status = 'PENDING', host_id = $HOST_ID, pending_reason = NULL"
setjob "$(jobn "$B3" 1)" "status = 'PROCESSING', host_id = $HOST_ID, pending_reason = NULL, started_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
ST_GOT=$(st_req DELETE "/batch/$B3")
st_check_status 200 "DELETE /batch/{id}"
st_expect_eq "$(jv 'd')" "{\"batch_id\": \"$B3\", \"canceled\": 3}" "DELETE /batch answer"
st_expect_eq "$(sql "SELECT GROUP_CONCAT(CONCAT(status, ':', cancel_requested, ':', finished_at IS NOT NULL) ORDER BY idx) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$B3'")" \
    "CANCELED:1:1,CANCELED:1:1,CANCELED:0:1" "placed jobs keep cancel_requested for the dispatcher"
ST_GOT=$(st_req GET "/batch/$B3")
st_expect_eq "$(jv 'd[0]["status"]')" CANCELED "all canceled"
PT=$(jv 'd[0]["processing_time"]')
[ "$PT" -ge 1000 ] && [ "$PT" -lt 61000 ] || st_fail "a job cancelled while running counts start to cancel: $PT"
ST_GOT=$(st_req DELETE "/batch/$B3")
st_check_error 409 batch_final "DELETE /batch again"
st_ok "COMPLETED (with some canceled), CANCELED (all); DELETE /batch cancels QUEUED, PENDING, PROCESSING (cancel_requested on the placed)"

new_batch production 2 0 "$(job_json "$SET")" "$(job_json "$SET")" "$(job_json "$SET")"
B4=$BATCH
setjob "$(jobn "$B4" 0)" "status = 'PROCESSED', host_id = $HOST_ID, pending_reason = NULL"
setjob "$(jobn "$B4" 1)" "status = 'UPLOADING', host_id = $HOST_ID, pending_reason = NULL"
ST_GOT=$(st_req DELETE "/job/$(jobn "$B4" 0)")
st_check_error 409 job_finishing "DELETE /job of a PROCESSED job"
ST_GOT=$(st_req DELETE "/job/$(jobn "$B4" 1)")
st_check_error 409 job_finishing "DELETE /job of an UPLOADING job"
ST_GOT=$(st_req DELETE "/batch/$B4")
st_check_status 200 "DELETE /batch with finishing jobs"
st_expect_eq "$(jv 'd["canceled"]')" 1 "only the queued job is cancelled"
ST_GOT=$(st_req DELETE "/batch/$B4")
st_check_error 409 batch_finishing "DELETE /batch when only finishing jobs are left"
st_expect_eq "$(sql "SELECT GROUP_CONCAT(status ORDER BY idx) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$B4'")" \
    "PROCESSED,UPLOADING,CANCELED" "finishing jobs untouched"
ST_GOT=$(st_req GET "/batch/$B4")
st_expect_eq "$(jv 'd[0]["status"]')" PROCESSING "finishing jobs keep the batch PROCESSING"
st_ok "PROCESSED/UPLOADING cannot be cancelled: 409 job_finishing, batch_finishing"

# --- lists: newest first, limit, before, status ---------------------------------

ST_GOT=$(st_req GET /batch)
st_check_status 200 "GET /batch"
st_expect_eq "$(jv '[b["id"] for b in d]')" "[\"$B4\", \"$B3\", \"$B2\", \"$(sql "SELECT uuid FROM batches ORDER BY id LIMIT 1")\"]" "GET /batch newest first"
st_expect_eq "$(jv 'all(len(b["jobs"]) == b["job_count"] for b in d)')" true "each batch with its jobs"
ST_GOT=$(st_req GET '/batch?limit=2')
st_expect_eq "$(jv '[b["id"] for b in d]')" "[\"$B4\", \"$B3\"]" "?limit=2"
ST_GOT=$(st_req GET "/batch?limit=2&before=$B3")
st_expect_eq "$(jv '[b["id"] for b in d]')" "[\"$B2\", \"$(sql "SELECT uuid FROM batches ORDER BY id LIMIT 1")\"]" "?before="
ST_GOT=$(st_req GET "/batch?status=canceled")
st_expect_eq "$(jv '[b["id"] for b in d]')" "[\"$B3\"]" "?status=canceled"
ST_GOT=$(st_req GET "/batch?status=PROCESSING&limit=1")
st_expect_eq "$(jv '[b["id"] for b in d]')" "[\"$B4\"]" "?status=PROCESSING&limit=1"
ST_GOT=$(st_req GET "/batch/")
st_expect_eq "$(jv 'len(d)')" 4 "GET /batch/"
for q in 'limit=0' 'limit=1001' 'limit=x' 'limit=' 'before=nope' 'status=RUNNING' 'status=PENDING'; do
	ST_GOT=$(st_req GET "/batch?$q")
	st_check_status 400 "GET /batch?$q"
done
ST_GOT=$(st_req GET "/batch?before=6f1c2a43-0000-4000-8000-000000000000")
st_check_error 400 invalid_before "GET /batch?before=<unknown>"
ST_GOT=$(st_req GET "/batch?limit=1000")
st_check_status 200 "GET /batch?limit=1000"

ST_GOT=$(st_req GET /job)
st_check_status 200 "GET /job"
st_expect_eq "$(jv 'len(d)')" 11 "GET /job: all 11 jobs"
st_expect_eq "$(jv '[j["id"] for j in d][:3]')" "[\"$(jobn "$B4" 2)\", \"$(jobn "$B4" 1)\", \"$(jobn "$B4" 0)\"]" "GET /job newest first"
ST_GOT=$(st_req GET "/job?status=canceled")
st_expect_eq "$(jv 'len(d)')" 6 "GET /job?status=canceled"
st_expect_eq "$(jv 'set(j["status"] for j in d)')" "{'CANCELED'}" "only CANCELED"
ST_GOT=$(st_req GET "/job?limit=2&before=$(jobn "$B4" 1)")
st_expect_eq "$(jv '[j["id"] for j in d]')" "[\"$(jobn "$B4" 0)\", \"$(jobn "$B3" 2)\"]" "GET /job?limit=2&before="
ST_GOT=$(st_req GET "/job?status=bogus")
st_check_error 400 invalid_status "GET /job?status=bogus"
ST_GOT=$(st_req HEAD /job)
st_check_status 200 "HEAD /job"
st_ok "GET /batch and GET /job: newest first, ?limit= 1..1000, ?before=, ?status= (400 for bad values)"

# --- 8 clients cancel one batch at once -----------------------------------------

python3 -c '
import json, sys
print(json.dumps({"mode": "production", "requisitions": {"cpu": 1},
    "jobs": [{"command": "python train.py %d" % i, "image": "testai", "data_set_id": sys.argv[1]} for i in range(200)]}))' \
    "$SET" > "$T/req.body"
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "a 200-job batch"
BATCH=$(jv 'd["batch_uuid"]')
sql "UPDATE jobs j JOIN batches b ON b.id = j.batch_id SET j.status = 'PENDING', j.host_id = $HOST_ID, j.pending_reason = NULL
     WHERE b.uuid = '$BATCH' AND j.idx % 4 = 1"
sql "UPDATE jobs j JOIN batches b ON b.id = j.batch_id SET j.status = 'PROCESSING', j.host_id = $HOST_ID, j.pending_reason = NULL, j.started_at = UTC_TIMESTAMP(3)
     WHERE b.uuid = '$BATCH' AND j.idx % 4 = 2"
sql "UPDATE jobs j JOIN batches b ON b.id = j.batch_id SET j.status = 'COMPLETED', j.host_id = $HOST_ID, j.pending_reason = NULL
     WHERE b.uuid = '$BATCH' AND j.idx % 20 = 3"
sig=$(st_sign DELETE "/batch/$BATCH")
pids=
for i in 1 2 3 4 5 6 7 8; do
	curl -sS --cacert "$CA_FILE" -o "$T/cancel.$i.body" -w '%{http_code}' -X DELETE \
	    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
	    "https://127.0.0.1:$HTTPS_PORT/batch/$BATCH" > "$T/cancel.$i.code" &
	pids="$pids $!"
done
# Only the clients: a bare `wait` would wait for the servers too.
for p in $pids; do
	wait "$p" || :
done
total=0 ok=0
for i in 1 2 3 4 5 6 7 8; do
	c=$(cat "$T/cancel.$i.code")
	case $c in
	200)	n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["canceled"])' "$T/cancel.$i.body")
		total=$((total + n)); ok=$((ok + 1)) ;;
	409)	grep -q '"code":"batch_final"' "$T/cancel.$i.body" || st_fail "client $i: $(cat "$T/cancel.$i.body")" ;;
	*)	st_fail "client $i: status $c $(cat "$T/cancel.$i.body")" ;;
	esac
done
# 200 jobs: 10 COMPLETED (idx % 20 = 3), the other 190 cancellable.
st_expect_eq "$total" 190 "jobs cancelled over all 8 answers"
[ "$ok" -ge 1 ] || st_fail "no client got 200"
st_expect_eq "$(sql "SELECT status, COUNT(*), SUM(cancel_requested) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$BATCH' GROUP BY status ORDER BY status")" \
    "$(printf "COMPLETED\t10\t0\nCANCELED\t190\t100")" "every cancellable job CANCELED once, cancel_requested on the 100 placed"
ST_GOT=$(st_req GET "/batch/$BATCH")
st_expect_eq "$(jv '[d[0][k] for k in ("status", "job_count", "canceled", "completed", "queued", "pending", "processing")]')" \
    '["COMPLETED", 200, 190, 10, 0, 0, 0]' "counts after the concurrent cancel"
st_ok "8 concurrent DELETE /batch: $ok answered 200, the rest 409 batch_final; 190 jobs cancelled exactly once in all"
