#!/bin/bash
# Models and logs (issue 4) through lighttpd over HTTPS with the real
# MariaDB: the model zip is put into the blob store and model_sha256 set
# with SQL, as the dispatcher would; then GET and HEAD /model/{job} and
# /model/{batch}/{job} (Content-Type, Content-Length, Content-Disposition,
# ETag, If-None-Match 304, bytes equal, a 5 MiB model streamed), the 404
# reasons while there is none, and GET /job/{id}/log.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0202-model
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account bob
st_lighttpd_start
mkset clean_data_set 1 1
SET=$SET_UUID

new_batch production 1 0 "$(job_json "$SET")" "$(job_json "$SET")" "$(job_json "$SET")"
jobn() {
	sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$BATCH' AND j.idx = $1"
}
J0=$(jobn 0) J1=$(jobn 1) J2=$(jobn 2)

# put_model JOB SIZE: a zip of SIZE random bytes as the job's model; sets
# MODEL (its path) and MODEL_SHA.
put_model() {
	MODEL=$T/store/models/${1:0:2}/$1.zip
	mkdir -p "${MODEL%/*}"
	mkzip "$MODEL" "$2"
	MODEL_SHA=$(sha256sum "$MODEL" | cut -d' ' -f1)
	sql "UPDATE jobs SET model_sha256 = '$MODEL_SHA', model_size = $(stat -c %s "$MODEL") WHERE uuid = '$1'"
}

# --- no model yet: 404 with the reason ----------------------------------------

ST_GOT=$(st_req GET "/model/$J0")
st_check_error 404 model_not_ready "GET /model of a QUEUED job"
st_expect_eq "$(st_json error)" "job is QUEUED" "reason"
sql "UPDATE jobs SET status = 'PROCESSING', started_at = UTC_TIMESTAMP(3) WHERE uuid = '$J0'"
ST_GOT=$(st_req GET "/model/$BATCH/$J0")
st_check_error 404 model_not_ready "GET /model/{batch}/{job} of a PROCESSING job"
st_expect_eq "$(st_json error)" "job is PROCESSING" "reason"
# Even with the file and hash in place (a pass half done), not before final.
put_model "$J0" 1000
sql "UPDATE jobs SET status = 'UPLOADING' WHERE uuid = '$J0'"
ST_GOT=$(st_req GET "/model/$J0")
st_check_error 404 model_not_ready "GET /model of an UPLOADING job"
st_expect_eq "$(st_json error)" "job is UPLOADING" "reason"
sql "UPDATE jobs SET status = 'COMPLETED' WHERE uuid = '$J1'"
ST_GOT=$(st_req GET "/model/$J1")
st_check_error 404 no_model "GET /model of a job without a model"
st_expect_eq "$(st_json error)" "job produced no model" "reason"
st_ok "404 model_not_ready (job is QUEUED / PROCESSING / UPLOADING), 404 no_model (job produced no model)"

# --- the model ------------------------------------------------------------------

sql "UPDATE jobs SET status = 'COMPLETED' WHERE uuid = '$J0'"
ETAG="\"$MODEL_SHA\""
for uri in "/model/$J0" "/model/$BATCH/$J0" "/model/$(echo "$J0" | tr a-f A-F)"; do
	ST_GOT=$(st_req GET "$uri")
	st_check_status 200 "GET $uri"
	cmp -s "$T/resp.body" "$MODEL" || st_fail "GET $uri: body differs from the stored model"
	st_expect_eq "$(st_header Content-Type)" application/zip "GET $uri: Content-Type"
	st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$MODEL")" "GET $uri: Content-Length"
	st_expect_eq "$(st_header Content-Disposition)" "attachment; filename=\"$J0.zip\"" "GET $uri: Content-Disposition"
	st_expect_eq "$(st_header ETag)" "$ETAG" "GET $uri: ETag"
	st_check_ids "GET $uri"
done
st_ok "GET /model/{job}, /model/{batch}/{job}: the stored zip, application/zip, Content-Length, attachment, ETag"

ST_GOT=$(st_req HEAD "/model/$J0")
st_check_status 200 "HEAD /model/{job}"
st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$MODEL")" "HEAD: Content-Length"
st_expect_eq "$(st_header ETag)" "$ETAG" "HEAD: ETag"
st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "HEAD: no body"
st_ok "HEAD /model/{job}: the headers, no body"

for inm in "$ETAG" "W/$ETAG" "\"0000\", $ETAG" "*"; do
	ST_GOT=$(st_req GET "/model/$J0" "" -H "If-None-Match: $inm")
	st_check_status 304 "If-None-Match: $inm"
	st_expect_eq "$(st_header ETag)" "$ETAG" "304: ETag"
	st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "304: no body"
done
ST_GOT=$(st_req GET "/model/$BATCH/$J0" "" -H "If-None-Match: \"$(printf '%064d' 0)\"")
st_check_status 200 "If-None-Match with another tag"
cmp -s "$T/resp.body" "$MODEL" || st_fail "body after a non-matching If-None-Match"
st_ok "If-None-Match: the ETag (also weak, in a list, or *) is 304 without a body; another tag 200"

# A partial model of a cancelled job, 5 MiB, streamed in pieces.
sql "UPDATE jobs SET status = 'CANCELED', finished_at = UTC_TIMESTAMP(3) WHERE uuid = '$J2'"
put_model "$J2" 5242880
ST_GOT=$(st_req GET "/model/$BATCH/$J2")
st_check_status 200 "GET a 5 MiB model of a cancelled job"
st_expect_eq "$(sha256sum "$T/resp.body" | cut -d' ' -f1)" "$MODEL_SHA" "5 MiB model: SHA-256 of the body"
st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$MODEL")" "5 MiB model: Content-Length"
st_ok "a 5 MiB partial model of a CANCELED job streamed whole"

# A job of another batch under this batch's id, and an unknown batch.
new_batch production 1 0 "$(job_json "$SET")"
ST_GOT=$(st_req GET "/model/$BATCH/$J0")
st_check_error 404 not_found "GET /model/{other batch}/{job}"
ST_GOT=$(st_req GET "/model/6f1c2a43-0000-4000-8000-000000000000/$J0")
st_check_error 404 not_found "GET /model/{unknown batch}/{job}"
st_ok "/model/{batch}/{job}: the job must be of that batch (404)"

# --- logs -----------------------------------------------------------------------

ST_GOT=$(st_req GET "/job/$J1/log")
st_check_status 200 "GET /job/{id}/log before there is one"
st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "empty log"
case $(st_header Content-Type) in text/plain*) ;; *) st_fail "log Content-Type '$(st_header Content-Type)'";; esac
LOG=$T/store/logs/${J1:0:2}/$J1.log
mkdir -p "${LOG%/*}"
{ printf 'epoch 1 loss 0.9\nepoch 2 loss 0.5\n'; head -c 200000 /dev/urandom | base64; printf 'caf\xc3\xa9 done\n'; } > "$LOG"
sql "UPDATE jobs SET log_size = $(stat -c %s "$LOG") WHERE uuid = '$J1'"
ST_GOT=$(st_req GET "/job/$J1/log")
st_check_status 200 "GET /job/{id}/log"
cmp -s "$T/resp.body" "$LOG" || st_fail "the log body differs from the stored log"
st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$LOG")" "log Content-Length"
case $(st_header Content-Type) in text/plain*) ;; *) st_fail "log Content-Type";; esac
ST_GOT=$(st_req HEAD "/job/$J1/log")
st_check_status 200 "HEAD /job/{id}/log"
st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$LOG")" "HEAD log: Content-Length"
st_ok "GET /job/{id}/log: empty 200 before there is one, then the stored text (text/plain, Content-Length); HEAD"
