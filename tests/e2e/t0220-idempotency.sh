#!/bin/bash
# Idempotent POSTs (issue 8) through lighttpd + mod_fastcgi over HTTPS with
# the real MariaDB: the same POST /batch twice with one Idempotency-Key
# makes one batch and the second answer is the first one replayed; 20
# concurrent sends with one key make one batch; another request with the
# key is 409; keys are per account; malformed keys are 400; a 422 is
# replayed as a 422; a shard upload (a streaming route) is stored once; a
# request still running makes a retry wait, then 409 in progress; an
# abandoned claim is taken over after the lease; a record older than 24 h
# frees its key and `st-admin gc` removes it; singularity-cli retries a
# POST whose answer was lost with the same key and makes one batch.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/e2e/batch-lib.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0220-idempotency
command -v python3 >/dev/null || st_skip "python3 not installed"
# A short wait and lease, so that the in-progress and take-over cases are
# quick to provoke.
ST_CONF_EXTRA='
[http]
idempotency_wait = 2
idempotency_lease = 5'
st_mariadb_start
st_db_setup
st_account alice
ALICE_KEY=$API_KEY ALICE_SECRET=$API_SECRET
st_account bob
BOB_KEY=$API_KEY BOB_SECRET=$API_SECRET
st_lighttpd_start

# Both accounts own a set named idem_set: one body text is valid for both.
API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET mkset idem_set 0 1
API_KEY=$ALICE_KEY API_SECRET=$ALICE_SECRET
mkset idem_set 0 1
SET=$SET_UUID

nbatches() { sql "SELECT COUNT(*) FROM batches"; }
newkey() { cat /proc/sys/kernel/random/uuid; }
# ireq KEY URI BODYFILE: a signed POST with Idempotency-Key KEY.
ireq() { st_req POST "$2" "$3" -H "Idempotency-Key: $1"; }
replayed() { st_header Idempotent-Replayed; }

# --- the same POST twice ---------------------------------------------------

batch_body production 1 0 "$(job_json idem_set)"
cp "$T/req.body" "$T/batch.json"
K1=$(newkey)
before=$(nbatches)
ST_GOT=$(ireq "$K1" /batch "$T/batch.json")
st_check_status 201 "first POST /batch with a key"
st_expect_eq "$(replayed)" "" "the first answer is not a replay"
B1=$(jv 'd["batch_uuid"]')
RID1=$(st_header X-Request-Id)
cp "$T/resp.body" "$T/first.body"
ST_GOT=$(ireq "$K1" /batch "$T/batch.json")
st_check_status 201 "the same POST /batch again"
st_expect_eq "$(replayed)" true "Idempotent-Replayed"
case $(st_header Content-Type) in application/json*) ;; *) st_fail "replayed Content-Type $(st_header Content-Type)";; esac
cmp -s "$T/first.body" "$T/resp.body" || st_fail "replayed body differs: $(cat "$T/resp.body")"
st_expect_eq "$(jv 'd["batch_uuid"]')" "$B1" "replayed batch_uuid"
[ "$(st_header X-Request-Id)" != "$RID1" ] || st_fail "the replay has the first request's id"
st_expect_eq "$(nbatches)" $((before + 1)) "one batch for two sends"
st_expect_eq "$(sql "SELECT state, status FROM idempotency_keys WHERE idem_key = '$K1'")" \
    "$(printf 'done\t201')" "the record"
want=$( { printf 'POST\n/batch\n'; cat "$T/batch.json"; } | openssl dgst -sha256 -r | cut -d' ' -f1)
st_expect_eq "$(sql "SELECT request_hash FROM idempotency_keys WHERE idem_key = '$K1'")" "$want" \
    "request_hash = SHA-256 of METHOD, URI, body"
st_ok "the same POST /batch twice with one key: one batch, the first answer replayed"

# Without a key, the same body makes a batch each time, as before.
ST_GOT=$(st_req POST /batch "$T/batch.json")
st_check_status 201 "POST /batch without a key"
[ "$(jv 'd["batch_uuid"]')" != "$B1" ] || st_fail "no key, yet the batch was replayed"
st_expect_eq "$(nbatches)" $((before + 2)) "a batch without a key"

# --- 20 concurrent sends with one key ---------------------------------------

K2=$(newkey)
batch_body production 1 0 "$(job_json idem_set "python train.py --concurrent")"
cp "$T/req.body" "$T/conc.json"
sig=$(st_sign POST /batch "$T/conc.json")
before=$(nbatches)
pids=
for i in $(seq 1 20); do
	curl -sS --cacert "$CA_FILE" --max-time 60 -o "$T/c$i.body" -D "$T/c$i.hdr" \
	    -w '%{http_code}' -X POST --data-binary "@$T/conc.json" \
	    -H 'Content-Type: application/json' -H "Idempotency-Key: $K2" \
	    -H "X-singularity-apikey: $API_KEY" -H "X-singularity-signature: $sig" \
	    "https://127.0.0.1:$HTTPS_PORT/batch" >"$T/c$i.code" 2>"$T/c$i.err" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || st_fail "a concurrent curl failed"
done
st_expect_eq "$(nbatches)" $((before + 1)) "20 concurrent sends, one batch"
uuids=$(for i in $(seq 1 20); do python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_uuid"])' "$T/c$i.body"; done | sort -u)
st_expect_eq "$(cat "$T"/c*.code | tr -d '\n' | sed 's/201//g')" "" "every concurrent answer 201"
st_expect_eq "$(echo "$uuids" | wc -l)" 1 "one batch_uuid in the 20 answers"
st_expect_eq "$(sql "SELECT b.uuid FROM batches b ORDER BY b.id DESC LIMIT 1")" "$uuids" "the batch answered"
st_expect_eq "$(grep -il '^Idempotent-Replayed: true' "$T"/c*.hdr | wc -l)" 19 "19 of the 20 answers replayed"
st_ok "20 concurrent sends with one key: one batch, 20 answers 201 with its uuid"

# --- another request with the key: 409 ------------------------------------

before=$(nbatches)
batch_body production 2 0 "$(job_json idem_set)"
ST_GOT=$(ireq "$K1" /batch "$T/req.body")
st_check_error 409 idempotency_key_reused "another body with a used key"
ST_GOT=$(ireq "$K1" /batch/ "$T/batch.json")
st_check_error 409 idempotency_key_reused "the same body to another URI"
ST_GOT=$(ireq "$K1" /data "$T/batch.json")
st_check_error 409 idempotency_key_reused "the key on another route"
st_expect_eq "$(nbatches)" "$before" "no batch for a reused key"
st_ok "another request with a used key: 409 idempotency_key_reused, nothing done"

# --- keys are per account ---------------------------------------------------

ST_GOT=$(API_KEY=$BOB_KEY API_SECRET=$BOB_SECRET ireq "$K1" /batch "$T/batch.json")
st_check_status 201 "bob with alice's key and body"
st_expect_eq "$(replayed)" "" "bob's answer is not alice's"
[ "$(jv 'd["batch_uuid"]')" != "$B1" ] || st_fail "bob got alice's batch"
st_expect_eq "$(nbatches)" $((before + 1)) "bob's batch made"
st_expect_eq "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = '$K1'")" 2 "one record per account"
st_ok "the same key from another account: a batch of its own"

# --- malformed keys: 400 ----------------------------------------------------

before=$(nbatches)
for key in "$(printf 'k%.0s' $(seq 1 256))" "a b" "caf$(printf '\303\251')"; do
	ST_GOT=$(ireq "$key" /batch "$T/batch.json")
	st_check_error 400 invalid_idempotency_key "key '${key:0:20}' (${#key} bytes)"
done
# A tab or a control byte: the responder's 400 or lighttpd's (over HTTP/2,
# lighttpd resets the stream instead).
for key in "$(printf 'a\tb')" "$(printf 'a\001b')"; do
	ST_GOT=$(st_req POST /batch "$T/batch.json" --http1.1 -H "Idempotency-Key: $key")
	[ "$ST_GOT" = 400 ] || st_fail "control byte in the key: $ST_GOT $(cat "$T/resp.body")"
done
ST_GOT=$(ireq "$(printf 'k%.0s' $(seq 1 255))" /batch "$T/batch.json")
st_check_status 201 "a key of 255 bytes"
st_expect_eq "$(nbatches)" $((before + 1)) "no batch for a malformed key"
# The header is ignored on GET.
ST_GOT=$(st_req GET /batch - -H "Idempotency-Key: a b")
st_check_status 200 "GET with a malformed key"
st_ok "malformed keys: 400 invalid_idempotency_key; 255 bytes accepted"

# --- a 4xx answer is replayed ----------------------------------------------

before=$(nbatches)
K3=$(newkey)
batch_body production 1 0 "$(job_json no_such_set)"
ST_GOT=$(ireq "$K3" /batch "$T/req.body")
st_check_error 422 no_valid_jobs "no valid job"
cp "$T/resp.body" "$T/first.body"
ST_GOT=$(ireq "$K3" /batch "$T/req.body")
st_check_error 422 no_valid_jobs "no valid job, again"
st_expect_eq "$(replayed)" true "the 422 replayed"
cmp -s "$T/first.body" "$T/resp.body" || st_fail "replayed 422 differs"
st_expect_eq "$(nbatches)" "$before" "no batch"
st_ok "a 422 answer is recorded and replayed"

# --- a shard upload (streaming route) --------------------------------------

mkzip "$T/s.zip" 4096
base64 -w0 "$T/s.zip" >"$T/s.b64"
K4=$(newkey)
shards() { sql "SELECT COUNT(*) FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id WHERE d.uuid = '$SET'"; }
nshards=$(shards)
ST_GOT=$(ireq "$K4" "/data/$SET/shard" "$T/s.b64")
st_check_status 201 "shard upload with a key"
cp "$T/resp.body" "$T/first.body"
ST_GOT=$(ireq "$K4" "/data/$SET/shard" "$T/s.b64")
st_check_status 201 "the same upload again (without the key: 200 created false)"
st_expect_eq "$(replayed)" true "the upload replayed"
cmp -s "$T/first.body" "$T/resp.body" || st_fail "replayed upload answer differs"
st_expect_eq "$(shards)" $((nshards + 1)) "one shard stored"
mkzip "$T/s2.zip" 4096
base64 -w0 "$T/s2.zip" >"$T/s2.b64"
ST_GOT=$(ireq "$K4" "/data/$SET/shard" "$T/s2.b64")
st_check_error 409 idempotency_key_reused "another shard with the key"
st_expect_eq "$(shards)" $((nshards + 1)) "no shard for a reused key"
st_ok "a shard upload (streamed body) with a key: stored once, replayed"

# --- a request still running; an abandoned one ------------------------------

# A pending record of this very request, as a responder holds while its
# handler runs: the retry waits [http] idempotency_wait (2 s), then 409.
K5=$(newkey)
hash=$( { printf 'POST\n/batch\n'; cat "$T/batch.json"; } | openssl dgst -sha256 -r | cut -d' ' -f1)
acct=$(sql "SELECT id FROM accounts WHERE name = 'alice'")
sql "INSERT INTO idempotency_keys (account_id, idem_key, request_hash) VALUES ($acct, '$K5', '$hash')"
before=$(nbatches)
t0=$(date +%s%N)
ST_GOT=$(ireq "$K5" /batch "$T/batch.json")
t1=$(date +%s%N)
st_check_error 409 idempotency_in_progress "a request with the key still running"
st_expect_eq "$(st_header Retry-After)" 1 "Retry-After"
[ $(( (t1 - t0) / 1000000 )) -ge 1900 ] || st_fail "answered after $(( (t1 - t0) / 1000000 )) ms, before the wait"
st_expect_eq "$(nbatches)" "$before" "nothing run while the first runs"
# Its responder died: past the lease (5 s) the retry takes the key over.
sql "UPDATE idempotency_keys SET updated_at = updated_at - INTERVAL 6 SECOND WHERE idem_key = '$K5'"
ST_GOT=$(ireq "$K5" /batch "$T/batch.json")
st_check_status 201 "the key taken over after the lease"
st_expect_eq "$(replayed)" "" "taken over: run, not replayed"
st_expect_eq "$(nbatches)" $((before + 1)) "the batch made by the take-over"
# The first request finishing now: it waits, then gets the answer.
K6=$(newkey)
sql "INSERT INTO idempotency_keys (account_id, idem_key, request_hash) VALUES ($acct, '$K6', '$hash')"
( sleep 1; sql "UPDATE idempotency_keys SET state = 'done', status = 202, headers = 'Content-Type: application/json\r\n', body = '{\"waited\": true}' WHERE idem_key = '$K6'" ) &
ST_GOT=$(ireq "$K6" /batch "$T/batch.json")
wait $!
st_check_status 202 "the answer of the request waited for"
st_expect_eq "$(cat "$T/resp.body")" '{"waited": true}' "its body"
st_expect_eq "$(replayed)" true "replayed"
st_ok "a key in use: the retry waits then replays, or 409 idempotency_in_progress; abandoned: taken over"

# --- the 24 h window, and st-admin gc ----------------------------------------

sql "UPDATE idempotency_keys SET created_at = created_at - INTERVAL 25 HOUR WHERE idem_key = '$K1' AND account_id = $acct"
before=$(nbatches)
ST_GOT=$(ireq "$K1" /batch "$T/batch.json")
st_check_status 201 "a key past 24 h"
st_expect_eq "$(replayed)" "" "not replayed after 24 h"
[ "$(jv 'd["batch_uuid"]')" != "$B1" ] || st_fail "the old batch replayed after 24 h"
st_expect_eq "$(nbatches)" $((before + 1)) "a new batch after 24 h"

sql "UPDATE idempotency_keys SET created_at = created_at - INTERVAL 25 HOUR WHERE idem_key IN ('$K2', '$K3')"
total=$(sql "SELECT COUNT(*) FROM idempotency_keys")
"$ST_ADMIN" gc --dry-run >"$T/gc.out" || st_fail "gc --dry-run: $(cat "$T/gc.out")"
grep -q '^gc: would remove .*, 2 idempotency records$' "$T/gc.out" || st_fail "gc --dry-run: $(cat "$T/gc.out")"
st_expect_eq "$(sql "SELECT COUNT(*) FROM idempotency_keys")" "$total" "dry run removes nothing"
"$ST_ADMIN" gc >"$T/gc.out" || st_fail "gc: $(cat "$T/gc.out")"
grep -q '^gc: removed .*, 2 idempotency records$' "$T/gc.out" || st_fail "gc: $(cat "$T/gc.out")"
st_expect_eq "$(sql "SELECT COUNT(*) FROM idempotency_keys")" $((total - 2)) "gc removed the two old records"
st_expect_eq "$(sql "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key IN ('$K2', '$K3')")" 0 "the old ones"
st_ok "a record past 24 h frees its key; st-admin gc removes old records"

# --- singularity-cli: a lost answer, retried with the same key ---------------

# A TLS proxy in front of lighttpd that forwards every request and relays
# the answers, except the first one's: that connection is closed without a
# byte of answer, after the server has done the work. It logs the method,
# path, Idempotency-Key and status of each request.
PROXY_PORT=$(st_free_port)
cat >"$T/proxy.py" <<'EOF'
import http.client, http.server, socket, ssl, sys, threading
port, upstream, cert, key, ca, log = sys.argv[1:7]
lock = threading.Lock()
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection("127.0.0.1", int(upstream), context=ctx, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        resp = c.getresponse()
        data = resp.read()
        with lock:
            seen[0] += 1
            first = seen[0] == 1
            with open(log, "a") as f:
                f.write("%s %s %s %d %s\n" % (self.command, self.path,
                    self.headers.get("Idempotency-Key", "-"), resp.status,
                    resp.getheader("Idempotent-Replayed", "-")))
        if first:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding"):
                self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_DELETE = forward
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(cert, key)
srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
setsid python3 "$T/proxy.py" "$PROXY_PORT" "$HTTPS_PORT" "$TLS_DIR/server.pem" \
    "$TLS_DIR/server.key" "$CA_FILE" "$T/proxy.log" >"$T/proxy.out" 2>&1 &
st_track_pid $!
st_wait_port "$PROXY_PORT"
st_cli_config
printf '[{"command": "python train.py --cli", "image": "singularitytechnologies/testai", "image_tag": "latest", "data_set_id": "idem_set"}]' >"$T/jobs.json"
before=$(nbatches)
cli_run 0 --verbose --api-url "https://127.0.0.1:$PROXY_PORT" batch create \
    --from-file "$T/jobs.json" --cpus 1 --mode production
grep -q 'retrying with the same Idempotency-Key' "$T/err" || st_fail "no retry said: $(cat "$T/err")"
st_expect_eq "$(nbatches)" $((before + 1)) "one batch for the CLI's two sends"
st_expect_eq "$(wc -l <"$T/proxy.log")" 2 "two requests through the proxy: $(cat "$T/proxy.log")"
read -r m1 p1 k1 s1 r1 < <(sed -n 1p "$T/proxy.log")
read -r m2 p2 k2 s2 r2 < <(sed -n 2p "$T/proxy.log")
st_expect_eq "$m1 $p1 $s1 $r1" "POST /batch 201 -" "the first send (answer lost)"
st_expect_eq "$m2 $p2 $s2 $r2" "POST /batch 201 true" "the retry, replayed"
echo "$k1" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' ||
    st_fail "Idempotency-Key '$k1' is not a UUID v4"
st_expect_eq "$k2" "$k1" "the retry's key"
new=$(sql "SELECT uuid FROM batches ORDER BY id DESC LIMIT 1")
grep -q "^batch $new: 1 jobs accepted" "$T/out" || st_fail "CLI output: $(cat "$T/out")"
# Every POST carries a new key.
cli_run 0 batch create --from-file "$T/jobs.json" --cpus 1 --mode production
st_expect_eq "$(nbatches)" $((before + 2)) "a second CLI batch is a new batch"
st_ok "singularity-cli: a POST whose answer was lost is retried with the same key; one batch"
