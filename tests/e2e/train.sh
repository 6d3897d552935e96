#!/bin/sh
# train.sh: the "training script" of the test image (busybox sh).
#
#   /train.sh [--sleep S] [--exit N] [--mem MB] [--lines N] [--cgroup]
#             [--weight W] [--fail-until-attempt N]
#
# Unzips every shard under $SINGULARITY_DATA_DIR (/data/*.zip), reads the
# whole numbers in their files (one per line) and computes what a test can
# predict from the shards it made:
#
#   sum = the numbers' sum, count = how many, fitness = sum % 997
#
# Writes the model files /output/model/weights.txt, /output/model/params.txt
# and /output/summary.txt, then (after --sleep) /output/result.json:
#   {"fitness", "sum", "count", "shards", "job", "mode", "cuda",
#    "cpu_quota", "cpu_period", "mem_limit" (with --cgroup)}
# --mem MB holds MB MiB in a pipe buffer (over the limit: OOM kill),
# --lines N prints N numbered lines, --exit N ends with status N.
# --weight W adds "fitness_score": (sum * W) % 10007 to result.json: one
# configuration's score, predictable from the data it ran on.
# --fail-until-attempt N: while $SINGULARITY_ATTEMPT <= N, exit at once
# (after the RUN line) with the --exit code, 1 when none is given; later
# attempts run normally and end with 0.
set -u
data=${SINGULARITY_DATA_DIR:-/data}
out=${SINGULARITY_OUTPUT_DIR:-/output}
sleep_s=0 code=0 mem=0 lines=0 cgroup=0 weight="" fail_until=0
while [ $# -gt 0 ]; do
	case $1 in
	--sleep) sleep_s=$2; shift 2 ;;
	--exit) code=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--lines) lines=$2; shift 2 ;;
	--cgroup) cgroup=1; shift ;;
	--weight) weight=$2; shift 2 ;;
	--fail-until-attempt) fail_until=$2; shift 2 ;;
	*) echo "train.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done

echo "RUN ${SINGULARITY_JOB_ID:-?} mode=${SINGULARITY_MODE:-?} cuda=${CUDA_VISIBLE_DEVICES:-}"
if [ "${SINGULARITY_ATTEMPT:-1}" -le "$fail_until" ]; then
	echo "failing attempt ${SINGULARITY_ATTEMPT:-1} (until $fail_until)"
	[ "$code" != 0 ] && exit "$code" || exit 1
elif [ "$fail_until" != 0 ]; then
	code=0	# --exit was for the failing attempts: this one succeeds
fi
mkdir -p /tmp/shards "$out/model"
n=0
for z in "$data"/*.zip; do
	[ -f "$z" ] || continue
	n=$((n + 1))
	mkdir -p "/tmp/shards/$n"
	unzip -q -o "$z" -d "/tmp/shards/$n" || { echo "cannot unzip $z" >&2; exit 65; }
done
set -- $(find /tmp/shards -type f -exec cat {} + 2>/dev/null |
    awk '/^-?[0-9]+$/ { s += $1; c++ } END { printf "%.0f %d\n", s, c }')
sum=${1:-0} count=${2:-0}
fitness=$((sum % 997))
echo "shards=$n sum=$sum count=$count fitness=$fitness"

i=1
while [ "$i" -le "$lines" ]; do
	echo "line $i"
	i=$((i + 1))
done

echo "$sum" > "$out/model/weights.txt"
printf 'job=%s\nshards=%s\n' "${SINGULARITY_JOB_ID:-}" "$n" > "$out/model/params.txt"
echo "fitness $fitness of $count numbers" > "$out/summary.txt"

if [ "$mem" -gt 0 ]; then
	echo "holding $mem MiB"
	head -c $((mem * 1048576)) /dev/zero | tail -c $((mem * 1048576)) > /dev/null
fi

if [ "$sleep_s" != 0 ]; then
	echo "sleeping $sleep_s s"
	sleep "$sleep_s"
fi

extra=""
if [ -n "$weight" ]; then
	extra=", \"fitness_score\": $(( (sum * weight) % 10007 )), \"weight\": $weight"
fi
if [ "$cgroup" = 1 ]; then
	q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null ||
	    cut -d' ' -f1 /sys/fs/cgroup/cpu.max 2>/dev/null || echo -1)
	p=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null ||
	    cut -d' ' -f2 /sys/fs/cgroup/cpu.max 2>/dev/null || echo -1)
	m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null ||
	    cat /sys/fs/cgroup/memory.max 2>/dev/null || echo -1)
	extra="$extra, \"cpu_quota\": $q, \"cpu_period\": $p, \"mem_limit\": $m"
fi
printf '{"fitness": %d, "sum": %d, "count": %d, "shards": %d, "job": "%s", "mode": "%s", "cuda": "%s"%s}\n' \
    "$fitness" "$sum" "$count" "$n" "${SINGULARITY_JOB_ID:-}" \
    "${SINGULARITY_MODE:-}" "${CUDA_VISIBLE_DEVICES:-}" "$extra" > "$out/result.json"
echo "done"
exit "$code"
