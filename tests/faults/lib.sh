# lib.sh: what the fault tests (tests/faults/) share. Sourced after
# harness.sh, servers.sh, sign.sh and checks.sh.
#
#   flt_stack NAME          st_init NAME, MariaDB, schema, account "load"
#                           (API_KEY, API_SECRET), lighttpd over HTTPS
#   flt_set NAME PILOTS SHARDS   a data set with SHARDS small shards; sets SET
#   flt_loadgen ARGS...     tests/faults/loadgen.py against the stack, the
#                           secret passed through the environment
#   flt_responder_pids      "PID NAME" of the responders lighttpd runs
#   flt_check_ledger LEDGER PILOTS BATCH_JOBS
#                           every write answered 2xx is in the database as
#                           answered; no batch is half-written; every set
#                           has its pilots; prints what the 503s left
#   flt_every_group_answers every route group answers a signed request
#   flt_sql QUERY           QUERY in the singularity database

FLT_DIR="$top_srcdir/tests/faults"

flt_sql() { st_mysql -N -B singularity -e "$1"; }

flt_stack() {
	st_init "$1"
	command -v python3 >/dev/null || st_skip "python3 not installed"
	st_mariadb_start
	st_db_setup
	st_account load
	st_lighttpd_start
}

flt_set() {
	local i
	printf '{"name": "%s", "pilot_count": %s}' "$1" "$2" >"$T/req.json"
	ST_GOT=$(st_req POST /data "$T/req.json")
	st_check_status 201 "POST /data $1"
	SET=$(st_json dataset_uuid)
	i=0
	while [ "$i" -lt "$3" ]; do
		python3 - "$T/shard.zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("part.bin", os.urandom(2048))
PY
		base64 -w0 "$T/shard.zip" >"$T/shard.b64"
		ST_GOT=$(st_req POST "/data/$SET/shard" "$T/shard.b64")
		st_check_status 201 "shard $i of $1"
		i=$((i + 1))
	done
}

flt_loadgen() {
	LOADGEN_SECRET=$API_SECRET python3 "$FLT_DIR/loadgen.py" \
	    --base "https://127.0.0.1:$HTTPS_PORT" --cacert "$CA_FILE" \
	    --key "$API_KEY" --secret - "$@"
}

flt_responder_pids() {
	ps -o pid=,comm= --ppid "$LIGHTTPD_PID" | awk '{ print $1, $2 }' | sort
}

flt_check_ledger() {
	local ledger=$1 pilots=$2 jobs=$3
	flt_sql "SELECT name FROM datasets WHERE parent_id IS NULL" >"$T/db.sets"
	flt_sql "SELECT d.name, COUNT(p.id) FROM datasets d LEFT JOIN datasets p
	    ON p.parent_id = d.id WHERE d.parent_id IS NULL GROUP BY d.id" >"$T/db.pilots"
	flt_sql "SELECT b.uuid, COUNT(j.id) FROM batches b LEFT JOIN jobs j
	    ON j.batch_id = b.id GROUP BY b.id" >"$T/db.batches"
	flt_sql "SELECT s.sha256, COUNT(m.dataset_id) FROM shards s LEFT JOIN
	    dataset_shards m ON m.shard_id = s.id GROUP BY s.id" >"$T/db.shards"
	python3 - "$ledger" "$T" "$pilots" "$jobs" <<'PY' || st_fail "writes lost or half-written"
import json, sys
ledger, t, pilots, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
L = json.load(open(ledger))
def rows(name):
    out = {}
    for line in open("%s/%s" % (t, name)):
        k, _, v = line.rstrip("\n").partition("\t")
        out[k] = v
    return out
sets, spilots, batches, shards = rows("db.sets"), rows("db.pilots"), rows("db.batches"), rows("db.shards")
bad = []
# Every set has its pilots, whatever was answered.
bad += ["set %s has %s pilots, want %d" % (k, v, pilots)
        for k, v in spilots.items() if k.startswith("lg-") and int(v) != pilots]
# Every batch holds the jobs of its request, whatever was answered.
bad += ["batch %s has %s jobs, want %d (half-written)" % (k, v, jobs)
        for k, v in batches.items() if int(v) != jobs]
ok = {"sets": 0, "batches": 0, "shards": 0}
amb = {"sets": 0, "batches": 0, "shards": 0}
for d in L["data_sets"]:
    if d["status"] == 201:
        ok["sets"] += 1
        if d["name"] not in sets:
            bad.append("set %s answered 201 but missing" % d["name"])
    elif d["name"] in sets:
        amb["sets"] += 1
for b in L["batches"]:
    if b["status"] == 201:
        ok["batches"] += 1
        u = b.get("batch_uuid")
        if u not in batches:
            bad.append("batch %s answered 201 but missing" % u)
        elif b.get("successful") != jobs or int(batches[u]) != jobs:
            bad.append("batch %s: successful %s, rows %s, want %d" % (u, b.get("successful"), batches[u], jobs))
amb["batches"] = len(batches) - ok["batches"]
for s in L["shards"]:
    if s["status"] in (200, 201):
        ok["shards"] += 1
        # member of the set and of one pilot
        if s["sha256"] not in shards:
            bad.append("shard %s answered %d but has no row" % (s["sha256"], s["status"]))
        elif int(shards[s["sha256"]]) != 2:
            bad.append("shard %s is in %s sets, want 2 (set + one pilot)" % (s["sha256"], shards[s["sha256"]]))
    elif s["sha256"] in shards:
        amb["shards"] += 1
for b in bad[:30]:
    print("FAIL: " + b, file=sys.stderr)
print("writes answered 2xx and found whole: %(sets)d sets, %(batches)d batches, %(shards)d shards" % ok)
print("writes answered 503 (or not at all) that were committed anyway: %(sets)d sets, %(batches)d batches, %(shards)d shards" % amb)
sys.exit(1 if bad else 0)
PY
}

flt_every_group_answers() {
	local p got
	for p in /ping /account /data /batch /job; do
		got=$(st_req GET "$p")
		[ "$got" = 200 ] || { st_server_log; st_fail "GET $p answers $got after the fault"; }
	done
	got=$(st_req GET /model/00000000-0000-4000-8000-000000000000)
	[ "$got" = 404 ] || st_fail "GET /model/{unknown} answers $got after the fault"
}

# --- Docker engines (with tests/lib/docker.sh) -------------------------------

# flt_dockerd_remember SOCK: note the command line of the engine of SOCK
# (started by st_dockerd_start), so that flt_dockerd_respawn can start it
# again after it was stopped.
flt_dockerd_remember() {
	local e pid
	for e in $ST_DOCKERDS; do
		[ "${e%%:*}" = "$1" ] || continue
		pid=${e#*:}
		pid=${pid%%:*}
		tr '\0' '\n' <"/proc/$pid/cmdline" >"$1.cmdline" ||
		    st_fail "cannot read the command line of dockerd $pid"
		return 0
	done
	st_fail "flt_dockerd_remember: no engine on $1"
}

# flt_dockerd_respawn SOCK [ARGS...]: stop the engine of SOCK if it runs,
# and start it again on the same socket, data-root and exec-root (its
# containers and images kept), with ARGS added to its command line. The
# engine must have been remembered (flt_dockerd_remember). Sets DK_PID.
flt_dockerd_respawn() {
	local sock=$1 e old="" i
	shift
	local -a cmd
	for e in $ST_DOCKERDS; do
		[ "${e%%:*}" = "$sock" ] && old=$e
	done
	[ -n "$old" ] && [ -f "$sock.cmdline" ] ||
	    st_fail "flt_dockerd_respawn: no remembered engine on $sock"
	mapfile -t cmd <"$sock.cmdline"
	st_dockerd_stop "$sock"
	for e in "$@"; do
		printf '%s\n' "${cmd[@]}" | grep -qxF -- "$e" || cmd+=("$e")
	done
	printf '%s\n' "${cmd[@]}" >"$sock.cmdline"
	setsid "${cmd[@]}" </dev/null >>"$T/dockerd-respawn.log" 2>&1 &
	DK_PID=$!
	st_track_pid "$DK_PID"
	ST_DOCKERDS=$(printf '%s\n' $ST_DOCKERDS | sed "s|^$old\$|$sock:$DK_PID:${old##*:}|" | tr '\n' ' ')
	for i in $(seq 1 300); do
		[ "$(st_dk "$sock" GET /_ping 2>/dev/null)" = OK ] && return 0
		kill -0 "$DK_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$T/dockerd-respawn.log" >&2
	st_fail "the engine on $sock did not come back"
}

# flt_allocations: "host cpu gpu ram" of what the jobs contract counts as
# allocated, one line per host (zeros when nothing is).
flt_allocations() {
	st_sql "SELECT h.name, COALESCE(SUM(j.cpu), 0), COALESCE(SUM(j.gpu), 0),
	    COALESCE(SUM(j.ram_gb), 0) FROM hosts h LEFT JOIN jobs j ON j.host_id = h.id
	    AND (j.status IN ('PENDING','PROCESSING','PROCESSED','UPLOADING')
	    OR (j.status = 'CANCELED' AND j.cancel_requested = 1))
	    GROUP BY h.id ORDER BY h.name"
}

# flt_wait_sql SECS SQL: wait until SQL answers 0.
flt_wait_sql() {
	local end=$(( $(date +%s) + $1 ))
	until [ "$(st_sql "$2")" = 0 ]; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
