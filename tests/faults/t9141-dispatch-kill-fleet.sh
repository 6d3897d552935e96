#!/bin/bash
# t9141-dispatch-kill-fleet.sh: `st-dispatch --loop 1` SIGKILLed again and
# again while the fleet dispatcher is in the middle of its background work,
# on two real Docker engines, over N jobs (DISPATCH_KILL_FLEET_JOBS, default
# 24; `make soak` runs 60):
#   - image pulls: the jobs' images live in a local registry behind a
#     throttling proxy, so each pull takes a few seconds (and an engine gives
#     a pull up when its client dies: it starts again);
#   - data cache fills: fresh data sets of four shards of a few MiB, with
#     pilots, so each host fills several views of each set's volume;
#   - log follows: every job prints numbered lines steadily for several
#     seconds before training.
# The jobs come in waves of 8 (what the hosts run at once): the first wave
# of two images, each later one of an image of its own (up to 8 images),
# and each wave of a data set of its own (up to 6), so that pulls and fills
# come again as the waves start.
# Each run of the dispatcher aims its kill at one of those (it waits for a
# pull or a fill to begin, or for running jobs), or lets a run go on long
# enough for a pull to finish, or kills at a random moment. Afterwards:
#   - every job final exactly once (one `job UUID: X -> COMPLETED|ERRORED`
#     line in the dispatchers' log, as t9140 counts), all COMPLETED in their
#     first attempt with the right result;
#   - no job container ever started twice (the engines' start events,
#     streamed from the beginning);
#   - every job's stored log (GET /job/{id}/log) is whole and exact: its
#     numbered lines 1..N in order, none missing, none twice, then what
#     train.sh prints, and its log_size says so (the log checkpoint held
#     across the kills);
#   - no st-data volume half-filled in use: every host_cache_views row's
#     volume exists and, mounted in a container, holds exactly its view's
#     shards (checksums) and manifest;
#   - nothing left after one `st-dispatch --once` (and a container of a
#     final job added to what the kills left): no job container nor filler
#     on the engines, allocations zero, st-admin fsck clean.
# Kills are counted by what was under way when they landed, and each kind
# must have happened at least once.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/registry.sh"
. "$top_srcdir/tests/lib/netfaults.sh"
. "$top_srcdir/tests/faults/lib.sh"

N=${DISPATCH_KILL_FLEET_JOBS:-24}
PULL_S=4		# seconds a pull of the third image takes
SHARD_KIB=3072		# padding of each shard
WAVE=8			# jobs the two hosts run at once
NW=$(( (N + WAVE - 1) / WAVE ))
NIMG=$(( NW + 1 > 8 ? 8 : NW + 1 ))
[ "$NIMG" -ge 3 ] || NIMG=3
NSETS=$(( NW > 6 ? 6 : (NW < 2 ? 2 : NW) ))
st_init t9141-dispatch-kill-fleet
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
SOCK_A=$DK_SOCK EP_A=$DK_ENDPOINT
st_dockerd_start b
SOCK_B=$DK_SOCK EP_B=$DK_ENDPOINT

# The engines' container start events, streamed from now on (an engine
# keeps only its last 256 events).
start_filter='%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D'
for s in "$SOCK_A" "$SOCK_B"; do
	curl -sSN --unix-socket "$s" \
	    "http://localhost/v1.41/events?filters=$start_filter" >>"$T/events" &
	st_track_pid $!
done

# NIMG images of different layers (image i with i MiB of padding) in the
# registry, gone from the engines: every host pulls each through the
# throttle proxy.
st_registry_start
for i in $(seq 1 "$NIMG"); do
	st_test_image_big "st/kill$i:1" "$i" "$SOCK_A"
	st_registry_push "$SOCK_A" "st/kill$i:1" "st/kill$i:1"
	st_image_rm "$SOCK_A" "$REG_ADDR/st/kill$i:1"
	st_image_rm "$SOCK_A" "st/kill$i:1"
done
# The third image's pull takes PULL_S s, the first one's about half.
BYTES=$(curl -sS --cacert "$REG_CA" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REG_ADDR/v2/st/kill3/manifests/1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["config"]["size"] + sum(l["size"] for l in m["layers"]))')
st_throttle_start "$REG_ADDR" $((BYTES / PULL_S))

st_mariadb_start
st_db_setup
st_account killer
"$ST_ADMIN" host add a --endpoint "$EP_A" --cpus 4 --ram-gb 16 >/dev/null
"$ST_ADMIN" host add b --endpoint "$EP_B" --cpus 4 --ram-gb 16 >/dev/null
# NSETS data sets: each a root and its two pilots, three views to run on.
: >"$T/sets"
for s in $(seq 1 "$NSETS"); do
	ST_SHARD_PAD_KIB=$SHARD_KIB st_dataset killer "fleet$s" 2 4
	echo "$DS_ID $PILOT_IDS" >>"$T/sets"
done
st_lighttpd_start

# The jobs: numbered lines, one every 0.1 s (30 to 59 of them), then
# train.sh. Wave w: images 1 and 2 in turn for the first, image 3 + (w - 1)
# (cycling over those there are) for the others; the views of set w (cycling)
# in turn.
st_batch killer production 1 0 0.25
: >"$T/jobs"
for k in $(seq 0 $((N - 1))); do
	lines=$((30 + (k * 7) % 30))
	w=$((k / WAVE))
	if [ "$w" = 0 ]; then
		img=$THROTTLE_ADDR/st/kill$((1 + k % 2))
	else
		img=$THROTTLE_ADDR/st/kill$((3 + (w - 1) % (NIMG - 2)))
	fi
	read -r -a views <<<"$(sed -n "$((w % NSETS + 1))p" "$T/sets")"
	ds=${views[$((k % 3))]}
	st_job "$ds" "$img" 1 "i=1; while [ \$i -le $lines ]; do echo \"line \$i of $lines\"; i=\$((i + 1)); sleep 0.1; done; exec /train.sh"
	echo "$JOB_UUID $ds $lines" >>"$T/jobs"
done
JOBS=$(cut -d' ' -f1 "$T/jobs")

# --- the kills ------------------------------------------------------------------
touch "$T/singularity.log"
off=0
# What this run of the dispatcher logged.
run_log() { tail -c +$((off + 1)) "$T/singularity.log"; }
count() { run_log | grep -c -- "$1" || :; }
# under_way pull|fill: how many of them this run began and did not end.
under_way() {
	case $1 in
	pull) echo $(( $(count ': pulling ') - $(count ': image .* ready (') -
	    $(count 'cannot be had on host') )) ;;
	fill) echo $(( $(count ': filling data view ') -
	    $(count ': data view .* ready (') - $(count ': filling st-data-') )) ;;
	esac
}
# wait_for PATTERN SECS: until this run logged PATTERN (1 after SECS).
wait_for() {
	local end=$(( $(date +%s%N) / 1000000 + $2 * 1000 ))
	until run_log | grep -q -- "$1"; do
		[ "$(( $(date +%s%N) / 1000000 ))" -lt "$end" ] || return 1
		sleep 0.02
	done
}
# wait_pulls_end SECS: until every pull this run began ended.
wait_pulls_end() {
	local end=$(( $(date +%s) + $1 ))
	while [ "$(under_way pull)" -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.05
	done
}
not_final="SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"
# pick_phase: what this run's kill aims at (sets phase). While jobs wait
# for a pull, up to 3 runs in a row are killed in the middle of it (the
# engine gives the pull up and the next run starts it again), then one runs
# until its pulls ended and is killed as the fills that follow begin;
# otherwise the runs take turns at cache fills, log follows, a random moment
# and a long run.
PHASES=(fill follow any fill follow long)
pull_streak=0 turn=0
pick_phase() {
	local waiting
	waiting=$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'PENDING'
	    AND pending_reason = 'pulling_image'")
	if [ "$round" = 0 ] || { [ "$waiting" -gt 0 ] && [ "$pull_streak" -lt 3 ]; }; then
		phase=pull
		pull_streak=$((pull_streak + 1))
	elif [ "$waiting" -gt 0 ]; then
		phase=pull-end
		pull_streak=0
	else
		phase=${PHASES[$((turn % ${#PHASES[@]}))]}
		turn=$((turn + 1))
	fi
}
kills=0 k_pull=0 k_fill=0 k_follow=0 round=0
start=$(date +%s)
limit=$((120 + N * 5))
while [ "$(st_sql "$not_final")" != 0 ]; do
	[ $(( $(date +%s) - start )) -lt "$limit" ] ||
	    { tail -30 "$T/dispatch.out" >&2; st_fail "jobs not final after $limit s"; }
	off=$(stat -c %s "$T/singularity.log")
	t0=$(date +%s%N)
	"$ST_DISPATCH" --loop 1 >>"$T/dispatch.out" 2>&1 &
	pid=$!
	pick_phase
	round=$((round + 1))
	case $phase in
	pull)	# in the middle of a pull (one takes seconds)
		if wait_for ': pulling ' 4; then sleep "0.$((2 + RANDOM % 8))"; fi ;;
	fill)	# as soon as a fill began
		if wait_for ': filling data view ' 4; then sleep "0.0$((RANDOM % 10))"; fi ;;
	follow)	# logs followed since the host's first list
		sleep "1.$((RANDOM % 10))" ;;
	pull-end)	# every pull of the run ended: the fills begin
		if wait_for ': pulling ' 4; then
			wait_pulls_end $((PULL_S * NIMG / 3 + 6))
			sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
		fi ;;
	long)	# long enough for any pull to end
		sleep "$((PULL_S + 2 + RANDOM % 3)).$((RANDOM % 10))" ;;
	any)
		sleep "$((RANDOM % 3)).$((RANDOM % 10))" ;;
	esac
	p=$(under_way pull) f=$(under_way fill)
	following=$(st_sql "SELECT COUNT(*) FROM jobs WHERE status = 'PROCESSING'")
	ran_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || :
	echo "--- SIGKILL ($phase, after $ran_ms ms: $p pulls, $f fills under way, $following jobs running)" >>"$T/dispatch.out"
	[ "$p" -gt 0 ] && k_pull=$((k_pull + 1))
	[ "$f" -gt 0 ] && k_fill=$((k_fill + 1))
	[ "$following" -gt 0 ] && [ "$ran_ms" -ge 1000 ] && k_follow=$((k_follow + 1))
done
took=$(( $(date +%s) - start ))
[ "$kills" -ge 5 ] || st_fail "only $kills kills"
[ "$k_pull" -ge 1 ] && [ "$k_fill" -ge 1 ] && [ "$k_follow" -ge 1 ] ||
    st_fail "kills during pulls $k_pull, fills $k_fill, log follows $k_follow: each must be 1 or more"
st_ok "$N jobs final across $kills SIGKILLs in $took s ($k_pull during pulls, $k_fill during cache fills, $k_follow during log follows)"

# --- exactly once, results ----------------------------------------------------
python3 - "$T/singularity.log" $JOBS <<'PY' || st_fail "a job reached a final state more than once (or never)"
import re, sys
log = open(sys.argv[1]).read()
bad = 0
for u in sys.argv[2:]:
    n = len(re.findall(r"job %s: \w+ -> (COMPLETED|ERRORED)\b" % u, log))
    if n != 1:
        print("job %s: %d completions/errors in the log" % (u, n), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM jobs WHERE status <> 'COMPLETED' OR attempt <> 1")" 0 \
    "jobs not COMPLETED in their first attempt ($(st_sql "SELECT GROUP_CONCAT(DISTINCT error) FROM jobs"))"
while read -r u ds lines; do
	read -r want_sum want_count <"$T/expect/$ds"
	got=$(st_sql "SELECT CONCAT(JSON_VALUE(result, '\$.sum'), ' ', JSON_VALUE(result, '\$.count'))
	    FROM jobs WHERE uuid = '$u'")
	st_expect_eq "$got" "$want_sum $want_count" "result of job $u (data set $ds)"
done <"$T/jobs"
st_ok "every job final exactly once, COMPLETED in its first attempt, results right"

# --- no container started twice ------------------------------------------------
sleep 1	# the last events reach the streams
python3 - "$T/events" $JOBS <<'PY' || st_fail "a job container started more than once (or never)"
import re, sys
names = re.findall(r'"name":"(st-job-[0-9a-f-]+)"', open(sys.argv[1]).read())
bad = 0
for u in sys.argv[2:]:
    n = names.count("st-job-" + u)
    if n != 1:
        print("st-job-%s started %d times" % (u, n), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
st_ok "every job container started exactly once ($(grep -o '"name":"st-job-' "$T/events" | wc -l) starts for $N jobs)"

# --- logs whole and exact --------------------------------------------------------
while read -r u ds lines; do
	ST_GOT=$(st_req GET "/job/$u/log")
	st_check_status 200 "GET /job/$u/log"
	read -r want_sum want_count <"$T/expect/$ds"
	python3 - "$T/resp.body" "$u" "$lines" "$want_sum" "$want_count" \
	    "$(st_sql "SELECT COUNT(*) FROM dataset_shards WHERE dataset_id = $ds")" \
	    "$(st_sql "SELECT log_size FROM jobs WHERE uuid = '$u'")" <<'PY' ||
import sys
body, u, n, s, c, shards, size = sys.argv[1:8]
n, s, c = int(n), int(s), int(c)
got = open(body, "rb").read()
want = "".join("line %d of %d\n" % (i, n) for i in range(1, n + 1))
want += "RUN %s mode=production cuda=\n" % u
want += "shards=%s sum=%d count=%d fitness=%d\n" % (shards, s, c, s % 997)
want += "done\n"
want = want.encode()
if got == want and int(size) == len(want):
    sys.exit(0)
lines = got.decode(errors="replace").split("\n")
nums = [l for l in lines if l.startswith("line ")]
print("job %s: log of %d bytes (log_size %s), want %d; numbered lines: %d, want %d"
      % (u, len(got), size, len(want), len(nums), n), file=sys.stderr)
wl = want.decode().split("\n")
for i, (a, b) in enumerate(zip(lines, wl)):
    if a != b:
        print("  first difference at line %d: got %r, want %r" % (i + 1, a, b), file=sys.stderr)
        break
sys.exit(1)
PY
	    st_fail "the log of job $u is not whole and exact"
done <"$T/jobs"
st_ok "every job's stored log is whole and exact: lines 1..N once each, in order, log_size right"

# --- nothing left ---------------------------------------------------------------
# Besides what the last kill left, what a kill between a job's final
# transition and its container's removal leaves, for sure: the one pass
# must remove it, not only say so.
# sock_of HOST: the engine socket of host a or b.
sock_of() { if [ "$1" = a ]; then echo "$SOCK_A"; else echo "$SOCK_B"; fi; }
# image_on HOST: an image the host holds (one its jobs ran).
image_on() {
	st_sql "SELECT CONCAT(j.image, ':', j.image_tag) FROM jobs j JOIN hosts h
	    ON h.id = j.host_id WHERE h.name = '$1' ORDER BY j.id LIMIT 1"
}
u=$(head -1 "$T/jobs" | cut -d' ' -f1)
host=$(st_sql "SELECT h.name FROM jobs j JOIN hosts h ON h.id = j.host_id WHERE j.uuid = '$u'")
st_dk "$(sock_of "$host")" POST "/containers/create?name=st-job-$u" -H 'Content-Type: application/json' \
    --data-binary "{\"Image\": \"$(image_on "$host")\", \"Cmd\": [\"true\"], \"Labels\": {\"singularity.job\": \"$u\"}}" |
    grep -q '"Id"' || st_fail "creating a left-over container of job $u"
"$ST_DISPATCH" --once >>"$T/dispatch.out" 2>&1 || st_fail "a last st-dispatch --once"
for s in "$SOCK_A" "$SOCK_B"; do
	st_expect_eq "$(st_dk "$s" GET '/containers/json?all=1')" "[]" "containers (jobs, fillers) left"
done
st_expect_eq "$(flt_allocations | tr '\t' ' ' | paste -sd ';')" "a 0.000 0 0.000;b 0.000 0 0.000" "allocations (cpu gpu ram)"
"$ST_ADMIN" fsck >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; st_fail "st-admin fsck"; }
st_ok "nothing left: no container, no filler, allocations zero, $(tail -1 "$T/fsck.out")"

# --- cache volumes whole ---------------------------------------------------------
# Each volume a view of which is recorded, mounted read-only in a container
# that prints every view it holds: its manifest and its files' checksums.
# The recorded views must be there exactly: their shards (by checksum) and
# manifest, nothing else.
st_sql "SELECT h.name, v.volume, v.view, CASE WHEN v.view = 'all' THEN d.uuid
    ELSE (SELECT p.uuid FROM datasets p WHERE p.parent_id = d.id
    AND CONCAT('p', p.pilot_index) = v.view) END
    FROM host_cache_views v JOIN host_cache c ON c.host_id = v.host_id AND c.volume = v.volume
    JOIN hosts h ON h.id = v.host_id JOIN datasets d ON d.id = c.dataset_id
    ORDER BY h.name, v.volume, v.view" >"$T/views"
st_sql "SELECT d.uuid, s.sha256, s.size FROM datasets d JOIN dataset_shards ds
    ON ds.dataset_id = d.id JOIN shards s ON s.id = ds.shard_id" >"$T/view-shards"
nviews=$(wc -l <"$T/views")
[ "$nviews" -ge 4 ] || st_fail "only $nviews cache views recorded"
n=0
for hv in $(cut -f1,2 "$T/views" | sort -u | tr '\t' '/'); do
	host=${hv%%/*} vol=${hv#*/}
	sock=$(sock_of "$host")
	code=$(st_dk "$sock" GET "/volumes/$vol" -o /dev/null -w '%{http_code}')
	st_expect_eq "$code" 200 "GET /volumes/$vol on host $host"
	n=$((n + 1))
	python3 - "$(image_on "$host")" "$vol" >"$T/check.json" <<'PY'
import json, sys
cmd = ('cd /cache/v && for v in *; do echo "== $v"; (cd "$v" && '
       'sha256sum *.zip | sed "s/^/sum /"; '
       'echo "manifest $(tr -d " \\t\\r\\n" <manifest.json)"); done')
print(json.dumps({"Image": sys.argv[1], "Cmd": ["/bin/sh", "-c", cmd],
                  "NetworkDisabled": True,
                  "HostConfig": {"NetworkMode": "none", "Mounts": [
                      {"Type": "volume", "Source": sys.argv[2],
                       "Target": "/cache", "ReadOnly": True}]}}))
PY
	st_dk "$sock" POST "/containers/create?name=st-check-$n" -H 'Content-Type: application/json' \
	    --data-binary @"$T/check.json" >"$T/check.out" || st_fail "creating the check container of $vol"
	grep -q '"Id"' "$T/check.out" || st_fail "creating the check container of $vol: $(cat "$T/check.out")"
	st_dk "$sock" POST "/containers/st-check-$n/start" >/dev/null || st_fail "starting st-check-$n"
	st_dk "$sock" POST "/containers/st-check-$n/wait" >"$T/check.wait" || st_fail "waiting for st-check-$n"
	st_dk "$sock" GET "/containers/st-check-$n/logs?stdout=1&stderr=1" >"$T/check.log"
	st_dk "$sock" DELETE "/containers/st-check-$n" >/dev/null
	grep -q '"StatusCode":0' "$T/check.wait" || st_fail "st-check-$n: $(cat "$T/check.wait")"
	python3 - "$T/check.log" "$T/views" "$T/view-shards" "$host" "$vol" <<'PY' ||
import json, re, struct, sys
raw = open(sys.argv[1], "rb").read()
out, pos = b"", 0
while pos + 8 <= len(raw):
    n = struct.unpack(">I", raw[pos + 4:pos + 8])[0]
    out += raw[pos + 8:pos + 8 + n]
    pos += 8 + n
host, vol = sys.argv[4], sys.argv[5]
views = {}
for l in open(sys.argv[2]):
    h, v, view, uuid = l.rstrip("\n").split("\t")
    if h == host and v == vol:
        views[view] = uuid
shards = {}
for l in open(sys.argv[3]):
    uuid, sha, size = l.split()
    shards.setdefault(uuid, {})[sha] = int(size)
got, cur = {}, None
for l in out.decode().splitlines():
    if l.startswith("== "):
        cur = got.setdefault(l[3:], {"sums": {}, "manifest": None})
    elif l.startswith("sum "):
        s, name = l[4:].split()
        cur["sums"][name] = s
    elif l.startswith("manifest "):
        cur["manifest"] = json.loads(l[9:])
bad = []
for view, uuid in views.items():
    want = shards.get(uuid, {})
    g = got.get(view)
    if g is None:
        bad.append("view %s is recorded but not in the volume" % view)
        continue
    wsums = {"%s.zip" % s: s for s in want}
    if g["sums"] != wsums:
        bad.append("view %s holds %s, want %s" % (view, sorted(g["sums"].items()), sorted(wsums.items())))
    m = g["manifest"] or {}
    ms = {e.get("sha256"): (e.get("size"), e.get("path")) for e in m.get("shards", [])}
    wm = {s: (z, "/data/%s.zip" % s) for s, z in want.items()}
    if m.get("data_set_id") != uuid or ms != wm or len(m.get("shards", [])) != len(wm):
        bad.append("view %s: manifest %s, want data set %s shards %s" % (view, m, uuid, wm))
for b in bad:
    print("host %s volume %s: %s" % (host, vol, b), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
	    st_fail "cache volume $vol of host $host is not whole"
done
st_ok "every recorded cache view is whole in its volume ($nviews views in $n volumes, each mounted and checked)"
