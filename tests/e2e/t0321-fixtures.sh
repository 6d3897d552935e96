#!/bin/bash
# The fixtures of the dispatcher's pull and slow-engine tests, pinned:
# a private registry (TLS, htpasswd) that an engine of st_dockerd_start
# pulls from with the right credentials only, a throttle proxy whose pull
# takes the time its byte rate implies (and whose --delay holds every
# connection), and an engine that never answers, on a unix socket and on
# TCP. Everything through the Engine API directly, with curl.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/docker.sh"
. "$top_srcdir/tests/lib/registry.sh"
. "$top_srcdir/tests/lib/netfaults.sh"

st_init t0321-fixtures
command -v python3 >/dev/null || st_skip "python3 not installed"

RATE=204800			# 200 KiB/s
PAD_MIB=3

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# pull SOCK REF [AUTH]: POST /images/create?fromImage=REF (REF is
# HOST:PORT/REPO:TAG), the body in $T/pull.out; prints "ok" when the engine
# answered 200 with no error in its stream, else the error's message.
pull() {
	local sock=$1 ref=$2 code
	local -a hdr=()
	[ -z "${3:-}" ] || hdr=(-H "X-Registry-Auth: $3")
	code=$(st_dk "$sock" POST "/images/create?fromImage=${ref%:*}&tag=${ref##*:}" \
	    "${hdr[@]}" -o "$T/pull.out" -w '%{http_code}') || st_fail "pull $ref: curl failed"
	python3 - "$T/pull.out" "$code" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
if sys.argv[2] != "200":
    try:
        print(json.loads(text)["message"])
    except Exception:
        print("HTTP %s: %s" % (sys.argv[2], text[:300]))
    sys.exit(0)
dec, pos, err = json.JSONDecoder(), 0, None
while pos < len(text):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    obj, pos = dec.raw_decode(text, pos)
    if "error" in obj:
        err = obj["error"]
print(err if err else "ok")
PY
}

# has_image SOCK REF: the engine holds REF.
has_image() {
	[ "$(st_dk "$1" GET "/images/$2/json" -o /dev/null -w '%{http_code}')" = 200 ]
}

# The registry, with credentials; its password needs JSON escaping.
st_registry_start --auth 'alice:s3cret "pass"'
[ -n "$REG_ADDR" ] && [ -f "$REG_CA" ] && [ "$REG_USER" = alice ] &&
    [ "$REG_PASS" = 's3cret "pass"' ] || st_fail "st_registry_start: REG_* not set"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$REG_CA" "https://$REG_ADDR/v2/")
st_expect_eq "$code" 401 "/v2/ without credentials"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$REG_CA" \
    -u "$REG_USER:$REG_PASS" "https://$REG_ADDR/v2/")
st_expect_eq "$code" 200 "/v2/ with credentials"
st_ok "registry on $REG_ADDR: TLS verified with REG_CA, 401 without and 200 with credentials"

# An engine; ST_DOCKERD_ARGS reaches dockerd. 127.0.0.0/8 is insecure to
# dockerd anyway (registry.sh): that is what lets it reach the registry
# and the proxies below, so it is pinned too.
ST_DOCKERD_ARGS="--insecure-registry $REG_ADDR" st_dockerd_start a
SOCK=$DK_SOCK
st_dk "$SOCK" GET /info | python3 -c '
import json, sys
r = json.load(sys.stdin)["RegistryConfig"]
assert "127.0.0.0/8" in r["InsecureRegistryCIDRs"], r
ic = r["IndexConfigs"].get(sys.argv[1])
assert ic is not None and ic["Secure"] is False, r' "$REG_ADDR" ||
    st_fail "the engine's RegistryConfig: $(st_dk "$SOCK" GET /info)"
st_ok "ST_DOCKERD_ARGS reach dockerd; 127.0.0.0/8 is an insecure registry range"

# Push, then nothing of it left on the engine.
st_test_image st/small:1 "$SOCK"
IMAGE_ID=$(st_dk "$SOCK" GET /images/st/small:1/json | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
st_registry_push "$SOCK" st/small:1 st/small:1
case $REG_DIGEST in
sha256:????????????????????????????????????????????????????????????????) ;;
*) st_fail "st_registry_push: REG_DIGEST '$REG_DIGEST'" ;;
esac
curl -sS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" "https://$REG_ADDR/v2/_catalog" |
    grep -q '"st/small"' || st_fail "st/small is not in the registry's catalog"
st_image_rm "$SOCK" "$REG_ADDR/st/small:1"
st_image_rm "$SOCK" st/small:1
! has_image "$SOCK" "$REG_ADDR/st/small:1" || st_fail "the pushed tag is still on the engine"
st_ok "pushed st/small:1 ($REG_DIGEST) with credentials, removed from the engine"

# A push with wrong credentials fails.
st_test_image st/small:1 "$SOCK"
if (st_registry_push "$SOCK" st/small:1 st/other:1 alice wrong) 2>"$T/push.err"; then
	st_fail "a push with a wrong password succeeded"
fi
grep -q unauthorized "$T/push.err" || { cat "$T/push.err" >&2; st_fail "push refusal"; }
st_image_rm "$SOCK" "$REG_ADDR/st/other:1"
st_image_rm "$SOCK" st/small:1
st_ok "a push with a wrong password fails: $(grep -m1 -o "unauthorized[^\"]*" "$T/push.err")"

# Pulls with wrong credentials and with none are refused.
REF=$REG_ADDR/st/small:1
msg=$(pull "$SOCK" "$REF" "$(st_registry_auth alice wrong)")
case $msg in
*unauthorized*) ;;
*) st_fail "pull with a wrong password: '$msg'" ;;
esac
! has_image "$SOCK" "$REF" || st_fail "a pull with a wrong password brought the image"
grep -q 'error authenticating user \\"alice\\": authentication failure' "$REG_DIR/registry.log" ||
    st_fail "the registry logged no refusal of alice's wrong password"
st_ok "pull with a wrong password refused: $msg"

n401=$(grep -c '"GET /v2/ HTTP/1.1" 401' "$REG_DIR/registry.log")
msg=$(pull "$SOCK" "$REF")
[ "$msg" != ok ] || st_fail "a pull without credentials succeeded"
! has_image "$SOCK" "$REF" || st_fail "a pull without credentials brought the image"
[ "$(grep -c '"GET /v2/ HTTP/1.1" 401' "$REG_DIR/registry.log")" -gt "$n401" ] ||
    st_fail "the registry did not refuse the anonymous pull"
st_ok "pull without credentials refused (registry: 401 on /v2/; engine: $msg)"

# With the right credentials it succeeds: the same image as pushed.
msg=$(pull "$SOCK" "$REF" "$(st_registry_auth "$REG_USER" "$REG_PASS")")
st_expect_eq "$msg" ok "pull with the right credentials"
grep -q 'Pull complete' "$T/pull.out" || st_fail "no layer was downloaded: $(cat "$T/pull.out")"
got=$(st_dk "$SOCK" GET "/images/$REF/json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
st_expect_eq "$got" "$IMAGE_ID" "image id after the pull"
st_ok "pull with the right credentials brings back image $IMAGE_ID"

# The throttle proxy's --delay: TLS passes through (curl verifies the
# registry's certificate through it), the answer comes after the delay.
st_throttle_start --delay 2 "$REG_ADDR" 0
t0=$(now)
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$REG_CA" "https://$THROTTLE_ADDR/v2/")
t1=$(now)
st_expect_eq "$code" 401 "/v2/ through the delaying proxy"
python3 -c 'import sys; d = float(sys.argv[2]) - float(sys.argv[1]); sys.exit(not 2.0 <= d < 5.0)' "$t0" "$t1" ||
    st_fail "the delaying proxy answered after $t0..$t1, want 2 s"
st_ok "a --delay 2 proxy answers through TLS after 2 s"

# A pull of an image of several MiB through the throttle proxy at 200
# KiB/s takes the time the rate implies; directly it takes a fraction.
st_test_image_big st/big:1 "$PAD_MIB" "$SOCK"
st_registry_push "$SOCK" st/big:1 st/big:1
st_image_rm "$SOCK" "$REG_ADDR/st/big:1"
st_image_rm "$SOCK" st/big:1
BYTES=$(curl -sS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "https://$REG_ADDR/v2/st/big/manifests/1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["config"]["size"] + sum(l["size"] for l in m["layers"]))')
[ "$BYTES" -gt $((PAD_MIB * 1048576)) ] || st_fail "st/big is only $BYTES bytes in the registry"

t0=$(now)
msg=$(pull "$SOCK" "$REG_ADDR/st/big:1" "$(st_registry_auth "$REG_USER" "$REG_PASS")")
t1=$(now)
st_expect_eq "$msg" ok "direct pull of st/big"
st_image_rm "$SOCK" "$REG_ADDR/st/big:1"
DIRECT=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")

st_throttle_start "$REG_ADDR" "$RATE"
t0=$(now)
msg=$(pull "$SOCK" "$THROTTLE_ADDR/st/big:1" "$(st_registry_auth "$REG_USER" "$REG_PASS" "$THROTTLE_ADDR")")
t1=$(now)
st_expect_eq "$msg" ok "pull of st/big through the throttle proxy"
has_image "$SOCK" "$THROTTLE_ADDR/st/big:1" || st_fail "the throttled pull left no image"
read -r SLOW WANT <<<"$(python3 -c '
import sys
t0, t1, n, rate = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("%.2f %.2f" % (t1 - t0, n / rate))' "$t0" "$t1" "$BYTES" "$RATE")"
python3 -c '
import sys
slow, want, direct = map(float, sys.argv[1:4])
sys.exit(not (0.9 * want <= slow <= 1.5 * want + 3 and direct < want / 3))' \
    "$SLOW" "$WANT" "$DIRECT" ||
    st_fail "pull of $BYTES bytes: $SLOW s through the proxy at $RATE B/s (want about $WANT s), $DIRECT s directly"
st_ok "pull of $BYTES bytes at $RATE B/s took $SLOW s (rate implies $WANT s; directly $DIRECT s)"

# The hanging engine: connections accepted, never a byte back.
for mode in unix tcp; do
	st_hang_start "$mode"
	t0=$(now)
	rc=0
	if [ "$mode" = unix ]; then
		case $HANG_ENDPOINT in
		"unix://$HANG_SOCK") ;;
		*) st_fail "HANG_ENDPOINT '$HANG_ENDPOINT' for socket '$HANG_SOCK'" ;;
		esac
		[ "${#HANG_SOCK}" -lt 108 ] || st_fail "hang socket path too long: $HANG_SOCK"
		curl -sS --max-time 2 --unix-socket "$HANG_SOCK" \
		    http://localhost/v1.41/_ping >"$T/hang.out" 2>"$T/hang.err" || rc=$?
	else
		case $HANG_ENDPOINT in
		tcp://127.0.0.1:[0-9]*) ;;
		*) st_fail "HANG_ENDPOINT '$HANG_ENDPOINT'" ;;
		esac
		curl -sS --max-time 2 "http://${HANG_ENDPOINT#tcp://}/v1.41/_ping" \
		    >"$T/hang.out" 2>"$T/hang.err" || rc=$?
	fi
	t1=$(now)
	st_expect_eq "$rc" 28 "curl's exit code against the hanging $mode engine ($(cat "$T/hang.err"))"
	[ ! -s "$T/hang.out" ] || st_fail "the hanging engine answered: $(cat "$T/hang.out")"
	python3 -c 'import sys; d = float(sys.argv[2]) - float(sys.argv[1]); sys.exit(not 1.9 <= d < 4.0)' "$t0" "$t1" ||
	    st_fail "curl --max-time 2 against the hanging $mode engine took $t0..$t1"
	st_ok "hanging $mode engine ($HANG_ENDPOINT): no answer, curl times out after 2 s"
done
