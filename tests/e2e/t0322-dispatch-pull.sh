#!/bin/bash
# Image pulls of st-dispatch (issue 12): private registry credentials and
# shared pulls, with a real engine, real registries (Debian's
# docker-registry, TLS), lighttpd over HTTPS and MariaDB; the dispatcher
# runs as `st-dispatch --loop 1`.
#
#   a. Two jobs of two accounts needing the same public image on the same
#      host, through a throttled registry so that both wait at once, share
#      one pull: the registry served one manifest and each blob once, the
#      dispatcher started one pull.
#   b. A private image on a registry with htpasswd auth, pushed there and
#      removed from the engine. alice keeps the right credentials (POST
#      /account/registries), bob wrong ones, carol none. alice's two jobs
#      COMPLETE with the right result, sharing one authenticated pull; bob's
#      job (retry on image_pull, 2 attempts) ends ERRORED after two attempts
#      each refused by the registry with bob's own username, class
#      image_pull; carol's (default policy) ERRORED after one attempt.
#   c. The image now on the host (alice pulled it): bob's and carol's new
#      jobs are still refused by the registry and none of their containers
#      is ever created; alice's new job COMPLETES.
#   d. No password (in clear, JSON-escaped, hex or base64) in any API answer,
#      the log file, the dispatcher's output, the web server's log or a
#      mariadb-dump of the database.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/registry.sh"
. "$top_srcdir/tests/lib/netfaults.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"

st_init t0322-dispatch-pull
command -v python3 >/dev/null || st_skip "python3 not installed"
[ -x "$ST_DISPATCH" ] || st_skip "st-dispatch is not built"

st_dockerd_start a
SOCK=$DK_SOCK EP=$DK_ENDPOINT
st_dk_watch "$SOCK"
st_test_image singularity/testai:1 "$SOCK"

# The private registry. The password has what JSON escapes, and a random
# part no other byte anywhere holds by chance (what the leak scan looks for).
PW_RAND=$(openssl rand -hex 12)
PW="s3c \"r\\e\" $PW_RAND"
BAD_RAND=$(openssl rand -hex 12)
BAD_PW="wrong-$BAD_RAND"
st_registry_start --auth "robot:$PW"
PRIV_ADDR=$REG_ADDR PRIV_LOG=$REG_DIR/registry.log
# Its own layer (a 2 MiB pad), so nothing of it is on the engine once the
# tags are removed.
st_test_image_big st/priv:1 2 "$SOCK"
st_registry_push "$SOCK" st/priv:1 st/priv:1
st_image_rm "$SOCK" "$PRIV_ADDR/st/priv:1"
st_image_rm "$SOCK" st/priv:1
PRIV=$PRIV_ADDR/st/priv

# The public registry (no auth) for the shared pull, behind a throttle.
st_registry_start
PUB_ADDR=$REG_ADDR PUB_LOG=$REG_DIR/registry.log
st_test_image_big st/shared:1 1 "$SOCK"
st_registry_push "$SOCK" st/shared:1 st/shared:1
st_image_rm "$SOCK" "$PUB_ADDR/st/shared:1"
st_image_rm "$SOCK" st/shared:1
st_throttle_start "$PUB_ADDR" 524288	# 512 KiB/s: about 4 s for 2 MB
SHARED=$THROTTLE_ADDR/st/shared

# has_image REF: the engine holds REF.
has_image() {
	[ "$(st_dk "$SOCK" GET "/images/$1/json" -o /dev/null -w '%{http_code}')" = 200 ]
}
! has_image "$PRIV:1" || st_fail "the private image is on the engine before any job"
! has_image "$SHARED:1" || st_fail "the shared image is on the engine before any job"

st_mariadb_start
st_db_setup
for a in alice bob carol; do
	st_account "$a"
	eval "KEY_$a=\$API_KEY SECRET_$a=\$API_SECRET"
	st_dataset "$a" "set-$a" 0 2
	eval "DS_$a=\$DS_UUID DSID_$a=\$DS_ID"
done
st_lighttpd_start
"$ST_ADMIN" host add a --endpoint "$EP" --cpus 8 --ram-gb 16 >/dev/null

# as NAME: sign the next requests as account NAME.
as() { eval "API_KEY=\$KEY_$1 API_SECRET=\$SECRET_$1"; }

# submit ACCOUNT IMAGE TAG RETRY N: a batch of N jobs `/train.sh` of IMAGE
# on ACCOUNT's set, with "retry": RETRY unless empty; sets JOBS (the jobs'
# UUIDs in order) and J (the first).
submit() {
	as "$1"
	python3 - "$(eval echo "\$DS_$1")" "$2" "$3" "$4" "$5" >"$T/req.body" <<'EOF'
import json, sys
ds, image, tag, retry, n = sys.argv[1:6]
b = {"mode": "production", "requisitions": {"cpu": 0.5},
     "jobs": [{"command": "/train.sh", "image": image, "image_tag": tag,
               "data_set_id": ds} for _ in range(int(n))]}
if retry:
    b["retry"] = json.loads(retry)
sys.stdout.write(json.dumps(b))
EOF
	ST_GOT=$(st_req POST /batch "$T/req.body")
	st_check_status 201 "POST /batch as $1 of $2:$3"
	JOBS=$(sql "SELECT j.uuid FROM jobs j JOIN batches b ON b.id = j.batch_id
	    WHERE b.uuid = '$(jv 'd["batch_uuid"]')' ORDER BY j.idx" | paste -sd ' ')
	J=${JOBS%% *}
}

# getjob ACCOUNT UUID: GET /job/UUID as ACCOUNT into $T/resp.body (kept in
# $T/answers for the leak scan).
NANS=0
getjob() {
	as "$1"
	ST_GOT=$(st_req GET "/job/$2")
	st_check_status 200 "GET /job/$2"
	NANS=$((NANS + 1))
	cp "$T/resp.body" "$T/answers/$NANS.json"
}
mkdir -p "$T/answers"

# wait_final SECS UUID...: until every job is final.
wait_final() {
	local secs=$1 end list
	shift
	end=$(( $(date +%s) + secs ))
	list=$(printf "'%s'," "$@")
	list=${list%,}
	while [ "$(sql "SELECT COUNT(*) FROM jobs WHERE uuid IN ($list)
	    AND status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')")" != 0 ]; do
		[ "$(date +%s)" -lt "$end" ] || {
			sql "SELECT uuid, status, pending_reason, error FROM jobs WHERE uuid IN ($list)" >&2
			tail -30 "$T/dispatch.out" >&2
			st_fail "jobs not final after $secs s"
		}
		kill -0 "$LOOP" 2>/dev/null || { tail -30 "$T/dispatch.out" >&2; st_fail "st-dispatch --loop died"; }
		sleep 0.2
	done
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

# never_ran UUID: no container of the job was created or started.
never_ran() {
	local n
	for n in "st-job-$1" "st-job-$1-2"; do
		st_expect_eq "$(st_dk_starts "$SOCK" "$n")" 0 "starts of $n"
		! grep -q "container $n created" "$T/dispatch.out" || st_fail "container $n was created"
	done
	! grep -q "job $1: PENDING -> PROCESSING" "$T/dispatch.out" || st_fail "job $1 ran"
}

# refusals USER: the pulls the registry refused USER's password so far (a
# pull's first request of the manifest, a HEAD, refused).
refusals() {
	grep "error authenticating user \\\\\"$1\\\\\": authentication failure" "$PRIV_LOG" |
	    grep -c 'http.request.method=HEAD' || :
}

# --- credentials through the API -------------------------------------------------

regbody() {
	python3 -c 'import json, sys
sys.stdout.write(json.dumps({"server": sys.argv[1], "username": sys.argv[2], "password": sys.argv[3]}))' \
	    "$1" "$2" "$3" >"$T/req.body"
}
as alice
regbody "$PRIV_ADDR" robot "$PW"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "alice: POST /account/registries"
cp "$T/resp.body" "$T/answers/post-alice.json"
as bob
regbody "$PRIV_ADDR" bob-robot "$BAD_PW"
ST_GOT=$(st_req POST /account/registries "$T/req.body")
st_check_status 201 "bob: POST /account/registries"
cp "$T/resp.body" "$T/answers/post-bob.json"
for a in alice bob carol; do
	as "$a"
	ST_GOT=$(st_req GET /account/registries)
	st_check_status 200 "$a: GET /account/registries"
	cp "$T/resp.body" "$T/answers/reg-$a.json"
	case $a in
	alice) want="[[\"$PRIV_ADDR\", \"robot\"]]" ;;
	bob) want="[[\"$PRIV_ADDR\", \"bob-robot\"]]" ;;
	carol) want="[]" ;;
	esac
	st_expect_eq "$(jv '[[r["server"], r["username"]] for r in d["registries"]]')" "$want" "$a's registries"
done
st_ok "alice keeps the registry's credentials, bob wrong ones, carol none (through lighttpd)"

"$ST_DISPATCH" --loop 1 --verbose >>"$T/dispatch.out" 2>&1 &
LOOP=$!
st_track_pid "$LOOP"

# --- a. one pull for two jobs (public image, two accounts) -----------------------

submit alice "$SHARED" 1 '' 1; S_A=$J
submit bob "$SHARED" 1 '' 1; S_B=$J
end=$(( $(date +%s) + 30 ))
while [ "$(sql "SELECT COUNT(*) FROM jobs WHERE uuid IN ('$S_A', '$S_B')
    AND status = 'PENDING' AND pending_reason = 'pulling_image'")" != 2 ]; do
	[ "$(date +%s)" -lt "$end" ] || {
		sql "SELECT uuid, status, pending_reason FROM jobs" >&2
		st_fail "the two jobs of $SHARED:1 never both waited for its pull"
	}
	sleep 0.1
done
getjob bob "$S_B"
st_expect_eq "$(jv '[d[0]["status"], d[0]["pending_reason"], sorted(d[0]["pull"].keys())]')" \
    '["PENDING", "pulling_image", ["bytes", "total"]]' "GET /job of a job waiting for its pull"
wait_final 60 "$S_A" "$S_B"
completed alice "$S_A"
completed bob "$S_B"
# One pull request reached the engine: it resolved the tag once (one HEAD
# of the manifest: a second request would make its own) and fetched each
# blob once (the config blob is fetched per request too).
n_tag=$(grep -Ec '"(HEAD|GET) /v2/st/shared/manifests/1 HTTP' "$PUB_LOG" || :)
blobs=$(grep -o '"GET /v2/st/shared/blobs/sha256:[0-9a-f]* HTTP' "$PUB_LOG" | sort | uniq -c |
    awk '{ print $1 }' | paste -sd ' ')
st_expect_eq "$n_tag" 1 "requests of the manifest of st/shared:1 by tag"
st_expect_eq "$blobs" "1 1" "downloads of each blob of st/shared:1 (config, layer)"
st_expect_eq "$(grep -c "host a: pulling $SHARED:1\$" "$T/dispatch.out")" 1 "pulls of $SHARED:1 started"
st_ok "two accounts' jobs of one public image on one host waited together for one pull (1 manifest, each blob once) and COMPLETED"

# --- b. the image must be pulled: right, wrong and no credentials ------------------

ref0=$(refusals bob-robot)
submit alice "$PRIV" 1 '' 2; A1=$JOBS
submit bob "$PRIV" 1 '{"attempts": 2, "on": ["image_pull"]}' 1; B1=$J
submit carol "$PRIV" 1 '' 1; C1=$J
# shellcheck disable=SC2086
wait_final 90 $A1 "$B1" "$C1"
for u in $A1; do
	completed alice "$u"
done
has_image "$PRIV:1" || st_fail "alice's jobs completed and $PRIV:1 is not on the engine"
grep -q "host a: pulling $PRIV:1 with the account's credentials" "$T/dispatch.out" ||
    st_fail "no pull of $PRIV:1 with credentials in the dispatcher's output"
# alice's two jobs shared one pull: the tag was resolved once (only her
# credentials get a 200 for it).
n_auth=$(grep -Ec '"(HEAD|GET) /v2/st/priv/manifests/1 HTTP/1.1" 200 ' "$PRIV_LOG" || :)
st_expect_eq "$n_auth" 1 "requests of the manifest of st/priv:1 by tag answered 200"
st_ok "alice's two jobs of $PRIV:1 (not on the host) COMPLETED with the right result, from one pull with her credentials"

getjob bob "$B1"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"])]')" '["ERRORED", 2, 2]' "bob's job"
python3 - "$T/resp.body" "$PRIV:1" <<'EOF' || st_fail "bob's attempts: $(jv '[a["error"] for a in d[0]["attempts"]]')"
import json, sys
d = json.load(open(sys.argv[1]))[0]
pre = "image %s cannot be had on host a: " % sys.argv[2]
for a in d["attempts"]:
    assert a["error"].startswith(pre), a
    assert "unauthorized: authentication required" in a["error"], a
    assert a["started_at"] is None and a["exit_code"] is None, a
assert d["error"] == d["attempts"][1]["error"] and d["error"].endswith("(after 2 attempts)"), d["error"]
EOF
st_expect_eq "$(sql "SELECT CONCAT_WS(' ', a.attempt, a.failure) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$B1'")" \
    "1 image_pull" "bob's job: the kept attempt's class"
[ "$(refusals bob-robot)" -ge $((ref0 + 2)) ] ||
    st_fail "the registry refused bob-robot $(( $(refusals bob-robot) - ref0 )) times, want one per attempt"
never_ran "$B1"
st_ok "bob's job (wrong credentials, retry on image_pull): ERRORED after 2 attempts, each refused by the registry with bob's username, class image_pull"

getjob carol "$C1"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"])]')" '["ERRORED", 1, 1]' "carol's job"
case $(jv 'd[0]["error"]') in
"image $PRIV:1 cannot be had on host a: "?*) ;;
*) st_fail "carol's error: $(jv 'd[0]["error"]')" ;;
esac
st_expect_eq "$(sql "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.uuid = '$C1'")" 0 \
    "carol's job: attempts kept (the default policy does not retry image_pull)"
never_ran "$C1"
st_ok "carol's job (no credentials, default policy): ERRORED image_pull after one attempt"

# --- c. the image on the host does not help another account ------------------------

has_image "$PRIV:1" || st_fail "$PRIV:1 is not on the engine"
ref0=$(refusals bob-robot)
submit bob "$PRIV" 1 '' 1; B2=$J
submit carol "$PRIV" 1 '' 1; C2=$J
submit alice "$PRIV" 1 '' 1; A2=$J
wait_final 60 "$B2" "$C2" "$A2"
getjob bob "$B2"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"], len(d[0]["attempts"])]')" '["ERRORED", 1, 1]' "bob's second job"
st_expect_eq "$(jv 'd[0]["error"].startswith("image '"$PRIV"':1 cannot be had on host a: ") and "unauthorized: authentication required" in d[0]["error"]')" \
    true "bob's second job's error: $(jv 'd[0]["error"]')"
[ "$(refusals bob-robot)" -gt "$ref0" ] || st_fail "the registry did not refuse bob's second job"
never_ran "$B2"
getjob carol "$C2"
st_expect_eq "$(jv '[d[0]["status"], d[0]["attempt"]]')" '["ERRORED", 1]' "carol's second job"
never_ran "$C2"
completed alice "$A2"
st_ok "with $PRIV:1 on the host, bob's and carol's new jobs are still refused by the registry (never created); alice's COMPLETED"

kill -TERM "$LOOP"
wait "$LOOP" || st_fail "st-dispatch --loop did not end cleanly on SIGTERM"

# --- d. no password anywhere ---------------------------------------------------------

for a in alice bob carol; do
	as "$a"
	ST_GOT=$(st_req GET "/job?limit=50")
	st_check_status 200 "$a: GET /job"
	cp "$T/resp.body" "$T/answers/list-$a.json"
done
DUMP=$(dirname "$ST_MARIADB_CLIENT")/mariadb-dump
[ -x "$DUMP" ] || DUMP=$(command -v mariadb-dump || command -v mysqldump || :)
[ -n "$DUMP" ] || st_skip "mariadb-dump is not installed"
"$DUMP" --no-defaults -S "$DB_SOCK" -uroot singularity >"$T/dump.sql" || st_fail "mariadb-dump"
"$DUMP" --no-defaults -S "$DB_SOCK" -uroot --hex-blob singularity >"$T/dump-hex.sql" ||
    st_fail "mariadb-dump --hex-blob"
grep -q 'INSERT INTO `registry_credentials`' "$T/dump.sql" || st_fail "the dump holds no registry credentials"
grep -q "with the account's credentials" "$T/singularity.log" ||
    st_fail "the log file has no pull line: is it the dispatcher's log?"
# Each secret's random part: in clear, in hex, in base64 (standard and
# URL-safe, at each of the three alignments: what an X-Registry-Auth value
# holding it would contain). leaks FILE...: fails when one holds one.
leaks() {
	python3 - "$PW_RAND" "$BAD_RAND" -- "$@" <<'EOF'
import base64, sys
args = sys.argv[1:]
secrets, files = args[:args.index("--")], args[args.index("--") + 1:]
needles = []
for s in secrets:
    b = s.encode()
    needles += [("clear", b), ("hex", b.hex().encode()), ("HEX", b.hex().upper().encode())]
    for k in range(3):
        for name, enc in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            e = enc(b"\0" * k + b)
            start = 4 if k else 0
            stop = len(e) if (k + len(b)) % 3 == 0 else len(e) - 4
            needles.append((name, e[start:stop]))
bad = 0
for f in files:
    try:
        data = open(f, "rb").read()
    except FileNotFoundError:
        continue
    for name, n in needles:
        if n in data:
            print("%s: a password in %s" % (f, name), file=sys.stderr)
            bad = 1
sys.exit(bad)
EOF
}
# The scan finds what it looks for: an X-Registry-Auth value of each
# password, each password JSON-escaped, bob's in hex.
st_registry_auth robot "$PW" >"$T/canary1"
python3 -c 'import base64, json, sys
print(base64.b64encode(json.dumps({"username": "bob-robot", "password": sys.argv[1]}).encode()).decode())' \
    "$BAD_PW" >"$T/canary2"
python3 -c 'import json, sys; print(json.dumps({"p": sys.argv[1]}))' "$PW" >"$T/canary3"
printf '%s' "$BAD_PW" | od -An -tx1 | tr -d ' \n' >"$T/canary4"
for c in 1 2 3 4; do
	! leaks "$T/canary$c" 2>/dev/null || st_fail "the leak scan misses canary $c"
done
leaks "$T"/answers/*.json "$T/singularity.log" "$T/dispatch.out" \
    "$T/lighttpd-error.log" "$T/dump.sql" "$T/dump-hex.sql" || st_fail "a password leaked"
st_ok "no password (clear, hex, base64) in $(ls "$T/answers" | wc -l) API answers, the log, the dispatcher's output, lighttpd's log or a mariadb-dump"
