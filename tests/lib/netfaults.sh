# netfaults.sh: slow and silent peers for the dispatcher's tests.
#
# Sourced after harness.sh. Each fixture is a python3 process (standard
# library only: tests/lib/throttle.py, tests/lib/hang.py) tracked with
# st_track_pid and stopped when the test exits.
#
#   st_throttle_start [--delay SECS] TARGET_HOST:PORT BYTES_PER_SECOND
#          a TCP proxy on 127.0.0.1 to TARGET: both ways, byte for byte
#          (TLS passes through untouched), what TARGET sends limited to
#          BYTES_PER_SECOND on each connection (0: no limit); with
#          --delay, every connection waits SECS before anything is
#          forwarded. Sets THROTTLE_ADDR (127.0.0.1:PORT), THROTTLE_PID.
#   st_hang_start [unix|tcp]
#          an "engine" that accepts connections and never answers a byte
#          (it reads and drops the requests). Sets HANG_ENDPOINT, for
#          `st-admin host add --endpoint` (unix:///tmp/st-hang.XXXXXX/h.sock
#          or tcp://127.0.0.1:PORT; unix is the default), HANG_SOCK (the
#          socket's path, unix only) and HANG_PID.
#
# An engine of st_dockerd_start pulls through a throttle proxy in front of
# a registry of registry.sh as it does from the registry itself: anything
# on 127.0.0.1 is an insecure registry to dockerd (see registry.sh).

# st_throttle_start [--delay SECS] TARGET_HOST:PORT BYTES_PER_SECOND
st_throttle_start() {
	local delay=0 port
	if [ "${1:-}" = --delay ]; then
		delay=${2:?st_throttle_start: --delay SECS}
		shift 2
	fi
	[ $# = 2 ] || st_fail "st_throttle_start [--delay SECS] TARGET_HOST:PORT BYTES_PER_SECOND"
	command -v python3 >/dev/null 2>&1 || st_skip "python3 is not installed"
	port=$(st_free_port)
	setsid python3 "$top_srcdir/tests/lib/throttle.py" --listen "$port" \
	    --target "$1" --rate "$2" --delay "$delay" \
	    </dev/null >>"$T/throttle-$port.log" 2>&1 &
	THROTTLE_PID=$!
	st_track_pid "$THROTTLE_PID"
	THROTTLE_ADDR=127.0.0.1:$port
	st_wait_port "$port" 10
}

# st_hang_start [unix|tcp]
st_hang_start() {
	local mode=${1:-unix} d port i
	command -v python3 >/dev/null 2>&1 || st_skip "python3 is not installed"
	case $mode in
	unix)
		# Unix socket paths are limited to 108 bytes: a short directory.
		d=$(mktemp -d /tmp/st-hang.XXXXXX)
		ST_EXTRA_DIRS="$ST_EXTRA_DIRS $d"
		HANG_SOCK=$d/h.sock
		setsid python3 "$top_srcdir/tests/lib/hang.py" --unix "$HANG_SOCK" \
		    </dev/null >>"$T/hang.log" 2>&1 &
		HANG_PID=$!
		st_track_pid "$HANG_PID"
		for i in $(seq 1 100); do
			[ -S "$HANG_SOCK" ] && break
			kill -0 "$HANG_PID" 2>/dev/null ||
			    { cat "$T/hang.log" >&2; st_fail "hang.py died"; }
			sleep 0.1
		done
		[ -S "$HANG_SOCK" ] || st_fail "hang.py made no socket $HANG_SOCK"
		HANG_ENDPOINT=unix://$HANG_SOCK
		;;
	tcp)
		port=$(st_free_port)
		setsid python3 "$top_srcdir/tests/lib/hang.py" --tcp "$port" \
		    </dev/null >>"$T/hang.log" 2>&1 &
		HANG_PID=$!
		st_track_pid "$HANG_PID"
		st_wait_port "$port" 10
		HANG_SOCK=""
		HANG_ENDPOINT=tcp://127.0.0.1:$port
		;;
	*)
		st_fail "st_hang_start [unix|tcp]: unknown mode $mode"
		;;
	esac
}
