#!/bin/bash
# bench-batch.sh: batches through lighttpd (the shipped template) with the
# real MariaDB, over plain HTTP on loopback (allow_http = true) so that TLS
# costs nothing. In one run:
#
#   1. GET /batch/{id} of a 10-job batch against GET /ping, the same wrk
#      shape each (best of two runs): batch_vs_ping_ratio (target >= 0.50);
#   2. POST /batch of 100 jobs, BENCH_POSTS (default 30) times one after the
#      other: the median latency (target <= 50 ms);
#   3. GET /batch?limit=100 for an account holding 1,000 batches and one
#      holding 10,000 (3 jobs each, inserted with SQL in bulk), side by
#      side: the median latency of each (target <= 30 ms, and the two close:
#      the indexes make a page independent of the account's size); the
#      EXPLAIN of the page's statements is printed.
#
# Run by `make bench`; measures, asserts nothing.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"

st_init bench-batch
command -v python3 >/dev/null || st_skip "python3 not installed"
WRK=$(command -v wrk || :)
[ -n "$WRK" ] || st_skip "wrk is not installed (apt-get install wrk)"
DURATION=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-16}
POSTS=${BENCH_POSTS:-30}
GETS=${BENCH_GETS:-30}

ST_ALLOW_HTTP=true
st_mariadb_start
st_db_setup
st_account bench
st_lighttpd_start
BASE=http://127.0.0.1:$HTTP_PORT
sql() { st_mysql -N -B singularity -e "$1"; }

# A data set with one shard, made through st-data.
printf '{"name": "bench", "pilot_count": 1}' > "$T/set.json"
ST_BASE_URL=$BASE st_req POST /data "$T/set.json" >/dev/null
SET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dataset_uuid"])' "$T/resp.body")
python3 - "$T/shard.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("a.txt", "bench")
EOF
base64 -w0 "$T/shard.zip" > "$T/shard.b64"
[ "$(ST_BASE_URL=$BASE st_req POST "/data/$SET/shard" "$T/shard.b64")" = 201 ] || st_fail "shard upload"

# body N: a production batch of N jobs on the set.
body() {
	python3 -c '
import json, sys
n, s = int(sys.argv[1]), sys.argv[2]
print(json.dumps({"mode": "production", "requisitions": {"cpu": 1, "gpu": 0},
    "jobs": [{"command": "python train.py --trial %d" % i, "image": "singularitytechnologies/testai",
              "image_tag": "latest", "data_set_id": s} for i in range(n)]}))' "$1" "$SET"
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# signed_curl METHOD URI [BODYFILE]: time_total in ms of one request,
# failing on any status but 200/201.
signed_curl() {
	local sig out code t
	sig=$(st_sign "$1" "$2" "${3:-}")
	set -- -sS -o /dev/null -w '%{http_code} %{time_total}' -X "$1" \
	    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
	    ${3:+--data-binary "@$3"} "$BASE$2"
	out=$(curl "$@") || st_fail "curl $*"
	code=${out% *}
	t=${out#* }
	case $code in 200|201) ;; *) st_fail "status $code for $*" ;; esac
	awk -v t="$t" 'BEGIN { printf "%.2f\n", t * 1000 }'
}

# --- 1. GET /batch/{id} (10 jobs) against GET /ping ------------------------------

body 10 > "$T/b10.json"
ST_BASE_URL=$BASE st_req POST /batch "$T/b10.json" >/dev/null
B10=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_uuid"])' "$T/resp.body")
rps() { # PATH DURATION [signed]
	local out
	if [ "${3:-}" = signed ]; then
		out=$("$WRK" -t2 -c"$CONNS" -d"$2" -H "X-singularity-apikey: $API_KEY" \
		    -H "X-singularity-signature: $(st_sign GET "$1")" "$BASE$1") || st_fail "wrk $1"
	else
		out=$("$WRK" -t2 -c"$CONNS" -d"$2" "$BASE$1") || st_fail "wrk $1"
	fi
	if printf '%s\n' "$out" | grep -q 'Non-2xx'; then
		printf '%s\n' "$out" >&2
		st_fail "wrk got error answers from $1"
	fi
	printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }'
}
rps /ping 1s >/dev/null
rps "/batch/$B10" 1s signed >/dev/null
# GET /account (authentication and one query) shows what any signed,
# database-backed request costs on this machine.
ping=0 batch=0 account=0
for round in 1 2; do
	r=$(rps /ping "$DURATION"); ping=$(awk -v a="$ping" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	r=$(rps "/batch/$B10" "$DURATION" signed); batch=$(awk -v a="$batch" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	r=$(rps /account "$DURATION" signed); account=$(awk -v a="$account" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
done

# --- 2. POST /batch of 100 jobs ------------------------------------------------------

body 100 > "$T/b100.json"
: > "$T/post.ms"
for i in $(seq 1 "$POSTS"); do
	signed_curl POST /batch "$T/b100.json" >> "$T/post.ms"
done

# --- 3. GET /batch?limit=100: 1,000 against 10,000 batches ---------------------------

fill() { # ACCOUNT N
	local acct
	"$ST_ADMIN" account add "$1" >/dev/null || st_fail "account add $1"
	acct=$(sql "SELECT id FROM accounts WHERE name = '$1'")
	sql "INSERT INTO batches (uuid, account_id, mode, cpu, gpu, ram_gb)
	     SELECT UUID(), $acct, 'production', 1, 0, 4 FROM seq_1_to_$2;
	     INSERT INTO jobs (uuid, batch_id, account_id, idx, dataset_id, mode, image, image_tag, command, cpu, gpu, ram_gb)
	     SELECT UUID(), b.id, $acct, s.seq, NULL, 'production', 'singularitytechnologies/testai', 'latest',
	            CONCAT('python train.py --trial ', s.seq), 1, 0, 4
	     FROM batches b JOIN seq_0_to_2 s WHERE b.account_id = $acct" || st_fail "bulk insert for $1"
}
fill small 1000
fill large 10000
# Interleave another account's rows after them, as a busy server would.
fill others 2000
sql "ANALYZE TABLE batches, jobs" >/dev/null
page_ms() { # ACCOUNT OUT
	local out
	out=$("$ST_ADMIN" key create "$1" 2>/dev/null) || st_fail "key create $1"
	API_KEY=$(printf '%s\n' "$out" | sed -n 's/^api_key: //p')
	API_SECRET=$(printf '%s\n' "$out" | sed -n 's/^secret: //p')
	signed_curl GET '/batch?limit=100' >/dev/null
	: > "$2"
	for i in $(seq 1 "$GETS"); do
		signed_curl GET '/batch?limit=100' >> "$2"
	done
}
page_ms small "$T/get1k.ms"
page_ms large "$T/get10k.ms"

LARGE=$(sql "SELECT id FROM accounts WHERE name = 'large'")
explain() {
	sql "EXPLAIN $1" | awk -F'\t' '{ printf "  table %s: type %s, key %s, rows %s, %s\n", $3, $4, $6, $9, $10 }'
}

echo "bench: lighttpd (shipped template: 4 FastCGI processes for /account and /batch, 2 for /ping), real MariaDB, plain HTTP on loopback"
printf 'ping_rps=%.0f\n' "$ping"
printf 'batch_get_10_jobs_rps=%.0f\n' "$batch"
awk -v b="$batch" -v p="$ping" 'BEGIN { printf "batch_vs_ping_ratio=%.2f (target >= 0.50)\n", (p > 0) ? b / p : 0 }'
printf 'account_get_rps=%.0f\n' "$account"
awk -v b="$batch" -v a="$account" 'BEGIN { printf "batch_vs_account_ratio=%.2f (signed GET /account: authentication + one query)\n", (a > 0) ? b / a : 0 }'
printf 'post_batch_100_jobs_median_ms=%s (target <= 50, %d requests)\n' "$(median "$T/post.ms")" "$POSTS"
printf 'get_batch_limit100_1000_batches_median_ms=%s (target <= 30)\n' "$(median "$T/get1k.ms")"
printf 'get_batch_limit100_10000_batches_median_ms=%s (target <= 30)\n' "$(median "$T/get10k.ms")"
echo "EXPLAIN of the page of GET /batch?limit=100 (account with 10,000 batches):"
explain "SELECT b.id FROM batches b WHERE b.account_id = $LARGE AND b.id < 9223372036854775807 ORDER BY b.id DESC LIMIT 100"
explain "SELECT j.batch_id FROM jobs j WHERE j.batch_id IN (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32) ORDER BY j.batch_id, j.idx"
explain "SELECT COUNT(*) FROM jobs j WHERE j.batch_id = 1"
echo "EXPLAIN of GET /job?limit=100 and GET /job?status=QUEUED&limit=100:"
explain "SELECT j.id FROM jobs j WHERE j.account_id = $LARGE AND j.id < 9223372036854775807 ORDER BY j.id DESC LIMIT 100"
explain "SELECT j.id FROM jobs j WHERE j.account_id = $LARGE AND j.status = 'QUEUED' AND j.id < 9223372036854775807 ORDER BY j.id DESC LIMIT 100"
