#!/bin/bash
# From pilot to production (issue 8): a pilot batch of 8 configurations
# whose fitness the test predicts from the shards each pilot sub-set holds
# (train.sh --weight W: fitness_score = (sum * W) % 10007), run by the real
# dispatcher on a real Docker Engine, through lighttpd over HTTPS:
#
#   - the leaderboard order matches the prediction for max and min;
#   - POST /batch/{id}/promote {"top_k": 3} reruns exactly the 3 best on the
#     parent set, each job recording the pilot job it reruns, and their
#     production results match the prediction on the whole data;
#   - "auto_promote": {"top_k": 3} does the same without a call (the same 3
#     configurations), and {"top_k": 2} with a min objective promotes the 2
#     lowest, keeping the objective and retry policy; the pilot batch shows
#     promoted_batch_id; an automatic promotion that cannot happen (no job
#     has the metric) is marked failed with the reason;
#   - "partial": true promotes from the jobs completed so far;
#   - the refusals: 409 while jobs are not final (unless partial), 422 with
#     no metric, 422 for a production batch, 404 for another account's,
#     400/422 for bad bodies and bad auto_promote fields;
#   - singularity-cli batch promote.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/cli.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0211-promote
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
st_test_image singularity/testai:1 "$DK_SOCK"
st_mariadb_start
st_db_setup
st_account bob
BOB_KEY=$API_KEY BOB_SECRET=$API_SECRET
st_account alice
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
st_lighttpd_start
st_cli_config

# 4 pilots over 12 shards (shard i in pilot i % 4), and a second set.
st_dataset alice promo 4 12
SET_ID=$DS_ID SET=$DS_UUID
read -r -a PIDS <<<"$PILOT_IDS"
read -r -a PUUIDS <<<"$PILOT_UUIDS"
st_dataset alice other 0 3
OTHER_ID=$DS_ID OTHER=$DS_UUID

WEIGHTS=(3 5 7 11 13 17 19 23)
sumof() { cut -d' ' -f1 "$T/expect/$1"; }
score() { echo $(( ($1 * $2) % 10007 )); }

# pilot_body MODE EXTRA: the 8 configurations on the set, plus EXTRA fields.
pilot_body() {
	local jobs="" k
	for k in 0 1 2 3 4 5 6 7; do
		jobs="${jobs:+$jobs, }{\"command\": \"/train.sh --weight ${WEIGHTS[$k]}\", \"image\": \"singularity/testai\", \"image_tag\": \"1\", \"data_set_id\": \"promo\", \"env\": {\"CONFIG\": \"w${WEIGHTS[$k]}\"}}"
	done
	body "{\"mode\": \"$1\", \"requisitions\": {\"cpu\": 0.5, \"gpu\": 0}, \"jobs\": [$jobs]$2}"
}

# predict DIR: "idx score" of each configuration on its pilot (job k runs on
# pilot k % 4, the round-robin of DESIGN), best first for DIR (max|min).
predict() {
	local k
	for k in 0 1 2 3 4 5 6 7; do
		echo "$k $(score "$(sumof "${PIDS[$((k % 4))]}")" "${WEIGHTS[$k]}")"
	done | if [ "$1" = max ]; then sort -k2,2nr; else sort -k2,2n; fi
}
[ "$(predict max | cut -d' ' -f2 | sort -u | wc -l)" = 8 ] ||
    st_fail "the test data gives two configurations the same score: $(predict max | tr '\n' ' ')"

jobn() { sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$1' AND j.idx = $2"; }
not_final() { echo "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')"; }
promote() {
	body "$2"
	ST_GOT=$(st_req POST "/batch/$1/promote" "$T/req.body")
}

# --- bad auto_promote fields ------------------------------------------------------

for c in \
    '400 invalid_auto_promote pilot , "auto_promote": 3' \
    '400 invalid_auto_promote pilot , "auto_promote": {"top_k": "3"}' \
    '400 invalid_auto_promote pilot , "auto_promote": {}' \
    '422 invalid_auto_promote pilot , "auto_promote": {"top_k": 0}' \
    '422 invalid_auto_promote pilot , "auto_promote": {"top_k": 2.5}' \
    '422 invalid_auto_promote pilot , "auto_promote": {"top_k": 1001}' \
    '422 invalid_auto_promote production , "auto_promote": {"top_k": 1}'; do
	read -r want code mode extra <<<"$c"
	pilot_body "$mode" "$extra"
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_error "$want" "$code" "POST /batch with $mode$extra"
done
st_expect_eq "$(sql "SELECT COUNT(*) FROM batches")" 0 "batches after refused bodies"
st_ok "bad auto_promote fields: 400/422 invalid_auto_promote, nothing written"

# --- the pilot batch ----------------------------------------------------------------

pilot_body pilot ""
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch (pilot)"
PILOT=$(jv 'd["batch_uuid"]')
for k in 0 1 2 3 4 5 6 7; do
	st_expect_eq "$(sql "SELECT dataset_id FROM jobs WHERE uuid = '$(jobn "$PILOT" $k)'")" \
	    "${PIDS[$((k % 4))]}" "pilot sub-set of configuration $k"
done

promote "$PILOT" '{"top_k": 3}'
st_check_error 409 batch_not_final "promote before the jobs are final"
promote "$PILOT" '{"top_k": 3, "partial": true}'
st_check_error 422 no_metric "partial promotion with nothing completed"
for c in \
    '400 invalid_json {"top_k": 3' \
    '400 invalid_json [3]' \
    '400 invalid_top_k {}' \
    '400 invalid_top_k {"top_k": "3"}' \
    '422 invalid_top_k {"top_k": 0}' \
    '422 invalid_top_k {"top_k": 1.5}' \
    '422 invalid_top_k {"top_k": 1001}' \
    '400 invalid_data_set {"top_k": 1, "data_set_id": 7}' \
    '400 invalid_data_set {"top_k": 1, "data_set_id": ""}' \
    '400 invalid_partial {"top_k": 1, "partial": "yes"}'; do
	read -r want code b <<<"$c"
	promote "$PILOT" "$b"
	st_check_error "$want" "$code" "promote $b"
done
as_account "$BOB_KEY" "$BOB_SECRET" promote "$PILOT" '{"top_k": 3}'
st_check_error 404 not_found "another account's batch"
promote "00000000-0000-4000-8000-000000000000" '{"top_k": 3}'
st_check_error 404 not_found "no such batch"
st_expect_eq "$(sql "SELECT COUNT(*) FROM batches")" 1 "batches after refused promotions"
st_ok "refusals: 409 not final, 422 no metric, 400/422 bad bodies, 404 foreign or missing"

st_dispatch_until 240 "$(not_final)"
st_expect_eq "$(sql "SELECT COUNT(*) FROM jobs WHERE status = 'COMPLETED'")" 8 "pilot jobs completed"

# --- the leaderboard --------------------------------------------------------------

for dir in max min; do
	ST_GOT=$(st_req GET "/batch/$PILOT/leaderboard?direction=$dir")
	st_check_status 200 "leaderboard $dir"
	want="" got=$(jv '" ".join("%s=%g" % (r["job_id"], r["metric"]) for r in d["ranked"])')
	while read -r k s; do
		want="${want:+$want }$(jobn "$PILOT" "$k")=$s"
	done < <(predict $dir)
	st_expect_eq "$got" "$want" "leaderboard order ($dir)"
done
st_ok "leaderboard order matches the prediction for max and min ($(predict max | cut -d' ' -f2 | tr '\n' ' '))"

# --- promote top 3 ------------------------------------------------------------------

promote "$PILOT" '{"top_k": 3}'
st_check_status 201 "promote top 3"
cp "$T/resp.body" "$T/promote.json"
PROD=$(jv 'd["batch_uuid"]')
st_expect_eq "$(jv '[d["successful"], d["failed"], d["errors"], d["promoted_from"]]')" \
    "[3, 0, [], \"$PILOT\"]" "promotion answer"
i=0
while read -r k s; do
	[ "$i" -lt 3 ] || break
	st_expect_eq "$(st_pyjson "$T/promote.json" "[d['jobs'][$i][x] for x in ('index', 'rank', 'promoted_from', 'metric', 'data_set_id')]")" \
	    "[$i, $((i + 1)), \"$(jobn "$PILOT" "$k")\", $s, \"$SET\"]" "promoted job $i"
	# The configuration is copied: image, tag, command, env; on the set.
	pj=$(jobn "$PILOT" "$k") nj=$(st_pyjson "$T/promote.json" "d['jobs'][$i]['id']")
	st_expect_eq "$(sql "SELECT CONCAT_WS(' ', n.mode, n.image, n.image_tag, n.command, n.env, n.dataset_id, n.cpu, n.ram_gb, n.idx)
	    FROM jobs n JOIN jobs p ON p.id = n.promoted_from WHERE n.uuid = '$nj' AND p.uuid = '$pj'")" \
	    "production singularity/testai 1 /train.sh --weight ${WEIGHTS[$k]} {\"CONFIG\":\"w${WEIGHTS[$k]}\"} $SET_ID 0.500 $(sql "SELECT ram_gb FROM batches WHERE uuid = '$PILOT'") $i" \
	    "promoted job $i in MariaDB"
	ST_GOT=$(st_req GET "/job/$nj")
	st_check_status 200 "GET /job of promoted job $i"
	st_expect_eq "$(jv '[d[0]["promoted_from"], d[0]["mode"], d[0]["data_set_id"], d[0]["env"]]')" \
	    "[\"$pj\", \"production\", \"$SET\", {\"CONFIG\": \"w${WEIGHTS[$k]}\"}]" "GET /job of promoted job $i"
	i=$((i + 1))
done < <(predict max)
st_expect_eq "$(sql "SELECT COUNT(*) FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$PROD'")" 3 "jobs of the production batch"
ST_GOT=$(st_req GET "/batch/$PILOT")
st_expect_eq "$(jv '[d[0]["promoted_batch_id"], d[0]["promoted_from"], d[0]["auto_promote"]]')" \
    "[\"$PROD\", null, null]" "the pilot batch names its promotion"
ST_GOT=$(st_req GET "/batch/$PROD")
st_expect_eq "$(jv '[d[0]["mode"], d[0]["promoted_from"], d[0]["promoted_batch_id"], d[0]["objective"], d[0]["retry"]]')" \
    "[\"production\", \"$PILOT\", null, {\"direction\": \"max\", \"metric\": \"fitness_score\"}, {\"attempts\": 3, \"on\": [\"host_failure\"]}]" "the production batch"
st_ok "promote top_k 3: the 3 best configurations, copied, on the parent set, each with promoted_from"

promote "$PROD" '{"top_k": 1}'
st_check_error 422 not_pilot "promoting a production batch"
promote "$PILOT" "{\"top_k\": 1, \"data_set_id\": \"${PUUIDS[0]}\"}"
st_check_error 422 invalid_data_set "promotion onto a pilot sub-set"
promote "$PILOT" '{"top_k": 1, "data_set_id": "nosuchset"}'
st_check_error 422 invalid_data_set "promotion onto an unknown set"
st_ok "422 for a production batch, a pilot sub-set or an unknown set as target"

# The best one again, onto the other set, through the CLI.
cli_run 0 batch promote "$PILOT" --top 1 --data-set other
OTHERB=$(sed -n 's/^batch \([0-9a-f-]\{36\}\): 1 jobs promoted from batch .*/\1/p' "$T/out")
[ -n "$OTHERB" ] || st_fail "batch promote output: $(cat "$T/out")"
read -r k0 s0 < <(predict max | head -1)
grep -q "^  1  [0-9a-f-]\{36\}  <- $(jobn "$PILOT" "$k0")  $s0\$" "$T/out" ||
    st_fail "batch promote job line: $(cat "$T/out")"
st_expect_eq "$(sql "SELECT d.name FROM jobs j JOIN batches b ON b.id = j.batch_id JOIN datasets d ON d.id = j.dataset_id WHERE b.uuid = '$OTHERB'")" \
    other "data set of the CLI's promotion"
st_expect_eq "$(sql "SELECT p.uuid FROM batches b JOIN batches p ON p.id = b.promoted_batch_id WHERE b.uuid = '$PILOT'")" \
    "$OTHERB" "promoted_batch_id names the latest promotion"
cli_run 2 batch promote "$PILOT"
cli_run 0 batch status "$PILOT"
grep -q "^promoted    to production batch $OTHERB\$" "$T/out" || st_fail "batch status of the pilot batch: $(cat "$T/out")"
cli_run 0 batch status "$OTHERB"
grep -q "^promoted    from pilot batch $PILOT\$" "$T/out" || st_fail "batch status of the promoted batch: $(cat "$T/out")"
st_ok "singularity-cli batch promote --top 1 --data-set other; batch status shows both ends of a promotion"

# --- partial promotion ---------------------------------------------------------------

# A pilot batch of two configurations, one COMPLETED (set in MariaDB, as the
# dispatcher would) and one still QUEUED: 409 without partial, 201 with it,
# from the completed one only.
body '{"mode": "pilot", "requisitions": {"cpu": 0.5}, "jobs": [{"command": "/train.sh --weight 3", "image": "singularity/testai", "image_tag": "1", "data_set_id": "promo"}, {"command": "/train.sh --weight 5", "image": "singularity/testai", "image_tag": "1", "data_set_id": "promo"}]}'
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch (for a partial promotion)"
PART=$(jv 'd["batch_uuid"]')
sql "UPDATE jobs SET status = 'COMPLETED', result = '{\"fitness_score\": 7}', processing_time_ms = 10, exit_code = 0, pending_reason = NULL WHERE uuid = '$(jobn "$PART" 0)'"
promote "$PART" '{"top_k": 2}'
st_check_error 409 batch_not_final "promote with a job still queued"
promote "$PART" '{"top_k": 2, "partial": true}'
st_check_status 201 "partial promotion"
st_expect_eq "$(jv '[d["successful"], d["failed"], [(j["promoted_from"], j["metric"], j["data_set_id"]) for j in d["jobs"]]]')" \
    "[1, 0, [[\"$(jobn "$PART" 0)\", 7, \"$SET\"]]]" "partial promotion: the completed configuration only"
st_ok "partial promotion: 409 while a job is queued, then only the completed configuration with partial"

# --- automatic promotion ------------------------------------------------------------

pilot_body pilot ', "objective": {"metric": "fitness_score", "direction": "min"}, "auto_promote": {"top_k": 2}, "retry": {"attempts": 2, "on": ["oom", "host_failure"]}'
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch (auto_promote)"
AUTO=$(jv 'd["batch_uuid"]')
ST_GOT=$(st_req GET "/batch/$AUTO")
st_expect_eq "$(jv '[d[0]["auto_promote"], d[0]["promoted_batch_id"]]')" \
    '[{"error": null, "state": "waiting", "top_k": 2}, null]' "auto_promote before the run"
# The same as the promotion by hand above, without a call: the 3 best.
pilot_body pilot ', "auto_promote": {"top_k": 3}'
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch (auto_promote top 3)"
AUTO3=$(jv 'd["batch_uuid"]')
# One that can never be promoted: no job writes fitness_score.
body '{"mode": "pilot", "requisitions": {"cpu": 0.5}, "auto_promote": {"top_k": 1}, "jobs": [{"command": "/train.sh", "image": "singularity/testai", "image_tag": "1", "data_set_id": "promo"}]}'
ST_GOT=$(st_req POST /batch "$T/req.body")
st_check_status 201 "POST /batch (auto_promote without the metric)"
NOMETRIC=$(jv 'd["batch_uuid"]')

st_dispatch_until 300 "SELECT ($(not_final)) + (SELECT COUNT(*) FROM batches WHERE auto_promote_state = 'waiting')"

ST_GOT=$(st_req GET "/batch/$AUTO")
AUTOPROD=$(jv 'd[0]["promoted_batch_id"]')
[[ $AUTOPROD =~ $UUID_RE ]] || st_fail "no promoted_batch_id: $(cat "$T/resp.body")"
st_expect_eq "$(jv 'd[0]["auto_promote"]')" '{"error": null, "state": "done", "top_k": 2}' "auto_promote after the run"
ST_GOT=$(st_req GET "/batch/$AUTOPROD")
st_expect_eq "$(jv '[d[0]["mode"], d[0]["promoted_from"], d[0]["objective"], d[0]["retry"]]')" \
    "[\"production\", \"$AUTO\", {\"direction\": \"min\", \"metric\": \"fitness_score\"}, {\"attempts\": 2, \"on\": [\"host_failure\", \"oom\"]}]" \
    "the automatic promotion keeps the objective and retry policy"
want=""
while read -r k s; do
	want="${want:+$want }$(jobn "$AUTO" "$k")"
done < <(predict min | head -2)
st_expect_eq "$(sql "SELECT GROUP_CONCAT(p.uuid ORDER BY n.idx SEPARATOR ' ') FROM jobs n JOIN batches b ON b.id = n.batch_id JOIN jobs p ON p.id = n.promoted_from WHERE b.uuid = '$AUTOPROD'")" \
    "$want" "automatically promoted configurations (2 lowest)"
ST_GOT=$(st_req GET "/batch/$AUTO3")
AUTO3PROD=$(jv 'd[0]["promoted_batch_id"]')
[[ $AUTO3PROD =~ $UUID_RE ]] || st_fail "no promoted_batch_id: $(cat "$T/resp.body")"
want=""
while read -r k s; do
	want="${want:+$want }$(jobn "$AUTO3" "$k")"
done < <(predict max | head -3)
st_expect_eq "$(sql "SELECT GROUP_CONCAT(p.uuid ORDER BY n.idx SEPARATOR ' ') FROM jobs n JOIN batches b ON b.id = n.batch_id JOIN jobs p ON p.id = n.promoted_from WHERE b.uuid = '$AUTO3PROD'")" \
    "$want" "automatically promoted configurations (3 best)"
# The same configurations as the promotion by hand, in the same order.
st_expect_eq "$(sql "SELECT GROUP_CONCAT(j.command ORDER BY j.idx SEPARATOR ', ') FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$AUTO3PROD'")" \
    "$(sql "SELECT GROUP_CONCAT(j.command ORDER BY j.idx SEPARATOR ', ') FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$PROD'")" \
    "automatic and manual promotion of top 3"
ST_GOT=$(st_req GET "/batch/$NOMETRIC")
st_expect_eq "$(jv '[d[0]["auto_promote"], d[0]["promoted_batch_id"]]')" \
    '[{"error": "no COMPLETED job of the batch has a numeric fitness_score in its result", "state": "failed", "top_k": 1}, null]' \
    "an automatic promotion that cannot happen"
cli_run 0 batch status "$AUTO"
grep -q "^auto        promote top 2: done\$" "$T/out" || st_fail "batch status of the auto batch: $(cat "$T/out")"
cli_run 0 batch status "$NOMETRIC"
grep -q "^auto        promote top 1: failed: no COMPLETED job of the batch has a numeric fitness_score in its result\$" "$T/out" ||
    st_fail "batch status of the batch without the metric: $(cat "$T/out")"
st_ok "auto_promote top_k 3 reruns the same 3 as the promotion by hand; top_k 2 with min keeps the objective and retry policy; both without a call once the pilot batch was final; a batch without the metric is marked failed"

# --- production results on the whole data -----------------------------------------

whole=$(sumof "$SET_ID") count=$(cut -d' ' -f2 "$T/expect/$SET_ID")
for b in "$PROD" "$AUTOPROD" "$AUTO3PROD" "$OTHERB"; do
	[ "$b" = "$OTHERB" ] && whole=$(sumof "$OTHER_ID") count=$(cut -d' ' -f2 "$T/expect/$OTHER_ID")
	n=0
	while read -r uuid status w fit cnt; do
		st_expect_eq "$status" COMPLETED "status of $uuid"
		st_expect_eq "$fit $cnt" "$(score "$whole" "$w") $count" "production result of $uuid (weight $w)"
		n=$((n + 1))
	done < <(sql "SELECT j.uuid, j.status, JSON_VALUE(j.result, '\$.weight'), JSON_VALUE(j.result, '\$.fitness_score'), JSON_VALUE(j.result, '\$.count')
	    FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$b' ORDER BY j.idx")
	[ "$n" -gt 0 ] || st_fail "no jobs in batch $b"
done
st_ok "the promoted jobs' results match the prediction on the whole data"
