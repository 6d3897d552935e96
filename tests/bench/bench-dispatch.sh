#!/bin/bash
# bench-dispatch.sh: the dispatcher's two costs (issue 5).
#
# 1. Placement: `st-dispatch --dry-run` over 1,000 and then 10,000 queued
#    jobs (10 accounts, pilot and production, 0-1 GPU) and 100 registered
#    hosts, with the real MariaDB; the time of the whole pass (loading the
#    queue, placing, printing). Target <= 2 s for 10,000 jobs, growing no
#    worse than linearly (printed: per-job cost at both sizes).
# 2. Launch overhead on a real Docker Engine: QUEUED -> PROCESSING of one
#    job through `st-dispatch --once` (health check, placement committed,
#    image inspect, create, data put through the archive endpoint, start)
#    against `docker run -d` of the same image and command, in the same
#    run; best of BENCH_RUNS (default 3). Target ratio <= 1.5.
# Run by `make bench`; measures, asserts nothing.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init bench-dispatch
command -v python3 >/dev/null || st_skip "python3 not installed"
RUNS=${BENCH_RUNS:-3}

now_ms() { date +%s%3N; }

ST_CONF_EXTRA='
[dispatcher]
stop_grace = 1'
st_mariadb_start
st_db_setup
for i in $(seq 1 10); do
	"$ST_ADMIN" account add "acct$i" >/dev/null
done

# --- 1. placement over 100 hosts ----------------------------------------------
st_sql "INSERT INTO hosts (name, endpoint, cpus, gpus, ram_gb, gpu_runtime)
    SELECT CONCAT('h', seq), CONCAT('unix:///nonexistent/h', seq, '.sock'),
    32, IF(seq % 2 = 0, 4, 0), 256, 'env' FROM seq_1_to_100"
# queue N: make the queue hold N jobs (10 accounts, one batch each).
queue() {
	st_sql "DELETE FROM jobs; DELETE FROM batches;
	INSERT INTO batches (uuid, account_id, mode, cpu, gpu, ram_gb)
	    SELECT UUID(), id, IF(id % 3 = 0, 'pilot', 'production'), 1, 0, 4
	    FROM accounts;
	INSERT INTO jobs (uuid, batch_id, account_id, idx, mode, image, image_tag,
	    command, cpu, gpu, ram_gb)
	    SELECT UUID(), b.id, b.account_id, s.seq, b.mode, 'singularity/testai',
	    '1', '/train.sh', 1 + s.seq % 4, IF(s.seq % 5 = 0, 1, 0), 4 + s.seq % 8
	    FROM batches b JOIN seq_0_to_9999 s ON s.seq < $1 / 10"
}
dry() {
	local t0 t1
	t0=$(now_ms)
	"$ST_DISPATCH" --dry-run >"$T/dry-$1.out" 2>&1 || { tail "$T/dry-$1.out"; st_fail "dry run failed"; }
	t1=$(now_ms)
	echo $((t1 - t0))
}
queue 1000
dry 1000 >/dev/null	# warm the server's caches
ms1=$(dry 1000)
queue 10000
ms10=$(dry 10000)
placed=$(tail -1 "$T/dry-10000.out")
echo "dispatch_dry_run_1000_jobs_ms: $ms1"
echo "dispatch_dry_run_10000_jobs_ms: $ms10 (target <= 2000)"
echo "dispatch_dry_run_per_job_us: 1000 jobs $((ms1 * 1000 / 1000)), 10000 jobs $((ms10 * 1000 / 10000))"
echo "  ($placed)"

# --- 2. launch overhead ----------------------------------------------------------
st_sql "DELETE FROM jobs; DELETE FROM batches; DELETE FROM hosts"
st_dockerd_start bench
st_test_image singularity/testai:1
"$ST_ADMIN" host add local --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
st_dataset acct1 bench 0 1
CMD="sleep 30"
best_disp=999999 best_run=999999
for r in $(seq 1 "$RUNS"); do
	st_batch acct1 production 0.5 0 0.25
	st_job "$DS_ID" singularity/testai 1 "$CMD"
	t0=$(now_ms)
	"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once failed"
	t1=$(now_ms)
	st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE id = $JOB_ID")" PROCESSING "status after one pass"
	[ $((t1 - t0)) -lt "$best_disp" ] && best_disp=$((t1 - t0))
	st_cancel_job "$JOB_ID"
	"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || :

	t0=$(now_ms)
	DOCKER_HOST=unix://$DK_SOCK docker run -d --name "bench-run-$r" --network none \
	    --cpus 0.5 --memory 256m singularity/testai:1 /bin/sh -c "$CMD" >/dev/null ||
	    st_fail "docker run failed"
	t1=$(now_ms)
	[ $((t1 - t0)) -lt "$best_run" ] && best_run=$((t1 - t0))
	DOCKER_HOST=unix://$DK_SOCK docker rm -f "bench-run-$r" >/dev/null
done
echo "dispatch_launch_ms: $best_disp (st-dispatch --once, QUEUED -> PROCESSING)"
echo "docker_run_ms: $best_run (docker run -d, same image and command)"
echo "dispatch_launch_vs_docker_run_ratio: $(python3 -c "print(round($best_disp / max($best_run, 1), 2))") (target <= 1.5)"
