# batch-lib.sh: helpers of the batch, job and model tests (t02NN), sourced
# after harness.sh, servers.sh and sign.sh.

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'

# jv EXPR: a Python expression over the last response's JSON (d); dicts,
# lists, booleans and None are printed as JSON.
jv() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list, bool)) or v is None else v)' \
	    "$T/resp.body" "$1" || st_fail "jv $1 on $(head -c 300 "$T/resp.body")"
}

# body TEXT: write TEXT (no newline) to $T/req.body.
body() { printf '%s' "$1" > "$T/req.body"; }

# sql QUERY: run QUERY in the singularity database, tab-separated.
sql() { st_mysql -N -B singularity -e "$1"; }

# mkzip OUT SIZE: a zip holding one member of SIZE random bytes.
mkzip() {
	python3 - "$1" "$2" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("part.bin", os.urandom(int(sys.argv[2])))
EOF
}

# mkset NAME PILOTS SHARDS: a data set with PILOTS pilots and SHARDS
# uploaded shards (through st-data); sets SET_UUID and PILOTS (the pilot
# UUIDs in order, space-separated).
mkset() {
	local i
	body "{\"name\": \"$1\", \"pilot_count\": $2}"
	ST_GOT=$(st_req POST /data "$T/req.body")
	st_check_status 201 "POST /data $1"
	SET_UUID=$(jv 'd["dataset_uuid"]')
	PILOTS=$(jv '" ".join(d["pilot_ids"])')
	i=0
	while [ "$i" -lt "$3" ]; do
		mkzip "$T/shard.zip" 64
		base64 -w0 "$T/shard.zip" > "$T/shard.b64"
		ST_GOT=$(st_req POST "/data/$SET_UUID/shard" "$T/shard.b64")
		st_check_status 201 "shard $i of $1"
		i=$((i + 1))
	done
}

# batch_body MODE CPU GPU JOB... : a batch body with the given jobs (JSON
# objects) in $T/req.body.
batch_body() {
	local mode=$1 cpu=$2 gpu=$3 jobs= j
	shift 3
	for j in "$@"; do
		jobs="${jobs:+$jobs, }$j"
	done
	body "{\"mode\": \"$mode\", \"jobs\": [$jobs], \"requisitions\": {\"cpu\": $cpu, \"gpu\": $gpu}}"
}

# job_json DATASET [COMMAND]: one job object on DATASET.
job_json() {
	printf '{"command": "%s", "image": "singularitytechnologies/testai", "image_tag": "latest", "data_set_id": "%s"}' \
	    "${2:-python train.py}" "$1"
}

# new_batch MODE CPU GPU JOB...: POST it, expect 201; sets BATCH.
new_batch() {
	batch_body "$@"
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_status 201 "POST /batch"
	BATCH=$(jv 'd["batch_uuid"]')
}

# as_account KEY SECRET CMD...: run CMD with another account's credentials.
as_account() {
	local k=$1 s=$2
	shift 2
	API_KEY=$k API_SECRET=$s "$@"
}
