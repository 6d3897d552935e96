#!/bin/bash
# singularity-cli (issue 6): the request it signs checked against a
# signature made by `openssl dgst` for the same request (recorded by a tiny
# Python listener), --help of every command, usage errors, and every
# command's error paths through lighttpd over HTTPS with the real MariaDB:
# no configuration (2), a bad secret (3), an unknown id (4), a server that
# is down or failing (5, with a readable message), an untrusted certificate.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0400-cli
command -v python3 >/dev/null || st_skip "python3 not installed"

# Every command and the operands it needs to reach the server.
NOID=00000000-0000-4000-8000-000000000000
printf '[{"command": "true", "image": "busybox", "image_tag": "latest", "data_set_id": "x"}]' >"$T/jobs.json"
mkdir -p "$T/empty"
COMMANDS=(
	"whoami"
	"batch create --from-file $T/jobs.json --cpus 1 --mode pilot"
	"batch status"
	"batch status $NOID"
	"batch summary"
	"batch cancel $NOID"
	"batch wait $NOID --timeout 5 --interval 0.2"
	"job status"
	"job status $NOID"
	"job cancel $NOID"
	"job log $NOID"
	"dataset add nosuch $T/empty --pilot-count 1"
	"dataset summary nosuch"
	"dataset list"
	"model download $NOID --download-path $T/model.zip"
	"leaderboard $NOID"
	"registry list"
	"registry remove nosuch.example.com"
)
# Those naming something that does not exist: 404.
NOTFOUND=(
	"batch status $NOID"
	"batch cancel $NOID"
	"batch wait $NOID --timeout 5 --interval 0.2"
	"job status $NOID"
	"job cancel $NOID"
	"job log $NOID"
	"job log $NOID --follow"
	"dataset summary nosuch"
	"model download $NOID --download-path $T/model.zip"
	"model download $NOID $NOID --download-path $T/model.zip"
	"leaderboard $NOID"
	"registry remove nosuch.example.com"
)

# --- --help and usage -----------------------------------------------------------

for c in ping whoami "batch create" "batch status" "batch summary" "batch cancel" \
    "batch wait" "job status" "job cancel" "job log" "dataset add" \
    "dataset summary" "dataset list" "model download" leaderboard \
    "registry add" "registry list" "registry remove"; do
	# shellcheck disable=SC2086
	cli_run 0 $c --help
	grep -q "^usage: singularity-cli $c" "$T/out" || st_fail "$c --help: $(head -3 "$T/out")"
done
cli_run 0 --help
grep -q 'singularity-cli leaderboard' "$T/out" || st_fail "--help lists no commands"
cli_run 0 batch --help
grep -q 'singularity-cli batch wait' "$T/out" || st_fail "batch --help"
cli_run 0 --version
st_ok "--help on every command"

cli_run 2
cli_run 2 frobnicate
cli_run 2 batch
cli_run 2 batch frobnicate
cli_run 2 whoami --frob
grep -q 'unknown option --frob' "$T/err" || st_fail "unknown option: $(cat "$T/err")"
cli_run 2 batch status a b
cli_run 2 batch create --cpus 1 --mode pilot
cli_run 2 batch create --from-file "$T/jobs.json" --cpus 0 --mode pilot
cli_run 2 batch create --from-file "$T/jobs.json" --cpus 1 --gpus 1.5 --mode pilot
cli_run 2 batch create --from-file "$T/jobs.json" --cpus 1 --mode trial
cli_run 2 batch summary --since 2024-13-01
cli_run 2 batch wait
cli_run 2 batch wait "$NOID" --timeout -1
cli_run 2 job log
cli_run 2 model download "$NOID"
cli_run 2 leaderboard "$NOID" --top 0
cli_run 2 whoami --api-key
cli_run 2 registry
cli_run 2 registry add --username u --password-stdin
cli_run 2 registry add r.example --password-stdin
cli_run 2 registry add r.example --username u
grep -q -- '--password-stdin is needed' "$T/err" || st_fail "registry add without --password-stdin: $(cat "$T/err")"
cli_run 2 registry add r.example --username u --password p
cli_run 2 registry remove
cli_run 2 registry list x
st_ok "usage errors exit 2"

# --- no configuration -------------------------------------------------------------

mkdir -p "$T/home"
for c in "${COMMANDS[@]}"; do
	# shellcheck disable=SC2086
	HOME=$T/home SINGULARITY_CONFIG_PATH= cli_run 2 $c
	grep -q 'no configuration: write api_key and secret to .*/.singularity/config.json' "$T/err" ||
	    st_fail "$c without configuration: $(cat "$T/err")"
done
mkdir -p "$T/badconf"
printf '{"api_key": ' >"$T/badconf/config.json"
SINGULARITY_CONFIG_PATH=$T/badconf cli_run 2 whoami
grep -q 'badconf/config.json: not valid JSON' "$T/err" || st_fail "bad JSON: $(cat "$T/err")"
printf '{"api_key": "xyz", "secret": "s"}' >"$T/badconf/config.json"
SINGULARITY_CONFIG_PATH=$T/badconf cli_run 2 whoami
grep -q 'api_key must be 32 hexadecimal digits' "$T/err" || st_fail "bad key: $(cat "$T/err")"
printf '{"api_key": 5}' >"$T/badconf/config.json"
SINGULARITY_CONFIG_PATH=$T/badconf cli_run 2 whoami
printf '{"api_key": "%s", "secret": "s", "api_url": "ftp://x"}' "$(printf '%032d' 0)" >"$T/badconf/config.json"
SINGULARITY_CONFIG_PATH=$T/badconf cli_run 2 whoami
grep -q 'api_url must look like' "$T/err" || st_fail "bad URL: $(cat "$T/err")"
st_ok "no or bad configuration: exit 2 saying what to write where"

# --- the signature, against openssl dgst -------------------------------------------

REC_PORT=$(st_free_port)
cat >"$T/recorder.py" <<'EOF'
import http.server, json, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("latin-1")}) + "\n")
        out = b'{"account": "rec", "api_key": "k", "created_at": "2026-01-01T00:00:00", "batch_uuid": "b", "successful": 1, "failed": 0}'
        if self.path.endswith("/ping"):
            out = b"pong"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_DELETE = answer
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
setsid python3 "$T/recorder.py" "$REC_PORT" "$T/requests.log" >"$T/recorder.out" 2>&1 &
st_track_pid $!
st_wait_port "$REC_PORT"
API_KEY=$(openssl rand -hex 16)
API_SECRET=$(openssl rand -hex 32)
REC="--api-url http://127.0.0.1:$REC_PORT/api/v1/ --api-key $API_KEY --secret $API_SECRET"
# shellcheck disable=SC2086
{
	cli_run 0 $REC whoami
	cli_run 0 $REC batch create --from-file "$T/jobs.json" --cpus 0.5 --gpus 1 --mode PILOT
	cli_run 0 $REC job cancel 'a b/c'
	cli_run 0 $REC batch summary --since 2026-01-01
	cli_run 0 $REC ping
	cli_run 0 $REC registry remove '[::1]:5000'
	printf 'tok\"en\n' | "$ST_CLI" $REC registry add r.example:5000 --username ci --password-stdin \
	    >"$T/out" 2>"$T/err" || st_fail "registry add to the recorder: $(cat "$T/err")"
}
python3 - "$T/requests.log" >"$T/reqs.txt" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["method"], r["path"], r["headers"].get("x-singularity-apikey", "-"),
          r["headers"].get("x-singularity-timestamp", "-"),
          r["headers"].get("x-singularity-signature", "-"),
          len(r["body"]), json.dumps(r["body"]))
EOF
[ "$(wc -l <"$T/reqs.txt")" = 7 ] || st_fail "recorded: $(cat "$T/reqs.txt")"
i=0
while read -r method path key ts sig len body; do
	i=$((i + 1))
	if [ "$path" = /api/v1/ping ]; then
		[ "$key" = - ] && [ "$sig" = - ] || st_fail "GET /ping was signed"
		continue
	fi
	st_expect_eq "$key" "$API_KEY" "api key of request $i"
	now=$(date +%s)
	[ "$ts" -le "$now" ] && [ "$ts" -ge $((now - 60)) ] || st_fail "timestamp $ts (now $now)"
	python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]))' "$body" >"$T/body.$i"
	want=$(st_sign "$method" "$path" "$([ "$len" = 0 ] || echo "$T/body.$i")" "$ts")
	st_expect_eq "$sig" "$want" "signature of $method $path"
done <"$T/reqs.txt"
grep -q '^DELETE /api/v1/job/a%20b%2Fc ' "$T/reqs.txt" || st_fail "id not escaped: $(cat "$T/reqs.txt")"
grep -q '^GET /api/v1/batch?limit=1000 ' "$T/reqs.txt" || st_fail "summary query: $(cat "$T/reqs.txt")"
grep -q '^DELETE /api/v1/account/registries/%5B%3A%3A1%5D%3A5000 ' "$T/reqs.txt" ||
    st_fail "registry remove: server not escaped: $(cat "$T/reqs.txt")"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b == {"server": "r.example:5000", "username": "ci", "password": "tok\"en"}, b' "$T/body.7" ||
    st_fail "registry add body: $(cat "$T/body.7")"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b == {"mode": "pilot", "jobs": [{"command": "true", "image": "busybox",
    "image_tag": "latest", "data_set_id": "x"}], "requisitions": {"cpu": 0.5, "gpu": 1}}, b' "$T/body.2" ||
    st_fail "batch body: $(cat "$T/body.2")"
st_ok "6 signed requests equal to openssl dgst -sha512 -hmac over METHOD, path with prefix, body, timestamp"

# --- the real server ---------------------------------------------------------------

st_mariadb_start
st_db_setup
st_account dave
st_lighttpd_start
st_cli_config

cli_run 0 ping
grep -q "^pong from https://127.0.0.1:$HTTPS_PORT in " "$T/out" || st_fail "ping: $(cat "$T/out")"
cli_run 0 --json ping
st_expect_eq "$(cat "$T/out")" pong "ping --json"
cli_run 0 whoami
grep -q '^account     dave$' "$T/out" || st_fail "whoami: $(cat "$T/out")"
grep -q "^api_key     $API_KEY\$" "$T/out" || st_fail "whoami key: $(cat "$T/out")"
cli_run 0 --json whoami
ST_GOT=$(st_req GET /account)
st_expect_eq "$(cat "$T/out")" "$(cat "$T/resp.body")" "whoami --json is the server's answer"
st_ok "ping and whoami through lighttpd over HTTPS"

# Unknown ids: 404, the server's sentence.
for c in "${NOTFOUND[@]}"; do
	# shellcheck disable=SC2086
	cli_run 4 $c
	grep -q '(404 [a-z_]*)' "$T/err" || st_fail "$c: $(cat "$T/err")"
done
[ ! -e "$T/model.zip" ] && [ ! -e "$T/model.zip.part" ] || st_fail "a 404 model left a file"
st_ok "unknown ids: exit 4 with the server's error sentence"

# A bad secret: 401 for every command.
good=$API_SECRET
for c in "${COMMANDS[@]}"; do
	# shellcheck disable=SC2086
	cli_run 3 --secret "$(openssl rand -hex 32)" $c
	grep -q '(401 unauthorized)' "$T/err" || st_fail "$c with a bad secret: $(cat "$T/err")"
	grep -q 'check api_key and secret' "$T/err" || st_fail "$c: no hint: $(cat "$T/err")"
done
cli_run 3 --api-key "$(openssl rand -hex 16)" whoami
st_ok "a bad secret or key: exit 3 for every command"

# An untrusted certificate: 5 with a hint.
cli_run 5 --cacert /etc/ssl/certs/ca-certificates.crt whoami
grep -q "cannot reach https://127.0.0.1:$HTTPS_PORT: .*certificate" "$T/err" || st_fail "TLS: $(cat "$T/err")"
st_ok "an untrusted server certificate: exit 5 saying so"

# The database down: the responders answer 503; exit 5 with the request id.
st_mariadb_stop
cli_run 5 whoami
grep -q '(503 unavailable), request [0-9a-f-]\{36\}' "$T/err" || st_fail "503: $(cat "$T/err")"
st_mariadb_run
st_ok "a server error: exit 5 with the sentence and the request id"

# Nothing listening: 5 for every command, a readable sentence.
DEAD=$(st_free_port)
for c in ping "${COMMANDS[@]}"; do
	# shellcheck disable=SC2086
	cli_run 5 --api-url "https://127.0.0.1:$DEAD" $c
	grep -q "cannot reach https://127.0.0.1:$DEAD: .*(is the server running, and api_url right?)" "$T/err" ||
	    st_fail "$c with the server down: $(cat "$T/err")"
	[ "$(wc -l <"$T/err")" -le 2 ] || st_fail "$c: more than a sentence: $(cat "$T/err")"
done
st_ok "server down: exit 5 for every command, one readable sentence"
