#!/bin/bash
# bench-dispatch-output.sh: collecting a large /output (issue 13). One
# real engine, `st-dispatch --loop 1`; a job writes BENCH_OUTPUT_MB (1024)
# MiB to /output, another 1 MiB (the baseline, in the same run). Printed:
#   - the dispatcher's peak RSS (VmHWM) after each, and its growth from
#     the 1 MiB run to the large one (target <= 32 MB whatever the size);
#   - the memory of the child process that read /output and built the
#     zip (the dispatcher's log: "collected with N kB of memory at most");
#   - the time from the job's exit to COMPLETED, and the model's size.
# Run by `make bench`; measures, asserts nothing.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init bench-dispatch-output
command -v python3 >/dev/null || st_skip "python3 not installed"
MB=${BENCH_OUTPUT_MB:-1024}
case $MB in '' | *[!0-9]*) st_fail "BENCH_OUTPUT_MB is a whole number" ;; esac
st_dockerd_start a
st_test_image singularity/testai:1 "$DK_SOCK"
ST_CONF_EXTRA="
[dispatcher]
output_max = $((MB + 16))M
"
st_mariadb_start
st_db_setup
st_account bench
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 2 --ram-gb 4 >/dev/null
st_dataset bench out 0 1

"$ST_DISPATCH" --loop 1 --verbose >"$T/dispatch.out" 2>&1 &
DISP=$!
st_track_pid "$DISP"

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$DISP/status"; }
now_ms() { date +%s%3N; }

# run MIB: one job writing MIB MiB to /output; prints "hwm_kb child_kb ms size".
run() {
	local id uuid end t_exit t_done child
	st_batch bench production 0.5 0 0.5
	st_job "$DS_ID" singularity/testai 1 "head -c $(($1 * 1048576)) /dev/zero >/output/weights.bin; echo '{}' >/output/result.json"
	id=$JOB_ID uuid=$JOB_UUID
	end=$(( $(date +%s) + 900 ))
	while [ "$(st_sql "SELECT status FROM jobs WHERE id = $id")" != COMPLETED ]; do
		[ "$(date +%s)" -lt "$end" ] || { tail -20 "$T/dispatch.out" >&2; st_fail "the $1 MiB job did not complete"; }
		case $(st_sql "SELECT status FROM jobs WHERE id = $id") in
		ERRORED) st_fail "the $1 MiB job: $(st_sql "SELECT error FROM jobs WHERE id = $id")" ;;
		esac
		sleep 0.2
	done
	t_exit=$(st_sql "SELECT FLOOR(UNIX_TIMESTAMP(finished_at) * 1000) FROM jobs WHERE id = $id")
	t_done=$(now_ms)
	child=$(grep "job $uuid: model of" "$T/dispatch.out" | sed -n 's/.*collected with \([0-9]*\) kB.*/\1/p' | tail -1)
	echo "$(hwm_kb) ${child:-0} $((t_done - t_exit)) $(st_sql "SELECT model_size FROM jobs WHERE id = $id")"
}

read -r h0 c0 ms0 z0 <<<"$(run 1)"
read -r h1 c1 ms1 z1 <<<"$(run "$MB")"
growth=$(( (h1 - h0) / 1024 ))
echo "dispatch_output_base: 1 MiB of /output: dispatcher peak RSS ${h0} kB, collecting child ${c0} kB, exit to COMPLETED ${ms0} ms, model ${z0} bytes"
echo "dispatch_output_large: $MB MiB of /output: dispatcher peak RSS ${h1} kB, collecting child ${c1} kB, exit to COMPLETED ${ms1} ms, model ${z1} bytes"
echo "dispatch_output_rss_growth_mb: $growth (target <= 32, whatever the output's size)"
echo "dispatch_output_child_rss_ratio: $(awk -v a="$c1" -v b="$c0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') (the child's memory for $MB MiB against 1 MiB)"
