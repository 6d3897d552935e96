#!/bin/bash
# The whole journey of issue 6 with singularity-cli only, against the real
# stack: lighttpd over HTTPS, MariaDB, st-dispatch in its loop and a real
# Docker Engine running the test image (tests/lib/docker.sh):
#   a ~40 MB folder of 300 files -> dataset add (the right number of shards,
#   all <= 10 MiB) -> two files changed, run again (only their shards sent,
#   by the server's log) -> pilot batch create -> batch wait -> leaderboard
#   ranks by the fitness predicted from each pilot's shards -> model download
#   gives the zip the job wrote -> job log --follow shows a running job's
#   lines -> batch cancel of a running batch -> production batch on the whole
#   set -> batch status, summary, job status.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0402-cli-journey
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$top_builddir/src/dispatcher/st-dispatch" ] || st_skip "st-dispatch is not built"
for r in st-batch st-job st-model; do
	[ -x "$top_builddir/src/responders/$r" ] || st_skip "$r is not built"
done
st_dockerd_start local
st_test_image singularity/testai:1
st_mariadb_start
st_db_setup
st_account erin
st_lighttpd_start
st_cli_config
"$ST_ADMIN" host add local --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null ||
    st_fail "st-admin host add"
setsid "$top_builddir/src/dispatcher/st-dispatch" --loop 1 --verbose \
    >"$T/dispatch.out" 2>&1 </dev/null &
st_track_pid $!
ST_SERVER_LOG="$ST_SERVER_LOG $T/dispatch.out"

sql() { st_mysql -N -B singularity -e "$1"; }
added() { grep -c "added to data set $1" "$T/singularity.log" || :; }
fail_logs() { st_server_log; st_fail "$@"; }

# The batch UUID from `batch create`'s line "batch UUID: N jobs accepted...".
batch_of() { sed -n 's/^batch \([0-9a-f-]\{36\}\): .*/\1/p' "$T/out"; }

# jobs FILE DATASET COMMAND...: a jobs file, one job per command.
jobs() {
	local f=$1 ds=$2
	shift 2
	python3 - "$f" "$ds" "$@" <<'EOF'
import json, sys
json.dump([{"command": c, "image": "singularity/testai", "image_tag": "1",
            "data_set_id": sys.argv[2]} for c in sys.argv[3:]], open(sys.argv[1], "w"))
EOF
}

# predict DATASET_UUID: what train.sh computes over the shards of that set
# or pilot, read from the blob store: "sum fitness".
predict() {
	sql "SELECT s.sha256 FROM shards s JOIN dataset_shards ds ON ds.shard_id = s.id
	    JOIN datasets d ON d.id = ds.dataset_id WHERE d.uuid = '$1'" |
	python3 -c '
import re, sys, zipfile
store = sys.argv[1]
s = 0
for sha in sys.stdin.read().split():
    z = zipfile.ZipFile("%s/shards/%s/%s/%s.zip" % (store, sha[:2], sha[2:4], sha))
    for n in z.namelist():
        for line in z.read(n).decode().split("\n"):
            if re.fullmatch(r"-?[0-9]+", line):
                s += int(line)
print(s, s % 997)' "$T/store"
}

# --- the data set ---------------------------------------------------------------

D=$T/journey
mkfolder "$D" 42 300 40
cli_run 0 dataset add journey "$D" --pilot-count 3
SET=$(st_pyjson "$D/.singularity-imprint.json" 'd["set"]["uuid"]')
N=$(st_pyjson "$D/.singularity-imprint.json" 'len(d["shards"])')
TOTAL=$(du -sb --exclude=.singularity-imprint.json "$D" | cut -f1)
python3 -c "import math; n, t = $N, $TOTAL; lo = math.ceil(t / 10485760); assert lo <= n <= lo + 1" ||
    st_fail "$N shards for $TOTAL bytes"
for sha in $(st_pyjson "$D/.singularity-imprint.json" '" ".join(s["id"] for s in d["shards"])'); do
	f=$T/store/shards/${sha:0:2}/${sha:2:2}/$sha.zip
	[ "$(stat -c %s "$f")" -le 10485760 ] || st_fail "shard $sha is $(stat -c %s "$f") bytes"
done
st_expect_eq "$(added "$SET")" "$N" "shards added"
st_ok "dataset add: $TOTAL bytes in 300 files -> $N shards, all <= 10 MiB"

# Two files changed: a file of numbers and a text file, in two shards.
read -r F1 F2 <<<"$(st_pyjson "$D/.singularity-imprint.json" '
" ".join([[f["name"] for f in d["shards"][0]["files"] if f["size"] < 10000][0],
          [f["name"] for f in d["shards"][1]["files"] if f["size"] > 10000][0]])')"
[ -n "$F2" ] || st_fail "no two files to change"
printf '%s\n' 424242 >>"$D/$F1"
printf 'more text\n' >>"$D/$F2"
cli_run 0 dataset add journey "$D"
grep -q ": $N shards, 2 uploaded .* $((N - 2)) kept, 2 deleted" "$T/out" ||
    st_fail "second run: $(head -1 "$T/out")"
st_expect_eq "$(added "$SET")" "$((N + 2))" "shards added after changing two files"
st_ok "two files changed: only their two shards sent again"

# --- a pilot batch ----------------------------------------------------------------

jobs "$T/pilot.json" journey "/train.sh --lines 2" "/train.sh --lines 2" "/train.sh --lines 2"
cli_run 0 batch create --from-file "$T/pilot.json" --cpus 0.5 --mode pilot
grep -q ': 3 jobs accepted, 0 refused$' "$T/out" || st_fail "batch create: $(cat "$T/out")"
PILOT=$(batch_of)
[ -n "$PILOT" ] || st_fail "no batch id in: $(cat "$T/out")"
cli_run 0 batch wait "$PILOT" --timeout 120 --interval 0.5 ||
    fail_logs "batch wait"
grep -q "^batch $PILOT COMPLETED: 3/3 final, completed 3\$" "$T/out" || st_fail "wait: $(cat "$T/out")"
grep -q "^batch $PILOT: 3/3 final" "$T/err" || st_fail "wait progress lines: $(cat "$T/err")"
st_ok "pilot batch of 3 jobs created and waited for (exit 0, all COMPLETED)"

# The leaderboard ranks by the fitness each job's pilot predicts.
cli_run 0 --json leaderboard "$PILOT" --metric fitness
cp "$T/out" "$T/board.json"
for id in $(st_pyjson "$T/board.json" '" ".join(j["job_id"] for j in d["ranked"])'); do
	cli_run 0 --json job status "$id"
	ds=$(st_pyjson "$T/out" 'd[0]["data_set_id"]')
	read -r psum pfit <<<"$(predict "$ds")"
	got=$(st_pyjson "$T/out" 'd[0]["result"]["fitness"]')
	st_expect_eq "$got" "$pfit" "fitness of job $id on pilot $ds (sum $psum)"
	echo "$pfit" >>"$T/ranked"
done
st_expect_eq "$(wc -l <"$T/ranked")" 3 "jobs on the leaderboard"
st_expect_eq "$(cat "$T/ranked")" "$(sort -rn "$T/ranked")" "leaderboard order"
cli_run 0 leaderboard "$PILOT" --metric fitness --top 2
head -1 "$T/out" | grep -q '^RANK  JOB  *STATUS  *fitness  COMMAND$' || st_fail "leaderboard header: $(cat "$T/out")"
st_expect_eq "$(grep -c '^ *[12]  [0-9a-f-]\{36\}  COMPLETED  ' "$T/out")" 2 "leaderboard --top 2 rows"
grep -q "^ *1  $(st_pyjson "$T/board.json" 'd["ranked"][0]["job_id"]')  COMPLETED  *$(head -1 "$T/ranked")  /train.sh" "$T/out" ||
    st_fail "leaderboard row 1: $(cat "$T/out")"
st_ok "leaderboard ranks the jobs by the fitness predicted from their pilots ($(tr '\n' ' ' <"$T/ranked"))"

# The model of the best job, as the job wrote it.
BEST=$(st_pyjson "$T/board.json" 'd["ranked"][0]["job_id"]')
mkdir -p "$T/models"
cli_run 0 model download "$PILOT" "$BEST" --download-path "$T/models"
M=$T/models/$BEST.zip
st_expect_eq "$(sha256sum "$M" | cut -d' ' -f1)" "$(sql "SELECT model_sha256 FROM jobs WHERE uuid = '$BEST'")" "model sha256"
cmp -s "$M" "$T/store/models/${BEST:0:2}/$BEST.zip" || st_fail "the model differs from the stored zip"
cli_run 0 --json job status "$BEST"
read -r bsum _ <<<"$(predict "$(st_pyjson "$T/out" 'd[0]["data_set_id"]')")"
python3 - "$M" "$bsum" "$BEST" <<'EOF' || st_fail "model zip content"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert sorted(z.namelist()) == ["model/params.txt", "model/weights.txt", "summary.txt"], z.namelist()
assert z.read("model/weights.txt").decode().strip() == sys.argv[2]
assert ("job=%s" % sys.argv[3]) in z.read("model/params.txt").decode()
EOF
cli_run 0 model download "$BEST" --download-path "$T/best.zip"
cmp -s "$M" "$T/best.zip" || st_fail "model download JOB differs"
grep -q "^model of job $BEST: $T/best.zip (" "$T/out" || st_fail "download line: $(cat "$T/out")"
st_ok "model download gives the zip the job wrote (weights = sum $bsum)"

# --- job log --follow while the job runs ------------------------------------------

jobs "$T/follow.json" journey "/train.sh --lines 3 --sleep 8"
cli_run 0 batch create --from-file "$T/follow.json" --cpus 0.5 --mode pilot
FB=$(batch_of)
cli_run 0 --json batch status "$FB"
FJ=$(st_pyjson "$T/out" 'd[0]["jobs"][0]["id"]')
"$ST_CLI" job log "$FJ" --follow --interval 0.3 >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
seen_running=0
end=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
	if grep -q '^line 3$' "$T/follow.out"; then
		cli_run 0 --json job status "$FJ"
		[ "$(st_pyjson "$T/out" 'd[0]["status"]')" = PROCESSING ] && seen_running=1
		break
	fi
	sleep 0.1
done
[ "$seen_running" = 1 ] || fail_logs "job log --follow did not show line 3 while the job ran: $(cat "$T/follow.out" "$T/follow.err")"
wait "$fpid" || st_fail "job log --follow: exit $? $(cat "$T/follow.err")"
grep -q '^done$' "$T/follow.out" || st_fail "--follow ended before the job's last line: $(cat "$T/follow.out")"
st_expect_eq "$(grep -c '^line [123]$' "$T/follow.out")" 3 "each line printed once"
cli_run 0 job log "$FJ"
cmp -s "$T/out" "$T/follow.out" || st_fail "job log differs from what --follow printed"
st_ok "job log --follow shows the lines of a running job, each once, until it ends"

# --- cancel a running batch -----------------------------------------------------------

jobs "$T/long.json" journey "/train.sh --sleep 60"
cli_run 0 batch create --from-file "$T/long.json" --cpus 0.5 --mode pilot
LB=$(batch_of)
for _ in $(seq 1 100); do
	cli_run 0 --json batch status "$LB"
	[ "$(st_pyjson "$T/out" 'd[0]["processing"]')" = 1 ] && break
	sleep 0.2
done
cli_run 0 batch cancel "$LB"
grep -q "^batch $LB:" "$T/out" || st_fail "cancel: $(cat "$T/out")"
cli_run 1 batch wait "$LB" --timeout 60 --interval 0.5
grep -q "^batch $LB CANCELED: 1/1 final, canceled 1\$" "$T/out" || st_fail "wait on a canceled batch: $(cat "$T/out")"
cli_run 1 batch cancel "$LB"
st_ok "batch cancel stops a running batch; batch wait then exits 1"

# --- production on the whole set -------------------------------------------------------

jobs "$T/prod.json" journey "/train.sh"
cli_run 0 batch create --from-file "$T/prod.json" --cpus 1 --mode production
PB=$(batch_of)
cli_run 0 batch wait "$PB" --timeout 120 --interval 0.5 || fail_logs "production wait"
cli_run 0 --json batch status "$PB"
read -r psum pfit <<<"$(predict "$SET")"
st_expect_eq "$(st_pyjson "$T/out" 'd[0]["jobs"][0]["result"]["sum"]')" "$psum" "production sum over the whole set"
st_expect_eq "$(st_pyjson "$T/out" 'd[0]["jobs"][0]["result"]["shards"]')" "$N" "production shards"
cli_run 0 leaderboard "$PB" --metric fitness
grep -q "  $pfit  /train.sh\$" "$T/out" || st_fail "production leaderboard: $(cat "$T/out")"
st_ok "production batch on the whole set: $N shards, sum $psum"

# --- status, summary ---------------------------------------------------------------------

cli_run 0 batch status
st_expect_eq "$(grep -c '^[0-9a-f-]\{36\}  ' "$T/out")" 4 "batches in batch status"
head -1 "$T/out" | grep -q '^BATCH  *MODE  *STATUS  *JOBS  *QUEUED  *RUNNING  *COMPLETED  *ERRORED  *CANCELED  *TIME  *CREATED$' ||
    st_fail "batch status header: $(head -1 "$T/out")"
cli_run 0 batch status "$PILOT"
grep -q '^status      COMPLETED$' "$T/out" || st_fail "batch status ID: $(cat "$T/out")"
st_expect_eq "$(grep -c '^[0-9a-f-]\{36\}  COMPLETED  /train.sh --lines 2  {' "$T/out")" 3 "jobs of the pilot batch"
cli_run 0 batch summary --since "$(date -u +%Y-%m-%d)"
grep -q '^4 batches since .*, 6 jobs: completed 5 canceled 1; processing time ' "$T/out" ||
    st_fail "summary: $(tail -2 "$T/out")"
cli_run 0 batch summary --since 2999-01-01
grep -q '^no batches since 2999-01-01$' "$T/out" || st_fail "summary in the future: $(cat "$T/out")"
cli_run 0 job status
st_expect_eq "$(grep -c '^[0-9a-f-]\{36\}  [0-9a-f-]\{36\}  ' "$T/out")" 6 "jobs in job status"
cli_run 0 job status "$BEST"
grep -q '^status          COMPLETED$' "$T/out" || st_fail "job status ID: $(cat "$T/out")"
grep -q '^host            local$' "$T/out" || st_fail "job status host: $(cat "$T/out")"
cli_run 1 job cancel "$BEST"
grep -q '(409 job_final)' "$T/err" || st_fail "cancel a final job: $(cat "$T/err")"
st_ok "batch status, batch summary, job status, job cancel of a final job (409, exit 1)"
