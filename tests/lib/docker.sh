# docker.sh: real Docker Engines for the dispatcher's end-to-end tests.
#
# Sourced after harness.sh. Each engine is a private dockerd (its own
# socket, data-root, exec-root and pidfile; no iptables, no bridge, vfs
# storage) stopped when the test exits, its containers removed first.
#
#   st_dockerd_start NAME [tls]  start an engine; sets DK_SOCK (unix socket,
#                                always there), DK_ENDPOINT (what to register:
#                                unix://$DK_SOCK, or tcp://127.0.0.1:PORT with
#                                TLS), DK_TLS_CA DK_TLS_CERT DK_TLS_KEY (client
#                                files, tls only), DK_PID, DK_PORT; the words
#                                of ST_DOCKERD_ARGS (unset: none) are added to
#                                dockerd's arguments, e.g.
#                                ST_DOCKERD_ARGS="--insecure-registry H:P"
#   st_dockerd_stop SOCK         stop the engine of SOCK (containers die too)
#   st_dk SOCK METHOD PATH [curl args]   call the Engine API (v1.41) of SOCK
#   st_test_image NAME:TAG [SOCK]        import the test image (busybox-static
#                                        and tests/e2e/train.sh as /train.sh)
#   st_test_image_big NAME:TAG MIB [SOCK]   the same plus /pad.bin, MIB MiB of
#                                        random bytes (no gzip shrinks it): an
#                                        image whose pull takes measurable time
#   st_dk_watch SOCK             stream SOCK's container start events from
#                                now on (for st_dk_starts)
#   st_dk_starts SOCK NAME       how many times container NAME was started
#                                (the st_dk_watch stream, else the engine's
#                                last 256 events)

ST_DOCKERDS=""		# "sock:pid:execroot ..." of every engine started

# st_dk SOCK METHOD PATH [ARGS...]: the answer's body on stdout.
st_dk() {
	local sock=$1 method=$2 path=$3
	shift 3
	curl -sS --max-time 120 --unix-socket "$sock" -X "$method" "$@" \
	    "http://localhost/v1.41$path"
}

# The client and server certificates of a TLS engine, in DIR.
st_docker_certs() {
	local dir=$1
	mkdir -p "$dir"
	(
		set -e
		cd "$dir"
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout ca.key -out ca.pem -days 30 -sha256 \
		    -subj "/CN=st-test docker CA" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
		printf '%s\n' "basicConstraints=CA:FALSE" \
		    "keyUsage=critical,digitalSignature,keyAgreement" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out server.pem -days 30 -sha256 \
		    -extfile server.ext 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout client.key -out client.csr -subj "/CN=st-dispatch" 2>/dev/null
		printf '%s\n' "basicConstraints=CA:FALSE" \
		    "keyUsage=critical,digitalSignature,keyAgreement" \
		    "extendedKeyUsage=clientAuth" >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out client.pem -days 30 -sha256 \
		    -extfile client.ext 2>/dev/null
		rm -f server.csr client.csr server.ext client.ext ca.srl
		chmod 600 ca.key server.key client.key
	) || st_fail "openssl failed to make the Docker TLS certificates"
}

# st_dockerd_start NAME [tls]
st_dockerd_start() {
	local name=$1 mode=${2:-unix} short data i hosts port=""
	command -v dockerd >/dev/null 2>&1 ||
	    st_skip "dockerd is not installed (apt-get install docker.io)"
	command -v curl >/dev/null 2>&1 || st_skip "curl is not installed"
	[ "$(id -u)" = 0 ] || st_skip "dockerd needs root"
	if [ -z "$ST_DOCKERDS" ]; then
		trap 'ST_RC=$?; st_docker_cleanup; (exit $ST_RC); st_cleanup' EXIT
	fi
	# Unix socket paths are limited to 108 bytes, and containerd puts its
	# own sockets below the exec-root: both live in a short directory.
	short=$(mktemp -d /tmp/st-dk.XXXXXX)
	ST_EXTRA_DIRS="$ST_EXTRA_DIRS $short"
	data=$T/docker-$name
	mkdir -p "$data"
	hosts="-H unix://$short/d.sock"
	if [ "$mode" = tls ]; then
		st_docker_certs "$T/docker-$name-tls"
		port=$(st_free_port)
		hosts="$hosts -H tcp://127.0.0.1:$port --tlsverify
		    --tlscacert=$T/docker-$name-tls/ca.pem
		    --tlscert=$T/docker-$name-tls/server.pem
		    --tlskey=$T/docker-$name-tls/server.key"
	fi
	# shellcheck disable=SC2086 # the host options and ST_DOCKERD_ARGS are words
	setsid dockerd --iptables=false --ip6tables=false --bridge=none \
	    --storage-driver=vfs --data-root="$data" --exec-root="$short/x" \
	    --pidfile="$short/d.pid" $hosts ${ST_DOCKERD_ARGS:-} \
	    </dev/null >"$T/docker-$name.log" 2>&1 &
	DK_PID=$!
	st_track_pid "$DK_PID"
	DK_SOCK=$short/d.sock
	ST_DOCKERDS="$ST_DOCKERDS $DK_SOCK:$DK_PID:$short/x"
	for i in $(seq 1 300); do
		if [ -S "$DK_SOCK" ] &&
		    [ "$(st_dk "$DK_SOCK" GET /_ping 2>/dev/null)" = OK ]; then
			break
		fi
		kill -0 "$DK_PID" 2>/dev/null ||
		    { tail -20 "$T/docker-$name.log" >&2; st_fail "dockerd $name died"; }
		sleep 0.1
	done
	[ "$(st_dk "$DK_SOCK" GET /_ping 2>/dev/null)" = OK ] ||
	    { tail -20 "$T/docker-$name.log" >&2; st_fail "dockerd $name does not answer"; }
	DK_PORT=$port
	if [ "$mode" = tls ]; then
		st_wait_port "$port" 20
		DK_ENDPOINT=tcp://127.0.0.1:$port
		DK_TLS_CA=$T/docker-$name-tls/ca.pem
		DK_TLS_CERT=$T/docker-$name-tls/client.pem
		DK_TLS_KEY=$T/docker-$name-tls/client.key
	else
		DK_ENDPOINT=unix://$DK_SOCK
		DK_TLS_CA="" DK_TLS_CERT="" DK_TLS_KEY=""
	fi
}

# st_dockerd_stop SOCK: stop that engine (its containers die with it).
st_dockerd_stop() {
	local e sock pid i
	for e in $ST_DOCKERDS; do
		sock=${e%%:*}
		[ "$sock" = "$1" ] || continue
		pid=${e#*:}
		pid=${pid%%:*}
		kill -TERM "$pid" 2>/dev/null || :
		for i in $(seq 1 200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	done
}

# On exit: every container of every engine removed, the engines stopped,
# and any containerd shim left under their exec-roots ended (by PID).
st_docker_cleanup() {
	local e sock pid xroot ids id p
	set +e
	for e in $ST_DOCKERDS; do
		sock=${e%%:*}
		[ -S "$sock" ] || continue
		ids=$(st_dk "$sock" GET '/containers/json?all=1' 2>/dev/null |
		    grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
		for id in $ids; do
			st_dk "$sock" DELETE "/containers/$id?force=1" >/dev/null 2>&1
		done
	done
	for e in $ST_DOCKERDS; do
		st_dockerd_stop "${e%%:*}"
	done
	for e in $ST_DOCKERDS; do
		xroot=${e##*:}
		for p in /proc/[0-9]*; do
			pid=${p#/proc/}
			tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$xroot" &&
			    kill -KILL "$pid" 2>/dev/null
		done
	done
	# NOTE: no `set -e` again: the EXIT trap goes on to st_cleanup.
}

# The root file system of the test images in $T/image-root: busybox-static,
# its applet links and /train.sh (made once per test).
st_test_root() {
	local root=$T/image-root bb a
	[ -f "$root/.done" ] && return 0
	bb=$(command -v busybox || :)
	[ -n "$bb" ] || st_skip "busybox is not installed (apt-get install busybox-static)"
	file -L "$bb" 2>/dev/null | grep -q 'dynamically' &&
	    st_skip "busybox is not static (apt-get install busybox-static)"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/tmp" "$root/data" "$root/output"
	chmod 1777 "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	cp "$top_srcdir/tests/e2e/train.sh" "$root/train.sh"
	chmod 755 "$root/train.sh"
	: >"$root/.done"
}

# st_image_import REF TAR SOCK: TAR imported as the one-layer image REF.
st_image_import() {
	local ref=$1 tar=$2 sock=$3 out
	out=$(st_dk "$sock" POST \
	    "/images/create?fromSrc=-&repo=${ref%:*}&tag=${ref##*:}" \
	    -H 'Content-Type: application/x-tar' --data-binary @"$tar") ||
	    st_fail "importing $ref failed"
	case $out in
	*error*) st_fail "importing $ref: $out" ;;
	esac
}

# st_test_image NAME:TAG [SOCK]: a root file system of busybox-static, its
# applet links and /train.sh, imported as NAME:TAG.
st_test_image() {
	local ref=$1 sock=${2:-$DK_SOCK}
	st_test_root
	if [ ! -f "$T/image.tar" ]; then
		tar -C "$T/image-root" --exclude=./.done -cf "$T/image.tar" .
	fi
	st_image_import "$ref" "$T/image.tar" "$sock"
}

# st_test_image_big NAME:TAG MIB [SOCK]: the test image plus /pad.bin, MIB
# MiB of random bytes, imported as NAME:TAG (one layer). Random, so that a
# push still sends about MIB MiB after gzip: a pull of it takes a time
# that a byte rate decides.
st_test_image_big() {
	local ref=$1 mib=$2 sock=${3:-$DK_SOCK} pad=$T/image-pad-$2
	st_test_root
	if [ ! -f "$T/image-big-$mib.tar" ]; then
		mkdir -p "$pad"
		head -c "$((mib * 1048576))" /dev/urandom >"$pad/pad.bin"
		tar -cf "$T/image-big-$mib.tar" -C "$T/image-root" --exclude=./.done . \
		    -C "$pad" ./pad.bin
	fi
	st_image_import "$ref" "$T/image-big-$mib.tar" "$sock"
}

# st_dk_watch SOCK: stream the engine's container start events from now on
# into a file that st_dk_starts then counts from. An engine keeps only its
# last 256 events, and an OOM-killed container alone can make dozens, so a
# test that counts starts after OOM kills must watch from the beginning.
st_dk_watch() {
	local f
	f=$T/starts.$(printf '%s' "$1" | md5sum | cut -c1-12)
	: >"$f"
	curl -sS -N --unix-socket "$1" \
	    "http://localhost/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D" \
	    >>"$f" 2>/dev/null &
	st_track_pid $!
}

# st_dk_starts SOCK NAME: the number of "start" events of container NAME:
# from the st_dk_watch stream of SOCK when there is one, else from what the
# engine still keeps.
st_dk_starts() {
	local now f
	f=$T/starts.$(printf '%s' "$1" | md5sum | cut -c1-12)
	if [ -f "$f" ]; then
		# A start of the last second may still be on its way.
		[ $(( $(date +%s) - $(stat -c %Y "$f") )) -ge 2 ] || sleep 1
		grep -o "\"name\":\"$2\"" "$f" | wc -l
		return
	fi
	now=$(date +%s)
	st_dk "$1" GET "/events?since=0&until=$now&filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B%22start%22%5D%7D" |
	    grep -o "\"name\":\"$2\"" | wc -l
}

# --- data sets and batches made with SQL (no web server needed) -------------
#
#   st_sql QUERY                      the singularity database, tab-separated
#   st_dataset ACCOUNT NAME PILOTS SHARDS
#                                     a set with PILOTS pilots and SHARDS
#                                     shards (shard i joins pilot i % PILOTS),
#                                     files in the blob store; sets DS_ID,
#                                     DS_UUID, PILOT_IDS, PILOT_UUIDS (space
#                                     separated) and writes the expected
#                                     "sum count" of the set and of each pilot
#                                     to $T/expect/<dataset id>; with
#                                     ST_SHARD_PAD_KIB set, each shard also
#                                     holds that many KiB of padding text
#                                     (shards that take time to move)
#   st_batch ACCOUNT MODE CPU GPU RAM_GB   a new batch; sets BATCH_ID, BATCH_UUID
#   st_job DATASET_ID IMAGE TAG COMMAND    a QUEUED job in it; sets JOB_ID,
#                                          JOB_UUID and appends to JOB_IDS

st_sql() {
	st_mysql -N -B singularity -e "$1"
}

st_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# st_make_shard FILE SEED COUNT [PAD_KIB]: a zip holding numbers.txt (COUNT
# numbers drawn from SEED) and, with PAD_KIB > 0, pad.txt: PAD_KIB KiB of
# random base64 in lines that begin with '#' and a final newline (no line
# of it is a number nor runs into the next file's first one, so
# train.sh's sum and count stay those of numbers.txt; stored, not deflated,
# so the shard is as large as that); prints "sum count".
st_make_shard() {
	python3 - "$1" "$2" "$3" "${4:-0}" <<'PY'
import base64, os, random, sys, zipfile
rnd = random.Random(int(sys.argv[2]))
nums = [rnd.randint(1, 100000) for _ in range(int(sys.argv[3]))]
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("numbers.txt", "".join("%d\n" % n for n in nums))
    pad = int(sys.argv[4]) * 1024
    if pad > 0:
        b64 = base64.b64encode(os.urandom(pad * 3 // 4 + 3)).decode()
        lines = ["#" + b64[i:i + 75] for i in range(0, pad, 76)]
        # Ends with a newline: train.sh reads the files concatenated.
        z.writestr("pad.txt", ("\n".join(lines))[:pad - 1] + "\n",
                   compress_type=zipfile.ZIP_STORED)
print(sum(nums), len(nums))
PY
}

st_dataset() {
	local acct=$1 name=$2 npilots=$3 nshards=$4 aid i p sha f sc s c
	local -a psum pcount pid
	aid=$(st_sql "SELECT id FROM accounts WHERE name = '$acct'")
	DS_UUID=$(st_uuid)
	DS_ID=$(st_sql "INSERT INTO datasets (uuid, account_id, name) VALUES
	    ('$DS_UUID', $aid, '$name'); SELECT LAST_INSERT_ID();")
	PILOT_IDS="" PILOT_UUIDS=""
	for i in $(seq 0 $((npilots - 1))); do
		p=$(st_uuid)
		pid[$i]=$(st_sql "INSERT INTO datasets (uuid, account_id,
		    parent_id, pilot_index) VALUES ('$p', $aid, $DS_ID, $i);
		    SELECT LAST_INSERT_ID();")
		PILOT_IDS="$PILOT_IDS ${pid[$i]}"
		PILOT_UUIDS="$PILOT_UUIDS $p"
		psum[$i]=0 pcount[$i]=0
	done
	mkdir -p "$T/expect" "$T/shards"
	s=0 c=0
	for i in $(seq 0 $((nshards - 1))); do
		f=$T/shards/$name-$i.zip
		sc=$(st_make_shard "$f" "$((DS_ID * 1000 + i))" $((20 + i * 7)) \
		    "${ST_SHARD_PAD_KIB:-0}")
		sha=$(sha256sum "$f" | cut -d' ' -f1)
		mkdir -p "$T/store/shards/${sha:0:2}/${sha:2:2}"
		cp "$f" "$T/store/shards/${sha:0:2}/${sha:2:2}/$sha.zip"
		st_sql "INSERT INTO shards (sha256, size) VALUES ('$sha',
		    $(stat -c %s "$f")) ON DUPLICATE KEY UPDATE size = size;
		    INSERT INTO dataset_shards (dataset_id, shard_id) SELECT $DS_ID, id
		    FROM shards WHERE sha256 = '$sha';"
		s=$((s + ${sc% *})) c=$((c + ${sc#* }))
		if [ "$npilots" -gt 0 ]; then
			p=$((i % npilots))
			st_sql "INSERT INTO dataset_shards (dataset_id, shard_id)
			    SELECT ${pid[$p]}, id FROM shards WHERE sha256 = '$sha';"
			psum[$p]=$((psum[p] + ${sc% *}))
			pcount[$p]=$((pcount[p] + ${sc#* }))
		fi
	done
	echo "$s $c" >"$T/expect/$DS_ID"
	for i in $(seq 0 $((npilots - 1))); do
		echo "${psum[$i]} ${pcount[$i]}" >"$T/expect/${pid[$i]}"
	done
}

ST_JOB_IDX=0
st_batch() {
	local aid
	aid=$(st_sql "SELECT id FROM accounts WHERE name = '$1'")
	BATCH_UUID=$(st_uuid)
	BATCH_ID=$(st_sql "INSERT INTO batches (uuid, account_id, mode, cpu,
	    gpu, ram_gb) VALUES ('$BATCH_UUID', $aid, '$2', $3, $4, $5);
	    SELECT LAST_INSERT_ID();")
	BATCH_ACCOUNT=$aid BATCH_MODE=$2 BATCH_CPU=$3 BATCH_GPU=$4 BATCH_RAM=$5
	ST_JOB_IDX=0
}

st_job() {
	local cmd
	JOB_UUID=$(st_uuid)
	cmd=$(printf '%s' "$4" | sed "s/'/''/g")
	JOB_ID=$(st_sql "INSERT INTO jobs (uuid, batch_id, account_id, idx,
	    dataset_id, mode, image, image_tag, command, cpu, gpu, ram_gb)
	    VALUES ('$JOB_UUID', $BATCH_ID, $BATCH_ACCOUNT, $ST_JOB_IDX, $1,
	    '$BATCH_MODE', '$2', '$3', '$cmd', $BATCH_CPU, $BATCH_GPU, $BATCH_RAM);
	    SELECT LAST_INSERT_ID();")
	ST_JOB_IDX=$((ST_JOB_IDX + 1))
	JOB_IDS="${JOB_IDS:-} $JOB_ID"
}

# st_cancel_job ID: what DELETE /job/{id} does (jobs contract).
st_cancel_job() {
	st_sql "UPDATE jobs SET status = 'CANCELED', cancel_requested =
	    (host_id IS NOT NULL), finished_at = COALESCE(finished_at,
	    UTC_TIMESTAMP(3)), pending_reason = NULL WHERE id = $1 AND status
	    IN ('QUEUED', 'PENDING', 'PROCESSING')"
}

ST_DISPATCH="$top_builddir/src/dispatcher/st-dispatch"

# st_dispatch_until SECS SQL: run `st-dispatch --once` until SQL answers 0
# (e.g. the count of jobs not final); fails after SECS seconds.
st_dispatch_until() {
	local end=$(( $(date +%s) + $1 ))
	while :; do
		"$ST_DISPATCH" --once --verbose >>"$T/dispatch.out" 2>&1 ||
		    { tail -20 "$T/dispatch.out" >&2; st_fail "st-dispatch --once failed"; }
		[ "$(st_sql "$2")" = 0 ] && return 0
		[ "$(date +%s)" -lt "$end" ] ||
		    { tail -30 "$T/dispatch.out" >&2; st_fail "not done after $1 s: $2"; }
		sleep 0.3
	done
}
