#!/bin/bash
# The data cache of st-dispatch (issue 12: data sets reach a host once) on
# a real Docker Engine whose container events are streamed from before the
# first pass; st-dispatch --once passes (each pass sweeps the cache):
#   a. two jobs of one set on one host: one fill (exactly one extract-to-dir
#      of an st-fill-* container), one st-data-* volume, both COMPLETED with
#      the sums of the set's shards;
#   b. a pilot job, then a production job of the same set: one volume with
#      the views p0 and all, the second fill putting only the shards the
#      pilot's view lacked; the pilot's /data holds its pilot's shards and
#      manifest only, the production job's all of them (listing, manifest,
#      sums);
#   c. a shard added to that set: a job launched after it gets a new
#      version, a second volume, and the new shard's numbers;
#   d. the first set deleted (SQL, as DELETE /data/{set} does): its volume
#      leaves the engine and host_cache at the next pass, the others stay;
#   e. a filler left by a killed dispatcher (made here: a container
#      labelled singularity.fill on a volume whose view was never recorded,
#      with a garbage shard put in) is removed by the sweep, and the fill
#      is redone whole: the job COMPLETES with the right sums;
#   f. [dispatcher] host_cache_max holding one set's volume but not two:
#      filling a second set's evicts the least recently used unused one;
#      a volume a running job mounts is never evicted, even as the least
#      recently used (that job reads /data only at its end and COMPLETES
#      with the right sums).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"

st_init t0324-dispatch-cache
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"
st_dockerd_start a
SOCK=$DK_SOCK
st_test_image singularity/testai:1
# Every container event of the engine from now on.
curl -sS -N --unix-socket "$SOCK" \
    "http://localhost/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D" \
    >>"$T/events" 2>/dev/null &
st_track_pid $!
st_mariadb_start
st_db_setup
st_account cara
"$ST_ADMIN" host add a --endpoint "$DK_ENDPOINT" --cpus 4 --ram-gb 8 >/dev/null

NOT_FINAL="SELECT COUNT(*) FROM jobs WHERE status NOT IN ('COMPLETED','ERRORED','CANCELED')"

# The st-data-* volumes on the engine, one a line, sorted.
volumes() {
	st_dk "$SOCK" GET /volumes | python3 -c '
import json, sys
print("\n".join(sorted(v["Name"] for v in json.load(sys.stdin)["Volumes"] or []
                       if v["Name"].startswith("st-data-"))))'
}
# The volumes of the set with UUID $1.
set_volumes() { volumes | grep -c "^st-data-$1-[0-9a-f]\{16\}$" || :; }
# The event lines so far (a mark for fills_since).
mark() { sleep 1; wc -l <"$T/events"; }
# fills_since MARK: extract-to-dir events of st-fill-* containers since MARK.
fills_since() {
	sleep 1	# the last events reach the stream
	tail -n +"$(($1 + 1))" "$T/events" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("Action") == "extract-to-dir" and \
       e["Actor"]["Attributes"].get("name", "").startswith("st-fill-"):
        n += 1
print(n)'
}
# check_result JOB_ID DATASET_ID SHARDS: COMPLETED with the sums of the set.
check_result() {
	local want_sum want_count
	read -r want_sum want_count <"$T/expect/$2"
	st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE id = $1")" COMPLETED "job $1"
	python3 - "$(st_sql "SELECT result FROM jobs WHERE id = $1")" "$want_sum" "$want_count" "$3" <<'EOF' ||
import json, sys
r = json.loads(sys.argv[1])
assert (r["sum"], r["count"], r["shards"]) == tuple(int(x) for x in sys.argv[2:5]), r
EOF
	    st_fail "job $1: result $(st_sql "SELECT result FROM jobs WHERE id = $1"), want sum $want_sum count $want_count shards $3"
}
# The job's log (attempt 1).
job_log() {
	local u
	u=$(st_sql "SELECT uuid FROM jobs WHERE id = $1")
	cat "$T/store/logs/${u:0:2}/$u.log"
}
# The SHA-256 of the set's shards (or a pilot's), sorted, one a line.
shas_of() {
	st_sql "SELECT s.sha256 FROM shards s JOIN dataset_shards ds ON ds.shard_id = s.id
	    WHERE ds.dataset_id = $1 ORDER BY s.sha256"
}
bytes_of_set() {
	st_sql "SELECT SUM(s.size) FROM shards s JOIN dataset_shards ds ON ds.shard_id = s.id
	    WHERE ds.dataset_id = $1"
}

# --- a. two jobs, one set, one host: one fill ---------------------------------------

st_dataset cara one 0 3
A_ID=$DS_ID A_UUID=$DS_UUID
st_batch cara production 0.5 0 0.25
st_job "$A_ID" singularity/testai 1 /train.sh; A1=$JOB_ID
st_job "$A_ID" singularity/testai 1 /train.sh; A2=$JOB_ID
m=$(mark)
st_dispatch_until 60 "$NOT_FINAL"
check_result "$A1" "$A_ID" 3
check_result "$A2" "$A_ID" 3
st_expect_eq "$(fills_since "$m")" 1 "extract-to-dir events of st-fill-* containers"
st_expect_eq "$(volumes | wc -l)" 1 "st-data-* volumes"
st_expect_eq "$(set_volumes "$A_UUID")" 1 "volumes of the set"
A_VOL=$(volumes)
st_expect_eq "$(st_sql "SELECT COUNT(DISTINCT cache_volume) FROM jobs WHERE id IN ($A1, $A2)")" 1 "volumes the two jobs mounted"
st_expect_eq "$(st_dk "$SOCK" GET '/containers/json?all=1')" "[]" "containers left"
st_ok "two jobs of one set on one host: one fill (one extract-to-dir of st-fill-*), one volume, both COMPLETED with the set's sums"

# --- b. a pilot and a production job share one volume ------------------------------

st_dataset cara two 2 4
B_ID=$DS_ID B_UUID=$DS_UUID
set -- $PILOT_IDS
B_P0=$1
set -- $PILOT_UUIDS
B_P0_UUID=$1
SHOW='ls /data; cat /data/manifest.json; echo; /train.sh'
m=$(mark)
st_batch cara pilot 0.5 0 0.25
st_job "$B_P0" singularity/testai 1 "$SHOW"; BP=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
st_batch cara production 0.5 0 0.25
st_job "$B_ID" singularity/testai 1 "$SHOW"; BF=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
check_result "$BP" "$B_P0" 2
check_result "$BF" "$B_ID" 4
st_expect_eq "$(set_volumes "$B_UUID")" 1 "volumes of the set after a pilot and a production job"
B_VOL=$(volumes | grep "^st-data-$B_UUID-")
st_expect_eq "$(st_sql "SELECT GROUP_CONCAT(view ORDER BY view) FROM host_cache_views WHERE volume = '$B_VOL'")" \
    "all,p0" "views of the volume"
st_expect_eq "$(st_sql "SELECT COUNT(DISTINCT cache_volume) FROM jobs WHERE id IN ($BP, $BF)")" 1 "volumes the two jobs mounted"
st_expect_eq "$(fills_since "$m")" 2 "fills (one per view)"
# What each job saw under /data: its view's shards and manifest only.
for j in "$BP:$B_P0:$B_P0_UUID" "$BF:$B_ID:$B_UUID"; do
	IFS=: read -r id ds uuid <<<"$j"
	job_log "$id" >"$T/show.log"
	{ shas_of "$ds" | sed 's/$/.zip/'; echo manifest.json; } | sort >"$T/ls.want"
	sed -n '/^[0-9a-f]\{64\}\.zip$\|^manifest\.json$/p' "$T/show.log" | sort >"$T/ls.got"
	cmp -s "$T/ls.got" "$T/ls.want" || st_fail "job $id: /data holds $(paste -sd' ' "$T/ls.got"), want $(paste -sd' ' "$T/ls.want")"
	python3 - "$T/show.log" "$uuid" $(shas_of "$ds") <<'EOF' || st_fail "job $id: /data/manifest.json"
import json, sys
text = open(sys.argv[1]).read()
m = json.JSONDecoder().raw_decode(text[text.index("{"):])[0]
assert m["data_set_id"] == sys.argv[2], m
assert sorted(s["sha256"] for s in m["shards"]) == sorted(sys.argv[3:]), m
assert all(s["path"] == "/data/%s.zip" % s["sha256"] for s in m["shards"]), m
EOF
done
# The second fill put only the shards the pilot's view lacked.
p0_bytes=$(bytes_of_set "$B_P0")
all_bytes=$(bytes_of_set "$B_ID")
grep -q "data view p0 of $B_VOL ready ($p0_bytes bytes put" "$T/dispatch.out" ||
    st_fail "no line of view p0 ready with $p0_bytes bytes put: $(grep "data view" "$T/dispatch.out")"
grep -q "data view all of $B_VOL ready ($((all_bytes - p0_bytes)) bytes put" "$T/dispatch.out" ||
    st_fail "no line of view all ready with $((all_bytes - p0_bytes)) bytes put: $(grep "data view" "$T/dispatch.out")"
st_ok "a pilot job and a production job of one set share one volume (views p0 and all; the second fill put only the $((all_bytes - p0_bytes)) bytes the pilot's lacked); each /data holds its view's shards and manifest only"

# --- c. a new shard: a new version, a second volume ---------------------------------

f=$T/shards/two-new.zip
sc=$(st_make_shard "$f" 424242 33)
sha=$(sha256sum "$f" | cut -d' ' -f1)
mkdir -p "$T/store/shards/${sha:0:2}/${sha:2:2}"
cp "$f" "$T/store/shards/${sha:0:2}/${sha:2:2}/$sha.zip"
st_sql "INSERT INTO shards (sha256, size) VALUES ('$sha', $(stat -c %s "$f"));
    INSERT INTO dataset_shards (dataset_id, shard_id) SELECT $B_ID, id FROM shards WHERE sha256 = '$sha'"
read -r s c <"$T/expect/$B_ID"
echo "$((s + ${sc% *})) $((c + ${sc#* }))" >"$T/expect/$B_ID"
st_job "$B_ID" singularity/testai 1 /train.sh; BN=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
check_result "$BN" "$B_ID" 5
st_expect_eq "$(set_volumes "$B_UUID")" 2 "volumes of the set after a shard was added"
B_VOL2=$(volumes | grep "^st-data-$B_UUID-" | grep -v "^$B_VOL$")
st_expect_eq "$(st_sql "SELECT cache_volume FROM jobs WHERE id = $BN")" "$B_VOL2" "the volume of the job launched after the new shard"
st_ok "a shard added to the set: the next job gets a new version in a second volume and the new shard's numbers"

# --- d. a deleted set's volume goes --------------------------------------------------

st_sql "DELETE FROM datasets WHERE id = $A_ID"
"$ST_DISPATCH" --once --verbose >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once"
sleep 0.5
volumes | grep -qx "$A_VOL" && st_fail "the deleted set's volume $A_VOL is still on the engine"
st_expect_eq "$(st_sql "SELECT COUNT(*) FROM host_cache WHERE volume = '$A_VOL'")" 0 "host_cache rows of the deleted set"
grep -q "cache volume $A_VOL removed (its data set was deleted)" "$T/dispatch.out" ||
    st_fail "no line of $A_VOL removed"
st_expect_eq "$(volumes | paste -sd' ')" "$(printf '%s\n' "$B_VOL" "$B_VOL2" | sort | paste -sd' ')" "volumes left"
st_ok "a deleted set's volume is removed from the engine (and host_cache) at the next pass; the others stay"

# --- e. a filler left by a killed dispatcher ----------------------------------------

st_dataset cara three 0 2
C_ID=$DS_ID C_UUID=$DS_UUID
st_batch cara production 0.5 0 0.25
st_job "$C_ID" singularity/testai 1 /train.sh; C1=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
check_result "$C1" "$C_ID" 2
C_VOL=$(st_sql "SELECT cache_volume FROM jobs WHERE id = $C1")
# What a dispatcher killed half-way through filling the view leaves: the
# view not recorded, its filler (never started) holding the volume at
# /cache, part of the data put (here: garbage in place of a shard).
st_sql "DELETE FROM host_cache_views WHERE volume = '$C_VOL'"
FILLER=st-fill-$(st_uuid)
st_dk "$SOCK" POST "/containers/create?name=$FILLER" -H 'Content-Type: application/json' \
    -d "{\"Image\": \"singularity/testai:1\", \"Cmd\": [\"true\"],
        \"Labels\": {\"singularity.job\": \"\", \"singularity.fill\": \"$C_VOL\"},
        \"HostConfig\": {\"NetworkMode\": \"none\",
            \"Mounts\": [{\"Type\": \"volume\", \"Source\": \"$C_VOL\", \"Target\": \"/cache\"}]}}" \
    >"$T/create.out" || st_fail "creating the filler"
grep -q '"Id"' "$T/create.out" || st_fail "creating the filler: $(cat "$T/create.out")"
sha=$(shas_of "$C_ID" | head -1)
mkdir -p "$T/garbage/s" "$T/garbage/v/all"
head -c 300 /dev/urandom >"$T/garbage/s/$sha.zip"
cp "$T/garbage/s/$sha.zip" "$T/garbage/v/all/$sha.zip"
tar -C "$T/garbage" -cf "$T/garbage.tar" s v
code=$(st_dk "$SOCK" PUT "/containers/$FILLER/archive?path=/cache" -H 'Content-Type: application/x-tar' \
    --data-binary @"$T/garbage.tar" -o /dev/null -w '%{http_code}')
st_expect_eq "$code" 200 "the garbage put into the volume"
m=$(mark)
st_job "$C_ID" singularity/testai 1 /train.sh; C2=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
check_result "$C2" "$C_ID" 2
[ "$(st_dk "$SOCK" GET "/containers/$FILLER/json" -o /dev/null -w '%{http_code}')" = 404 ] ||
    st_fail "the filler $FILLER left by the killed dispatcher is still there"
grep -q "removing stray container $FILLER" "$T/dispatch.out" || st_fail "no line of $FILLER removed"
st_expect_eq "$(fills_since "$m")" 1 "fills after the crash"
grep -q "data view all of $C_VOL ready ($(bytes_of_set "$C_ID") bytes put" "$T/dispatch.out" ||
    st_fail "the view was not filled whole again: $(grep "data view all of $C_VOL" "$T/dispatch.out")"
st_expect_eq "$(st_sql "SELECT view FROM host_cache_views WHERE volume = '$C_VOL'")" all "the view recorded again"
st_expect_eq "$(st_dk "$SOCK" GET '/containers/json?all=1')" "[]" "containers left"
st_ok "a filler left by a killed dispatcher is removed by the sweep; the fill is redone whole ($(bytes_of_set "$C_ID") bytes) and the job COMPLETES with the right sums"

# --- f. host_cache_max: least recently used first, never one in use -------------------

st_dataset cara four 0 2
P_ID=$DS_ID P_UUID=$DS_UUID
st_dataset cara five 0 2
Q_ID=$DS_ID Q_UUID=$DS_UUID
bp=$(bytes_of_set "$P_ID") bq=$(bytes_of_set "$Q_ID")
max=$(( (bp > bq ? bp : bq) + (bp < bq ? bp : bq) / 2 ))
sed "s/^\[log\]$/[dispatcher]\nhost_cache_max = $max\n\n[log]/" "$SINGULARITY_CONF" >"$T/small.conf"
grep -q "^host_cache_max = $max$" "$T/small.conf" || st_fail "no host_cache_max in $T/small.conf"
SINGULARITY_CONF=$T/small.conf
onepass() { "$ST_DISPATCH" --once --verbose >>"$T/dispatch.out" 2>&1 || st_fail "st-dispatch --once"; }

st_batch cara production 0.5 0 0.25
st_job "$P_ID" singularity/testai 1 /train.sh; P1=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
onepass
check_result "$P1" "$P_ID" 2
P_VOL=$(st_sql "SELECT cache_volume FROM jobs WHERE id = $P1")
st_expect_eq "$(volumes)" "$P_VOL" "volumes under host_cache_max = $max (set four: $bp bytes)"
st_ok "host_cache_max $max: the volumes of earlier sets, least recently used, evicted; the one just used stays"

st_job "$Q_ID" singularity/testai 1 /train.sh; Q1=$JOB_ID
st_dispatch_until 60 "$NOT_FINAL"
onepass
check_result "$Q1" "$Q_ID" 2
Q_VOL=$(st_sql "SELECT cache_volume FROM jobs WHERE id = $Q1")
st_expect_eq "$(volumes)" "$Q_VOL" "volumes after filling the second set's"
grep -q "cache volume $P_VOL removed (least recently used, over host_cache_max)" "$T/dispatch.out" ||
    st_fail "no line of $P_VOL evicted"
st_ok "filling a second set's volume ($bq bytes) evicts the least recently used first set's, unused"

# A job mounting set five's volume, reading /data only after 12 s; then a
# job of set four: its new volume is the most recently used one, so the
# running job's volume is the least recently used while both exceed the
# limit.
st_job "$Q_ID" singularity/testai 1 "sleep 12; /train.sh"; QL=$JOB_ID
for _ in $(seq 1 60); do
	[ "$(st_sql "SELECT status FROM jobs WHERE id = $QL")" = PROCESSING ] && break
	onepass
done
st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE id = $QL")" PROCESSING "the long job"
st_expect_eq "$(st_sql "SELECT cache_volume FROM jobs WHERE id = $QL")" "$Q_VOL" "the long job's volume"
st_job "$P_ID" singularity/testai 1 /train.sh; P2=$JOB_ID
evicted=0
for _ in $(seq 1 200); do
	onepass
	volumes | grep -qx "$Q_VOL" || st_fail "the volume $Q_VOL of the running job $QL was evicted"
	if [ "$evicted" = 0 ] && grep -q "cache volume $P_VOL removed (least recently used" \
	    <(sed -n "/job $(st_sql "SELECT uuid FROM jobs WHERE id = $P2") placed/,\$p" "$T/dispatch.out"); then
		evicted=1
		st_expect_eq "$(st_sql "SELECT status FROM jobs WHERE id = $QL")" PROCESSING \
		    "the long job when the other volume was evicted"
	fi
	[ "$(st_sql "$NOT_FINAL")" = 0 ] && break
done
st_expect_eq "$(st_sql "$NOT_FINAL")" 0 "jobs not final"
check_result "$P2" "$P_ID" 2
check_result "$QL" "$Q_ID" 2
st_expect_eq "$evicted" 1 "set four's volume evicted while the long job ran"
onepass
st_expect_eq "$(volumes)" "$Q_VOL" "volumes at the end"
st_ok "the least recently used volume, mounted by a running job, is kept: set four's newer one evicted instead once its job ended; the running job COMPLETED with the right sums"
