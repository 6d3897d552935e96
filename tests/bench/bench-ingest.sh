#!/bin/bash
# bench-ingest.sh: shard ingest through lighttpd against a shell baseline.
#
# lighttpd runs the shipped template (lighttpd/singularity.conf.in) with the
# real MariaDB. BENCH_SHARDS (default 12) distinct shards of 10 MiB are
# uploaded BENCH_PARALLEL (default 4) at a time with curl, as base64 without
# line breaks, over plain HTTP on loopback (allow_http = true) so that TLS
# costs neither side anything. The baseline does the same work with shell
# tools on the same bytes, in the same run, at the same parallelism:
#
#     openssl base64 -d -A < shard.b64 | tee shard.zip | sha256sum
#     sync shard.zip                                  (fsync)
#
# Each side runs twice (best run kept; stored shards are removed between
# ingest runs so every upload stores a new file). Prints decoded MB/s of
# both, ingest_vs_baseline_ratio (target >= 0.60), and the peak RSS of the
# st-data processes while ingesting minus their idle RSS (target <= 4 MB).
# Run by `make bench`; measures, asserts nothing.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"

st_init bench-ingest
command -v python3 >/dev/null || st_skip "python3 not installed"
SHARDS=${BENCH_SHARDS:-12}
PAR=${BENCH_PARALLEL:-4}
SIZE=$((10 * 1024 * 1024))

ST_ALLOW_HTTP=true
st_mariadb_start
st_db_setup
st_account bench
st_lighttpd_start
BASE=http://127.0.0.1:$HTTP_PORT

# --- the shards ------------------------------------------------------------------
mkdir -p "$T/in" "$T/base"
python3 - "$T/in" "$SHARDS" "$SIZE" <<'EOF'
import base64, hashlib, os, sys, zipfile
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    p = os.path.join(d, "s%02d.zip" % i)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("data.bin", os.urandom(size - 200))
    raw = open(p, "rb").read()
    open(os.path.join(d, "s%02d.b64" % i), "wb").write(base64.b64encode(raw))
    open(os.path.join(d, "s%02d.sha" % i), "w").write(hashlib.sha256(raw).hexdigest())
EOF
BYTES=$(cat "$T"/in/s*.zip | wc -c)

# One signed curl command per shard, run by xargs -P.
make_jobs() { # SET
	local i sha uri sig
	: > "$T/jobs"
	for i in $(seq -f '%02g' 0 $((SHARDS - 1))); do
		sha=$(cat "$T/in/s$i.sha")
		uri=/data/$1/shard/$sha
		sig=$(st_sign POST "$uri" "$T/in/s$i.b64")
		printf '%s\n' "curl -sS -o /dev/null -w '%{http_code}\\n' --max-time 120 --data-binary @$T/in/s$i.b64 -H 'X-singularity-apikey: $API_KEY' -H 'X-singularity-signature: $sig' $BASE$uri" >> "$T/jobs"
	done
}

create_set() { # NAME
	printf '{"name": "%s", "pilot_count": 4}' "$1" > "$T/create.json"
	[ "$(ST_BASE_URL=$BASE st_req POST /data "$T/create.json")" = 201 ] ||
	    st_fail "POST /data: $(cat "$T/resp.body")"
}

now() { date +%s.%N; }

# ingest: the upload run; prints seconds.
ingest() {
	local t0 t1
	cat "$T"/in/*.b64 > /dev/null
	t0=$(now)
	tr '\n' '\0' < "$T/jobs" | xargs -0 -P "$PAR" -n 1 sh -c > "$T/codes"
	t1=$(now)
	[ "$(grep -c '^201$' "$T/codes")" = "$SHARDS" ] ||
	    { st_server_log; st_fail "uploads: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

# baseline: the shell pipeline on the same bytes; prints seconds.
baseline() {
	local t0 t1
	rm -f "$T"/base/*
	cat "$T"/in/*.b64 > /dev/null
	t0=$(now)
	ls "$T"/in/*.b64 | xargs -P "$PAR" -n 1 sh -c \
	    'f=$(basename "$1" .b64); openssl base64 -d -A < "$1" | tee "'"$T"'/base/$f.zip" | sha256sum > "'"$T"'/base/$f.sum" && sync "'"$T"'/base/$f.zip"' sh
	t1=$(now)
	cmp -s "$T/in/s00.zip" "$T/base/s00.zip" || st_fail "baseline decoded wrongly"
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

# The st-data processes of the pool.
data_pids() {
	local pid
	for pid in $(ps -o pid= --ppid "$LIGHTTPD_PID"); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$T/libexec/st-data" ] && echo "$pid"
	done
}

# Warm the pool: small concurrent uploads reach every process (database
# connection, libzip, OpenSSL loaded), then read the idle RSS of each and
# reset its peak (clear_refs 5) where the kernel allows it.
create_set warm
python3 -c 'import zipfile, sys; z = zipfile.ZipFile(sys.argv[1], "w"); z.writestr("a", "x" * 1000); z.close()' "$T/warm.zip"
base64 -w0 "$T/warm.zip" > "$T/warm.b64"
for round in 1 2 3; do
	wpids=
	for i in $(seq 1 8); do
		ST_BASE_URL=$BASE st_req POST /data/warm/shard "$T/warm.b64" >/dev/null &
		wpids="$wpids $!"
	done
	for p in $wpids; do wait "$p"; done
done
declare -A IDLE
for pid in $(data_pids); do
	IDLE[$pid]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	echo 5 > "/proc/$pid/clear_refs" 2>/dev/null || :
done
[ "${#IDLE[@]}" -gt 0 ] || st_fail "no st-data process found under lighttpd"

best_ingest=
best_base=
for round in 1 2; do
	create_set "bench$round"
	make_jobs "bench$round"
	s=$(ingest)
	best_ingest=$(awk -v a="${best_ingest:-0}" -v b="$s" 'BEGIN { print (a == 0 || b < a) ? b : a }')
	# the RSS peak of the first run, before anything else runs in the pool
	if [ "$round" = 1 ]; then
		delta=0
		for pid in "${!IDLE[@]}"; do
			[ -r "/proc/$pid/status" ] || continue
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
			d=$((hwm - IDLE[$pid]))
			[ "$d" -gt "$delta" ] && delta=$d
		done
	fi
	s=$(baseline)
	best_base=$(awk -v a="${best_base:-0}" -v b="$s" 'BEGIN { print (a == 0 || b < a) ? b : a }')
	# drop the stored shards so the next run stores new files again
	st_mysql singularity -e "DELETE FROM datasets WHERE name = 'bench$round'"
	"$ST_ADMIN" gc --tmp-age 0 > /dev/null || st_fail "st-admin gc"
done

echo "bench: $SHARDS shards of 10 MiB, $PAR at a time, lighttpd + st-data over plain HTTP on loopback, MariaDB; best of 2 runs"
awk -v b="$BYTES" -v s="$best_ingest" 'BEGIN { printf "ingest_mb_per_s=%.1f\n", b / s / 1048576 }'
awk -v b="$BYTES" -v s="$best_base" 'BEGIN { printf "baseline_mb_per_s=%.1f (openssl base64 -d | tee | sha256sum + fsync)\n", b / s / 1048576 }'
awk -v i="$best_ingest" -v s="$best_base" 'BEGIN { printf "ingest_vs_baseline_ratio=%.2f (target >= 0.60)\n", s / i }'
awk -v k="$delta" 'BEGIN { printf "st_data_ingest_rss_delta_kb=%d\nst_data_ingest_rss_delta_mb=%.2f (peak while ingesting minus idle; target <= 4 MB)\n", k, k / 1024 }'
