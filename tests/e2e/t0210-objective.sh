#!/bin/bash
# Objectives, the leaderboard and job environments (issue 8, part) through
# lighttpd over HTTPS with the real MariaDB. Job results are set straight in
# MariaDB (as the dispatcher would, like t0201): the leaderboard order for
# max and min, ties by processing_time then request order, a dotted metric,
# the unranked jobs and their reason, ?top=, ?metric= and ?direction=, 404
# for another account; bad objective and env bodies (status and code); env
# shown by GET /job; singularity-cli leaderboard over the endpoint.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0210-objective
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account eve
EVE_KEY=$API_KEY EVE_SECRET=$API_SECRET
st_account bob
st_lighttpd_start
mkset objective_set 2 2
SET=$SET_UUID

jobn() {
	sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$1' AND j.idx = $2"
}
# done_job UUID RESULT-SQL PT_MS [STATUS]: finish a job as the dispatcher would.
done_job() {
	sql "UPDATE jobs SET status = '${4:-COMPLETED}', result = $2, processing_time_ms = $3, started_at = UTC_TIMESTAMP(3), finished_at = UTC_TIMESTAMP(3), exit_code = 0, pending_reason = NULL WHERE uuid = '$1'"
}
# board QUERY WHAT: GET the leaderboard of $BATCH, expect 200.
board() {
	ST_GOT=$(st_req GET "/batch/$BATCH/leaderboard$1")
	st_check_status 200 "leaderboard $2"
}
ranked_ids() { jv '" ".join(r["job_id"] for r in d["ranked"])'; }
unranked_ids() { jv '" ".join(r["job_id"] for r in d["unranked"])'; }

# --- the objective on the batch -----------------------------------------------

cmd() { job_json "$SET" "python train.py --variant $1"; }
new_batch production 1 0 "$(cmd 0)" "$(cmd 1)" "$(cmd 2)" "$(cmd 3)" "$(cmd 4)" "$(cmd 5)" "$(cmd 6)" "$(cmd 7)" "$(cmd 8)"
for i in 0 1 2 3 4 5 6 7 8; do eval "J$i=\$(jobn \"\$BATCH\" $i)"; done
ST_GOT=$(st_req GET "/batch/$BATCH")
st_check_status 200 "GET /batch/{id}"
st_expect_eq "$(jv 'd[0]["objective"]')" '{"direction": "max", "metric": "fitness_score"}' "default objective"
st_ok "a batch without objective shows the default {fitness_score, max}"

done_job "$J0" "'{\"fitness_score\": 0.9, \"val\": {\"loss\": 0.3}}'" 5000
done_job "$J1" "'{\"fitness_score\": 0.5, \"val\": {\"loss\": 0.1}}'" 3000
done_job "$J2" "'{\"fitness_score\": 0.9, \"val\": {\"loss\": 0.2}}'" 2000
done_job "$J3" "'{\"accuracy\": 1}'" 1000
done_job "$J4" "NULL" 1000
done_job "$J5" "'{\"fitness_score\": 5}'" 1000 ERRORED
done_job "$J6" "'{\"fitness_score\": \"high\"}'" 1000
done_job "$J8" "'{\"fitness_score\": 0.9, \"val\": {\"loss\": 0.4}}'" 2000
# J7 stays QUEUED.

board "" "default"
st_expect_eq "$(jv 'sorted(d.keys())')" '["batch_id", "objective", "ranked", "unranked"]' "answer fields"
st_expect_eq "$(jv 'd["batch_id"]')" "$BATCH" "batch_id"
st_expect_eq "$(jv 'd["objective"]')" '{"direction": "max", "metric": "fitness_score"}' "objective"
st_expect_eq "$(ranked_ids)" "$J2 $J8 $J0 $J1" "max order (ties: shorter processing_time, then request order)"
st_expect_eq "$(jv '[r["rank"] for r in d["ranked"]]')" '[1, 2, 3, 4]' "ranks"
st_expect_eq "$(jv 'd["ranked"][0]')" \
    "{\"command\": \"python train.py --variant 2\", \"data_set_id\": \"$SET\", \"image\": \"singularitytechnologies/testai:latest\", \"job_id\": \"$J2\", \"metric\": 0.9, \"processing_time\": 2000, \"rank\": 1}" \
    "ranked entry fields"
st_expect_eq "$(unranked_ids)" "$J3 $J4 $J6" "unranked: COMPLETED jobs without a numeric metric, request order"
st_expect_eq "$(jv 'sorted(set(r["reason"] for r in d["unranked"]))')" '["result has no numeric fitness_score"]' "unranked reason"
st_ok "max: ranked by fitness_score, ties by processing_time then idx; ERRORED and QUEUED left out; unranked with reason"

board "?direction=min" "min"
st_expect_eq "$(ranked_ids)" "$J1 $J2 $J8 $J0" "min order"
st_expect_eq "$(jv 'd["objective"]["direction"]')" min "direction override shown"
board "?top=2" "top 2"
st_expect_eq "$(ranked_ids)" "$J2 $J8" "top=2"
st_expect_eq "$(unranked_ids)" "$J3 $J4 $J6" "top does not cut the unranked"
board "?metric=val.loss&direction=min&top=1000" "val.loss min"
st_expect_eq "$(ranked_ids)" "$J1 $J2 $J0 $J8" "dotted metric order"
st_expect_eq "$(jv '[r["metric"] for r in d["ranked"]]')" '[0.1, 0.2, 0.3, 0.4]' "dotted metric values"
st_expect_eq "$(jv 'd["unranked"][0]["reason"]')" "result has no numeric val.loss" "dotted unranked reason"
st_ok "?direction=min, ?top=N and ?metric=val.loss (nested) override the objective"

# --- a batch with its own objective -------------------------------------------------

batch_body production 1 0 "$(cmd a)" "$(cmd b)"
python3 - "$T/req.body" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); b["objective"] = {"metric": "val.loss", "direction": "min"}
open(sys.argv[1], "w").write(json.dumps(b))
PY
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch with objective"
BATCH=$(jv 'd["batch_uuid"]')
K0=$(jobn "$BATCH" 0) K1=$(jobn "$BATCH" 1)
done_job "$K0" "'{\"val\": {\"loss\": 0.7}}'" 10
done_job "$K1" "'{\"val\": {\"loss\": 0.6}}'" 10
st_expect_eq "$(sql "SELECT objective_metric, objective_direction FROM batches WHERE uuid = '$BATCH'")" "val.loss	min" "stored objective"
ST_GOT=$(st_req GET "/batch/$BATCH")
st_expect_eq "$(jv 'd[0]["objective"]')" '{"direction": "min", "metric": "val.loss"}' "objective shown"
board "" "own objective"
st_expect_eq "$(ranked_ids)" "$K1 $K0" "ranked by the batch's objective"
st_expect_eq "$(jv 'd["objective"]')" '{"direction": "min", "metric": "val.loss"}' "objective of the answer"
board "?direction=max" "direction override"
st_expect_eq "$(ranked_ids)" "$K0 $K1" "direction override"
st_ok "objective {val.loss, min} stored, shown and used by the leaderboard"

# --- refusals of the leaderboard ---------------------------------------------------

for q in "top=0" "top=1001" "top=" "top=x" "top=-1"; do
	ST_GOT=$(st_req GET "/batch/$BATCH/leaderboard?$q")
	st_check_error 400 invalid_top "?$q"
done
for q in "metric=" "metric=a%20b" "metric=$(printf 'm%.0s' $(seq 129))" "direction=up" "direction="; do
	ST_GOT=$(st_req GET "/batch/$BATCH/leaderboard?$q")
	st_check_error 400 invalid_objective "?${q:0:20}"
done
ST_GOT=$(as_account "$EVE_KEY" "$EVE_SECRET" st_req GET "/batch/$BATCH/leaderboard")
st_check_error 404 not_found "another account's batch"
ST_GOT=$(st_req GET "/batch/00000000-0000-4000-8000-000000000000/leaderboard")
st_check_error 404 not_found "unknown batch"
ST_GOT=$(st_req GET "/batch/nope/leaderboard")
st_check_error 404 not_found "not a UUID"
ST_GOT=$(st_req DELETE "/batch/$BATCH/leaderboard")
st_check_error 405 method_not_allowed "DELETE leaderboard"
st_ok "leaderboard refusals: invalid_top, invalid_objective (400), 404 for another account, 405"

# --- bad objectives ----------------------------------------------------------------

# post_obj OBJECTIVE-JSON STATUS CODE
post_obj() {
	body "{\"mode\": \"production\", \"requisitions\": {\"cpu\": 1}, \"objective\": $1, \"jobs\": [$(cmd x)]}"
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_error "$2" "$3" "objective $1"
}
post_obj '"fitness_score"' 400 invalid_objective
post_obj '[]' 400 invalid_objective
post_obj '{"metric": 5}' 400 invalid_objective
post_obj '{"direction": 1}' 400 invalid_objective
post_obj '{"metric": ""}' 422 invalid_objective
post_obj '{"metric": "a b"}' 422 invalid_objective
post_obj "{\"metric\": \"$(printf 'm%.0s' $(seq 129))\"}" 422 invalid_objective
post_obj '{"direction": "up"}' 422 invalid_objective
st_ok "bad objectives: 400 for wrong types, 422 for bad values (invalid_objective)"

# --- job environment ---------------------------------------------------------------

envjob() { printf '{"command": "c", "image": "singularitytechnologies/testai", "data_set_id": "%s", "env": %s}' "$SET" "$1"; }
# post_env ENV-JSON WHAT: a batch of one job with that env: 422 no_valid_jobs.
post_env() {
	batch_body production 1 0 "$(envjob "$1")"
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_error 422 no_valid_jobs "env $2"
	st_expect_eq "$(jv 'd["errors"][0]["index"]')" 0 "env $2: errors index"
	jv 'd["errors"][0]["error"]' | grep -q env || st_fail "env $2: error '$(jv 'd["errors"][0]["error"]')'"
}
post_env '{"lower": "x"}' "lower-case name"
post_env '{"1A": "x"}' "name starting with a digit"
post_env '{"A-B": "x"}' "name with -"
post_env '{"SINGULARITY_JOB_ID": "x"}' "reserved name"
post_env '{"A": 1}' "number value"
post_env '{"A": null}' "null value"
post_env '"A=1"' "not an object"
post_env '{"A": "1", "A": "2"}' "a name twice"
post_env "{$(for i in $(seq 65); do printf '"V%d": "x",' "$i"; done) \"LAST\": \"x\"}" "66 variables"
post_env "{\"BIG\": \"$(head -c 32766 /dev/zero | tr '\0' v)\"}" "over 32 KiB"
st_ok "bad env (names, reserved SINGULARITY_, types, count, size): per-job errors, 422 no_valid_jobs"

# Names that would reach other tenants' GPUs or inject code: refused, each
# job's error with the code invalid_env.
for name in NVIDIA_VISIBLE_DEVICES NVIDIA_DRIVER_CAPABILITIES CUDA_VISIBLE_DEVICES \
    LD_PRELOAD LD_LIBRARY_PATH SINGULARITY_MODE; do
	post_env "{\"$name\": \"all\"}" "reserved $name"
	st_expect_eq "$(jv 'd["errors"][0]["code"]')" invalid_env "env $name: the job's error code"
done
batch_body production 1 0 "$(envjob '{"NVIDIA_VISIBLE_DEVICES": "all"}')" "$(cmd ok)"
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch with one job asking for every GPU"
st_expect_eq "$(jv '[d["successful"], d["failed"], d["errors"][0]["index"], d["errors"][0]["code"]]')" \
    '[1, 1, 0, "invalid_env"]' "successful, failed, the refused job"
st_expect_eq "$(sql "SELECT COUNT(*) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$(jv 'd["batch_uuid"]')' AND j.env LIKE '%NVIDIA%'")" 0 "stored jobs with NVIDIA_* in env"
st_ok "env names NVIDIA_*, CUDA_VISIBLE_DEVICES, LD_PRELOAD, LD_LIBRARY_PATH, SINGULARITY_*: the job refused, code invalid_env"

batch_body production 1 0 "$(envjob "{\"BIG\": \"$(head -c 32765 /dev/zero | tr '\0' v)\"}")" \
    "$(envjob '{"ALPHA": "1", "BETA": "two words", "URL": "a=b&c"}')" "$(envjob '{"bad": "x"}')" "$(cmd noenv)"
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch with env"
st_expect_eq "$(jv '[d["successful"], d["failed"]]')" '[3, 1]' "successful, failed"
st_expect_eq "$(jv '[e["index"] for e in d["errors"]]')" '[2]' "errors index"
BATCH=$(jv 'd["batch_uuid"]')
ST_GOT=$(st_req GET "/job/$(jobn "$BATCH" 1)")
st_check_status 200 "GET /job/{id} with env"
st_expect_eq "$(jv 'd[0]["env"]')" '{"ALPHA": "1", "BETA": "two words", "URL": "a=b&c"}' "env shown by GET /job"
ST_GOT=$(st_req GET "/job/$(jobn "$BATCH" 0)")
st_expect_eq "$(jv 'len(d[0]["env"]["BIG"])')" 32765 "32 KiB env accepted"
ST_GOT=$(st_req GET "/job/$(jobn "$BATCH" 3)")
st_expect_eq "$(jv 'd[0]["env"]')" '{}' "no env: {}"
st_expect_eq "$(sql "SELECT env IS NULL FROM jobs WHERE uuid = '$(jobn "$BATCH" 3)'")" 1 "no env stored as NULL"
ST_GOT=$(st_req GET "/job?limit=1000")
st_expect_eq "$(jv '[j["env"] for j in d if j["batch_id"] == "'"$BATCH"'" and "ALPHA" in j["env"]]')" \
    '[{"ALPHA": "1", "BETA": "two words", "URL": "a=b&c"}]' "env in GET /job"
st_ok "env stored and shown by GET /job/{id} and GET /job ({} when none); 32 KiB accepted, bad job refused alone"

# --- singularity-cli leaderboard ----------------------------------------------------

if [ -x "$top_builddir/src/cli/singularity-cli" ]; then
	. "$top_srcdir/tests/lib/cli.sh"
	st_cli_config
	BATCH=$(sql "SELECT b.uuid FROM batches b JOIN jobs j ON j.batch_id = b.id WHERE j.uuid = '$J0'")
	cli_run 0 leaderboard "$BATCH"
	head -1 "$T/out" | grep -q '^RANK  JOB  *STATUS  *fitness_score  COMMAND$' || st_fail "cli header: $(cat "$T/out")"
	st_expect_eq "$(awk 'NR > 1 { print $2 }' "$T/out" | tr '\n' ' ')" "$J2 $J8 $J0 $J1 " "cli order (max)"
	grep -q '(3 jobs without "fitness_score" not ranked)' "$T/err" || st_fail "cli unranked note: $(cat "$T/err")"
	cli_run 0 leaderboard "$BATCH" --ascending --top 3
	st_expect_eq "$(awk 'NR > 1 { print $2 }' "$T/out" | tr '\n' ' ')" "$J1 $J2 $J8 " "cli --ascending --top 3"
	cli_run 0 leaderboard "$BATCH" --metric val.loss --ascending
	head -1 "$T/out" | grep -q '  val.loss  COMMAND$' || st_fail "cli --metric header: $(cat "$T/out")"
	st_expect_eq "$(awk 'NR > 1 { print $2 }' "$T/out" | tr '\n' ' ')" "$J1 $J2 $J0 $J8 " "cli --metric val.loss --ascending"
	cli_run 0 --json leaderboard "$BATCH" --top 1
	st_expect_eq "$(st_pyjson "$T/out" '[r["job_id"] for r in d["ranked"]]')" "[\"$J2\"]" "cli --json: the server's answer"
	cli_run 2 leaderboard "$BATCH" --top 1001
	cli_run 2 leaderboard "$BATCH" --metric 'a b'
	st_ok "singularity-cli leaderboard uses the endpoint (order, --ascending, --metric, --top, --json)"
fi
