#!/bin/bash
# bench-ping.sh: what st-ping costs against the smallest libfcgi responder.
#
# One lighttpd, two FastCGI pools of the same size behind it: /ping -> the
# real st-ping, /hello -> tests/bench/hello-fcgi (20 lines of libfcgi). Both
# are driven by the same wrk run shape in the same run, over plain HTTP on
# loopback (allow_http = true) so that TLS costs neither side anything.
# Prints requests/s of each, ping_vs_hello_ratio (target >= 0.90) and the peak
# RSS (VmHWM) of one st-ping process after the load (target <= 8 MB).
# Run by `make bench`; measures, asserts nothing.
. "$top_srcdir/tests/lib/harness.sh"

st_init bench-ping

WRK=$(command -v wrk || :)
[ -n "$WRK" ] || st_skip "wrk is not installed (apt-get install wrk)"
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
[ -x "$LIGHTTPD" ] || st_skip "lighttpd is not installed"
PING=$top_builddir/src/responders/st-ping
HELLO=$top_builddir/tests/bench/hello-fcgi
[ -x "$PING" ] || st_fail "$PING is not built (make)"
[ -x "$HELLO" ] || st_fail "$HELLO is not built (make tests/bench/hello-fcgi)"

PROCS=${BENCH_PROCS:-2}
DURATION=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-32}

# st-ping needs no database; the configuration is otherwise the default one
# (log level info: one line per request, as in production).
(umask 077 && openssl rand -hex 32 >"$T/secret.key")
cat >"$T/singularity.conf" <<EOF
[auth]
key_file = $T/secret.key
allow_http = true

[log]
file = $T/singularity.log
EOF

SOCK=$T/sock
if [ "${#SOCK}" -gt 80 ]; then
	SOCK=$(mktemp -d /tmp/st-bench.XXXXXX)
	ST_EXTRA_DIRS="$ST_EXTRA_DIRS $SOCK"
fi
mkdir -p "$SOCK" "$T/www"
PORT=$(st_free_port)
cat >"$T/lighttpd.conf" <<EOF
server.modules        = ( "mod_fastcgi" )
server.document-root  = "$T/www"
server.bind           = "127.0.0.1"
server.port           = $PORT
server.errorlog       = "$T/lighttpd-error.log"
fastcgi.server = (
	"/ping" => ((
		"bin-path"        => "$PING",
		"socket"          => "$SOCK/st-ping.sock",
		"bin-environment" => ( "SINGULARITY_CONF" => "$T/singularity.conf" ),
		"check-local"     => "disable",
		"max-procs"       => $PROCS,
	)),
	"/hello" => ((
		"bin-path"        => "$HELLO",
		"socket"          => "$SOCK/hello.sock",
		"check-local"     => "disable",
		"max-procs"       => $PROCS,
	)),
)
EOF
setsid "$LIGHTTPD" -D -f "$T/lighttpd.conf" </dev/null >"$T/lighttpd.out" 2>&1 &
LPID=$!
st_track_pid "$LPID"
st_wait_port "$PORT" 10
for path in /ping /hello; do
	for i in $(seq 1 50); do
		[ "$(curl -s "http://127.0.0.1:$PORT$path")" = pong ] && break
		sleep 0.1
	done
	[ "$(curl -s "http://127.0.0.1:$PORT$path")" = pong ] ||
	    { cat "$T/lighttpd-error.log" "$T/singularity.log" >&2; st_fail "$path does not answer pong"; }
done

# rps PATH DURATION: requests per second of one wrk run (non-2xx answers
# make the run invalid).
rps() {
	local out
	out=$("$WRK" -t2 -c"$CONNS" -d"$2" "http://127.0.0.1:$PORT$1") ||
	    st_fail "wrk failed on $1"
	if printf '%s\n' "$out" | grep -q 'Non-2xx'; then
		printf '%s\n' "$out" >&2
		st_fail "wrk got error answers from $1"
	fi
	printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }'
}

# Warm both pools, then measure each in turn, twice, keeping the best run.
rps /hello 1s >/dev/null
rps /ping 1s >/dev/null
hello=0 ping=0
for round in 1 2; do
	r=$(rps /hello "$DURATION"); hello=$(awk -v a="$hello" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	r=$(rps /ping "$DURATION");  ping=$(awk -v a="$ping" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
done

# Peak RSS of the st-ping pool's processes after the load (the largest).
hwm=0
for pid in $(ps -o pid= --ppid "$LPID"); do
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$PING")" ] || continue
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	[ "${kb:-0}" -gt "$hwm" ] && hwm=$kb
done

echo "bench: lighttpd, $PROCS FastCGI processes per pool, wrk -t2 -c$CONNS -d$DURATION, plain HTTP on loopback"
printf 'hello_fcgi_rps=%.0f\n' "$hello"
printf 'st_ping_rps=%.0f\n' "$ping"
awk -v p="$ping" -v h="$hello" 'BEGIN { printf "ping_vs_hello_ratio=%.2f (target >= 0.90)\n", (h > 0) ? p / h : 0 }'
awk -v k="$hwm" 'BEGIN { printf "st_ping_peak_rss_kb=%d\nst_ping_peak_rss_mb=%.1f (target <= 8 MB)\n", k, k / 1024 }'
