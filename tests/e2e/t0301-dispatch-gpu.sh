#!/bin/bash
# GPU placement on a host registered with 2 GPUs and the `env` runtime
# (issue 5): 5 jobs of gpu 1 never run more than 2 at once there, two jobs
# running together never share a device, each container sees its devices
# as CUDA_VISIBLE_DEVICES; waiting jobs say why (insufficient_gpu), and a
# job no host could ever hold says no_host_fits.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0301-dispatch-gpu
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start g
st_test_image singularity/testai:1
st_mariadb_start
st_db_setup
st_account carol
"$ST_ADMIN" host add gpu1 --endpoint "$DK_ENDPOINT" --cpus 16 --ram-gb 64 \
    --gpus 2 --gpu-runtime env >/dev/null
st_dataset carol pics 0 2

st_batch carol production 1 1 1
for i in 1 2 3 4 5; do
	st_job "$DS_ID" singularity/testai 1 "/train.sh --sleep 1.5"
done
st_batch carol production 1 3 1
st_job "$DS_ID" singularity/testai 1 "/train.sh"; J_BIG=$JOB_ID

"$ST_DISPATCH" --loop 1 >"$T/dispatch.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"

# Watch the placed jobs: never more than 2, never one device twice.
seen_wait=0
end=$(( $(date +%s) + 90 ))
while :; do
	snap=$(st_sql "SELECT gpu_devices FROM jobs WHERE gpu = 1 AND status IN
	    ('PENDING','PROCESSING','PROCESSED','UPLOADING')")
	n=$(printf '%s' "$snap" | grep -c . || :)
	[ "$n" -le 2 ] || st_fail "$n GPU jobs at once on a 2-GPU host: $snap"
	[ "$(printf '%s\n' "$snap" | grep . | sort | uniq -d)" = "" ] ||
	    st_fail "a device held twice: $snap"
	[ "$(st_sql "SELECT COUNT(*) FROM jobs WHERE gpu = 1 AND status = 'QUEUED'
	    AND pending_reason = 'insufficient_gpu'")" = 0 ] || seen_wait=1
	left=$(st_sql "SELECT COUNT(*) FROM jobs WHERE gpu = 1 AND status NOT IN ('COMPLETED','ERRORED','CANCELED')")
	[ "$left" = 0 ] && break
	[ "$(date +%s)" -lt "$end" ] || { tail -20 "$T/dispatch.out" >&2; st_fail "GPU jobs not done"; }
	sleep 0.1
done
kill -TERM "$LOOP"
wait "$LOOP" || :
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE gpu = 1 AND status = 'COMPLETED'")" 5 "completed GPU jobs"
st_expect_eq "$seen_wait" 1 "a waiting job said insufficient_gpu"
st_ok "5 one-GPU jobs on a 2-GPU host: at most 2 at once, devices never shared"

# Every container saw exactly its devices; jobs overlapping in time had
# different ones.
st_sql "SELECT gpu_devices, result, UNIX_TIMESTAMP(started_at), UNIX_TIMESTAMP(finished_at)
    FROM jobs WHERE gpu = 1" >"$T/gpu.tsv"
python3 - "$T/gpu.tsv" <<'PY' || st_fail "CUDA_VISIBLE_DEVICES"
import json, sys
rows = []
for line in open(sys.argv[1]):
    dev, res, s, f = line.rstrip("\n").split("\t")
    r = json.loads(res)
    assert r["cuda"] == dev and dev in ("0", "1"), (dev, r)
    rows.append((dev, float(s), float(f)))
for i, a in enumerate(rows):
    for b in rows[i + 1:]:
        if a[1] < b[2] and b[1] < a[2]:
            assert a[0] != b[0], (a, b)
PY
st_ok "each container saw its own CUDA_VISIBLE_DEVICES"

st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', pending_reason) FROM jobs WHERE id = $J_BIG")" \
    "QUEUED no_host_fits" "a 3-GPU job on 2-GPU hosts"
st_ok "a job no host can ever hold: QUEUED with pending_reason no_host_fits"
