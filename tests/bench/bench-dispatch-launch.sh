#!/bin/bash
# bench-dispatch-launch.sh: the dispatcher's launch throughput (issue 12), on
# real Docker Engines.
#
# BENCH_LAUNCH_JOBS (default 200) small jobs (`/train.sh --sleep S`, 0.05
# CPU, 0.1 GB) on BENCH_ENGINES (default 10) real engines, each registered
# with room for an equal share of them, so that placement spreads them
# evenly. Measured in the same run, BENCH_LAUNCH_RUNS (default 2) times
# each, in turn:
#
#  - the baseline: `docker run -d` of the containers (same image, command,
#    limits, no network), BENCH_PARALLEL (default 10) at a time through the
#    docker CLI against the engines' sockets, in turn; until every
#    `docker run` returned;
#  - the dispatcher, on a fresh database and engines without cache volumes:
#    from the start of `st-dispatch --loop 1` until every job is PROCESSING
#    or past it (SQL polled every 0.2 s): placement, the image checked, the
#    data set cached once per host, create, /output put, start and inspect
#    of each job.
#
# S is BENCH_LAUNCH_SLEEP (default 60): jobs that ended while others are
# still being launched would have the dispatcher collect them (log,
# /output, removal) in the measured time, while `docker run -d` leaves its
# exited containers be; with 1 the figure mixes both.
#
# Printed: each run's times, then the throughput of the best run of each
# (containers started per second) and the ratio. Target >= 0.7. The engines
# are started first, one after another, and what that took (time, memory)
# is printed; an engine is not started when less than BENCH_MIN_FREE_MB
# (default 1024) of memory is available, and the benchmark then runs on
# those that started (it says so). Run by `make bench`; measures, asserts
# nothing (it fails only when a program breaks).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init bench-dispatch-launch
command -v python3 >/dev/null || st_skip "python3 not installed"
command -v docker >/dev/null || st_skip "the docker CLI is not installed"
NJ=${BENCH_LAUNCH_JOBS:-200}
NE=${BENCH_ENGINES:-10}
PAR=${BENCH_PARALLEL:-10}
RUNS=${BENCH_LAUNCH_RUNS:-2}
SLEEP_S=${BENCH_LAUNCH_SLEEP:-60}
MIN_FREE=${BENCH_MIN_FREE_MB:-1024}
for v in $NJ $NE $PAR $RUNS $SLEEP_S $MIN_FREE; do
	case $v in
	'' | *[!0-9]*) st_fail "BENCH_LAUNCH_JOBS, BENCH_ENGINES, BENCH_PARALLEL, BENCH_LAUNCH_RUNS, BENCH_LAUNCH_SLEEP and BENCH_MIN_FREE_MB are whole numbers (got '$v')" ;;
	esac
done
IMAGE=singularity/testai:1
CMD="/train.sh --sleep $SLEEP_S"
MEM=$((1073741824 / 10))	# 0.1 GB, as the dispatcher makes it
PIDS=512			# [dispatcher] pids_limit's default

now_ms() { date +%s%3N; }
avail_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

ST_CONF_EXTRA='
[dispatcher]
stop_grace = 1'
st_mariadb_start
st_db_setup

# --- the engines ------------------------------------------------------------------
: >"$T/socks"
m0=$(avail_mb)
t0=$(now_ms)
n=0
for i in $(seq 1 "$NE"); do
	if [ "$(avail_mb)" -lt "$MIN_FREE" ]; then
		echo "NOTE: only $n engines started: $(avail_mb) MB of memory left (BENCH_MIN_FREE_MB $MIN_FREE)"
		break
	fi
	st_dockerd_start "e$i"
	echo "$DK_SOCK" >>"$T/socks"
	n=$i
done
t1=$(now_ms)
m1=$(avail_mb)
NE=$n
[ "$NE" -ge 1 ] || st_fail "no engine could be started"
echo "dispatch_launch: $NE real engines started in $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s, $((m0 - m1)) MB of memory ($(( (m0 - m1) / NE )) MB each; $m1 MB left)"
i=0
while read -r s; do
	i=$((i + 1))
	st_test_image "$IMAGE" "$s"
	# Each engine's first container (with vfs, its first copy of the
	# image) made and gone before any measurement.
	DOCKER_HOST=unix://$s docker run --rm --network none "$IMAGE" true >/dev/null ||
	    st_fail "docker run on engine e$i failed"
done <"$T/socks"

# fresh_db: an empty schema, the account and its data set, the engines
# registered, each with room for its share of the jobs.
fresh_db() {
	local i=0 s
	st_mysql -e "DROP DATABASE singularity; CREATE DATABASE singularity
	    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
	    st_fail "cannot recreate the database"
	st_migrate >/dev/null || st_fail "st-admin migrate failed"
	"$ST_ADMIN" account add bench >/dev/null || st_fail "account add failed"
	st_dataset bench launch 0 1
	while read -r s; do
		i=$((i + 1))
		"$ST_ADMIN" host add "e$i" --endpoint "unix://$s" \
		    --cpus "$(python3 -c "print($NJ * 0.05 / $NE)")" \
		    --ram-gb "$(python3 -c "print(round($NJ * 0.1 / $NE + 0.05, 3))")" \
		    >/dev/null || st_fail "host add e$i failed"
	done <"$T/socks"
}

# clean: every container and volume of every engine removed.
clean() {
	local s id v
	while read -r s; do
		for id in $(st_dk "$s" GET '/containers/json?all=1' | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
			echo "$s $id"
		done
	done <"$T/socks" | xargs -r -P 4 -n 2 sh -c \
	    'curl -sS --max-time 120 --unix-socket "$0" -X DELETE "http://localhost/v1.41/containers/$1?force=1" >/dev/null'
	while read -r s; do
		for v in $(st_dk "$s" GET /volumes | python3 -c '
import json, sys
for v in json.load(sys.stdin).get("Volumes") or []:
    print(v["Name"])'); do
			st_dk "$s" DELETE "/volumes/$v" >/dev/null
		done
	done <"$T/socks"
}

# docker_once R: the baseline; sets RUN_MS.
docker_once() {
	local t0 t1 s started=0
	export IMAGE CMD MEM PIDS NE R=$1
	t0=$(now_ms)
	seq 1 "$NJ" | xargs -P "$PAR" -I{} sh -c '
		i={}
		s=$(sed -n "$(( (i - 1) % NE + 1 ))p" "$0")
		DOCKER_HOST=unix://$s docker run -d --name "bench-run-$R-$i" --network none \
		    --cpus 0.05 --memory "$MEM" --memory-swap "$MEM" --pids-limit "$PIDS" \
		    --cap-drop ALL --security-opt no-new-privileges "$IMAGE" /bin/sh -c "$CMD" >/dev/null' \
		    "$T/socks" || st_fail "docker run failed"
	t1=$(now_ms)
	RUN_MS=$((t1 - t0))
	while read -r s; do
		started=$((started + $(st_dk "$s" GET '/containers/json?all=1' | grep -o '"Names":\["/bench-run-' | wc -l)))
	done <"$T/socks"
	st_expect_eq "$started" "$NJ" "containers made by docker run"
}

# dispatch_once R: the dispatcher; sets DISP_MS and SPREAD.
dispatch_once() {
	local out=$T/loop-$1.out t0 t1 n bad pid
	st_batch bench production 0.05 0 0.1
	st_sql "INSERT INTO jobs (uuid, batch_id, account_id, idx, dataset_id, mode,
	    image, image_tag, command, cpu, gpu, ram_gb)
	    SELECT UUID(), $BATCH_ID, $BATCH_ACCOUNT, s.seq, $DS_ID, 'production',
	    '${IMAGE%:*}', '${IMAGE##*:}', '$CMD', 0.05, 0, 0.1
	    FROM seq_0_to_99999 s WHERE s.seq < $NJ"
	t0=$(now_ms)
	"$ST_DISPATCH" --loop 1 --verbose >"$out" 2>&1 &
	pid=$!
	st_track_pid "$pid"
	while :; do
		n=$(st_sql "SELECT COUNT(*) FROM jobs WHERE status IN
		    ('PROCESSING','PROCESSED','UPLOADING','COMPLETED')")
		[ "$n" = "$NJ" ] && break
		kill -0 "$pid" 2>/dev/null || { tail -20 "$out" >&2; st_fail "st-dispatch --loop died"; }
		bad=$(st_sql "SELECT COUNT(*) FROM jobs WHERE status IN ('ERRORED','CANCELED')
		    OR (status = 'QUEUED' AND attempt > 1)")
		[ "$bad" = 0 ] || st_fail "jobs failed: $(st_sql "SELECT DISTINCT error FROM jobs WHERE error IS NOT NULL LIMIT 3")"
		[ $(( $(now_ms) - t0 )) -lt 600000 ] || st_fail "only $n of $NJ jobs started after 600 s"
		sleep 0.2
	done
	t1=$(now_ms)
	DISP_MS=$((t1 - t0))
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || :
	SPREAD=$(st_sql "SELECT CONCAT(MIN(c), '-', MAX(c)) FROM (SELECT COUNT(*) c
	    FROM jobs GROUP BY host_id) x")
}

best_run=0 best_disp=0
for r in $(seq 1 "$RUNS"); do
	clean
	docker_once "$r"
	clean
	fresh_db
	dispatch_once "$r"
	echo "  run $r: docker run -d $((RUN_MS / 1000)).$((RUN_MS % 1000 / 100)) s, st-dispatch $((DISP_MS / 1000)).$((DISP_MS % 1000 / 100)) s ($SPREAD jobs per engine)"
	{ [ "$best_run" = 0 ] || [ "$RUN_MS" -lt "$best_run" ]; } && best_run=$RUN_MS
	{ [ "$best_disp" = 0 ] || [ "$DISP_MS" -lt "$best_disp" ]; } && best_disp=$DISP_MS
done

python3 - "$NJ" "$NE" "$PAR" "$best_disp" "$best_run" "$SLEEP_S" "$RUNS" <<'PY'
import sys
nj, ne, par, disp, run, sleep_s, runs = (int(x) for x in sys.argv[1:8])
d, r = nj / (disp / 1000), nj / (run / 1000)
print("dispatch_launch_jobs: %d (`/train.sh --sleep %d`, 0.05 CPU) on %d real engines, best of %d runs"
      % (nj, sleep_s, ne, runs))
print("dispatch_launch_throughput: %.1f jobs/s (st-dispatch --loop 1, start to all PROCESSING: %.1f s)"
      % (d, disp / 1000))
print("docker_run_throughput: %.1f containers/s (docker run -d, %d in parallel: %.1f s)"
      % (r, par, run / 1000))
print("dispatch_launch_vs_docker_run_ratio: %.2f (target >= 0.7)" % (d / r))
PY
