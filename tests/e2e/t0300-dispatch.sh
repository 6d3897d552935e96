#!/bin/bash
# The dispatcher on two real Docker Engines (issue 5): one on a unix
# socket, one on tcp://127.0.0.1 with TLS client certificates. A pilot
# batch of 6 jobs over a 3-pilot data set: every job COMPLETED with the
# fitness predicted from its pilot's shards, a model zip holding exactly
# the files the script wrote, its log, CPU and RAM limits seen inside the
# container, its container removed; then two dispatchers at once.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0300-dispatch
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b tls
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
st_mariadb_start
st_db_setup
st_account alice

"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 2 --ram-gb 4 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 2 --ram-gb 4 \
    --tls-ca "$DK_TLS_CA" --tls-cert "$DK_TLS_CERT" --tls-key "$DK_TLS_KEY" >/dev/null

st_dataset alice digits 3 6
set -- $PILOT_IDS
PILOTS=("$@")
st_batch alice pilot 0.5 0 0.25
for i in 0 1 2 3 4 5; do
	st_job "${PILOTS[$((i % 3))]}" singularity/testai 1 "/train.sh --cgroup --lines 3 --sleep 0.3"
done
[ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE pending_reason = 'not_yet_considered'")" = 6 ] ||
    st_fail "new jobs are not_yet_considered"

# Dry run: placements printed, nothing changed.
"$ST_DISPATCH" --dry-run >"$T/dry.out" 2>&1 || { cat "$T/dry.out"; st_fail "dry run failed"; }
grep -q '^place job ' "$T/dry.out" || { cat "$T/dry.out"; st_fail "dry run printed no placement"; }
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'QUEUED'")" 6 "jobs queued after a dry run"
st_ok "dry run prints placements and changes nothing"

st_dispatch_until 90 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'COMPLETED' AND error IS NULL")" 6 "completed jobs"
st_expect_eq "$(st_sql "SELECT COUNT(DISTINCT host_id) FROM jobs")" 2 "hosts used"
st_ok "6 pilot jobs COMPLETED on both engines (unix and TLS)"

for id in $JOB_IDS; do
	read -r uuid ds result pt log_size model_sha model_size <<<"$(st_sql "SELECT uuid,
	    dataset_id, result, processing_time_ms, log_size, model_sha256, model_size FROM jobs WHERE id = $id" |
	    tr '\t' '\001' | sed 's/ /\x02/g' | tr '\001' ' ')"
	result=${result//$'\x02'/ }
	read -r want_sum want_count <"$T/expect/$ds"
	python3 - "$result" "$want_sum" "$want_count" "$uuid" <<'PY' || st_fail "job $uuid: result $result"
import json, sys
r = json.loads(sys.argv[1])
s, c = int(sys.argv[2]), int(sys.argv[3])
assert r["sum"] == s and r["count"] == c and r["fitness"] == s % 997, r
assert r["job"] == sys.argv[4] and r["mode"] == "pilot" and r["shards"] == 2, r
assert r["cpu_quota"] * 2 == r["cpu_period"], r          # 0.5 CPU
assert r["mem_limit"] == 268435456, r                    # 0.25 GiB
PY
	[ "$pt" -gt 0 ] || st_fail "job $uuid: processing_time_ms $pt"
	model=$T/store/models/${uuid:0:2}/$uuid.zip
	[ -f "$model" ] || st_fail "job $uuid: no model file"
	st_expect_eq "$(sha256sum "$model" | cut -d' ' -f1)" "$model_sha" "model_sha256 of $uuid"
	st_expect_eq "$(stat -c %s "$model")" "$model_size" "model_size of $uuid"
	python3 - "$model" "$want_sum" "$uuid" <<'PY' || st_fail "job $uuid: model zip"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = sorted(z.namelist())
assert names == ["model/params.txt", "model/weights.txt", "summary.txt"], names
assert z.read("model/weights.txt").decode().strip() == sys.argv[2]
assert ("job=%s" % sys.argv[3]) in z.read("model/params.txt").decode()
PY
	logf=$T/store/logs/${uuid:0:2}/$uuid.log
	[ -f "$logf" ] || st_fail "job $uuid: no log"
	grep -q "^RUN $uuid mode=pilot" "$logf" || st_fail "job $uuid: log lacks the RUN line"
	grep -q '^line 3$' "$logf" || st_fail "job $uuid: log lacks line 3"
	st_expect_eq "$(stat -c %s "$logf")" "$log_size" "log_size of $uuid"
done
st_ok "results match the predicted fitness; models hold exactly the script's files; logs kept"

for s in "$SOCK_A" "$SOCK_B"; do
	st_expect_eq "$(st_dk "$s" GET '/containers/json?all=1')" "[]" "containers left on an engine"
done
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM hosts WHERE last_seen_at IS NOT NULL AND unreachable_since IS NULL")" 2 "healthy hosts"
st_ok "containers removed; hosts seen"

# Two dispatchers together: one holds the lock, the other exits at once.
"$ST_DISPATCH" --loop 1 >"$T/loop.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"
for _ in $(seq 1 50); do
	[ "$(st_sql "SELECT IS_USED_LOCK('singularity-dispatch') IS NOT NULL")" = 1 ] && break
	sleep 0.1
done
set +e
"$ST_DISPATCH" --once >"$T/second.out" 2>&1
rc=$?
set -e
st_expect_eq "$rc" 3 "exit status of the second dispatcher"
grep -q 'another dispatcher is running' "$T/second.out" || { cat "$T/second.out"; st_fail "no lock message"; }
kill -TERM "$LOOP"
wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"
st_ok "a second dispatcher exits with status 3 and says why"
