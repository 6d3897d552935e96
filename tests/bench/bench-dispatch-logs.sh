#!/bin/bash
# bench-dispatch-logs.sh: the dispatcher's log-heavy steady state (issue 12),
# on real Docker Engines.
#
# BENCH_LOG_JOBS (default 16) jobs on two engines, each writing
# BENCH_LOG_MB (default 20) MB to stdout in lines of a training log, then
# sleeping; `st-dispatch --loop 1 --verbose` follows them. Run twice: lines
# of 100 bytes, then lines of 1 KiB. For each:
#
#  - the loop iteration time while the jobs write (the `iteration N: X ms`
#    lines from when every job runs until every log is kept whole: median
#    and maximum), then while they sleep. Target <= 1 s.
#  - the log stream bytes read from the engines against the log bytes kept
#    (the W and K of the same lines, summed). Target <= 1.1 x. Every line
#    costs what Docker's multiplexed, timestamped stream adds to it: an
#    8-byte frame header and the engine's 30-byte RFC 3339 timestamp with
#    its space, 39 bytes: (L + 39) / L for lines of L bytes, so 1.39 for
#    100-byte lines and 1.04 for 1 KiB ones.
#  - how fast the logs were kept: bytes kept per second of the writing.
#
# The baseline, measured in the same run once the logs are whole (the
# dispatcher stopped): the old serial dispatcher's pass read every running
# job's whole log, one after another; here `curl` of
# /containers/{id}/logs?stdout=1&stderr=1 for each job's container in turn,
# timed (a pass of the old dispatcher spent at least that on the logs).
# Printed: the time and bytes of that pass against one iteration of the new
# dispatcher. Run by `make bench`; measures, asserts nothing (it fails only
# when a program breaks).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init bench-dispatch-logs
command -v python3 >/dev/null || st_skip "python3 not installed"
command -v curl >/dev/null || st_skip "curl not installed"
NJ=${BENCH_LOG_JOBS:-16}
MB=${BENCH_LOG_MB:-20}
for v in $NJ $MB; do
	case $v in
	'' | *[!0-9]*) st_fail "BENCH_LOG_JOBS and BENCH_LOG_MB are whole numbers (got '$v')" ;;
	esac
done
BYTES=$((MB * 1000000))

now_ms() { date +%s%3N; }
# cpu_ms PID...: the CPU time (user and system) the processes used so far.
cpu_ms() {
	local p
	for p in "$@"; do
		sed 's/^[0-9]* ([^)]*) //' "/proc/$p/stat"
	done | awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 }
	    END { printf "%d\n", t * 1000 / hz }'
}

ST_CONF_EXTRA='
[dispatcher]
stop_grace = 1'
st_mariadb_start
st_db_setup
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT PID_A=$DK_PID
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT PID_B=$DK_PID
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
HALF=$(( (NJ + 1) / 2 ))

# fresh: an empty schema, the account, its data set, the two hosts (each
# fits half the jobs).
fresh() {
	st_mysql -e "DROP DATABASE singularity; CREATE DATABASE singularity
	    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
	    st_fail "cannot recreate the database"
	st_migrate >/dev/null || st_fail "st-admin migrate failed"
	"$ST_ADMIN" account add bench >/dev/null || st_fail "account add failed"
	st_dataset bench logs 0 1
	"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus "$HALF" --ram-gb 64 >/dev/null
	"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus "$HALF" --ram-gb 64 >/dev/null
}

# iterations FILE: "MS WIRE KEPT" of each iteration line of FILE.
iterations() {
	sed -nE 's/^iteration [0-9]+: ([0-9]+) ms, .* log ([0-9]+) bytes read for ([0-9]+) kept$/\1 \2 \3/p' "$1"
}

# run L: the jobs writing lines of L bytes; prints the figures.
run() {
	local len=$1 lines out pid t0 t1 tw l0 l1 l2 kept want i ids id sum
	lines=$((BYTES / len))
	want=$((NJ * lines * len))
	fresh
	st_batch bench production 1 0 0.25
	# A line: step, loss, learning rate and throughput, padded to L bytes
	# with the newline (busybox awk; no backslash: st_job's SQL would
	# take it as an escape).
	cmd="awk -v n=$lines -v w=$((len - 1)) 'BEGIN { for (i = 1; i <= n; i++) {
	    s = sprintf(\"epoch %d step %d loss %.6f lr %.3e tokens/s %d\", int(i / 1000), i, 2.5 / (1 + i / 5000), 0.0003, 41000 + i % 997);
	    printf \"%-\" w \"s%c\", s, 10 } }'; sleep 100000"
	for i in $(seq 1 "$NJ"); do
		st_job "$DS_ID" singularity/testai 1 "$cmd"
	done
	out=$T/loop-$len.out
	t0=$(now_ms)
	"$ST_DISPATCH" --loop 1 --verbose >"$out" 2>&1 &
	pid=$!
	st_track_pid "$pid"
	while [ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'PROCESSING'")" != "$NJ" ]; do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$out" >&2; st_fail "st-dispatch --loop died"; }
		[ $(( $(now_ms) - t0 )) -lt 120000 ] || { tail -20 "$out" >&2; st_fail "the jobs did not all start"; }
		sleep 0.1
	done
	t1=$(now_ms)
	c0=$(cpu_ms "$pid") e0=$(cpu_ms "$PID_A" "$PID_B")
	l0=$(iterations "$out" | wc -l)
	# Writing: until every log is kept whole.
	while :; do
		kept=$(st_sql "SELECT COALESCE(SUM(log_size), 0) FROM jobs")
		[ "$kept" -ge "$want" ] && break
		kill -0 "$pid" 2>/dev/null || { tail -20 "$out" >&2; st_fail "st-dispatch --loop died"; }
		[ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status <> 'PROCESSING'")" = 0 ] ||
		    st_fail "a job ended: $(st_sql "SELECT status, error FROM jobs WHERE status <> 'PROCESSING' LIMIT 1")"
		[ $(( $(now_ms) - t1 )) -lt 600000 ] || st_fail "logs not kept after 600 s ($kept of $want bytes)"
		sleep 0.2
	done
	tw=$(( $(now_ms) - t1 ))
	c1=$(cpu_ms "$pid") e1=$(cpu_ms "$PID_A" "$PID_B")
	l1=$(iterations "$out" | wc -l)
	# Sleeping: five iterations more.
	while [ "$(iterations "$out" | wc -l)" -lt $((l1 + 6)) ]; do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$out" >&2; st_fail "st-dispatch --loop died"; }
		sleep 0.1
	done
	l2=$(iterations "$out" | wc -l)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || :
	[ "$kept" = "$want" ] || st_fail "$kept log bytes kept, want $want"

	# The baseline: each whole log read, one after another.
	ids=$(st_sql "SELECT uuid FROM jobs ORDER BY id")
	: >"$T/base-$len"
	for id in $ids; do
		for s in "$SOCK_A" "$SOCK_B"; do
			curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' \
			    --unix-socket "$s" \
			    "http://localhost/v1.41/containers/st-job-$id/logs?stdout=1&stderr=1" |
			    awk '$1 == 200 { print $2, $3 }' >>"$T/base-$len"
		done
	done
	[ "$(wc -l <"$T/base-$len")" = "$NJ" ] || st_fail "the baseline read $(wc -l <"$T/base-$len") logs of $NJ"

	iterations "$out" | sed -n "$((l0 + 1)),${l1}p" >"$T/heavy-$len"
	iterations "$out" | sed -n "$((l1 + 2)),${l2}p" >"$T/quiet-$len"
	python3 - "$T/heavy-$len" "$T/quiet-$len" "$T/base-$len" "$len" "$NJ" "$MB" \
	    "$want" "$tw" "$((t1 - t0))" "$((c1 - c0))" "$((e1 - e0))" <<'PY'
import os, statistics, sys
def rows(f):
    return [tuple(float(x) for x in l.split()) for l in open(f) if l.strip()]
heavy, quiet, base = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
L, nj, mb, want, tw, tstart, cd, ce = (int(x) for x in sys.argv[4:12])
def ms(v):
    return "median %.0f ms, max %.0f ms" % (statistics.median(v), max(v)) if v else "n/a"
wire = sum(r[1] for r in heavy)
kept = sum(r[2] for r in heavy)
bt = sum(r[1] for r in base)
bb = sum(r[0] for r in base)
print("lines of %d bytes: %d jobs x %d MB (%d lines each), all started in %.1f s"
      % (L, nj, mb, want // nj // L, tstart / 1000))
print("  writing (%d iterations, %.1f s): iteration %s (target <= 1000 ms)"
      % (len(heavy), tw / 1000, ms([r[0] for r in heavy])))
print("  sleeping (%d iterations): iteration %s" % (len(quiet), ms([r[0] for r in quiet])))
if kept:
    print("  log bytes read / kept: %.0f / %.0f = %.3f (target <= 1.1; the stream adds 39 bytes a line: (%d + 39) / %d = %.3f)"
          % (wire, kept, wire / kept, L, L, (L + 39) / L))
    print("  per iteration while writing: %.1f MB read for %.1f MB kept; logs kept at %.1f MB/s"
          % (wire / len(heavy) / 1e6, kept / len(heavy) / 1e6, want / (tw / 1000) / 1e6))
print("  CPU while writing: st-dispatch %.1f s, the two dockerds %.1f s, in %.1f s on %d CPUs"
      % (cd / 1000, ce / 1000, tw / 1000, os.cpu_count()))
print("  baseline, every whole log read one after another (the old pass): %.1f s, %.1f MB"
      % (bt, bb / 1e6))
if heavy:
    med = statistics.median([r[0] for r in heavy]) / 1000
    print("  old pass / new iteration: time %.1f s / %.3f s = x%.0f; bytes %.1f MB / %.1f MB = x%.0f"
          % (bt, med, bt / max(med, 0.001), bb / 1e6, wire / len(heavy) / 1e6,
             bb / max(wire / len(heavy), 1)))
PY
	# The containers go (the database is made again by the next run).
	for s in "$SOCK_A" "$SOCK_B"; do
		for id in $(st_dk "$s" GET '/containers/json?all=1' | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
			st_dk "$s" DELETE "/containers/$id?force=1" >/dev/null
		done
	done
}

echo "dispatch_logs: $NJ jobs on 2 real engines, st-dispatch --loop 1"
run 100
run 1024
