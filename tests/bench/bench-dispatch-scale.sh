#!/bin/bash
# bench-dispatch-scale.sh: the dispatcher at fleet scale, against the Docker
# Engine API SIMULATOR (tests/bench/engine-sim.c; never a real engine).
#
# For each H of BENCH_HOSTS (default "50 100 200 500"): engine-sim with H
# engines (5 ms per call), H hosts registered with `st-admin host add`
# (8 GPUs, 64 CPUs, 512 GB, --gpu-runtime env), one data set of 4 shards,
# and BENCH_JOBS_PER_HOST (default 8) queued jobs per host (1 GPU, 4 CPUs,
# `/train.sh --sleep 600`), made with SQL as the end-to-end tests make
# them, in a fresh database. Then:
#
#  (a) placement and launch: from the start of `st-dispatch --loop 1
#      --verbose` until every job is PROCESSING (SQL polled every 0.2 s).
#      Target <= 10 s at 500 hosts (4,000 jobs).
#  (b) steady state, every job running: the median iteration time.
#      mode "loop": the dispatcher prints one line per iteration,
#      `iteration N: X ms ...`; the median X of the BENCH_ITERATIONS
#      (default 10) iterations that begin once all jobs are PROCESSING.
#      mode "once": a dispatcher that prints no such line (the serial one)
#      is stopped, and whole `st-dispatch --once` passes are timed instead.
#      Target <= 1 s at 500 hosts.
# The simulator's calls per job of (a) and per iteration of (b) are printed
# for each H (its --stats read on SIGUSR1 before and after; in loop mode a
# snapshot follows its iteration line by up to 0.1 s, so the figures are
# close, not exact), then a table of both figures with the growth from the
# smallest to the largest H, and the targets.
#
# The whole script keeps within BENCH_BUDGET_S (default 540 s) after its
# set-up: each H gets a share of what is left, in proportion to H, and a
# figure that does not fit in it is printed as a lower bound (">") or
# "n/a" with the reason. BENCH_LOG_RATE (default 100 bytes/s per job) is
# the simulated containers' log output. Run by `make bench`; measures,
# asserts nothing (it fails only when a program breaks).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init bench-dispatch-scale
command -v python3 >/dev/null || st_skip "python3 not installed"
command -v curl >/dev/null || st_skip "curl not installed"
SIM=$top_builddir/tests/bench/engine-sim
[ -x "$SIM" ] || st_fail "$SIM is not built (make tests/bench/engine-sim)"

HOSTS=${BENCH_HOSTS:-"50 100 200 500"}
JPH=${BENCH_JOBS_PER_HOST:-8}
ITER=${BENCH_ITERATIONS:-10}
BUDGET=${BENCH_BUDGET_S:-540}
LOG_RATE=${BENCH_LOG_RATE:-100}
LATENCY_MS=5
for v in $HOSTS $JPH $ITER $BUDGET $LOG_RATE; do
	case $v in
	'' | *[!0-9]*) st_fail "BENCH_HOSTS, BENCH_JOBS_PER_HOST, BENCH_ITERATIONS, BENCH_BUDGET_S and BENCH_LOG_RATE are whole numbers (got '$v')" ;;
	esac
done
[ "$JPH" -ge 1 ] && [ "$JPH" -le 8 ] ||
    st_fail "BENCH_JOBS_PER_HOST is 1 to 8 (a host has 8 GPUs, a job takes 1)"

now_ms() { date +%s%3N; }

ST_CONF_EXTRA='
[dispatcher]
stop_grace = 1'
st_mariadb_start
st_db_setup

# fresh_db: an empty schema, the account `bench` and its data set.
fresh_db() {
	st_mysql -e "DROP DATABASE singularity; CREATE DATABASE singularity
	    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
	    st_fail "cannot recreate the database"
	st_migrate >/dev/null || st_fail "st-admin migrate failed"
	"$ST_ADMIN" account add bench >/dev/null || st_fail "account add failed"
	st_dataset bench scale 2 4
}

# Unix socket paths are short: the simulator's sockets live in /tmp.
SD=$(mktemp -d /tmp/st-scale.XXXXXX)
ST_EXTRA_DIRS="$ST_EXTRA_DIRS $SD"
SIM_PID="" DISP_PID=""

# sim_start H: the simulator with H engines, answering.
sim_start() {
	local h=$1 last
	rm -f "$SD"/*.sock
	"$SIM" --dir "$SD" --hosts "$h" --latency-ms "$LATENCY_MS" \
	    --log-rate "$LOG_RATE" --image singularity/testai:1 \
	    --stats "$T/stats-$h.json" 2>>"$T/sim.log" &
	SIM_PID=$!
	st_track_pid "$SIM_PID"
	last=$SD/$(printf 'h%04d' "$h").sock
	for _ in $(seq 1 200); do
		[ -S "$last" ] &&
		    [ "$(curl -s --unix-socket "$last" http://localhost/v1.41/_ping)" = OK ] &&
		    return 0
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.05
	done
	tail "$T/sim.log" >&2
	st_fail "engine-sim with $h hosts did not start"
}

# stop_pid PID SECS: TERM, then KILL after SECS.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || :
	for i in $(seq 1 $(( $2 * 10 ))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || :
	wait "$pid" 2>/dev/null || :
}

# snap H OUT: the simulator's statistics now (SIGUSR1) copied to OUT.
snap() {
	local f=$T/stats-$1.json seq=0
	[ -s "$f" ] && seq=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seq"])' "$f")
	kill -USR1 "$SIM_PID" || st_fail "engine-sim is gone"
	for _ in $(seq 1 200); do
		if [ -s "$f" ] && [ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seq"])' "$f")" -gt "$seq" ]; then
			cp "$f" "$2"
			return 0
		fi
		sleep 0.05
	done
	st_fail "engine-sim wrote no statistics"
}

# calls A B N: the calls made between snapshots A and B, per route and in
# total, divided by N; one line per route, busiest first.
calls() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(f))["total"] for f in sys.argv[1:3])
n = float(sys.argv[3])
d = {k: v - a["calls"].get(k, 0) for k, v in b["calls"].items()}
d = {k: v for k, v in d.items() if v}
unk = b["unknown_calls"] - a["unknown_calls"]
print("      %-32s %10.1f" % ("all calls", sum(d.values()) / n))
for k, v in sorted(d.items(), key=lambda kv: -kv[1]):
    print("      %-32s %10.1f" % (k, v / n))
if unk:
    print("      %-32s %10.1f  (not simulated: %s)" % ("unknown calls", unk / n,
          ", ".join(k for k in b["unknown"])))
for k, label in (("log_bytes", "log stream bytes"), ("events_sent", "events sent")):
    if b[k] - a[k]:
        print("      %-32s %10.1f" % (label, (b[k] - a[k]) / n))
PY
}

# iterations FILE: "N MS" of each `iteration N: X ms` line of FILE.
iterations() {
	grep -oE 'iteration [0-9]+: [0-9]+(\.[0-9]+)? ms' "$1" 2>/dev/null |
	    sed -E 's/iteration ([0-9]+): ([0-9.]+) ms/\1 \2/' || :
}

median() {
	python3 -c 'import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print("%.0f" % statistics.median(v) if v else "n/a")' "$@"
}

processing() {
	st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'PROCESSING'"
}

SETUP_DONE_MS=$(now_ms)
DEADLINE_MS=$(( SETUP_DONE_MS + BUDGET * 1000 ))
declare -A PLACE ITERMS MODE
left_hosts=0
for h in $HOSTS; do left_hosts=$((left_hosts + h)); done

for H in $HOSTS; do
	N=$((H * JPH))
	start=$(now_ms)
	share=$(( (DEADLINE_MS - start) * H / left_hosts ))
	left_hosts=$((left_hosts - H))
	H_DEADLINE=$(( start + share ))
	if [ "$share" -lt 5000 ]; then
		PLACE[$H]="n/a" ITERMS[$H]="n/a" MODE[$H]="(budget spent)"
		echo "hosts $H: not measured, the time budget is spent"
		continue
	fi
	echo "hosts $H: $N jobs, budget $((share / 1000)) s"
	fresh_db
	sim_start "$H"
	for i in $(seq 1 "$H"); do
		printf '%s\n' "$i"
	done | xargs -P 4 -I{} sh -c '
	    n=$(printf "h%04d" {})
	    "$0" host add "$n" --endpoint "unix://$1/$n.sock" --cpus 64 \
	        --gpus 8 --ram-gb 512 --gpu-runtime env >/dev/null' \
	    "$ST_ADMIN" "$SD" || st_fail "st-admin host add failed"
	st_expect_eq "$(st_sql "SELECT COUNT(*) FROM hosts")" "$H" "hosts registered"
	st_batch bench production 4 1 44
	st_sql "INSERT INTO jobs (uuid, batch_id, account_id, idx, dataset_id,
	    mode, image, image_tag, command, cpu, gpu, ram_gb)
	    SELECT UUID(), $BATCH_ID, $BATCH_ACCOUNT, s.seq, $DS_ID, 'production',
	    'singularity/testai', '1', '/train.sh --sleep 600', 4, 1, 44
	    FROM seq_0_to_99999 s WHERE s.seq < $N"
	st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'QUEUED'")" "$N" "jobs queued"

	# (a) placement and launch
	snap "$H" "$T/s-$H-0.json"
	out=$T/loop-$H.out
	t0=$(now_ms)
	"$ST_DISPATCH" --loop 1 --verbose >"$out" 2>&1 &
	DISP_PID=$!
	st_track_pid "$DISP_PID"
	place_limit=$(( H_DEADLINE - (H_DEADLINE - t0) / 3 ))	# 2/3 of the share
	p=0
	while :; do
		p=$(processing)
		[ "$p" = "$N" ] && break
		kill -0 "$DISP_PID" 2>/dev/null ||
		    { tail -20 "$out" >&2; st_fail "st-dispatch --loop died"; }
		[ "$(now_ms)" -lt "$place_limit" ] || break
		sleep 0.2
	done
	t1=$(now_ms)
	snap "$H" "$T/s-$H-1.json"
	if [ "$p" = "$N" ]; then
		PLACE[$H]=$(python3 -c "print('%.1f' % (($t1 - $t0) / 1000))")
	else
		PLACE[$H]=">$(( (t1 - t0) / 1000 )) ($p/$N)"
	fi
	echo "  (a) placement and launch: ${PLACE[$H]} s"
	echo "      simulator calls for it (per job):"
	calls "$T/s-$H-0.json" "$T/s-$H-1.json" "$N"

	# (b) steady state
	ITERMS[$H]="n/a" MODE[$H]=""
	if [ "$p" != "$N" ]; then
		MODE[$H]="(not all jobs ran)"
		stop_pid "$DISP_PID" 5
		DISP_PID=""
		stop_pid "$SIM_PID" 10
		continue
	fi
	# An iterating dispatcher shows its lines within a few seconds.
	l0=""
	for _ in $(seq 1 50); do
		[ -n "$(iterations "$out")" ] && { l0=$(iterations "$out" | wc -l); break; }
		sleep 0.1
	done
	if [ -n "$l0" ]; then
		MODE[$H]=loop
		# From the next iteration boundary, ITER iterations.
		while [ "$(iterations "$out" | wc -l)" -le "$l0" ] &&
		    [ "$(now_ms)" -lt "$H_DEADLINE" ]; do
			sleep 0.05
		done
		l1=$(iterations "$out" | wc -l)
		snap "$H" "$T/s-$H-2.json"
		while [ "$(iterations "$out" | wc -l)" -lt $((l1 + ITER)) ] &&
		    [ "$(now_ms)" -lt "$H_DEADLINE" ]; do
			sleep 0.05
		done
		snap "$H" "$T/s-$H-3.json"
		l2=$(iterations "$out" | wc -l)
		k=$((l2 - l1))
		# shellcheck disable=SC2046 # the times are words
		[ "$k" -gt 0 ] && ITERMS[$H]=$(median $(iterations "$out" |
		    sed -n "$((l1 + 1)),${l2}p" | cut -d' ' -f2))
		[ "$k" -lt "$ITER" ] && MODE[$H]="loop, $k of $ITER iterations in the budget"
		stop_pid "$DISP_PID" 30
		DISP_PID=""
	else
		# The serial dispatcher: stopped (after its pass), then whole
		# --once passes timed.
		stop_pid "$DISP_PID" $(( (H_DEADLINE - $(now_ms)) / 1000 + 1 ))
		DISP_PID=""
		MODE[$H]=once
		times=""
		k=0
		snap "$H" "$T/s-$H-2.json"
		while [ "$k" -lt "$ITER" ]; do
			a=$(now_ms)
			"$ST_DISPATCH" --once --verbose >>"$T/once-$H.out" 2>&1 ||
			    { tail -20 "$T/once-$H.out" >&2; st_fail "st-dispatch --once failed"; }
			b=$(now_ms)
			times="$times $((b - a))"
			k=$((k + 1))
			# Another pass must fit in what is left.
			[ $(( b + (b - a) )) -lt "$H_DEADLINE" ] || break
		done
		snap "$H" "$T/s-$H-3.json"
		# shellcheck disable=SC2086 # the times are words
		ITERMS[$H]=$(median $times)
		[ "$k" -lt "$ITER" ] && MODE[$H]="once, $k of $ITER passes in the budget"
	fi
	echo "  (b) steady state: median ${ITERMS[$H]} ms per iteration (${MODE[$H]}: $k measured)"
	p=$(processing)
	[ "$p" = "$N" ] || echo "      NOTE: $((N - p)) jobs were no longer PROCESSING at the end"
	if [ "$k" -gt 0 ]; then
		echo "      simulator calls per iteration:"
		calls "$T/s-$H-2.json" "$T/s-$H-3.json" "$k"
	fi
	stop_pid "$SIM_PID" 10
	SIM_PID=""
done

# --- the table ------------------------------------------------------------------
echo
echo "dispatch_scale: $JPH jobs per host, $LATENCY_MS ms per Engine API call (engine-sim, a simulator)"
printf '  %-6s %-6s %-22s %-16s %s\n' hosts jobs "(a) place+launch s" "(b) iteration ms" mode
for H in $HOSTS; do
	printf '  %-6s %-6s %-22s %-16s %s\n' "$H" $((H * JPH)) "${PLACE[$H]}" "${ITERMS[$H]}" "${MODE[$H]}"
done
first=${HOSTS%% *} last=${HOSTS##* }
growth() {
	python3 -c 'import sys
a, b = sys.argv[1], sys.argv[2]
try:
    print("x%.1f" % (float(b) / float(a)))
except ValueError:
    print("n/a (both figures are needed)")' "$1" "$2"
}
if [ "$first" != "$last" ]; then
	echo "  growth $first -> $last hosts: (a) $(growth "${PLACE[$first]}" "${PLACE[$last]}"), (b) $(growth "${ITERMS[$first]}" "${ITERMS[$last]}") (hosts x$((last / first)))"
fi
echo "  targets at 500 hosts (4,000 jobs): (a) <= 10 s, (b) <= 1000 ms"
