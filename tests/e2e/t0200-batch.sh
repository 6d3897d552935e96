#!/bin/bash
# POST /batch (issue 4) through lighttpd + mod_fastcgi over HTTPS with the
# real MariaDB: a table of refused bodies with their exact status and code
# (nothing written for any of them), the reference's own example (typos
# fixed) and the body the original CLI sends (gpu 1.0, no Content-Type),
# the rows written, the pilot spread, per-job errors, the host rule, the
# size limits; then another account's batch, job and model are 404 on
# every method.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0200-batch
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account alice
ALICE_KEY=$API_KEY ALICE_SECRET=$API_SECRET
st_account bob
st_lighttpd_start

# Bob's data: a set with 3 pilots and 3 shards (one per pilot), a set
# without pilots, a set without shards. Alice's: one set.
mkset clean_data_set 3 3
SET=$SET_UUID SET_PILOTS=$PILOTS
mkset no_pilots 0 1
NOPILOTS=$SET_UUID
mkset no_shards 2 0
NOSHARDS=$SET_UUID NOSHARDS_PILOT=${PILOTS%% *}
P0=$(echo "$SET_PILOTS" | cut -d' ' -f1)
P1=$(echo "$SET_PILOTS" | cut -d' ' -f2)
P2=$(echo "$SET_PILOTS" | cut -d' ' -f3)
API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET mkset alice_set 1 1
ALICE_SET=$SET_UUID
st_ok "data sets ready"

# --- the reference's example, typos fixed, and the original CLI's body ------

cat > "$T/reference.json" <<EOF
{
  "mode": "pilot",
  "jobs": [
    {
      "command": "python train.py --architecture classic",
      "image": "singularitytechnologies/testai",
      "image_tag": "latest",
      "data_set_id": "$SET"
    }, {
      "command": "python train.py --architecture deep",
      "image": "singularitytechnologies/testai",
      "image_tag": "latest",
      "data_set_id": "$SET"
    }
  ],
  "requisitions": {
    "cpu": 8.0,
    "gpu": 1.0
  }
}
EOF
ST_GOT=$(st_req POST /batch "$T/reference.json")
st_check_status 201 "POST /batch with the reference's example"
case $(st_header Content-Type) in application/json*) ;; *) st_fail "Content-Type";; esac
st_check_ids "POST /batch"
REF_BATCH=$(jv 'd["batch_uuid"]')
echo "$REF_BATCH" | grep -Eq "$UUID_RE" || st_fail "batch_uuid '$REF_BATCH'"
st_expect_eq "$(jv 'd["successful"]')" 2 "successful"
st_expect_eq "$(jv 'd["failed"]')" 0 "failed"
st_expect_eq "$(jv 'd["errors"]')" "[]" "errors"
st_expect_eq "$(sql "SELECT mode, cpu, gpu, ram_gb FROM batches WHERE uuid = '$REF_BATCH'")" \
    "$(printf 'pilot\t8.000\t1\t60.000')" "batch row (8 CPU + 1 GPU = 60 GB)"
st_expect_eq "$(sql "SELECT COUNT(*), MIN(status), MAX(status), MIN(pending_reason), SUM(host_id IS NULL), SUM(cancel_requested)
    FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$REF_BATCH'")" \
    "$(printf '2\tQUEUED\tQUEUED\tnot_yet_considered\t2\t0')" "job rows QUEUED, not_yet_considered, unplaced"
st_expect_eq "$(sql "SELECT GROUP_CONCAT(CONCAT(j.idx, ':', d.uuid, ':', j.mode, ':', j.image, ':', j.image_tag, ':', j.cpu, ':', j.gpu, ':', j.ram_gb) ORDER BY j.idx SEPARATOR ' ')
    FROM jobs j JOIN batches b ON b.id = j.batch_id JOIN datasets d ON d.id = j.dataset_id WHERE b.uuid = '$REF_BATCH'")" \
    "0:$P0:pilot:singularitytechnologies/testai:latest:8.000:1:60.000 1:$P1:pilot:singularitytechnologies/testai:latest:8.000:1:60.000" \
    "jobs spread over the pilots, requisitions copied"
st_ok "the reference's example body (typos fixed): 201, 2 jobs, 8 CPU + 1 GPU = 60 GB, on pilots 0 and 1"

# The original CLI: json.dumps of the body, gpu 1.0, POSTed with no
# Content-Type at all (python requests, data=str).
printf '{"mode": "production", "jobs": [{"command": "python train.py", "image": "singularitytechnologies/testai", "image_tag": "latest", "data_set_id": "%s"}], "requisitions": {"cpu": 2.0, "gpu": 1.0}}' \
    "$SET" > "$T/cli.json"
sig=$(st_sign POST /batch "$T/cli.json")
code=$(curl -sS --cacert "$CA_FILE" -o "$T/resp.body" -D "$T/resp.headers" -w '%{http_code}' \
    -X POST --data-binary "@$T/cli.json" -H 'Content-Type:' \
    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
    "https://127.0.0.1:$HTTPS_PORT/batch")
ST_GOT=$code
st_check_status 201 "the original CLI's body without Content-Type"
st_expect_eq "$(jv 'd["successful"]')" 1 "CLI body successful"
CLI_BATCH=$(jv 'd["batch_uuid"]')
st_expect_eq "$(sql "SELECT d.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id JOIN datasets d ON d.id = j.dataset_id WHERE b.uuid = '$CLI_BATCH'")" \
    "$SET" "production runs on the whole set"
st_ok "the original CLI's body (gpu 1.0, no Content-Type): 201"

# "/batch/" as in the reference's curl line.
new_batch Production 0.5 0 "$(job_json clean_data_set)"
ST_GOT=$(st_req POST /batch/ "$T/req.body")
st_check_status 201 "POST /batch/"
st_expect_eq "$(sql "SELECT cpu, gpu, ram_gb, mode FROM batches WHERE uuid = '$BATCH'")" \
    "$(printf '0.500\t0\t2.000\tproduction')" "fractional CPU, mode in any case, set by name"
st_ok "POST /batch/ (trailing slash), set by name, fractional CPU, mode Production"

# --- refused bodies: status, code, nothing written ---------------------------

BATCHES_BEFORE=$(sql "SELECT COUNT(*) FROM batches")
JOBS_BEFORE=$(sql "SELECT COUNT(*) FROM jobs")
J_OK=$(job_json "$SET")
n=0
check_bad() {	# WANT CODE WHAT (body in $T/req.body)
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_error "$1" "$2" "POST /batch: $3"
	n=$((n + 1))
}
bad() {		# WANT CODE BODY
	body "$3"
	check_bad "$1" "$2" "$3"
}
bad_job() {	# JOB-JSON [MODE]: a one-job batch whose job is refused
	batch_body "${2:-production}" 1 0 "$1"
	check_bad 422 no_valid_jobs "job $1"
	st_expect_eq "$(jv 'd["errors"][0]["index"]')" 0 "errors[0].index of $1"
	[ -n "$(jv 'd["errors"][0]["error"]')" ] || st_fail "no sentence for $1"
}

bad 400 invalid_json 'not json'
bad 400 invalid_json ''
bad 400 invalid_json '[1, 2]'
bad 400 invalid_json '"batch"'
bad 400 invalid_json "{\"mode\": \"pilot\", \"jobs\": [$J_OK]"
bad 400 invalid_json "{\"mode\": \"pilot\\u0000\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 1}}"
printf '{"mode": "pilot", "jobs": [{"command": "caf\xe9", "image": "a", "data_set_id": "%s"}], "requisitions": {"cpu": 1}}' "$SET" > "$T/req.body"
check_bad 400 invalid_json "Latin-1 (not UTF-8) byte in a command"
bad 400 invalid_mode "{\"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 1}}"
bad 400 invalid_mode "{\"mode\": 1, \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 1}}"
bad 422 invalid_mode "{\"mode\": \"test\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 1}}"
bad 400 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK]}"
bad 400 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": [8, 1]}"
bad 400 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"gpu\": 1}}"
bad 400 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": \"8\"}}"
bad 400 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 8, \"gpu\": true}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 0}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": -2}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 0.0001}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 1e400}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 8, \"gpu\": 1.5}}"
bad 422 invalid_requisitions "{\"mode\": \"pilot\", \"jobs\": [$J_OK], \"requisitions\": {\"cpu\": 8, \"gpu\": -1}}"
bad 400 invalid_jobs "{\"mode\": \"pilot\", \"requisitions\": {\"cpu\": 1}}"
bad 400 invalid_jobs "{\"mode\": \"pilot\", \"jobs\": $J_OK, \"requisitions\": {\"cpu\": 1}}"
bad 422 invalid_jobs "{\"mode\": \"pilot\", \"jobs\": [], \"requisitions\": {\"cpu\": 1}}"
python3 -c '
import json, sys
print(json.dumps({"mode": "pilot", "requisitions": {"cpu": 1},
    "jobs": [json.loads(sys.argv[1])] * 1001}))' "$J_OK" > "$T/req.body"
check_bad 422 too_many_jobs "1001 jobs"
bad_job '{"command": "x", "image": "singularitytechnologies/TestAI", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "testai latest", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "../testai", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "testai@sha256:0123456789abcdef", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "testai", "image_tag": "-latest", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "testai", "image_tag": 3, "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": 3, "data_set_id": "'"$SET"'"}'
bad_job '{"command": "", "image": "testai", "data_set_id": "'"$SET"'"}'
bad_job '{"command": ["python"], "image": "testai", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "a\u001bb", "image": "testai", "data_set_id": "'"$SET"'"}'
bad_job "{\"command\": \"$(head -c 4097 /dev/zero | tr '\0' x)\", \"image\": \"testai\", \"data_set_id\": \"$SET\"}"
bad_job '{"image": "testai", "data_set_id": "'"$SET"'"}'
bad_job '{"command": "x", "image": "testai"}'
bad_job '{"command": "x", "image": "testai", "data_set_id": "no_such_set"}'
bad_job '{"command": "x", "image": "testai", "data_set_id": "6f1c2a43-0000-4000-8000-000000000000"}'
bad_job '{"command": "x", "image": "testai", "data_set_id": "'"$ALICE_SET"'"}'
bad_job '{"command": "x", "image": "testai", "data_set_id": "alice_set"}'
bad_job '{"command": "x", "image": "testai", "data_set_id": "'"$P0"'"}' production
bad_job '{"command": "x", "image": "testai", "data_set_id": "'"$NOSHARDS"'"}' production
bad_job '{"command": "x", "image": "testai", "data_set_id": "'"$NOSHARDS_PILOT"'"}' pilot
bad_job '{"command": "x", "image": "testai", "data_set_id": "'"$NOPILOTS"'"}' pilot
bad_job '"python train.py"'
# The 4096-byte command of the same shape is fine.
batch_body production 1 0 "{\"command\": \"$(head -c 4096 /dev/zero | tr '\0' x)\", \"image\": \"testai\", \"data_set_id\": \"$SET\"}"
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "a 4096-byte command"
BATCHES_BEFORE=$((BATCHES_BEFORE + 1)) JOBS_BEFORE=$((JOBS_BEFORE + 1))

# Over the body limit (1 MiB): refused from Content-Length.
python3 -c '
import json, sys
print(json.dumps({"mode": "pilot", "requisitions": {"cpu": 1},
    "jobs": [{"command": "x" * 2000, "image": "a", "data_set_id": sys.argv[1]}] * 600}))' "$SET" > "$T/req.body"
check_bad 413 payload_too_large "a 1.2 MiB body"

st_expect_eq "$(sql "SELECT COUNT(*) FROM batches")" "$BATCHES_BEFORE" "no batch written by a refused body"
st_expect_eq "$(sql "SELECT COUNT(*) FROM jobs")" "$JOBS_BEFORE" "no job written by a refused body"
[ "$n" -ge 30 ] || st_fail "only $n refused bodies"
st_ok "$n refused bodies: exact status and code each, nothing written"

# --- per-job errors next to valid jobs ----------------------------------------

batch_body pilot 1 0 "$(job_json "$SET")" '{"command": "x", "image": "Bad", "data_set_id": "'"$SET"'"}' \
    "$(job_json clean_data_set)" "$(job_json "$P2")" '{"command": "x", "image": "a:1.0", "data_set_id": "'"$SET"'"}' \
    "$(job_json no_such)" "$(job_json "$SET")"
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "a batch with some refused jobs"
st_expect_eq "$(jv 'd["successful"]')" 5 "successful of 7"
st_expect_eq "$(jv 'd["failed"]')" 2 "failed of 7"
st_expect_eq "$(jv '[e["index"] for e in d["errors"]]')" "[1, 5]" "errors' indexes"
MIX=$(jv 'd["batch_uuid"]')
# The set named by UUID and by name is one set: its accepted jobs (0, 2, 4,
# 6) take pilots 0, 1, 2, 0; job 3 names pilot 2 itself.
st_expect_eq "$(sql "SELECT GROUP_CONCAT(CONCAT(j.idx, ':', d.uuid, ':', j.image, ':', j.image_tag) ORDER BY j.idx SEPARATOR ' ')
    FROM jobs j JOIN batches b ON b.id = j.batch_id JOIN datasets d ON d.id = j.dataset_id WHERE b.uuid = '$MIX'")" \
    "0:$P0:singularitytechnologies/testai:latest 2:$P1:singularitytechnologies/testai:latest 3:$P2:singularitytechnologies/testai:latest 4:$P2:a:1.0 6:$P0:singularitytechnologies/testai:latest" \
    "idx keeps the request's index; round-robin over the pilots"
st_ok "per-job errors with index; valid jobs written with their request index; pilots in turn; image:tag split"

# --- hosts: no registered host could ever hold it ---------------------------

"$ST_ADMIN" host add small --endpoint unix:///nonexistent/docker.sock --cpus 16 --ram-gb 64 --gpus 2 >/dev/null ||
    st_fail "host add small"
"$ST_ADMIN" host add big --endpoint unix:///nonexistent/docker2.sock --cpus 64 --ram-gb 512 --gpus 8 >/dev/null ||
    st_fail "host add big"
"$ST_ADMIN" host drain big >/dev/null || st_fail "host drain big"
new_batch pilot 64 8 "$(job_json "$SET")"
st_ok "a draining host counts: 64 CPU + 8 GPU (480 GB) fits 'big'"
batch_body pilot 65 0 "$(job_json "$SET")"
check_bad 422 no_host_fits "65 CPU"
jv 'd["error"]' | grep -q "big" || st_fail "no_host_fits does not name the largest host: $(jv 'd["error"]')"
batch_body pilot 8 9 "$(job_json "$SET")"
check_bad 422 no_host_fits "9 GPU"
sql "UPDATE hosts SET state = 'disabled' WHERE name = 'big'"
batch_body pilot 32 0 "$(job_json "$SET")"
check_bad 422 no_host_fits "32 CPU with the big host disabled"
jv 'd["error"]' | grep -q "small" || st_fail "no_host_fits names '$(jv 'd["error"]')', want small"
batch_body pilot 16 1 "$(job_json "$SET")"
check_bad 422 no_host_fits "16 CPU + 1 GPU = 92 GB on a 64 GB host"
new_batch pilot 8 1 "$(job_json "$SET")"
sql "DELETE FROM hosts"
new_batch pilot 1000 100 "$(job_json "$SET")"
st_ok "no_host_fits 422 names the largest usable host; disabled hosts do not count; with no host at all the batch waits"

# --- another account: 404 on every method -----------------------------------

JOB=$(sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$REF_BATCH' AND j.idx = 0")
sql "UPDATE jobs SET status = 'COMPLETED', model_sha256 = REPEAT('a', 64), model_size = 1 WHERE uuid = '$JOB'"
foreign() {	# METHOD URI
	ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req "$1" "$2")
	if [ "$1" = HEAD ]; then
		st_check_status 404 "alice $1 $2"
	else
		st_check_error 404 not_found "alice $1 $2"
	fi
}
for m in GET HEAD DELETE; do
	foreign $m "/batch/$REF_BATCH"
	foreign $m "/job/$JOB"
done
foreign GET "/job/$JOB/log"
foreign HEAD "/job/$JOB/log"
for m in GET HEAD; do
	foreign $m "/model/$JOB"
	foreign $m "/model/$REF_BATCH/$JOB"
done
ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req GET /batch)
st_check_status 200 "alice GET /batch"
st_expect_eq "$(jv 'd')" "[]" "alice sees no batch of bob's"
ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req GET /job)
st_expect_eq "$(jv 'd')" "[]" "alice sees no job of bob's"
ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req GET "/batch?before=$REF_BATCH")
st_check_error 400 invalid_before "alice pages from bob's batch"
st_expect_eq "$(sql "SELECT status FROM jobs WHERE uuid = '$JOB'")" COMPLETED "bob's job untouched"
st_expect_eq "$(sql "SELECT COUNT(*) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$REF_BATCH' AND j.status = 'CANCELED'")" 0 \
    "alice's DELETE cancelled nothing"
ST_GOT=$(st_req GET "/batch/$REF_BATCH")
st_check_status 200 "bob GET his batch"
st_ok "another account's batch, job, log and model: 404 not_found on GET, HEAD and DELETE"

# Unknown and malformed ids are 404 too; wrong methods 405.
for u in /batch/nope /batch/6f1c2a43-0000-4000-8000-000000000000 /job/nope /job/6f1c2a43-0000-4000-8000-000000000000 \
    /model/nope /model/6f1c2a43-0000-4000-8000-000000000000 "/model/nope/$JOB" "/model/$MIX/$JOB"; do
	ST_GOT=$(st_req GET "$u")
	st_check_error 404 not_found "GET $u"
done
ST_GOT=$(st_req PUT "/batch/$REF_BATCH")
st_check_error 405 method_not_allowed "PUT /batch/{id}"
ST_GOT=$(st_req DELETE /batch)
st_check_error 405 method_not_allowed "DELETE /batch"
body '{}'
ST_GOT=$(st_req POST "/job/$JOB" "$T/req.body")
st_check_error 405 method_not_allowed "POST /job/{id}"
ST_GOT=$(ST_NOSIGN=1 st_req GET /batch)
st_check_error 401 unauthorized "unsigned GET /batch"
ST_GOT=$(ST_NOSIGN=1 st_req GET "/model/$JOB")
st_check_error 401 unauthorized "unsigned GET /model"
st_ok "unknown ids 404, a job under another batch 404, wrong methods 405, unsigned 401"
