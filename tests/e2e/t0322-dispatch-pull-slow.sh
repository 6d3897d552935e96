#!/bin/bash
# Slow image pulls of st-dispatch (issue 12), with a real engine, a real
# registry (Debian's docker-registry, TLS) behind a throttling proxy,
# lighttpd over HTTPS and MariaDB. One image of about 3 MB whose pull
# through the proxy takes about 15 s (it is removed from the engine
# between the parts):
#   a. --loop 1: alice's job waits for that pull (PENDING pulling_image,
#      GET /job shows the pull's bytes growing) while bob's job of an image
#      on the host, queued meanwhile, is PROCESSING within two loop
#      intervals and COMPLETES long before; the loop keeps its pace during
#      the pull; then alice's job COMPLETES too.
#   b. [dispatcher] pull_timeout = 5, --loop 1: a job under the default
#      policy ends ERRORED "the pull took longer than 5 s" after one
#      attempt; one with retry on image_pull and 2 attempts fails each
#      attempt exactly once (each after its own 5 s), class image_pull,
#      then ERRORED; one pull per attempt, not one per pass. The same limit
#      across --once passes (pass_budget 2): counted from when the attempt
#      began waiting.
#   c. Cron mode: --once passes with [dispatcher] pass_budget = 3, far
#      shorter than the pull: the pull goes on in a detached process
#      between passes (the layer is downloaded once), the job COMPLETES
#      after several passes, each within its budget; no dispatcher process
#      is left at the end.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/registry.sh"
. "$top_srcdir/tests/lib/netfaults.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0322-dispatch-pull-slow
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"

RATE=204800		# the proxy's bytes per second: 200 KiB/s
PAD_MIB=2

st_dockerd_start a
SOCK=$DK_SOCK EP=$DK_ENDPOINT
st_test_image singularity/testai:1 "$SOCK"
st_registry_start
REG_LOG=$REG_DIR/registry.log
st_test_image_big st/big:1 "$PAD_MIB" "$SOCK"
st_registry_push "$SOCK" st/big:1 st/big:1
st_image_rm "$SOCK" "$REG_ADDR/st/big:1"
st_image_rm "$SOCK" st/big:1
LAYER=$(curl -sS --cacert "$REG_CA" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REG_ADDR/v2/st/big/manifests/1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert len(m["layers"]) == 1, m
print(m["layers"][0]["digest"])')
st_throttle_start "$REG_ADDR" "$RATE"
BIG=$THROTTLE_ADDR/st/big

st_mariadb_start
st_db_setup
for a in alice bob; do
	st_account "$a"
	eval "KEY_$a=\$API_KEY SECRET_$a=\$API_SECRET"
	st_dataset "$a" "set-$a" 0 2
	eval "DS_$a=\$DS_UUID DSID_$a=\$DS_ID"
done
st_lighttpd_start
"$ST_ADMIN" host add a --endpoint "$EP" --cpus 8 --ram-gb 16 >/dev/null

# The configurations of parts b and c: the test's plus a [dispatcher]
# section.
conf_with() {
	{ cat "$SINGULARITY_CONF"; printf '\n[dispatcher]\n%s\n' "$2"; } >"$1"
}
conf_with "$T/timeout.conf" 'pull_timeout = 5'
conf_with "$T/timeout-once.conf" 'pull_timeout = 5
pass_budget = 2'
conf_with "$T/cron.conf" 'pass_budget = 3'

# as NAME: sign the next requests as account NAME.
as() { eval "API_KEY=\$KEY_$1 API_SECRET=\$SECRET_$1"; }

# submit ACCOUNT IMAGE TAG RETRY COMMAND: a batch of one job on ACCOUNT's
# set, with "retry": RETRY unless empty; sets J (the job's UUID).
submit() {
	as "$1"
	python3 - "$(eval echo "\$DS_$1")" "$2" "$3" "$4" "$5" >"$T/req.body" <<'EOF'
import json, sys
ds, image, tag, retry, cmd = sys.argv[1:6]
b = {"mode": "production", "requisitions": {"cpu": 0.5},
     "jobs": [{"command": cmd, "image": image, "image_tag": tag, "data_set_id": ds}]}
if retry:
    b["retry"] = json.loads(retry)
sys.stdout.write(json.dumps(b))
EOF
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_status 201 "POST /batch as $1 of $2:$3"
	J=$(sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id
	    WHERE b.uuid = '$(jv 'd["batch_uuid"]')'")
}

# getjob ACCOUNT UUID: GET /job/UUID as ACCOUNT into $T/resp.body.
getjob() {
	as "$1"
	ST_GOT=$(st_req GET "/job/$2")
	st_check_status 200 "GET /job/$2"
}

# status UUID: the job's status.
status() { sql "SELECT status FROM jobs WHERE uuid = '$1'"; }

# wait_sql SECS WHAT QUERY WANT: until QUERY answers WANT.
wait_sql() {
	local end=$(( $(date +%s) + $1 ))
	while [ "$(sql "$3")" != "$4" ]; do
		[ "$(date +%s)" -lt "$end" ] || {
			sql "SELECT uuid, status, attempt, pending_reason, pull_bytes, error FROM jobs" >&2
			tail -20 "$T/dispatch.out" >&2
			st_fail "$2: not after $1 s"
		}
		sleep 0.1
	done
}

# final SECS UUID...: until every job is final.
final() {
	local secs=$1 list
	shift
	list=$(printf "'%s'," "$@")
	wait_sql "$secs" "jobs final" "SELECT COUNT(*) FROM jobs WHERE uuid IN (${list%,})
	    AND status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')" 0
}

# completed ACCOUNT UUID: the job COMPLETED with the result its set implies.
completed() {
	local want_sum want_count
	read -r want_sum want_count <"$T/expect/$(eval echo "\$DSID_$1")"
	getjob "$1" "$2"
	st_expect_eq "$(jv '[d[0]["status"], d[0]["error"], d[0]["attempt"]]')" '["COMPLETED", null, 1]' "job $2 of $1"
	st_expect_eq "$(jv '[d[0]["result"]["sum"], d[0]["result"]["count"], d[0]["result"]["job"]]')" \
	    "[$want_sum, $want_count, \"$2\"]" "job $2 of $1: result"
}

# loop_start [ARGS...]: st-dispatch --loop 1 --verbose in the background,
# its output from now on in $T/dispatch.out (earlier outputs appended to
# $T/dispatch.all); loop_stop: SIGTERM, it must end cleanly.
loop_start() {
	[ ! -f "$T/dispatch.out" ] || cat "$T/dispatch.out" >>"$T/dispatch.all"
	: >"$T/dispatch.out"
	"$ST_DISPATCH" "$@" --loop 1 --verbose >>"$T/dispatch.out" 2>&1 &
	LOOP=$!
	st_track_pid "$LOOP"
}
loop_stop() {
	kill -TERM "$LOOP"
	wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"
}

# our_dispatchers: the PIDs of st-dispatch processes of this test (their
# command line names one of its configurations, or they run with its
# SINGULARITY_CONF), detached pulls included.
our_dispatchers() {
	local p pid
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$(readlink -f "$ST_DISPATCH")" ] || continue
		if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qF "$T/" ||
		    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "SINGULARITY_CONF=$SINGULARITY_CONF"; then
			echo "$pid"
		fi
	done
}

# no_dispatcher_left SECS: within SECS, no st-dispatch process of this test.
no_dispatcher_left() {
	local end=$(( $(date +%s) + $1 )) left
	while left=$(our_dispatchers | paste -sd ' ') && [ -n "$left" ]; do
		[ "$(date +%s)" -lt "$end" ] || {
			ps -o pid,etime,args -p "${left// /,}" >&2
			st_fail "st-dispatch processes left after $1 s: $left"
		}
		sleep 0.2
	done
}

# passes CONF SECS UUID: st-dispatch -c CONF --once until the job is final
# (a second apart, at most SECS seconds); each pass's output appended to
# $T/dispatch.out, its length in ms to $T/passes.
passes() {
	local conf=$1 end=$(( $(date +%s) + $2 )) t0 t1
	: >"$T/passes"
	while :; do
		t0=$(date +%s%3N)
		"$ST_DISPATCH" -c "$conf" --once --verbose >>"$T/dispatch.out" 2>&1 ||
		    { tail -20 "$T/dispatch.out" >&2; st_fail "st-dispatch --once failed"; }
		t1=$(date +%s%3N)
		echo $((t1 - t0)) >>"$T/passes"
		case $(status "$3") in
		COMPLETED|ERRORED|CANCELED) return 0 ;;
		esac
		[ "$(date +%s)" -lt "$end" ] ||
		    { tail -30 "$T/dispatch.out" >&2; st_fail "job $3 not final after $2 s of passes"; }
		sleep 1
	done
}

# layer_gets: downloads of the big image's layer the registry logged (a
# download is logged once it ended, cut short or not).
layer_gets() {
	grep -c "\"GET /v2/st/big/blobs/$LAYER HTTP" "$REG_LOG" || :
}
# layer_gets_are N WHAT: layer_gets is N (waiting up to 5 s for the last
# download cut short to be logged).
layer_gets_are() {
	local i
	for i in $(seq 1 50); do
		[ "$(layer_gets)" -lt "$1" ] || break
		sleep 0.1
	done
	st_expect_eq "$(layer_gets)" "$1" "$2"
}

# since_queued UUID: "STATUS MS", the job's status and the milliseconds
# since it was queued (created_at, on the database's clock), once it is
# neither QUEUED nor PENDING (at most 20 s).
since_queued() {
	local st ms
	while :; do
		read -r st ms <<<"$(sql "SELECT status, TIMESTAMPDIFF(MICROSECOND, created_at,
		    UTC_TIMESTAMP(6)) DIV 1000 FROM jobs WHERE uuid = '$1'")"
		case $st in
		QUEUED|PENDING) ;;
		*) break ;;
		esac
		[ "$ms" -lt 20000 ] || st_fail "job $1 still $st $ms ms after it was queued"
		sleep 0.05
	done
	echo "$st $ms"
}

# --- a. a slow pull delays only its own job ------------------------------------------

loop_start
# bob's set reaches the host's data cache first (so what is timed below is
# the loop, not the cache's one-off fill), and how soon a job runs with no
# pull under way is known.
submit bob singularity/testai 1 '' /train.sh; JW=$J
read -r _ ms0 <<<"$(since_queued "$JW")"
final 30 "$JW"
completed bob "$JW"

submit alice "$BIG" 1 '' /train.sh; JA=$J
wait_sql 20 "alice's job waits for its pull" \
    "SELECT CONCAT_WS(' ', status, pending_reason) FROM jobs WHERE uuid = '$JA'" "PENDING pulling_image"
# The pull's bytes, as GET /job shows them, grow.
end=$(( $(date +%s) + 10 )) b1=""
while :; do
	getjob alice "$JA"
	b=$(jv 'd[0]["pull"]["bytes"] or 0')
	if [ -z "$b1" ]; then
		if [ "$b" -gt 0 ]; then
			b1=$b t1=$(jv 'd[0]["pull"]["total"]')
		fi
	elif [ "$b" -gt "$b1" ]; then
		break
	fi
	[ "$(date +%s)" -lt "$end" ] || st_fail "GET /job: the pull's bytes never grew (first ${b1:-0}, now $b)"
	sleep 0.3
done
st_expect_eq "$(jv '[d[0]["status"], d[0]["pending_reason"]]')" '["PENDING", "pulling_image"]' "alice's job while pulling"
[ "$t1" != null ] && [ "$t1" -ge "$b" ] || st_fail "GET /job: pull total $t1 below bytes $b"
st_ok "alice's job of $BIG:1 waits PENDING pulling_image; GET /job shows the pull's bytes growing ($b1, then $b of $t1)"

# bob's job of an image on the host, queued now: PROCESSING within two
# loop intervals of its queueing (created_at, the database's clock). On a
# machine busy enough to make even the launch slow, a second job is timed
# too: a loop the pull held would make both wait for it.
tries=""
for try in 1 2; do
	submit bob singularity/testai 1 '' '/train.sh --sleep 2'; JB=$J
	read -r st ms <<<"$(since_queued "$JB")"
	tries="$tries${tries:+, }$ms"
	[ "$ms" -gt 2000 ] || break
	if [ "$try" = 1 ]; then
		final 30 "$JB"
	fi
done
[ "$ms" -le 2000 ] || st_fail "bob's jobs were $st only $tries ms after they were queued (want two loop intervals: 2000 ms; with no pull under way: $ms0 ms)"
st_expect_eq "$(status "$JA")" PENDING "alice's job when bob's runs"
st_ok "bob's job of a local image, queued during the pull, was $st $ms ms after it was queued (tries: $tries ms; with no pull under way: $ms0 ms)"
final 30 "$JB"
completed bob "$JB"
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', status, pending_reason) FROM jobs WHERE uuid = '$JA'")" \
    "PENDING pulling_image" "alice's job when bob's COMPLETED"
final 60 "$JA"
completed alice "$JA"
gap=$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, b.finished_at, a.finished_at) DIV 1000 FROM jobs a, jobs b
    WHERE a.uuid = '$JA' AND b.uuid = '$JB'")
[ "$gap" -ge 5000 ] || st_fail "alice's job finished only $gap ms after bob's"
pull_ms=$(sed -n "s|^host a: image $BIG:1 ready (\([0-9]*\) ms)\$|\1|p" "$T/dispatch.out")
[ -n "$pull_ms" ] && [ "$pull_ms" -ge 10000 ] || st_fail "the pull of $BIG:1 took '$pull_ms' ms, want over 10 s"
# The loop kept its pace through the pull: an iteration about every second
# between its start and its end, none held by it.
python3 - "$T/dispatch.out" "$pull_ms" "$BIG:1" <<'EOF' || st_fail "the loop did not keep its pace during the pull"
import re, sys
out, pull_s, ref = open(sys.argv[1]).read(), int(sys.argv[2]) / 1000, sys.argv[3]
during = out[out.index("host a: pulling %s\n" % ref):out.index("host a: image %s ready" % ref)]
its = [int(m) for m in re.findall(r"^iteration \d+: (\d+) ms", during, re.M)]
assert len(its) >= pull_s - 3, "%d iterations during a pull of %.1f s" % (len(its), pull_s)
assert max(its) < 5000, "an iteration of %d ms" % max(its)
EOF
loop_stop
st_ok "bob's job COMPLETED $gap ms before alice's, whose pull took $pull_ms ms (iterations kept every second); then alice's COMPLETED"
st_image_rm "$SOCK" "$BIG:1"

# --- b. a pull that takes too long fails each attempt once --------------------------

loop_start -c "$T/timeout.conf"
g0=$(layer_gets)
# The retried job first: the pull its first attempt waits for begins after
# it was queued (the other job may join it later).
submit alice "$BIG" 1 '{"attempts": 2, "on": ["image_pull"]}' /train.sh; JT2=$J
submit alice "$BIG" 1 '' /train.sh; JT1=$J
final 60 "$JT1" "$JT2"
loop_stop
WHY="image $BIG:1 cannot be had on host a: the pull took longer than 5 s"
getjob alice "$JT1"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], d[0]["error"], [a["error"] for a in d[0]["attempts"]]]')" \
    "[\"ERRORED\", 1, \"$WHY\", [\"$WHY\"]]" "the job under the default policy"
getjob alice "$JT2"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], d[0]["error"], [a["error"] for a in d[0]["attempts"]]]')" \
    "[\"ERRORED\", 2, \"$WHY (after 2 attempts)\", [\"$WHY\", \"$WHY (after 2 attempts)\"]]" \
    "the job with retry on image_pull"
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.attempt, a.failure) FROM job_attempts a JOIN jobs j ON j.id = a.job_id
    WHERE j.uuid IN ('$JT1', '$JT2') ORDER BY j.id, a.attempt" | paste -sd ';')" "1 image_pull" "attempts kept"
# Each attempt failed once, after its own 5 s: attempt 1 five seconds or
# more after the job was queued, attempt 2 five or more after attempt 1
# ended (well before the 15 s the whole pull needs; libcurl rounds its
# timeouts to the millisecond, hence 4900).
read -r d1 d2 <<<"$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, j.created_at, a.finished_at) DIV 1000,
    TIMESTAMPDIFF(MICROSECOND, a.finished_at, j.finished_at) DIV 1000
    FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.uuid = '$JT2'")"
[ "$d1" -ge 4900 ] && [ "$d1" -lt 12000 ] && [ "$d2" -ge 4900 ] && [ "$d2" -lt 12000 ] ||
    st_fail "attempt 1 ended $d1 ms after the job was queued, attempt 2 $d2 ms after attempt 1: want 5 to 12 s each"
st_expect_eq "$(grep -c "^job $JT2 requeued: $WHY; attempt 2 of 2 next\$" "$T/dispatch.out")" 1 "requeues of the retried job"
st_expect_eq "$(grep -c "^job $JT2: PENDING -> ERRORED\$" "$T/dispatch.out")" 1 "ends of the retried job"
st_expect_eq "$(grep -c "^job $JT1: PENDING -> ERRORED\$" "$T/dispatch.out")" 1 "ends of the other job"
st_expect_eq "$(grep -c "^job $JT1 requeued" "$T/dispatch.out")" 0 "requeues of the job under the default policy"
# One pull per attempt (the first shared by both jobs), not one per pass.
st_expect_eq "$(grep -c "^host a: pulling $BIG:1\$" "$T/dispatch.out")" 2 "pulls started"
layer_gets_are $((g0 + 2)) "downloads of the layer begun (one per attempt)"
st_expect_eq "$(st_dk "$SOCK" GET "/images/$BIG:1/json" -o /dev/null -w '%{http_code}')" 404 "the image after the pulls timed out"
st_ok "pull_timeout 5 with a 15 s pull: ERRORED \"$WHY\" after 1 attempt by default; with retry on image_pull each of 2 attempts failed once, after $d1 and $d2 ms (class image_pull), one pull each"

# The same limit across --once passes: counted from when the attempt began
# waiting, not from each pass's own start.
cat "$T/dispatch.out" >>"$T/dispatch.all"
: >"$T/dispatch.out"
submit alice "$BIG" 1 '' /train.sh; JT3=$J
passes "$T/timeout-once.conf" 40 "$JT3"
getjob alice "$JT3"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], d[0]["error"]]')" "[\"ERRORED\", 1, \"$WHY\"]" "the job of --once passes"
took=$(sql "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, finished_at) DIV 1000 FROM jobs WHERE uuid = '$JT3'")
[ "$took" -ge 5000 ] && [ "$took" -lt 15000 ] || st_fail "the --once job ended $took ms after it was queued, want 5 to 15 s"
n=$(wc -l <"$T/passes")
[ "$n" -ge 3 ] || st_fail "$n passes for a 5 s limit with a budget of 2 s"
no_dispatcher_left 10
st_expect_eq "$(st_dk "$SOCK" GET "/images/$BIG:1/json" -o /dev/null -w '%{http_code}')" 404 "the image after the --once pulls timed out"
st_ok "pull_timeout 5 over --once passes of 2 s: ERRORED after $took ms and $n passes; no process left"

# --- c. cron mode: the pull goes on between passes ------------------------------------

cat "$T/dispatch.out" >>"$T/dispatch.all"
: >"$T/dispatch.out"
g0=$(layer_gets)
submit alice "$BIG" 1 '' /train.sh; JC=$J
passes "$T/cron.conf" 120 "$JC"
completed alice "$JC"
n=$(wc -l <"$T/passes")
python3 - "$T/passes" <<'EOF' || st_fail "a --once pass outran its budget of 3 s: $(paste -sd ' ' "$T/passes") ms"
import sys
ms = [int(x) for x in open(sys.argv[1])]
assert max(ms) <= 3000 + 4000, ms
EOF
[ "$n" -ge 4 ] || st_fail "only $n passes for a pull of about 15 s with a budget of 3 s"
detached=$(grep -c "^host a: the pull of $BIG:1 goes on after the pass (process [0-9]*, " "$T/dispatch.out" || :)
[ "$detached" -ge 2 ] || st_fail "the pull went on after $detached passes, want 2 or more"
layer_gets_are $((g0 + 1)) "downloads of the layer (one, joined by every pass)"
no_dispatcher_left 10
st_ok "cron mode, pass_budget 3: COMPLETED after $n passes ($(paste -sd ' ' "$T/passes") ms), the pull going on after $detached of them, the layer downloaded once; no dispatcher process left"
