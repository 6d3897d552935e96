# registry.sh: a real private image registry for the dispatcher's tests.
#
# Sourced after harness.sh and docker.sh. The registry is Debian's
# docker-registry (distribution 2.8) on 127.0.0.1, TLS with a certificate
# of its own CA, storage under $T, optionally Basic authentication from an
# htpasswd file (bcrypt, `htpasswd -B`); stopped when the test exits.
#
#   st_registry_start [--auth USER:PASSWORD]
#                      start a registry; sets REG_ADDR (127.0.0.1:PORT),
#                      REG_CA (the CA certificate file), REG_USER and
#                      REG_PASS (empty without --auth), REG_PID, REG_DIR
#                      (its files: config.yml, data/, registry.log)
#   st_registry_auth USER PASS [SERVER]
#                      print the X-Registry-Auth value for those credentials
#                      (SERVER defaults to $REG_ADDR)
#   st_registry_push SOCK LOCAL_REF REMOTE_REF [USER PASS]
#                      tag LOCAL_REF of engine SOCK as $REG_ADDR/REMOTE_REF
#                      and push it (USER PASS default to REG_USER REG_PASS;
#                      empty: no credentials, for a registry without
#                      --auth); fails on any error of the
#                      push stream; sets REG_DIGEST (the manifest's digest).
#                      The pushed tag stays on the engine: st_image_rm it.
#   st_image_rm SOCK REF
#                      DELETE /images/REF on engine SOCK; fails unless the
#                      engine answers 200
#
# How an engine of st_dockerd_start trusts the registry. dockerd 20.10 has
# no option for its certs.d: it reads /etc/docker/certs.d, or
# $XDG_CONFIG_HOME/docker/certs.d only when it runs under RootlessKit. A
# private mount namespace can lay a per-engine directory over /etc/docker
# (verified to work), but it buys nothing here: dockerd always counts
# 127.0.0.0/8 among its insecure registries (`GET /info` shows
# RegistryConfig.InsecureRegistryCIDRs ["127.0.0.0/8"]), and for those it
# speaks TLS without verifying the certificate, whatever certs.d holds (a
# wrong CA there was verified to change nothing), then falls back to plain
# HTTP. So an engine trusts any registry or proxy on 127.0.0.1 as it is,
# with no argument and nothing machine-wide touched. `--insecure-registry
# HOST:PORT` says the same explicitly: pass it in ST_DOCKERD_ARGS (see
# docker.sh), which is what a registry on another address would need.
# NOTE: the plain-HTTP fallback colours one error: an anonymous pull from a
# registry that wants credentials fails with the fallback's message
# ("... Client sent an HTTP request to an HTTPS server."), not with the
# registry's 401; a pull with wrong credentials fails with the registry's
# "unauthorized: authentication required".

ST_REGISTRY_N=0

# The CA and the server certificate (for IP 127.0.0.1) of a registry, in DIR.
st_registry_certs() {
	local dir=$1
	(
		set -e
		cd "$dir"
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout ca.key -out ca.pem -days 30 -sha256 \
		    -subj "/CN=st-test registry CA" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
		printf '%s\n' "basicConstraints=CA:FALSE" \
		    "keyUsage=critical,digitalSignature,keyAgreement" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=IP:127.0.0.1" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out server.pem -days 30 -sha256 \
		    -extfile server.ext 2>/dev/null
		rm -f server.csr server.ext ca.srl
		chmod 600 ca.key server.key
	) || st_fail "openssl failed to make the registry certificates"
}

# st_registry_start [--auth USER:PASSWORD]
st_registry_start() {
	local auth="" dir port i code want=200
	case ${1:-} in
	--auth) auth=${2:?st_registry_start: --auth USER:PASSWORD} ;;
	"") ;;
	*) st_fail "st_registry_start: unknown argument $1" ;;
	esac
	command -v docker-registry >/dev/null 2>&1 ||
	    st_skip "docker-registry is not installed (apt-get install docker-registry)"
	command -v openssl >/dev/null 2>&1 || st_skip "openssl is not installed"
	command -v curl >/dev/null 2>&1 || st_skip "curl is not installed"
	if [ -n "$auth" ]; then
		command -v htpasswd >/dev/null 2>&1 ||
		    st_skip "htpasswd is not installed (apt-get install apache2-utils)"
	fi
	ST_REGISTRY_N=$((ST_REGISTRY_N + 1))
	dir=$T/registry-$ST_REGISTRY_N
	mkdir -p "$dir/data"
	st_registry_certs "$dir"
	port=$(st_free_port)
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $dir/server.pem
    key: $dir/server.key
EOF
	REG_USER="" REG_PASS=""
	if [ -n "$auth" ]; then
		REG_USER=${auth%%:*}
		REG_PASS=${auth#*:}
		# The password on stdin (-i), never on a command line.
		printf '%s\n' "$REG_PASS" |
		    htpasswd -B -i -c "$dir/htpasswd" "$REG_USER" 2>/dev/null ||
		    st_fail "htpasswd failed"
		cat >>"$dir/config.yml" <<EOF
auth:
  htpasswd:
    realm: st-test
    path: $dir/htpasswd
EOF
		want=401
	fi
	setsid docker-registry serve "$dir/config.yml" \
	    </dev/null >"$dir/registry.log" 2>&1 &
	REG_PID=$!
	st_track_pid "$REG_PID"
	REG_ADDR=127.0.0.1:$port
	REG_CA=$dir/ca.pem
	REG_DIR=$dir
	for i in $(seq 1 150); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    --cacert "$REG_CA" "https://$REG_ADDR/v2/" 2>/dev/null) || :
		[ "$code" = "$want" ] && return 0
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$dir/registry.log" >&2
	st_fail "docker-registry does not answer /v2/ with $want (last: ${code:-none})"
}

# st_registry_auth USER PASS [SERVER]: the X-Registry-Auth header's value,
# URL-safe base64 of {"username","password","serveraddress"} (the Engine
# API's encoding; JSON made by python3 so that any password is escaped).
st_registry_auth() {
	python3 -c '
import base64, json, sys
doc = {"username": sys.argv[1], "password": sys.argv[2], "serveraddress": sys.argv[3]}
print(base64.urlsafe_b64encode(json.dumps(doc).encode()).decode())' \
	    "$1" "$2" "${3:-$REG_ADDR}"
}

# st_registry_push SOCK LOCAL_REF REMOTE_REF [USER PASS]
st_registry_push() {
	local sock=$1 local_ref=$2 remote=$3 user pass repo tag code
	local -a hdr=()
	if [ $# -ge 5 ]; then
		user=$4 pass=$5
	else
		user=${REG_USER:-} pass=${REG_PASS:-}
	fi
	repo=${remote%:*} tag=${remote##*:}
	[ "$repo" != "$remote" ] || tag=latest
	code=$(st_dk "$sock" POST "/images/$local_ref/tag?repo=$REG_ADDR/$repo&tag=$tag" \
	    -o "$T/.push.tag" -w '%{http_code}') || st_fail "tagging $local_ref failed"
	[ "$code" = 201 ] ||
	    st_fail "tagging $local_ref as $REG_ADDR/$repo:$tag: $code $(cat "$T/.push.tag")"
	# The engine wants the header on every push: "{}" when anonymous.
	if [ -n "$user" ]; then
		hdr=(-H "X-Registry-Auth: $(st_registry_auth "$user" "$pass")")
	else
		hdr=(-H "X-Registry-Auth: $(printf '{}' | base64)")
	fi
	code=$(st_dk "$sock" POST "/images/$REG_ADDR/$repo/push?tag=$tag" "${hdr[@]}" \
	    -o "$T/.push.out" -w '%{http_code}') || st_fail "pushing $REG_ADDR/$repo:$tag failed"
	# Errors come as 200 with an "error" object in the stream; the last
	# object carries the digest when all went well.
	REG_DIGEST=$(python3 - "$T/.push.out" "$code" <<'PY'
import json, sys
code = sys.argv[2]
digest = None
with open(sys.argv[1]) as f:
    text = f.read()
if code != "200":
    sys.exit("push answered %s: %s" % (code, text[:500]))
dec = json.JSONDecoder()
pos = 0
while pos < len(text):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    obj, pos = dec.raw_decode(text, pos)
    if "error" in obj or "errorDetail" in obj:
        sys.exit("push failed: %s" % json.dumps(obj))
    digest = (obj.get("aux") or {}).get("Digest", digest)
if not digest:
    sys.exit("push stream ended without a digest: %s" % text[-500:])
print(digest)
PY
	) || st_fail "pushing $local_ref to $REG_ADDR/$repo:$tag"
}

# st_image_rm SOCK REF
st_image_rm() {
	local code
	code=$(st_dk "$1" DELETE "/images/$2" -o "$T/.image-rm.out" -w '%{http_code}') ||
	    st_fail "removing image $2 failed"
	[ "$code" = 200 ] || st_fail "removing image $2: $code $(cat "$T/.image-rm.out")"
}
