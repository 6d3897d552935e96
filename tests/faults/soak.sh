#!/bin/bash
# soak.sh: the long load test of `make soak` (not in `make check`).
#
# SOAK_SECONDS (default 600) of a mixed workload through lighttpd over HTTPS
# at SOAK_THREADS (default 32) connections, with the real MariaDB and
# `st-dispatch --loop 1` running the jobs it creates on two real Docker
# engines: pings, account and data reads, job and batch lists, batch
# creation (one every 2 s, 3 jobs each), 10 MiB shard uploads (one every
# 2 s) and model downloads (tests/faults/loadgen.py). Then:
#   - requests per second and p50/p99 per endpoint, zero 5xx (only 200/201
#     answered at all), every 503 counted as a failure;
#   - zero lost writes: every batch and shard answered 2xx is in the
#     database whole; no batch half-written; st-admin fsck hashes every
#     shard and model;
#   - the queue drains: every job final, allocations zero;
#   - the responders' and the dispatcher's RSS and open descriptors,
#     sampled every 10 s: first minute against last minute, printed; the
#     test fails when a process's descriptors grew by more than 4, or its
#     RSS by more than 25% and 8 MiB.
# The figures are printed and written to tests/faults/soak-report.txt in
# the build tree.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/faults/lib.sh"

SECS=${SOAK_SECONDS:-600}
THREADS=${SOAK_THREADS:-32}
REPORT="$top_builddir/tests/faults/soak-report.txt"
st_init soak
mkdir -p "${REPORT%/*}"
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_test_image singularity/testai:1 "$SOCK_A"
st_test_image singularity/testai:1 "$SOCK_B"
st_mariadb_start
st_db_setup
st_account soak
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 4 --ram-gb 64 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 4 --ram-gb 64 >/dev/null
st_lighttpd_start
# Jobs run on "soak" (every job gets the whole set); the 10 MiB uploads go
# to "uploads", so that the jobs' data stays small.
flt_set uploads 2 0
UPLOAD_SET=$SET
flt_set soak 2 3

"$ST_DISPATCH" --loop 1 >>"$T/dispatch.out" 2>&1 &
DISP=$!
st_track_pid "$DISP"

# A first batch, so that models exist from the start.
flt_loadgen --threads 1 --duration 0.1 --set "$SET" --batch-jobs 3 \
    --mix batch_create=1 --every batch_create=60 --ledger "$T/prime.json" >/dev/null ||
    st_fail "the first batch"
flt_wait_sql 120 "SELECT COUNT(*) FROM jobs WHERE status <> 'COMPLETED'" ||
    st_fail "the first batch did not complete"

# Resources of every responder and of the dispatcher, every 10 s.
sample() {
	local t0 now p name
	t0=$(date +%s)
	while :; do
		now=$(( $(date +%s) - t0 ))
		for p in $(ps -o pid= --ppid "$LIGHTTPD_PID") "$DISP"; do
			[ -r "/proc/$p/status" ] || continue
			name=$(cat "/proc/$p/comm" 2>/dev/null) || continue
			echo "$now $p $name $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status") $(ls "/proc/$p/fd" 2>/dev/null | wc -l)"
		done
		sleep 10
	done
}
sample >"$T/resources" 2>/dev/null &
SAMPLER=$!
st_track_pid "$SAMPLER"

echo "# soak: $SECS s, $THREADS connections through lighttpd, dispatcher running"
flt_loadgen --threads "$THREADS" --duration "$SECS" --set "$SET" --upload-set "$UPLOAD_SET" \
    --shard-bytes 10485000 --batch-jobs 3 --allow 200,201 \
    --every batch_create=2,shard_upload=2 --ledger "$T/ledger.json" \
    --mix ping=4,account=4,data_list=2,data_get=3,job_list=3,batch_list=2,batch_create=1,shard_upload=1,model_get=4 \
    >"$T/loadgen.out" 2>&1 && lg=0 || lg=$?
kill "$SAMPLER" 2>/dev/null || :
{
	echo "== soak: $SECS s, $THREADS connections, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	cat "$T/loadgen.out"
} | tee "$REPORT"
[ "$lg" = 0 ] || st_fail "answers other than 200/201 (see the violations above)"
st_ok "zero 5xx: every answer 200 or 201"

flt_check_ledger "$T/ledger.json" 2 3 | tee -a "$REPORT"
st_ok "zero lost writes, no batch half-written"

# The queue drains.
flt_wait_sql $((SECS + 300)) "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')" ||
    st_fail "the queue did not drain"
st_expect_eq "$(flt_allocations | tr '\t' ' ' | paste -sd ';')" "a 0.000 0 0.000;b 0.000 0 0.000" "allocations after the drain"
jobs=$(st_sql "SELECT status, COUNT(*) FROM jobs GROUP BY status" | tr '\t\n' ': ')
echo "jobs: $jobs" | tee -a "$REPORT"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'ERRORED'")" 0 "ERRORED jobs"
st_ok "the queue drained: $jobs allocations zero"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { tail "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
tail -1 "$T/fsck.out" | tee -a "$REPORT"
st_ok "$(tail -1 "$T/fsck.out")"

# Resources: first minute against last minute, per process.
python3 - "$T/resources" "$SECS" <<'PY' | tee -a "$REPORT" || st_fail "resources grew (see above)"
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 5]
secs = int(sys.argv[2])
procs = {}
for t, pid, name, rss, fds in rows:
    procs.setdefault((name, pid), []).append((int(t), int(rss), int(fds)))
bad = 0
print("%-12s %7s %12s %12s %9s %9s" % ("process", "pid", "RSS first KB", "RSS last KB", "fd first", "fd last"))
for (name, pid), s in sorted(procs.items()):
    first = [x for x in s if x[0] < 60]
    last = [x for x in s if x[0] >= s[-1][0] - 60]
    if not first or not last:
        continue
    r0 = max(x[1] for x in first); r1 = max(x[1] for x in last)
    f0 = max(x[2] for x in first); f1 = max(x[2] for x in last)
    flag = ""
    if f1 > f0 + 4:
        flag += " FD GROWTH"
    if r1 > r0 * 1.25 and r1 - r0 > 8192:
        flag += " RSS GROWTH"
    bad += bool(flag)
    print("%-12s %7s %12d %12d %9d %9d%s" % (name, pid, r0, r1, f0, f1, flag))
sys.exit(1 if bad else 0)
PY
st_ok "RSS and descriptors flat (first minute against last minute); report in $REPORT"
