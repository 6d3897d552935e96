#!/bin/bash
# t9030-container-isolation.sh: what a job sees from inside its container,
# run by the real st-dispatch on a real dockerd, with
# [dispatcher] network_mode = none and pids_limit = 48:
#   - no host path: no mount but the root file system, /proc, /dev, /sys,
#     the engine's own /etc/hosts, /etc/hostname, /etc/resolv.conf and the
#     job's data view of the host's cache at /data, read-only (writing there
#     fails) and holding exactly the set's shards and manifest; the canary
#     tree, the build tree, the blob store and the engine's socket do not
#     exist inside; the environment holds none of the service's secrets;
#   - capabilities empty: CapEff, CapPrm, CapBnd, CapAmb all 0, NoNewPrivs 1;
#   - the process count limit holds: 300 background processes asked, at
#     most 48 exist; a real fork bomb never holds more than 48 processes on
#     the host and ends with the job (ERRORED, normally at the time limit,
#     with its reason) while the
#     host goes on running other jobs;
#   - the network is what the config says: with `none`, no interface but lo.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t9030-isolation
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start iso
SOCK=$DK_SOCK
st_test_image singularity/testai:1 "$SOCK"
ST_CONF_EXTRA="
[dispatcher]
network_mode = none
pids_limit = 48
stop_grace = 2

[time_limits]
production = 5
"
st_mariadb_start
st_db_setup
st_account iso
"$ST_ADMIN" host add iso --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null
mkdir -p "$T/canary"
echo canary >"$T/canary/file"
st_dataset iso probe 0 1
st_batch iso production 1 0 1

# The probe: findings into /output/result.json, the environment into the
# log (which the test reads from outside). NOTE: st_job puts the command in
# an SQL string literal, where a backslash is an escape: none in commands.
cat >"$T/probe.sh" <<EOF
s=/proc/self/status
f() { awk -v k="\$1:" '\$1 == k { print \$2 }' \$s; }
nets=\$(ls /sys/class/net | tr -s '[:space:]' ' ')
mnts=\$(awk '{ print \$5 }' /proc/self/mountinfo | sort -u | tr -s '[:space:]' ' ')
dataro=\$(awk '\$5 == "/data" { split(\$6, o, ","); print o[1] }' /proc/self/mountinfo)
datals=\$(ls /data | tr -s '[:space:]' ' ')
touch /data/x 2>/dev/null && datarw=yes || datarw=no
seen=
for p in "$T/canary/file" "$T/store" "$top_builddir" "$SOCK" /var/run/docker.sock /run/docker.sock; do
	[ -e "\$p" ] && seen="\$seen \$p"
done
env
fmt='{"capeff":"%s","capprm":"%s","capbnd":"%s","capamb":"%s","nonewprivs":"%s","nets":"%s","mounts":"%s","seen":"%s","uid":"%s","dataro":"%s","datals":"%s","datarw":"%s"}'
printf "\$fmt" "\$(f CapEff)" "\$(f CapPrm)" "\$(f CapBnd)" "\$(f CapAmb)" "\$(f NoNewPrivs)" "\$nets" "\$mnts" "\$seen" "\$(id -u)" "\$dataro" "\$datals" "\$datarw" >/output/result.json
EOF
! grep -qF '\' "$T/probe.sh" || st_fail "the probe holds a backslash"
st_job "$DS_ID" singularity/testai 1 "$(cat "$T/probe.sh")"
PROBE=$JOB_UUID

# 300 background sleeps: how many could exist at once.
# NOTE: busybox sh exits when a fork fails, so the forks happen in a
# subshell, and the main shell counts and cleans up with builtins only.
cat >"$T/count.sh" <<'EOF'
(i=0; while [ $i -lt 300 ]; do sleep 60 & i=$((i + 1)); done) 2>/dev/null
n=0
for p in /proc/[0-9]*; do n=$((n + 1)); done
kill -9 -1 2>/dev/null
printf '{"procs": %s}' "$n" >/output/result.json
EOF
st_job "$DS_ID" singularity/testai 1 "$(cat "$T/count.sh")"
COUNT=$JOB_UUID

st_dispatch_until 60 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
st_expect_eq "$(st_sql "SELECT CONCAT(status, ' ', COALESCE(error, '-')) FROM jobs WHERE uuid = '$PROBE'")" "COMPLETED -" "probe job"
R=$(st_sql "SELECT result FROM jobs WHERE uuid = '$PROBE'")
echo "# probe: $R"
r() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$R" "$1"; }

for c in capeff capprm capbnd capamb; do
	st_expect_eq "$(r $c)" 0000000000000000 "$c inside the job"
done
st_expect_eq "$(r nonewprivs)" 1 "NoNewPrivs inside the job"
st_ok "capabilities empty (CapEff, CapPrm, CapBnd, CapAmb 0), NoNewPrivs 1, uid $(r uid)"

st_expect_eq "$(r seen)" "" "host paths visible inside"
for m in $(r mounts); do
	case $m in
	/|/proc|/proc/*|/dev|/dev/*|/sys|/sys/*|/etc/hosts|/etc/hostname|/etc/resolv.conf|/data) ;;
	*) st_fail "mount $m inside the job (a host path?)" ;;
	esac
done
LOG=$T/store/logs/${PROBE:0:2}/$PROBE.log
[ -f "$LOG" ] || st_fail "no log of the probe"
for s in "$API_SECRET" "$DB_PASSWORD" "$(cat "$T/secret.key")"; do
	! grep -qF "$s" "$LOG" || st_fail "a secret of the service is in the job's environment"
done
! grep -q '^SINGULARITY_CONF=' "$LOG" || st_fail "SINGULARITY_CONF leaks into the job"
# No GPU: the container is told so last, whatever its image says.
grep -qx 'NVIDIA_VISIBLE_DEVICES=void' "$LOG" || st_fail "the probe without GPUs does not see NVIDIA_VISIBLE_DEVICES=void"
! grep -q '^LD_PRELOAD=' "$LOG" || st_fail "LD_PRELOAD is set in the job"
st_ok "no host path visible (mounts: $(r mounts | wc -w), canary, build tree, store, engine socket absent), no secret in the environment"

# /data: the set's view of the host's data cache, read-only.
SHARD=$(st_sql "SELECT s.sha256 FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id WHERE ds.dataset_id = $DS_ID")
st_expect_eq "$(r dataro)" ro "mount options of /data"
st_expect_eq "$(r datarw)" no "a file written under /data"
st_expect_eq "$(r datals)" "$SHARD.zip manifest.json " "what /data holds"
st_ok "/data is the data set's view, read-only: its shard and manifest, nothing else"

st_expect_eq "$(r nets)" "lo " "network interfaces with network_mode = none"
st_ok "network_mode none: no interface but lo"

st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE uuid = '$COUNT'")" COMPLETED "process count job"
procs=$(st_sql "SELECT JSON_VALUE(result, '\$.procs') FROM jobs WHERE uuid = '$COUNT'")
[ -n "$procs" ] && [ "$procs" -le 48 ] && [ "$procs" -ge 10 ] ||
    st_fail "$procs processes inside a container limited to 48"
st_ok "300 background processes asked, $procs existed (pids_limit 48)"

# The fork bomb, and an ordinary job beside it on the same host.
st_batch iso production 1 0 1
# The classic bomb first (busybox sh gives up when a fork fails, so it
# collapses at the limit), then one that keeps at it: awk's system() does
# not give up, and the sleeps it leaves fill the limit until the time
# limit (5 s) ends the job.
cat >"$T/bomb.sh" <<'EOF'
(b() { b | b & }; b) 2>/dev/null
awk 'BEGIN { while (1) system("sleep 1000 &") }' 2>/dev/null
EOF
st_job "$DS_ID" singularity/testai 1 "$(cat "$T/bomb.sh")"
BOMB=$JOB_UUID
st_job "$DS_ID" singularity/testai 1 '/train.sh --sleep 2'
AFTER=$JOB_UUID
"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once"
cid=$(st_dk "$SOCK" GET "/containers/st-job-$BOMB/json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])') ||
    st_fail "the fork bomb's container is not there"
max=0
for i in $(seq 1 20); do
	n=$(grep -l "$cid" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
	[ "$n" -gt "$max" ] && max=$n
	sleep 0.2
done
[ "$max" -le 48 ] || st_fail "the fork bomb holds $max processes on the host (limit 48)"
[ "$max" -ge 10 ] || st_fail "the fork bomb never ran ($max processes)"
st_ok "a fork bomb holds at most $max processes on the host (limit 48)"
st_dispatch_until 60 "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE uuid = '$BOMB'")" ERRORED "fork bomb job"
err=$(st_sql "SELECT error FROM jobs WHERE uuid = '$BOMB'")
[ -n "$err" ] && [ "$err" != NULL ] || st_fail "fork bomb job ERRORED without a reason"
st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE uuid = '$AFTER'")" COMPLETED "the job beside the bomb"
left=$(grep -l "$cid" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
st_expect_eq "$left" 0 "processes of the bomb left on the host"
st_ok "the fork bomb ended with its job (ERRORED: $err); the job beside it COMPLETED; no process left"
