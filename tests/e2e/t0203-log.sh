#!/bin/bash
# The log of each attempt (DESIGN "Batches and jobs": logs) through lighttpd
# over HTTPS with the real MariaDB. The dispatcher's side is not under test:
# the log files are written by this test with its own reimplementation of
# joblog.h's layout (layout.py below, never the code under test) and the
# sizes set with SQL. Checked: a plain log whole and by ranges (first,
# middle, end, suffix, 416 "*/total" at and past the end, several ranges,
# malformed ones, another unit and If-Range ignored), bytes past log_size
# ignored; a
# wrapped log (cap 1000, 5321 bytes written) whole as head + marker + tail
# and by ranges in the head, in the dropped middle (from total - T) and in
# the tail; ?attempt=N against a job_attempts row, 404 for an attempt the
# job never had, 400 invalid_attempt; log_size of each attempt in GET
# /job/{id}; HEAD; another account's job 404; and singularity-cli job log
# (--attempt, --follow on a log the test grows, and across a wrap).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0203-log
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account alice
ALICE_KEY=$API_KEY ALICE_SECRET=$API_SECRET
st_account bob
st_lighttpd_start
mkset log_data_set 1 1
new_batch production 1 0 "$(job_json "$SET_UUID")" "$(job_json "$SET_UUID")" \
    "$(job_json "$SET_UUID")" "$(job_json "$SET_UUID")" "$(job_json "$SET_UUID")"
jobn() {
	sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE b.uuid = '$BATCH' AND j.idx = $1"
}
J0=$(jobn 0) J1=$(jobn 1) J2=$(jobn 2) J3=$(jobn 3) J4=$(jobn 4)

# The layout of joblog.h, written again here: cap F, head H = F / 2, tail
# T = F - H; logical byte o at offset o when o < H, else at
# H + ((o - H) mod T), every byte written in order (the last write wins).
cat >"$T/layout.py" <<'EOF'
import sys
cmd = sys.argv[1]
if cmd == "write":			# write CAP CONTENT OUT
    cap, data = int(sys.argv[2]), open(sys.argv[3], "rb").read()
    h, t = cap // 2, cap - cap // 2
    f = bytearray(min(len(data), cap))
    for o, b in enumerate(data):
        f[o if o < h else h + (o - h) % t] = b
    open(sys.argv[4], "wb").write(bytes(f))
elif cmd == "whole":			# whole CAP CONTENT OUT: what a 200 sends
    cap, data = int(sys.argv[2]), open(sys.argv[3], "rb").read()
    h, t = cap // 2, cap - cap // 2
    if len(data) <= cap:
        out = data
    else:
        marker = b"\n[singularity: %d bytes of log dropped here]\n" % (len(data) - h - t)
        out = data[:h] + marker + data[len(data) - t:]
    open(sys.argv[4], "wb").write(out)
elif cmd == "text":			# text N SEED OUT: N bytes of log lines
    import random
    n, rnd = int(sys.argv[2]), random.Random(int(sys.argv[3]))
    out, i = b"", 0
    while len(out) < n:
        out += b"epoch %04d loss %.6f caf\xc3\xa9 %s\n" % (i, rnd.random(), bytes(rnd.choice(b"abcdefghij") for _ in range(rnd.randint(0, 40))))
        i += 1
    open(sys.argv[4], "wb").write(out[:n])
EOF
layout() { python3 "$T/layout.py" "$@"; }
logpath() {	# JOB [ATTEMPT]: its path, the directory made
	mkdir -p "$T/store/logs/${1:0:2}"
	if [ "${2:-1}" = 1 ]; then
		echo "$T/store/logs/${1:0:2}/$1.log"
	else
		echo "$T/store/logs/${1:0:2}/$1.$2.log"
	fi
}
# bytes_of FILE FIRST COUNT: COUNT bytes of FILE from offset FIRST.
bytes_of() { tail -c +"$(($2 + 1))" "$1" | head -c "$3"; }
# check_body WANT_FILE WHAT
check_body() {
	cmp -s "$T/resp.body" "$1" || {
		cmp "$T/resp.body" "$1" >&2 || :
		st_fail "$2: the body differs from the expected bytes"
	}
	st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$1")" "$2: Content-Length"
}
# ranged URI RANGE STATUS CONTENT_RANGE FILE FIRST COUNT
ranged() {
	ST_GOT=$(st_req GET "$1" "" -H "Range: $2")
	st_check_status "$3" "GET $1 Range: $2"
	st_expect_eq "$(st_header Content-Range)" "$4" "Range: $2: Content-Range"
	bytes_of "$5" "$6" "$7" >"$T/want.part"
	check_body "$T/want.part" "Range: $2"
}
# refused URI RANGE TOTAL: 416 with "Content-Range: bytes */TOTAL".
refused() {
	ST_GOT=$(st_req GET "$1" "" -H "Range: $2")
	st_check_error 416 range_not_satisfiable "GET $1 Range: $2"
	st_expect_eq "$(st_header Content-Range)" "bytes */$3" "Range: $2: Content-Range"
	st_expect_eq "$(st_header X-Singularity-Log-Size)" "$3" "Range: $2: X-Singularity-Log-Size"
}

mkdir -p "$T/store/logs"
sql "UPDATE jobs SET status = 'COMPLETED', started_at = UTC_TIMESTAMP(3), finished_at = UTC_TIMESTAMP(3), placed_at = UTC_TIMESTAMP(3) WHERE uuid IN ('$J0', '$J1', '$J2')"

# --- a plain log -----------------------------------------------------------------

layout text 3000 1 "$T/plain"
layout write 1000000 "$T/plain" "$(logpath "$J0")"
sql "UPDATE jobs SET log_size = 3000 WHERE uuid = '$J0'"
ST_GOT=$(st_req GET "/job/$J0/log")
st_check_status 200 "GET /job/{id}/log"
check_body "$T/plain" "whole plain log"
st_expect_eq "$(st_header Content-Type)" "text/plain; charset=utf-8" "Content-Type"
st_expect_eq "$(st_header Cache-Control)" no-store "Cache-Control"
st_expect_eq "$(st_header Accept-Ranges)" bytes "Accept-Ranges"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 3000 "X-Singularity-Log-Size"
st_expect_eq "$(st_header X-Singularity-Attempt)" 1 "X-Singularity-Attempt"
st_check_ids "GET /job/{id}/log"
st_ok "a plain log whole: 200 text/plain; charset=utf-8, exact Content-Length, no-store, Accept-Ranges, its size and attempt"

U=/job/$J0/log
ranged "$U" "bytes=0-99" 206 "bytes 0-99/3000" "$T/plain" 0 100
ranged "$U" "bytes=1000-1999" 206 "bytes 1000-1999/3000" "$T/plain" 1000 1000
ranged "$U" "bytes=2500-" 206 "bytes 2500-2999/3000" "$T/plain" 2500 500
ranged "$U" "bytes=2999-" 206 "bytes 2999-2999/3000" "$T/plain" 2999 1
ranged "$U" "bytes=2990-999999" 206 "bytes 2990-2999/3000" "$T/plain" 2990 10
ranged "$U" "bytes=-100" 206 "bytes 2900-2999/3000" "$T/plain" 2900 100
ranged "$U" "bytes=-99999" 206 "bytes 0-2999/3000" "$T/plain" 0 3000
ranged "$U" "BYTES=7-7" 206 "bytes 7-7/3000" "$T/plain" 7 1
st_expect_eq "$(st_header Accept-Ranges)" bytes "206: Accept-Ranges"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 3000 "206: X-Singularity-Log-Size"
st_ok "a plain log by ranges: first, middle, end, last byte, clamped last-pos, suffixes (206, Content-Range first-last/3000)"

refused "$U" "bytes=3000-" 3000
refused "$U" "bytes=3001-" 3000
refused "$U" "bytes=99999999999999999999999-" 3000
refused "$U" "bytes=-0" 3000
refused "$U" "bytes=0-1,5-9" 3000
for h in "bytes=abc" "bytes=9-1" "bytes=0-5;6-7" "bytes=" "bytes=1-2 3"; do
	refused "$U" "$h" 3000
done
st_ok "416 with Content-Range: bytes */3000 at the end (nothing new yet), past it, for -0, for several ranges and for a malformed bytes= value"

for h in "items=0-5" "bytes 0-5" "pages=1-"; do
	ST_GOT=$(st_req GET "$U" "" -H "Range: $h")
	st_check_status 200 "Range: $h"
	check_body "$T/plain" "malformed Range: $h"
	[ -z "$(st_header Content-Range)" ] || st_fail "Range: $h: a Content-Range on a 200"
done
ST_GOT=$(st_req GET "$U" "" -H "Range: bytes=10-" -H 'If-Range: "x"')
st_check_status 200 "Range with If-Range"
check_body "$T/plain" "Range with If-Range"
st_ok "a Range of another unit, and a Range with If-Range, are ignored: 200 whole"

ST_GOT=$(st_req HEAD "$U")
st_check_status 200 "HEAD /job/{id}/log"
st_expect_eq "$(st_header Content-Length)" 3000 "HEAD: Content-Length"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 3000 "HEAD: X-Singularity-Log-Size"
st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "HEAD: no body"
ST_GOT=$(st_req HEAD "$U" "" -H "Range: bytes=100-")
st_check_status 206 "HEAD with Range"
st_expect_eq "$(st_header Content-Length)" 2900 "HEAD 206: Content-Length"
st_expect_eq "$(st_header Content-Range)" "bytes 100-2999/3000" "HEAD 206: Content-Range"
ST_GOT=$(st_req HEAD "$U" "" -H "Range: bytes=3000-")
st_check_status 416 "HEAD with Range at the end"
st_expect_eq "$(st_header Content-Range)" "bytes */3000" "HEAD 416: Content-Range"
st_ok "HEAD: the headers of GET (200, 206, 416), no body"

# A crash may leave bytes past log_size: they are not sent.
printf 'bytes not yet committed\n' >>"$(logpath "$J0")"
ST_GOT=$(st_req GET "$U")
check_body "$T/plain" "bytes past log_size"
ranged "$U" "bytes=2000-" 206 "bytes 2000-2999/3000" "$T/plain" 2000 1000
refused "$U" "bytes=3000-" 3000
st_ok "bytes of the file past log_size are never sent"

# --- a wrapped log: cap 1000, 5321 bytes written ---------------------------------

layout text 5321 2 "$T/long"
layout write 1000 "$T/long" "$(logpath "$J1")"
layout whole 1000 "$T/long" "$T/long.whole"
st_expect_eq "$(stat -c %s "$(logpath "$J1")")" 1000 "the wrapped file's size"
sql "UPDATE jobs SET log_size = 5321 WHERE uuid = '$J1'"
U=/job/$J1/log
ST_GOT=$(st_req GET "$U")
st_check_status 200 "GET a wrapped log"
check_body "$T/long.whole" "whole wrapped log"
grep -q '^\[singularity: 4321 bytes of log dropped here\]$' "$T/resp.body" || st_fail "no marker line"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 5321 "wrapped: X-Singularity-Log-Size"
ST_GOT=$(st_req HEAD "$U")
st_expect_eq "$(st_header Content-Length)" "$(stat -c %s "$T/long.whole")" "wrapped HEAD: Content-Length"
st_ok "a wrapped log whole: the head (500 bytes), the marker naming the 4321 bytes dropped, the last 500 bytes"

# Offsets are logical: H = 500 kept from the start, T = 500 kept at the end
# (4821-5320); a range in the dropped middle starts at total - T.
ranged "$U" "bytes=0-" 206 "bytes 0-499/5321" "$T/long" 0 500
ranged "$U" "bytes=100-" 206 "bytes 100-499/5321" "$T/long" 100 400
ranged "$U" "bytes=100-199" 206 "bytes 100-199/5321" "$T/long" 100 100
ranged "$U" "bytes=400-4000" 206 "bytes 400-499/5321" "$T/long" 400 100
ranged "$U" "bytes=500-" 206 "bytes 4821-5320/5321" "$T/long" 4821 500
ranged "$U" "bytes=2000-" 206 "bytes 4821-5320/5321" "$T/long" 4821 500
ranged "$U" "bytes=4000-4900" 206 "bytes 4821-4900/5321" "$T/long" 4821 80
ranged "$U" "bytes=4821-" 206 "bytes 4821-5320/5321" "$T/long" 4821 500
ranged "$U" "bytes=5000-5099" 206 "bytes 5000-5099/5321" "$T/long" 5000 100
ranged "$U" "bytes=5300-" 206 "bytes 5300-5320/5321" "$T/long" 5300 21
ranged "$U" "bytes=-50" 206 "bytes 5271-5320/5321" "$T/long" 5271 50
refused "$U" "bytes=2000-2999" 5321
refused "$U" "bytes=5321-" 5321
st_ok "a wrapped log by ranges: in the head (ends at 499), in the dropped middle (from 4821 = total - T), in the tail across the ring's end; 416 for a range wholly dropped and at the end"

# --- attempts ----------------------------------------------------------------------

layout text 777 3 "$T/a1"
layout text 1234 4 "$T/a2"
layout write 1000000 "$T/a1" "$(logpath "$J2" 1)"
J2ID=$(sql "SELECT id FROM jobs WHERE uuid = '$J2'")
sql "UPDATE jobs SET attempt = 2 WHERE id = $J2ID;
    INSERT INTO job_attempts (job_id, attempt, host_name, failure, log_size) VALUES ($J2ID, 1, 'gone', 'host_failure', 777)"
ST_GOT=$(st_req GET "/job/$J2/log")
st_check_status 200 "the current attempt before it has a log"
st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "attempt 2 without a log: empty"
st_expect_eq "$(st_header X-Singularity-Attempt)" 2 "attempt 2: X-Singularity-Attempt"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 0 "attempt 2: X-Singularity-Log-Size"
refused "/job/$J2/log" "bytes=0-" 0
layout write 1000000 "$T/a2" "$(logpath "$J2" 2)"
sql "UPDATE jobs SET log_size = 1234 WHERE id = $J2ID"
for q in "" "?attempt=2" "?attempt=02" "?foo=1&attempt=2&bar"; do
	ST_GOT=$(st_req GET "/job/$J2/log$q")
	st_check_status 200 "GET /job/{id}/log$q"
	check_body "$T/a2" "attempt 2 ($q)"
	st_expect_eq "$(st_header X-Singularity-Attempt)" 2 "$q: X-Singularity-Attempt"
done
ST_GOT=$(st_req GET "/job/$J2/log?attempt=1")
st_check_status 200 "GET ?attempt=1"
check_body "$T/a1" "attempt 1"
st_expect_eq "$(st_header X-Singularity-Attempt)" 1 "?attempt=1: X-Singularity-Attempt"
st_expect_eq "$(st_header X-Singularity-Log-Size)" 777 "?attempt=1: X-Singularity-Log-Size"
ranged "/job/$J2/log?attempt=1" "bytes=700-" 206 "bytes 700-776/777" "$T/a1" 700 77
refused "/job/$J2/log?attempt=1" "bytes=777-" 777
st_ok "?attempt=1 is the earlier attempt's log (its own size), the default and ?attempt=2 the current one; other query keys ignored"

for n in 3 9 4294967295; do
	ST_GOT=$(st_req GET "/job/$J2/log?attempt=$n")
	st_check_error 404 not_found "?attempt=$n"
	case $(st_json error) in *"no attempt $n"*) ;; *) st_fail "?attempt=$n: reason '$(st_json error)'";; esac
done
for q in "attempt=abc" "attempt=0" "attempt=" "attempt" "attempt=-1" "attempt=1.5" "attempt=%31" "attempt=4294967296" "attempt=1&attempt=x"; do
	ST_GOT=$(st_req GET "/job/$J2/log?$q")
	st_check_error 400 invalid_attempt "?$q"
done
st_ok "an attempt the job never had: 404 not_found naming it; a malformed one: 400 invalid_attempt"

ST_GOT=$(st_req GET "/job/$J2")
st_check_status 200 "GET /job/{id}"
st_expect_eq "$(jv '[a["attempt"] for a in d[0]["attempts"]]')" "[1, 2]" "attempts"
st_expect_eq "$(jv '[a["log_size"] for a in d[0]["attempts"]]')" "[777, 1234]" "attempts' log_size"
st_expect_eq "$(jv '[a["host"] for a in d[0]["attempts"]]')" '["gone", null]' "attempts' host (unchanged)"
st_expect_eq "$(jv 'sorted(d[0]["attempts"][0].keys())')" \
    '["attempt", "error", "exit_code", "finished_at", "host", "log_size", "started_at"]' "an attempt's keys"
ST_GOT=$(st_req GET "/job/$J0")
st_expect_eq "$(jv '[a["log_size"] for a in d[0]["attempts"]]')" "[3000]" "one attempt's log_size"
sql "UPDATE job_attempts SET log_size = NULL WHERE job_id = $J2ID"
ST_GOT=$(st_req GET "/job/$J2")
st_expect_eq "$(jv '[a["log_size"] for a in d[0]["attempts"]]')" "[null, 1234]" "an attempt without a log"
ST_GOT=$(st_req GET "/job/$J2/log?attempt=1")
st_check_status 200 "?attempt=1 without a log_size"
st_expect_eq "$(stat -c %s "$T/resp.body")" 0 "an earlier attempt without a log_size: empty"
sql "UPDATE job_attempts SET log_size = 777 WHERE job_id = $J2ID"
st_ok "GET /job/{id}: log_size of each attempt (null without one), every other field kept"

# --- another account ------------------------------------------------------------------

for args in "GET /job/$J0/log" "HEAD /job/$J0/log" "GET /job/$J2/log?attempt=1"; do
	set -- $args
	ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req "$1" "$2" "" -H "Range: bytes=0-")
	if [ "$1" = HEAD ]; then
		st_check_status 404 "alice $args"
	else
		st_check_error 404 not_found "alice $args"
	fi
	[ -z "$(st_header X-Singularity-Log-Size)" ] || st_fail "alice $args: the size of another account's log"
done
ST_GOT=$(API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET st_req GET "/job/$J2/log?attempt=9")
st_check_error 404 not_found "alice ?attempt=9"
st_expect_eq "$(st_json error)" "no such job" "alice: the same 404 as a missing job"
st_ok "another account's job: 404 no such job, with or without Range or attempt"

# --- singularity-cli job log -------------------------------------------------------------

st_cli_config
cli_run 0 job log "$J0"
cmp -s "$T/out" "$T/plain" || st_fail "job log: not the plain log"
cli_run 0 job log "$J1"
cmp -s "$T/out" "$T/long.whole" || st_fail "job log of a wrapped log: not head + marker + tail"
cli_run 0 job log "$J2" --attempt 1
cmp -s "$T/out" "$T/a1" || st_fail "job log --attempt 1"
cli_run 0 job log "$J2"
cmp -s "$T/out" "$T/a2" || st_fail "job log of the current attempt"
cli_run 0 job log "$J1" --follow --interval 0.2
cmp -s "$T/out" "$T/long.whole" || st_fail "job log --follow of a finished job"
cli_run 4 job log "$J2" --attempt 9
grep -q "no attempt 9" "$T/err" || st_fail "--attempt 9: $(cat "$T/err")"
cli_run 2 job log "$J2" --attempt abc
cli_run 2 job log "$J2" --attempt 0
st_ok "job log: whole logs, --attempt N (404 exit 4 for one the job never had, 2 for a malformed one), --follow of a finished job"

# --follow on a log that grows: appended in place, then log_size (as the
# dispatcher does: bytes synced before the size is committed).
layout text 20000 5 "$T/grow"
G=$(logpath "$J3")
: >"$G"
sql "UPDATE jobs SET status = 'PROCESSING', started_at = UTC_TIMESTAMP(3), placed_at = UTC_TIMESTAMP(3), log_size = 0 WHERE uuid = '$J3'"
timeout 60 "$ST_CLI" job log "$J3" --follow --interval 0.2 >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
off=0
for n in 1 700 33 4096 1 2500 8000 1 4568 100; do
	bytes_of "$T/grow" "$off" "$n" >>"$G"
	off=$((off + n))
	sql "UPDATE jobs SET log_size = $off WHERE uuid = '$J3'"
	sleep 0.3
done
st_expect_eq "$off" 20000 "bytes grown"
# Until the CLI has everything, then the job ends.
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$T/follow.out")" -ge 20000 ] && break
	sleep 0.1
done
sql "UPDATE jobs SET status = 'COMPLETED', finished_at = UTC_TIMESTAMP(3) WHERE uuid = '$J3'"
rc=0
wait "$fpid" || rc=$?
st_expect_eq "$rc" 0 "job log --follow exit status ($(cat "$T/follow.err"))"
cmp -s "$T/follow.out" "$T/grow" || { cmp "$T/follow.out" "$T/grow" >&2 || :; st_fail "job log --follow did not print exactly the whole log"; }
# The status is asked only now and then, not on every poll.
polls=$(grep -c "GET /job/$J3/log " "$T/singularity.log")
checks=$(grep -c "GET /job/$J3 " "$T/singularity.log")
[ "$checks" -ge 1 ] && [ $((checks * 3)) -le "$polls" ] ||
    st_fail "job log --follow: $checks status checks for $polls polls"
st_ok "job log --follow prints a growing log exactly once, byte for byte, and exits 0 once the job is COMPLETED"

# --follow across a wrap: the CLI has the first 800 bytes when the log
# grows to 5000 past its cap of 1000; it gets the tail (4500-4999) with a
# note of the 3700 bytes skipped. The new file replaces the old by rename,
# so no read sees half of it.
layout text 5000 6 "$T/wrap"
W=$(logpath "$J4")
bytes_of "$T/wrap" 0 800 >"$W"
sql "UPDATE jobs SET status = 'PROCESSING', started_at = UTC_TIMESTAMP(3), placed_at = UTC_TIMESTAMP(3), log_size = 800 WHERE uuid = '$J4'"
timeout 60 "$ST_CLI" job log "$J4" --follow --interval 0.2 >"$T/wfollow.out" 2>"$T/wfollow.err" &
fpid=$!
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$T/wfollow.out")" -ge 800 ] && break
	sleep 0.1
done
st_expect_eq "$(stat -c %s "$T/wfollow.out")" 800 "the first 800 bytes followed"
layout write 1000 "$T/wrap" "$W.new"
mv "$W.new" "$W"
sql "UPDATE jobs SET log_size = 5000 WHERE uuid = '$J4'"
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$T/wfollow.out")" -ge 1300 ] && break
	sleep 0.1
done
sql "UPDATE jobs SET status = 'ERRORED', finished_at = UTC_TIMESTAMP(3) WHERE uuid = '$J4'"
rc=0
wait "$fpid" || rc=$?
st_expect_eq "$rc" 0 "job log --follow across a wrap: exit status ($(cat "$T/wfollow.err"))"
{ bytes_of "$T/wrap" 0 800; bytes_of "$T/wrap" 4500 500; } >"$T/wrap.want"
cmp -s "$T/wfollow.out" "$T/wrap.want" || st_fail "job log --follow across a wrap: not the first 800 bytes then the tail"
grep -q "3700 bytes" "$T/wfollow.err" || st_fail "no note of the bytes skipped: $(cat "$T/wfollow.err")"
st_expect_eq "$(grep -c . "$T/wfollow.err")" 1 "one line of note"
st_ok "job log --follow across a wrap: the tail after a one-line note of the 3700 bytes skipped, exit 0 (an ERRORED job's log is still whole)"
