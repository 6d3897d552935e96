#!/bin/bash
# A job's environment (issue 8, part) on a real Docker Engine: the job's
# "env" (as POST /batch stores it in jobs.env) reaches the container after
# the SINGULARITY_* variables, values with spaces and '=' intact; a stored
# SINGULARITY_* name (never accepted by POST /batch) does not override the
# dispatcher's own; a job without env runs as before.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0310-dispatch-env
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start a
st_test_image singularity/testai:1 "$DK_SOCK"
st_mariadb_start
st_db_setup
st_account alice
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 2 --ram-gb 4 >/dev/null

st_dataset alice envset 0 1
st_batch alice production 0.5 0 0.25
# The command writes what it sees into /output/result.json and the log
# (no backslash in it: st_job passes it through an SQL string literal).
CMD="printf '{\"alpha\": \"%s\", \"beta\": \"%s\", \"url\": \"%s\", \"job\": \"%s\", \"mode\": \"%s\"}' \"\${ALPHA-unset}\" \"\${BETA-unset}\" \"\${URL-unset}\" \"\$SINGULARITY_JOB_ID\" \"\$SINGULARITY_MODE\" >/output/result.json; echo \"ENV ALPHA=\${ALPHA-unset} BETA=\${BETA-unset}\""
st_job "$DS_ID" singularity/testai 1 "$CMD"
J_ENV=$JOB_ID U_ENV=$JOB_UUID
st_sql "UPDATE jobs SET env = '{\"ALPHA\":\"1\",\"BETA\":\"two words\",\"URL\":\"a=b&c=d\"}' WHERE id = $J_ENV"
st_job "$DS_ID" singularity/testai 1 "$CMD"
J_NONE=$JOB_ID U_NONE=$JOB_UUID
st_job "$DS_ID" singularity/testai 1 "$CMD"
J_RES=$JOB_ID U_RES=$JOB_UUID
st_sql "UPDATE jobs SET env = '{\"SINGULARITY_JOB_ID\":\"forged\",\"SINGULARITY_MODE\":\"forged\",\"ALPHA\":\"x\"}' WHERE id = $J_RES"

st_dispatch_until 120 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'COMPLETED'")" 3 "completed jobs"

res() { st_sql "SELECT result FROM jobs WHERE id = $1"; }
check() {
	python3 - "$(res "$1")" "$2" <<'PY' || st_fail "job $1: result $(res "$1")"
import json, sys
r = json.loads(sys.argv[1]); want = json.loads(sys.argv[2])
for k, v in want.items():
    assert r[k] == v, (k, r[k], v)
PY
}
check "$J_ENV" "{\"alpha\": \"1\", \"beta\": \"two words\", \"url\": \"a=b&c=d\", \"job\": \"$U_ENV\", \"mode\": \"production\"}"
logf=$T/store/logs/${U_ENV:0:2}/$U_ENV.log
grep -q '^ENV ALPHA=1 BETA=two words$' "$logf" || st_fail "log of $U_ENV: $(cat "$logf")"
st_ok "env {ALPHA, BETA with a space, URL with =} reaches the container (result.json and log)"

check "$J_NONE" "{\"alpha\": \"unset\", \"beta\": \"unset\", \"job\": \"$U_NONE\"}"
st_ok "a job without env sees none of it"

check "$J_RES" "{\"alpha\": \"x\", \"job\": \"$U_RES\", \"mode\": \"production\"}"
st_ok "a stored SINGULARITY_* name does not override the dispatcher's variables"
