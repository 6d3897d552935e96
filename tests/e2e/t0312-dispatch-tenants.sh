#!/bin/bash
# Tenants kept apart on a real Docker Engine (issue 13, the dispatcher's
# part), with `st-dispatch --once` passes:
#   1. GPUs: in an image whose config sets NVIDIA_VISIBLE_DEVICES=all (as
#      every CUDA base image does), a job without GPUs sees
#      NVIDIA_VISIBLE_DEVICES=void and an empty CUDA_VISIBLE_DEVICES, and a
#      1-GPU job exactly its own index in both, whatever its stored env
#      asks (NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES, LD_PRELOAD); on
#      an nvidia host a job without GPUs runs with the runc runtime;
#   2. bounded outputs: with output_max = 1M, /output files of 1M + 1 bytes
#      end the job ERRORED "output larger than 1048576 bytes", no model,
#      its container removed and its allocation freed (the next job on the
#      full host is placed and COMPLETES); exactly 1M is collected; a file
#      whose name holds a backslash is left out of the model and said;
#   3. bounded logs on the host: with container_log_max = 2M a job
#      printing without end keeps at most about 2 MiB of json log files on
#      the engine, and its time limit still ends it;
#   4. a job's error names no endpoint (an image that cannot be had).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0312-dispatch-tenants
command -v python3 >/dev/null || st_skip "python3 not installed"
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT
st_dockerd_start a
SOCK=$DK_SOCK EP=$DK_ENDPOINT
st_test_image singularity/testai:1 "$SOCK"
st_test_image singularity/testai:1 "$SOCK_B"
# The same root file system, its config setting NVIDIA_VISIBLE_DEVICES=all.
out=$(st_dk "$SOCK" POST "/images/create?fromSrc=-&repo=singularity/cuda-like&tag=1&changes=ENV%20NVIDIA_VISIBLE_DEVICES%3Dall" \
    -H 'Content-Type: application/x-tar' --data-binary @"$T/image.tar") ||
    st_fail "importing the cuda-like image"
case $out in *error*) st_fail "importing the cuda-like image: $out" ;; esac
st_expect_eq "$(st_dk "$SOCK" GET /images/singularity/cuda-like:1/json |
    python3 -c 'import json,sys; print([e for e in json.load(sys.stdin)["Config"]["Env"] if e.startswith("NVIDIA")])')" \
    "['NVIDIA_VISIBLE_DEVICES=all']" "the cuda-like image's own environment"
ST_CONF_EXTRA="
[dispatcher]
output_max = 1M
container_log_max = 2M
stop_grace = 1

[time_limits]
production = 8
"
st_mariadb_start
st_db_setup
st_account alice
"$ST_ADMIN" host add a --endpoint "$EP" --cpus 2 --ram-gb 4 --gpus 2 --gpu-runtime env >/dev/null
st_dataset alice tenants 0 1

until_final() {
	st_dispatch_until "$1" "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
}
res() { st_sql "SELECT result FROM jobs WHERE id = $1"; }
jv() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$(res "$1")" "$2"; }

# --- 1. GPUs ------------------------------------------------------------------------
# (No backslash reaches st_job: it puts the command in an SQL literal.)
SEE="printf '{\"nvidia\": \"%s\", \"cuda\": \"%s\", \"preload\": \"%s\"}' \"\${NVIDIA_VISIBLE_DEVICES-unset}\" \"\${CUDA_VISIBLE_DEVICES-unset}\" \"\${LD_PRELOAD-unset}\" >/output/result.json"
st_batch alice production 0.5 0 0.5
st_job "$DS_ID" singularity/cuda-like 1 "$SEE"
J0=$JOB_ID
# What POST /batch now refuses, stored as an older server let it in.
st_sql "UPDATE jobs SET env = '{\"NVIDIA_VISIBLE_DEVICES\":\"all\",\"CUDA_VISIBLE_DEVICES\":\"0,1\",\"LD_PRELOAD\":\"/x.so\"}' WHERE id = $J0"
st_batch alice production 0.5 1 0.5
st_job "$DS_ID" singularity/cuda-like 1 "$SEE"
J1=$JOB_ID
st_sql "UPDATE jobs SET env = '{\"NVIDIA_VISIBLE_DEVICES\":\"all\",\"CUDA_VISIBLE_DEVICES\":\"0,1\"}' WHERE id = $J1"
until_final 90
st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', COALESCE(error, '-')) FROM jobs WHERE id IN ($J0, $J1) ORDER BY id" | paste -sd ';')" \
    "COMPLETED -;COMPLETED -" "the two GPU jobs"
st_expect_eq "$(jv "$J0" '[d["nvidia"], d["cuda"], d["preload"]]')" "['void', '', 'unset']" \
    "a job without GPUs: NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES, LD_PRELOAD"
dev=$(st_sql "SELECT gpu_devices FROM jobs WHERE id = $J1")
[ "$dev" = 0 ] || [ "$dev" = 1 ] || st_fail "gpu_devices of the 1-GPU job: '$dev'"
st_expect_eq "$(jv "$J1" '[d["nvidia"], d["cuda"]]')" "['$dev', '$dev']" "the 1-GPU job's devices"
st_ok "an image's NVIDIA_VISIBLE_DEVICES=all and a job's own env never reach other GPUs: no GPU gives void, one GPU exactly its index $dev"

# On an nvidia host, a job without GPUs runs with runc (the nvidia runtime,
# often an engine's default, would hand it every GPU).
"$ST_ADMIN" host drain a >/dev/null
"$ST_ADMIN" host add n --endpoint "$EP_B" --cpus 2 --ram-gb 4 --gpus 0 --gpu-runtime nvidia >/dev/null
st_batch alice production 0.5 0 0.5
st_job "$DS_ID" singularity/testai 1 '/train.sh --sleep 4'
JN=$JOB_ID UN=$JOB_UUID
"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once"
st_expect_eq "$(st_dk "$SOCK_B" GET "/containers/st-job-$UN/json" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["HostConfig"]["Runtime"])')" runc \
    "the runtime of a job without GPUs on an nvidia host"
until_final 60
st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE id = $JN")" COMPLETED "the job on the nvidia host"
"$ST_ADMIN" host drain n >/dev/null
"$ST_ADMIN" host enable a >/dev/null
st_ok "on an nvidia host a job without GPUs runs with runc"

# --- 2. bounded outputs --------------------------------------------------------------
# Both CPUs of host a: the next job waits until the big one is gone.
st_batch alice production 2 0 0.5
st_job "$DS_ID" singularity/testai 1 'head -c 1048577 /dev/zero >/output/big.bin; echo "{}" >/output/result.json'
JBIG=$JOB_ID UBIG=$JOB_UUID
# "a\\b.txt": the SQL literal turns the two backslashes into one.
st_job "$DS_ID" singularity/testai 1 'head -c 1048576 /dev/zero >/output/fits.bin; touch "/output/a\\b.txt" "/output/ok.txt"; echo "{}" >/output/result.json'
JFIT=$JOB_ID UFIT=$JOB_UUID
until_final 120
st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', COALESCE(error, '-'), ' ', COALESCE(model_sha256, 'none')) FROM jobs WHERE id = $JBIG")" \
    "ERRORED output larger than 1048576 bytes none" "the job whose /output holds 1 MiB + 1 byte"
[ ! -e "$T/store/models/${UBIG:0:2}/$UBIG.zip" ] || st_fail "a model was kept of the too large output"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM job_attempts WHERE job_id = $JBIG")" 0 "attempts kept of the too large output (never retried)"
row=$(st_sql "SELECT status, COALESCE(error, '-') FROM jobs WHERE id = $JFIT" | tr '\t' ' ')
case $row in
"COMPLETED 1 file of /output left out of the model"*) ;;
*) st_fail "the job whose /output holds exactly 1 MiB: '$row'" ;;
esac
python3 - "$T/store/models/${UFIT:0:2}/$UFIT.zip" <<'PY' || st_fail "the model of exactly 1 MiB"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = sorted(z.namelist())
assert names == ["fits.bin", "ok.txt"], names
assert len(z.read("fits.bin")) == 1048576
PY
st_expect_eq "$(st_dk "$SOCK" GET '/containers/json?all=1')" "[]" "containers left"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')")" 0 "jobs holding resources"
st_ok "output_max: 1 MiB + 1 byte ERRORED without a model and freed the host for the next job; 1 MiB collected; a name with a backslash left out and said"

# --- 3. bounded logs on the host -------------------------------------------------------
st_batch alice production 0.5 0 0.5
st_job "$DS_ID" singularity/testai 1 'yes "a line of a job that prints without end, 64 bytes or so ......"'
JYES=$JOB_ID UYES=$JOB_UUID
"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once"
sleep 4
logpath=$(st_dk "$SOCK" GET "/containers/st-job-$UYES/json" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["LogPath"])')
[ -n "$logpath" ] || st_fail "no LogPath of the job's container"
bytes=$(cat "$logpath"* 2>/dev/null | wc -c)
st_expect_eq "$(st_dk "$SOCK" GET "/containers/st-job-$UYES/json" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["HostConfig"]["LogConfig"]; print(c["Type"], c["Config"]["max-size"], c["Config"]["max-file"])')" \
    "json-file 1048576 2" "the container's log driver and its limits"
[ "$bytes" -le $((2 * 1048576 + 262144)) ] || st_fail "the engine keeps $bytes bytes of the job's log (container_log_max 2M)"
until_final 60
st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', error) FROM jobs WHERE id = $JYES")" "ERRORED time limit exceeded" "the job printing without end"
st_ok "a job printing without end: the engine kept $bytes bytes (container_log_max 2M), its time limit still ended it"

# --- 4. errors in the user's terms --------------------------------------------------------
st_batch alice production 0.5 0 0.5
st_job "$DS_ID" nosuch/image v1 '/train.sh'
JNO=$JOB_ID
until_final 60
err=$(st_sql "SELECT error FROM jobs WHERE id = $JNO")
case $err in
"image nosuch/image:v1 cannot be had on host a: "?*) ;;
*) st_fail "the error of an image that cannot be had: '$err'" ;;
esac
case $err in
*unix://*|*"$SOCK"*|*/v1.41/*|*HTTP\ 5*) st_fail "the job's error names the engine: '$err'" ;;
esac
st_ok "a job's error names no endpoint: $err"
