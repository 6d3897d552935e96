#!/bin/bash
# The logs of st-dispatch --loop 1 (issue 12: whole logs, incrementally),
# on a real Docker Engine, read through lighttpd over HTTPS with signed
# requests:
#   a. a job printing a numbered line every 0.5 s for 10 s, each line with
#      the time it was printed (/proc/uptime: the container shares the
#      host's clock), followed with GET /job/{id}/log and Range: bytes=N-:
#      every line is seen through the API within 2 s of being printed,
#      while the job runs;
#   b. a job writing 5,000,000 bytes to stdout in five bursts (numbered
#      100-byte lines): the log through the API is byte for byte what the
#      job wrote, jobs.log_size is its size, and so is the file;
#   c. a job failing its first attempt (exit 7, retried on [exit:7]) keeps
#      one log per attempt: ?attempt=1 is the first attempt's lines, the
#      default (and ?attempt=2) the second's;
#   d. the bytes read from the engine stay close to the bytes kept: the
#      --verbose iteration lines ("log W bytes read for K kept") summed
#      over the run: K is every byte the jobs wrote, and W <= 1.5 K (the
#      wire adds an 8-byte frame header and a 31-byte timestamp per line);
#   e. with [dispatcher] log_max = 64K, a job writing 1,000,000 bytes: the
#      whole log is the first 32768 bytes, the marker line naming the
#      934464 bytes dropped, the last 32768 bytes; Range: bytes=0- is the
#      head; log_size counts every byte written; the file is 64 KiB.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0320-dispatch-logs
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
st_test_image singularity/testai:1
st_mariadb_start
st_db_setup
st_account lena
st_lighttpd_start
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
mkset log_set 0 1
SET=$SET_UUID

# post RETRY-JSON COMMAND...: a production batch of one job per command
# (0.5 CPU), with "retry": RETRY-JSON unless it is empty; prints the jobs'
# UUIDs in order.
post() {
	python3 - "$SET" "$@" >"$T/req.body" <<'EOF'
import json, sys
b = {"mode": "production", "requisitions": {"cpu": 0.5},
     "jobs": [{"command": c, "image": "singularity/testai", "image_tag": "1",
               "data_set_id": sys.argv[1]} for c in sys.argv[3:]]}
if sys.argv[2]:
    b["retry"] = json.loads(sys.argv[2])
sys.stdout.write(json.dumps(b))
EOF
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_status 201 "POST /batch"
	sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id
	    WHERE b.uuid = '$(jv 'd["batch_uuid"]')' ORDER BY j.idx"
}
status() { sql "SELECT status FROM jobs WHERE uuid = '$1'"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# The 100-byte lines of jobs b and e: "NNNNNNN <83 letters> NNNNNNN\n", the
# second number counting down; LINES lines in BURSTS bursts, SLEEP s apart.
# The same awk program writes the expected bytes here (busybox's, like the
# container's).
LINES_AWK='BEGIN { pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01234"; for (i = from; i < to; i++) printf "%07d %s %07d\n", i, pad, total - i }'
lines_cmd() {	# TOTAL BURSTS SLEEP
	local per=$(($1 / $2)) b cmd=""
	for b in $(seq 0 $(($2 - 1))); do
		cmd="$cmd awk -v from=$((b * per)) -v to=$(((b + 1) * per)) -v total=$1 '$LINES_AWK';"
		[ "$b" = $(($2 - 1)) ] || cmd="$cmd sleep $3;"
	done
	echo "$cmd echo '{\"lines\": $1}' >/output/result.json"
}
lines_expect() {	# TOTAL OUT
	busybox awk -v from=0 -v to="$1" -v total="$1" "$LINES_AWK" >"$2"
}

TICK='i=1; while [ $i -le 20 ]; do echo "tick $i $(cut -d" " -f1 /proc/uptime)"; i=$((i + 1)); sleep 0.5; done; echo "{}" >/output/result.json'
RETRY='for i in 1 2 3; do echo "attempt $SINGULARITY_ATTEMPT line $i of job $SINGULARITY_JOB_ID"; done; [ "$SINGULARITY_ATTEMPT" -ge 2 ] || exit 7; echo "{}" >/output/result.json'
set -- $(post '' "$TICK" "$(lines_cmd 50000 5 0.5)")
J_TICK=$1 J_BIG=$2
J_RETRY=$(post '{"attempts": 2, "on": ["exit:7"]}' "$RETRY")
lines_expect 50000 "$T/big.want"
st_expect_eq "$(stat -c %s "$T/big.want")" 5000000 "the expected 5 MB log"

"$ST_DISPATCH" --loop 1 --verbose >"$T/loop.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"

# --- a. a line every 0.5 s, seen through the API within 2 s -----------------------

# Follow the log by ranges, as singularity-cli job log --follow does; each
# complete line new in an answer is stamped with the time the answer came.
off=0 nseen=0 polls=0 t_end=$(( $(date +%s) + 90 ))
: >"$T/tick.log"
: >"$T/tick.seen"
while :; do
	ST_GOT=$(st_req GET "/job/$J_TICK/log" "" -H "Range: bytes=$off-")
	now=$(uptime_s)
	polls=$((polls + 1))
	case $ST_GOT in
	206)
		cat "$T/resp.body" >>"$T/tick.log"
		off=$((off + $(stat -c %s "$T/resp.body")))
		n=$(wc -l <"$T/tick.log")
		if [ "$n" -gt "$nseen" ]; then
			sed -n "$((nseen + 1)),${n}p" "$T/tick.log" |
			    sed "s/^/$now /" >>"$T/tick.seen"
			nseen=$n
		fi
		;;
	416) ;;
	*) st_check_status 206 "GET /job/$J_TICK/log Range: bytes=$off-" ;;
	esac
	case $(status "$J_TICK") in
	COMPLETED|ERRORED|CANCELED)
		[ "$ST_GOT" = 416 ] && break ;;
	esac
	[ "$(date +%s)" -lt "$t_end" ] ||
	    { tail -20 "$T/loop.out" >&2; st_fail "the tick job is not final after 90 s ($(status "$J_TICK"))"; }
	sleep 0.1
done
st_expect_eq "$(status "$J_TICK")" COMPLETED "the tick job"
st_expect_eq "$(grep -c '^tick ' "$T/tick.log")" 20 "tick lines followed"
ST_GOT=$(st_req GET "/job/$J_TICK/log")
st_check_status 200 "GET /job/$J_TICK/log"
cmp -s "$T/resp.body" "$T/tick.log" || st_fail "the log followed by ranges is not the whole log"
python3 - "$T/tick.seen" <<'EOF' >"$T/tick.delays" || st_fail "tick lines: $(cat "$T/tick.delays")"
import sys
delays = []
for line in open(sys.argv[1]):
    seen, word, n, printed = line.split()
    assert word == "tick", line
    delays.append((int(n), float(seen) - float(printed)))
assert [n for n, _ in delays] == list(range(1, 21)), delays
late = [(n, round(t, 2)) for n, t in delays if not -0.02 <= t <= 2.0]
ds = [t for _, t in delays]
print("delays %.2f..%.2f s, mean %.2f s" % (min(ds), max(ds), sum(ds) / len(ds)))
if late:
    print("lines not seen within 2 s (line, delay): %s" % late)
    sys.exit(1)
EOF
st_ok "20 lines printed 0.5 s apart, each seen through GET /job/{id}/log Range: bytes=N- within 2 s ($(cat "$T/tick.delays"), $polls polls)"

# --- b. 5 MB whole, byte for byte -------------------------------------------------

for _ in $(seq 1 120); do
	case "$(status "$J_BIG") $(status "$J_RETRY")" in
	*QUEUED*|*PENDING*|*PROCESSING*|*PROCESSED*|*UPLOADING*) sleep 0.5 ;;
	*) break ;;
	esac
done
st_expect_eq "$(status "$J_BIG")" COMPLETED "the 5 MB job"
ST_GOT=$(st_req GET "/job/$J_BIG/log")
st_check_status 200 "GET /job/$J_BIG/log"
cmp -s "$T/resp.body" "$T/big.want" ||
    { cmp "$T/resp.body" "$T/big.want" >&2 || :; st_fail "the 5 MB log differs from what the job wrote"; }
st_expect_eq "$(st_header X-Singularity-Log-Size)" 5000000 "the 5 MB log: X-Singularity-Log-Size"
st_expect_eq "$(sql "SELECT log_size FROM jobs WHERE uuid = '$J_BIG'")" 5000000 "the 5 MB log: jobs.log_size"
st_expect_eq "$(sha256sum <"$T/store/logs/${J_BIG:0:2}/$J_BIG.log" | cut -d' ' -f1)" \
    "$(sha256sum <"$T/big.want" | cut -d' ' -f1)" "the 5 MB log file's SHA-256"
st_ok "a job writing 5,000,000 bytes in five bursts: the log is whole and byte-exact, log_size 5000000"

# --- c. one log per attempt ---------------------------------------------------------

st_expect_eq "$(status "$J_RETRY")" COMPLETED "the retried job"
st_expect_eq "$(sql "SELECT attempt FROM jobs WHERE uuid = '$J_RETRY'")" 2 "the retried job's attempt"
for a in 1 2; do
	for i in 1 2 3; do
		echo "attempt $a line $i of job $J_RETRY"
	done >"$T/retry.$a"
done
ST_GOT=$(st_req GET "/job/$J_RETRY/log?attempt=1")
st_check_status 200 "GET ?attempt=1"
cmp -s "$T/resp.body" "$T/retry.1" || st_fail "?attempt=1 is not the first attempt's lines: $(cat "$T/resp.body")"
st_expect_eq "$(st_header X-Singularity-Attempt)" 1 "?attempt=1: X-Singularity-Attempt"
for q in "" "?attempt=2"; do
	ST_GOT=$(st_req GET "/job/$J_RETRY/log$q")
	st_check_status 200 "GET /job/{id}/log$q"
	cmp -s "$T/resp.body" "$T/retry.2" || st_fail "log$q is not the second attempt's lines: $(cat "$T/resp.body")"
	st_expect_eq "$(st_header X-Singularity-Attempt)" 2 "log$q: X-Singularity-Attempt"
done
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.log_size, j.log_size) FROM job_attempts a
    JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$J_RETRY' AND a.attempt = 1")" \
    "$(stat -c %s "$T/retry.1") $(stat -c %s "$T/retry.2")" "log sizes of attempts 1 and 2"
st_ok "a retried job keeps one log per attempt: ?attempt=1 the first's lines, the default and ?attempt=2 the second's"

# --- d. bytes read for bytes kept ----------------------------------------------------

# Every byte kept is in an iteration line once the next line after the
# last job's end is out.
n0=$(grep -c '^iteration ' "$T/loop.out")
for _ in $(seq 1 50); do
	[ "$(grep -c '^iteration ' "$T/loop.out")" -ge $((n0 + 2)) ] && break
	sleep 0.2
done
kill -TERM "$LOOP"
wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"
kept=$(sql "SELECT SUM(log_size) FROM jobs")
kept=$((kept + $(sql "SELECT COALESCE(SUM(log_size), 0) FROM job_attempts")))
read -r wire sumk iters <<<"$(awk '/^iteration [0-9]+:.* log [0-9]+ bytes read for [0-9]+ kept$/ {
    w += $(NF - 5); k += $(NF - 1); n++ } END { printf "%d %d %d\n", w, k, n }' "$T/loop.out")"
[ "$iters" -ge 10 ] || st_fail "only $iters iteration lines in $T/loop.out"
st_expect_eq "$sumk" "$kept" "the bytes kept summed over the iteration lines against the logs' sizes"
ratio=$(python3 -c "import sys; print('%.3f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$wire" "$sumk")
python3 -c "import sys; sys.exit(0 if int(sys.argv[1]) <= 1.5 * int(sys.argv[2]) else 1)" "$wire" "$sumk" ||
    st_fail "log bytes read $wire for $sumk kept: ratio $ratio > 1.5"
st_ok "log bytes read from the engine $wire for $sumk kept (every byte written) over $iters iterations: ratio $ratio <= 1.5"

# --- e. past log_max: head, marker, tail ----------------------------------------------

sed 's/^\[log\]$/[dispatcher]\nlog_max = 64K\n\n[log]/' "$SINGULARITY_CONF" >"$T/small.conf"
grep -q '^log_max = 64K$' "$T/small.conf" || st_fail "no log_max in $T/small.conf"
J_WRAP=$(post '' "$(lines_cmd 10000 2 1)")
lines_expect 10000 "$T/wrap.all"
st_expect_eq "$(stat -c %s "$T/wrap.all")" 1000000 "the expected 1 MB log"
"$ST_DISPATCH" -c "$T/small.conf" --loop 1 --verbose >"$T/loop2.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"
for _ in $(seq 1 120); do
	case $(status "$J_WRAP") in
	COMPLETED|ERRORED|CANCELED) break ;;
	esac
	sleep 0.5
done
kill -TERM "$LOOP"
wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"
st_expect_eq "$(status "$J_WRAP")" COMPLETED "the 1 MB job"
{
	head -c 32768 "$T/wrap.all"
	printf '\n[singularity: %d bytes of log dropped here]\n' $((1000000 - 65536))
	tail -c 32768 "$T/wrap.all"
} >"$T/wrap.want"
ST_GOT=$(st_req GET "/job/$J_WRAP/log")
st_check_status 200 "GET a log past log_max"
cmp -s "$T/resp.body" "$T/wrap.want" ||
    { cmp "$T/resp.body" "$T/wrap.want" >&2 || :; st_fail "the log past log_max is not head + marker + tail"; }
st_expect_eq "$(st_header X-Singularity-Log-Size)" 1000000 "past log_max: X-Singularity-Log-Size"
ST_GOT=$(st_req GET "/job/$J_WRAP/log" "" -H "Range: bytes=0-")
st_check_status 206 "Range: bytes=0- of a log past log_max"
st_expect_eq "$(st_header Content-Range)" "bytes 0-32767/1000000" "Range: bytes=0-: Content-Range"
head -c 32768 "$T/wrap.all" >"$T/wrap.head"
cmp -s "$T/resp.body" "$T/wrap.head" || st_fail "Range: bytes=0- is not the head"
st_expect_eq "$(sql "SELECT log_size FROM jobs WHERE uuid = '$J_WRAP'")" 1000000 "past log_max: jobs.log_size"
st_expect_eq "$(stat -c %s "$T/store/logs/${J_WRAP:0:2}/$J_WRAP.log")" 65536 "past log_max: the file's size"
st_ok "log_max 64K, 1,000,000 bytes written: head 32768 + marker (934464 dropped) + tail 32768 exactly; Range from 0 is the head; log_size 1000000"
