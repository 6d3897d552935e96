#!/bin/bash
# engine-sim-check.sh: the Docker Engine API SIMULATOR (engine-sim) answers
# as a real dockerd 20.10 does, for every call it simulates.
#
# Starts engine-sim with 3 hosts and drives each endpoint with curl:
# ping, version, info; image inspect and pull (progress, up to date,
# denied, missing, X-Registry-Auth); volumes (create twice, inspect, list
# with a label filter, in use, delete); containers (create, conflicts,
# inspect, list with label and status filters, start, 304, kill with TERM,
# KILL and a bad signal, --exit, OOM, delete, force); logs (follow with
# timestamps, since, tail, no stream); archive get, head and put (read-only
# volume, missing path); events (live with type and label filters, since
# and until replay, the last 1,000 kept); unknown calls answered "page not
# found" and counted; keep-alive; engines independent; 5,000 connections at
# once, answered after the latency in parallel; statistics on SIGUSR1 and
# at exit. The expected answers (status, message, field names and forms)
# were taken from a real dockerd 20.10.24 fed the same calls; what the
# simulator does differently on purpose is listed in engine-sim.c.
#
# Run by `make bench` before the benchmarks that use the simulator; it
# needs no Docker, MariaDB or network.
. "$top_srcdir/tests/lib/harness.sh"

st_init engine-sim-check
SIM=$top_builddir/tests/bench/engine-sim
[ -x "$SIM" ] || st_fail "$SIM is not built (make tests/bench/engine-sim)"
command -v curl >/dev/null || st_skip "curl is not installed"
command -v python3 >/dev/null || st_skip "python3 is not installed"

# Unix socket paths are short: the sockets live in /tmp.
SD=$(mktemp -d /tmp/st-sim.XXXXXX)
ST_EXTRA_DIRS="$ST_EXTRA_DIRS $SD"
"$SIM" --dir "$SD" --hosts 3 --latency-ms 5 --log-rate 1000 \
    --image singularity/testai:1 --pull-seconds 1 --stats "$T/stats.json" \
    2>"$T/sim.log" &
SIM_PID=$!
st_track_pid "$SIM_PID"
for _ in $(seq 1 100); do
	[ -S "$SD/h0003.sock" ] && break
	sleep 0.05
done
[ -S "$SD/h0003.sock" ] || { cat "$T/sim.log" >&2; st_fail "engine-sim did not start"; }

# dk HOST METHOD PATH [curl args]: call /v1.41PATH of host HOST (1..3);
# prints the status; the body is in $T/b, the headers in $T/h.
dk() {
	local s=$SD/h000$1.sock m=$2 p=$3
	shift 3
	curl -sS --max-time 30 --unix-socket "$s" -X "$m" -D "$T/h" -o "$T/b" \
	    -w '%{http_code}' "$@" "http://localhost/v1.41$p"
}
# js FILE EXPR: a Python expression over the JSON d of FILE (text as is,
# anything else as JSON).
js() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r))' "$1" "$2"
}
# expect_call WHAT WANT_STATUS HOST METHOD PATH [curl args]
expect_call() {
	local what=$1 want=$2 got
	shift 2
	got=$(dk "$@") || st_fail "$what: curl failed"
	[ "$got" = "$want" ] || st_fail "$what: HTTP $got, want $want: $(head -c 300 "$T/b")"
}
# expect_msg WHAT MESSAGE: the error body is {"message": MESSAGE}.
expect_msg() {
	st_expect_eq "$(js "$T/b" 'd["message"]')" "$2" "$1"
}
header() {
	tr -d '\r' <"$T/h" | sed -n "s/^$1: //Ip" | head -1
}
J='Content-Type: application/json'
urlq() {
	python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}
T0=$(date +%s)

# --- system ------------------------------------------------------------------
expect_call "ping" 200 1 GET /_ping
st_expect_eq "$(cat "$T/b")" OK "ping body"
st_expect_eq "$(header Api-Version)" 1.41 "Api-Version header"
st_expect_eq "$(header Content-Type)" "text/plain; charset=utf-8" "ping type"
case $(header Server) in
Docker/*engine-sim*) ;;
*) st_fail "the Server header does not name the simulator: $(header Server)" ;;
esac
code=$(curl -sS --unix-socket "$SD/h0001.sock" -o "$T/b" -w '%{http_code}' http://localhost/version)
st_expect_eq "$code" 200 "unversioned /version"
st_expect_eq "$(js "$T/b" '[d["ApiVersion"], d["MinAPIVersion"], d["Os"], sorted(k for k in ("Version", "Arch") if d.get(k))]')" \
    '["1.41", "1.12", "linux", ["Arch", "Version"]]' "version fields"
expect_call "versioned /version" 200 2 GET /version
case $(js "$T/b" 'd["Version"]') in
*engine-sim*) ;;
*) st_fail "the Version does not name the simulator" ;;
esac
expect_call "info" 200 1 GET /info
st_expect_eq "$(js "$T/b" '[d["NCPU"], d["MemTotal"] > 0, __import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", d["SystemTime"]) is not None]')" \
    '[64, true, true]' "info fields"
st_ok "ping, version (also unversioned), info"

# --- images ------------------------------------------------------------------
expect_call "inspect a preloaded image" 200 1 GET /images/singularity/testai:1/json
st_expect_eq "$(js "$T/b" '[d["Id"][:7], len(d["Id"]), d["RepoTags"]]')" \
    '["sha256:", 71, ["singularity/testai:1"]]' "image inspect"
expect_call "inspect an absent image" 404 1 GET /images/nope:1/json
expect_msg "absent image" "no such image: nope:1: No such image: nope:1"
t0=$(date +%s%N)
expect_call "pull" 200 1 POST "/images/create?fromImage=busybox&tag=1.36" \
    -H 'X-Registry-Auth: e30='
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 900 ] || st_fail "the pull took $(( (t1 - t0) / 1000000 )) ms, not --pull-seconds 1"
st_expect_eq "$(header Content-Type)" application/json "pull stream type"
st_expect_eq "$(header Transfer-Encoding)" chunked "pull stream chunked"
python3 - "$T/b" <<'PY' || st_fail "the pull stream is not what dockerd sends"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\r\n"), "lines end with CRLF"
lines = [json.loads(l) for l in raw.decode().split("\r\n") if l]
assert lines[0] == {"status": "Pulling from library/busybox", "id": "1.36"}, lines[0]
dl = [l for l in lines if l.get("status") == "Downloading"]
assert dl and all(set(l["progressDetail"]) == {"current", "total"} and l["id"] for l in dl)
assert any(l.get("status") == "Pull complete" for l in lines)
assert lines[-2]["status"].startswith("Digest: sha256:")
assert lines[-1] == {"status": "Status: Downloaded newer image for busybox:1.36"}, lines[-1]
assert not any("errorDetail" in l for l in lines)
PY
expect_call "inspect the pulled image" 200 1 GET /images/busybox:1.36/json
expect_call "pulled on one engine only" 404 2 GET /images/busybox:1.36/json
expect_call "pull again" 200 1 POST "/images/create?fromImage=docker.io/library/busybox&tag=1.36"
st_expect_eq "$(tr -d '\r' <"$T/b" | tail -1)" \
    '{"status":"Status: Image is up to date for busybox:1.36"}' "pull of a present image"
expect_call "pull denied" 200 1 POST "/images/create?fromImage=example.com/denied/app&tag=2"
python3 - "$T/b" <<'PY' || st_fail "a denied pull does not end with errorDetail"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], newline="").read().split("\r\n") if l]
e = lines[-1]
assert set(e) == {"errorDetail", "error"} and e["error"] == e["errorDetail"]["message"], e
assert "denied" in e["error"]
PY
expect_call "a denied image is absent" 404 1 GET /images/example.com/denied/app:2/json
expect_call "pull of a missing image" 404 1 POST "/images/create?fromImage=missing&tag=1"
expect_msg "missing image" "manifest for missing:1 not found: manifest unknown: manifest unknown"
st_ok "image inspect and pull (progress, up to date, denied, missing)"

# --- volumes -------------------------------------------------------------------
expect_call "volume create" 201 1 POST /volumes/create -H "$J" \
    -d '{"Name":"v1","Labels":{"st.cache":"1","kind":"data"},"Driver":"local","DriverOpts":{}}'
st_expect_eq "$(js "$T/b" '[d["Name"], d["Driver"], d["Mountpoint"], d["Labels"], d["Options"], d["Scope"], sorted(d)]')" \
    '["v1", "local", "/sim/h0001/volumes/v1/_data", {"st.cache": "1", "kind": "data"}, {}, "local", ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]]' \
    "volume create answer"
created=$(js "$T/b" 'd["CreatedAt"]')
[[ $created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
    st_fail "volume CreatedAt: $created"
expect_call "volume create again" 201 1 POST /volumes/create -H "$J" \
    -d '{"Name":"v1","Labels":{"other":"x"}}'
st_expect_eq "$(js "$T/b" '[d["CreatedAt"], d["Labels"]]')" \
    "[\"$created\", {\"st.cache\": \"1\", \"kind\": \"data\"}]" "the same name returns the volume"
expect_call "volume without labels" 201 1 POST /volumes/create -H "$J" -d '{"Name":"v2"}'
st_expect_eq "$(js "$T/b" '[d["Labels"], d["Options"]]')" '[null, null]' "labels and options absent"
expect_call "volume inspect" 200 1 GET /volumes/v1
st_expect_eq "$(js "$T/b" 'd["Name"]')" v1 "volume inspect"
expect_call "volume inspect missing" 404 1 GET /volumes/zz
expect_msg "missing volume" "get zz: no such volume"
expect_call "volume list by label" 200 1 GET "/volumes?filters=$(urlq '{"label":["st.cache"]}')"
st_expect_eq "$(js "$T/b" '[[v["Name"] for v in d["Volumes"]], d["Warnings"]]')" '[["v1"], null]' "volume list by label"
expect_call "volume list by label=value" 200 1 GET "/volumes?filters=$(urlq '{"label":["kind=other"]}')"
st_expect_eq "$(js "$T/b" 'd["Volumes"]')" '[]' "volume list by label=value"
expect_call "volume list bad filter" 400 1 GET "/volumes?filters=$(urlq '{"bogus":["x"]}')"
expect_msg "volume list bad filter" "Invalid filter 'bogus'"
expect_call "volume bad name" 400 1 POST /volumes/create -H "$J" -d '{"Name":"a b"}'
expect_msg "volume bad name" 'create a b: "a b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
expect_call "volume unknown driver" 404 1 POST /volumes/create -H "$J" -d '{"Name":"v3","Driver":"nfsx"}'
expect_msg "volume unknown driver" 'create v3: error looking up volume plugin nfsx: plugin "nfsx" not found'
st_ok "volume create, inspect, list with label filters"

# --- containers: create, inspect, list -------------------------------------------
# Live events of containers labelled singularity.job, from now on.
curl -sS -N --unix-socket "$SD/h0001.sock" \
    "http://localhost/v1.41/events?filters=$(urlq '{"type":["container"],"label":["singularity.job"]}')" \
    >"$T/events.live" 2>/dev/null &
st_track_pid $!
sleep 0.2
body='{"Image":"singularity/testai:1","Cmd":["/train.sh","--sleep","2"],"Env":["A=1","SINGULARITY_JOB_ID=j1"],
 "Labels":{"singularity.job":"j1","x":"y"},
 "HostConfig":{"Mounts":[{"Type":"volume","Source":"v1","Target":"/data","ReadOnly":true}],"NetworkMode":"none","Memory":268435456}}'
expect_call "create" 201 1 POST "/containers/create?name=c1" -H "$J" -d "$body"
st_expect_eq "$(js "$T/b" '[len(d["Id"]), d["Warnings"]]')" '[64, []]' "create answer"
C1=$(js "$T/b" 'd["Id"]')
expect_call "create: name taken" 409 1 POST "/containers/create?name=c1" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["true"]}'
expect_msg "name taken" "Conflict. The container name \"/c1\" is already in use by container \"$C1\". You have to remove (or rename) that container to be able to reuse that name."
expect_call "create: image absent" 404 1 POST "/containers/create?name=c9" -H "$J" \
    -d '{"Image":"nope:1","Cmd":["true"]}'
expect_msg "image absent" "No such image: nope:1"
expect_call "create: untagged image" 404 1 POST "/containers/create?name=c9" -H "$J" \
    -d '{"Image":"singularity/testai","Cmd":["true"]}'
expect_msg "untagged image" "No such image: singularity/testai:latest"
expect_call "create: bad name" 400 1 POST "/containers/create?name=c%20x" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["true"]}'
expect_msg "bad name" "Invalid container name (c x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
expect_call "create: no command" 400 1 POST "/containers/create?name=c9" -H "$J" \
    -d '{"Image":"singularity/testai:1"}'
expect_msg "no command" "No command specified"
expect_call "inspect created" 200 1 GET /containers/c1/json
st_expect_eq "$(js "$T/b" '[d["Id"], d["Name"], d["State"], d["Config"]["Image"], d["Config"]["Labels"], d["Config"]["Env"], d["Config"]["Cmd"], d["Path"], d["Args"], d["HostConfig"]["Memory"], d["HostConfig"]["NetworkMode"]]')" \
    "[\"$C1\", \"/c1\", {\"Status\": \"created\", \"Running\": false, \"Paused\": false, \"Restarting\": false, \"OOMKilled\": false, \"Dead\": false, \"Pid\": 0, \"ExitCode\": 0, \"Error\": \"\", \"StartedAt\": \"0001-01-01T00:00:00Z\", \"FinishedAt\": \"0001-01-01T00:00:00Z\"}, \"singularity/testai:1\", {\"singularity.job\": \"j1\", \"x\": \"y\"}, [\"A=1\", \"SINGULARITY_JOB_ID=j1\"], [\"/train.sh\", \"--sleep\", \"2\"], \"/train.sh\", [\"--sleep\", \"2\"], 268435456, \"none\"]" \
    "inspect of a created container"
st_expect_eq "$(js "$T/b" 'd["Mounts"]')" \
    '[{"Type": "volume", "Name": "v1", "Source": "/sim/h0001/volumes/v1/_data", "Destination": "/data", "Driver": "local", "Mode": "z", "RW": false, "Propagation": ""}]' \
    "inspect Mounts"
expect_call "inspect by id prefix" 200 1 GET "/containers/${C1:0:12}/json"
expect_call "inspect missing" 404 1 GET /containers/nope/json
expect_msg "inspect missing" "No such container: nope"
expect_call "list running" 200 1 GET /containers/json
st_expect_eq "$(cat "$T/b")" '[]' "a created container is not listed without all"
expect_call "list by label" 200 1 GET "/containers/json?all=1&filters=$(urlq '{"label":["x=y"]}')"
st_expect_eq "$(js "$T/b" '[(e["Id"], e["Names"], e["Image"], e["Labels"], e["State"], e["Status"], type(e["Created"]).__name__) for e in d]')" \
    "[[\"$C1\", [\"/c1\"], \"singularity/testai:1\", {\"singularity.job\": \"j1\", \"x\": \"y\"}, \"created\", \"Created\", \"int\"]]" \
    "list by label"
expect_call "list by another label" 200 1 GET "/containers/json?all=1&filters=$(urlq '{"label":["x=z"]}')"
st_expect_eq "$(cat "$T/b")" '[]' "list by a label value nobody has"
expect_call "list: bad status" 400 1 GET "/containers/json?filters=$(urlq '{"status":["bogus"]}')"
expect_msg "bad status" "Invalid filter 'status=bogus'"
expect_call "list: bad filter" 400 1 GET "/containers/json?filters=$(urlq '{"bogus":["x"]}')"
expect_msg "bad filter" "Invalid filter 'bogus'"
expect_call "other engines are empty" 200 2 GET "/containers/json?all=1"
st_expect_eq "$(cat "$T/b")" '[]' "engine h0002 has no containers"
st_ok "container create (conflict, absent image, bad name), inspect, list"

# --- start, logs ---------------------------------------------------------------------
expect_call "start" 204 1 POST /containers/c1/start
expect_call "start again" 304 1 POST /containers/c1/start
[ ! -s "$T/b" ] || st_fail "a 304 has a body"
expect_call "inspect running" 200 1 GET /containers/c1/json
st_expect_eq "$(js "$T/b" '[d["State"]["Status"], d["State"]["Running"], d["State"]["Pid"] > 0, d["State"]["FinishedAt"]]')" \
    '["running", true, true, "0001-01-01T00:00:00Z"]' "inspect running"
started=$(js "$T/b" 'd["State"]["StartedAt"]')
expect_call "list running" 200 1 GET "/containers/json?filters=$(urlq '{"status":["running"]}')"
st_expect_eq "$(js "$T/b" '[(e["Names"][0], e["State"], e["Status"].startswith("Up ")) for e in d]')" \
    '[["/c1", "running", true]]' "list running"
# Followed, the stream ends with the container: its last line is the end.
expect_call "logs follow" 200 1 GET "/containers/c1/logs?stdout=1&stderr=1&follow=1&timestamps=1"
st_expect_eq "$(header Content-Type)" "" "the logs of API 1.41 carry no Content-Type"
st_expect_eq "$(header Transfer-Encoding)" chunked "logs are chunked"
# demux FILE: one line per frame, "stream<TAB>payload" (payload repr).
demux() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 0
while i < len(d):
    assert i + 8 <= len(d), "a truncated frame header"
    s, z = d[i], struct.unpack(">I", d[i + 4:i + 8])[0]
    assert d[i + 1:i + 4] == b"\0\0\0" and s in (1, 2), d[i:i + 8]
    p = d[i + 8:i + 8 + z]
    assert len(p) == z, "a truncated frame"
    print("%d\t%s" % (s, p.decode().rstrip("\n")))
    i += 8 + z
PY
}
demux "$T/b" >"$T/logs.follow" || st_fail "the log stream is not multiplexed frames"
n=$(wc -l <"$T/logs.follow")
# 2 s at 1,000 B/s of 100-byte lines: ~20 lines, a start and an end line.
[ "$n" -ge 18 ] && [ "$n" -le 25 ] || st_fail "logs follow: $n frames"
python3 - "$T/logs.follow" "$started" <<'PY' || st_fail "log frames are not timestamped as dockerd does"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
ts = []
for l in lines:
    s, p = l.split("\t", 1)
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)", p)
    assert m, p
    assert s == "1"
    ts.append(m.group(1))
assert ts == sorted(ts)
assert ts[0][:19] == sys.argv[2][:19]
assert "exit code 0" in lines[-1]
assert any(" step " in " " + l.split(" ", 1)[1] for l in lines)
PY
expect_call "inspect exited" 200 1 GET /containers/c1/json
st_expect_eq "$(js "$T/b" '[d["State"]["Status"], d["State"]["Running"], d["State"]["ExitCode"], d["State"]["Pid"], d["State"]["FinishedAt"] > d["State"]["StartedAt"]]')" \
    '["exited", false, 0, 0, true]' "inspect exited"
expect_call "list exited" 200 1 GET "/containers/json?all=1&filters=$(urlq '{"label":["singularity.job=j1"]}')"
[[ $(js "$T/b" 'd[0]["Status"]') =~ ^Exited\ \(0\)\ .*\ ago$ ]] || st_fail "list Status: $(js "$T/b" 'd[0]["Status"]')"
# since: the fifth line's time as SECONDS.NANOS keeps it and what follows.
since=$(python3 -c 'import calendar, sys, time
p = open(sys.argv[1]).read().splitlines()[4].split("\t", 1)[1]
t = p.split(" ", 1)[0]
print("%d.%s" % (calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")), t[20:29]))' "$T/logs.follow")
expect_call "logs since" 200 1 GET "/containers/c1/logs?stdout=1&stderr=1&timestamps=1&since=$since"
demux "$T/b" >"$T/logs.since"
st_expect_eq "$(wc -l <"$T/logs.since")" $((n - 4)) "logs since the fifth line"
st_expect_eq "$(head -1 "$T/logs.since")" "$(sed -n 5p "$T/logs.follow")" "the first line since"
expect_call "logs tail" 200 1 GET "/containers/c1/logs?stdout=1&stderr=1&tail=2"
demux "$T/b" >"$T/logs.tail"
st_expect_eq "$(cut -f2 "$T/logs.tail")" "$(tail -2 "$T/logs.follow" | cut -f2 | cut -d' ' -f2-)" "logs tail=2 without timestamps"
expect_call "logs tail=abc is all" 200 1 GET "/containers/c1/logs?stdout=1&tail=abc"
st_expect_eq "$(demux "$T/b" | wc -l)" "$n" "a tail that is not a number is all"
expect_call "logs without a stream" 400 1 GET /containers/c1/logs
expect_msg "logs without a stream" "Bad parameters: you must choose at least one stream"
expect_call "logs of a missing container" 404 1 GET "/containers/nope/logs?stdout=1"
expect_msg "logs of a missing container" "No such container: nope"
st_ok "start, 304, logs (follow with timestamps, since, tail)"

# --- archive ---------------------------------------------------------------------------
expect_call "archive get" 200 1 GET "/containers/c1/archive?path=/output"
st_expect_eq "$(header Content-Type)" application/x-tar "archive type"
python3 - "$T/b" "$(header X-Docker-Container-Path-Stat)" <<'PY' || st_fail "the archive of /output is not what dockerd sends"
import base64, json, re, sys, tarfile
st = json.loads(base64.b64decode(sys.argv[2]))
assert sorted(st) == ["linkTarget", "mode", "mtime", "name", "size"], st
assert st["name"] == "output" and st["mode"] == 2147484141 and st["linkTarget"] == ""
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", st["mtime"])
t = tarfile.open(sys.argv[1])
names = t.getnames()
assert names == ["output", "output/result.json", "output/model.bin"], names
assert t.getmember("output").isdir()
r = json.load(t.extractfile("output/result.json"))
assert isinstance(r["fitness"], (int, float)), r
assert t.getmember("output/model.bin").size == 1024
PY
expect_call "archive get elsewhere" 404 1 GET "/containers/c1/archive?path=/nope"
expect_msg "archive get elsewhere" "Could not find the file /nope in container c1"
code=$(curl -sS -I --unix-socket "$SD/h0001.sock" -D "$T/h" -o /dev/null -w '%{http_code}' \
    "http://localhost/v1.41/containers/c1/archive?path=/output")
st_expect_eq "$code" 200 "archive head"
[ -n "$(header X-Docker-Container-Path-Stat)" ] || st_fail "archive head without the stat header"
mkdir -p "$T/put/data"
head -c 20000 /dev/urandom >"$T/put/data/shard.zip"
tar -C "$T/put" -cf "$T/put.tar" data
expect_call "archive put" 200 1 PUT "/containers/c1/archive?path=/tmp" \
    -H 'Content-Type: application/x-tar' --data-binary @"$T/put.tar"
st_expect_eq "$(header Content-Length)" 0 "archive put answers an empty body"
expect_call "archive put chunked" 200 1 PUT "/containers/c1/archive?path=/" \
    -H 'Transfer-Encoding: chunked' --data-binary @"$T/put.tar"
expect_call "archive put into a read-only volume" 500 1 PUT "/containers/c1/archive?path=/data" \
    --data-binary @"$T/put.tar"
expect_msg "read-only volume" "mounted volume is marked read-only"
expect_call "archive put without a path" 400 1 PUT "/containers/c1/archive" --data-binary @"$T/put.tar"
expect_msg "archive put without a path" "bad parameter: pathcannot be empty"
expect_call "archive put to a missing dir" 404 1 PUT "/containers/c1/archive?path=/nonexist" \
    --data-binary @"$T/put.tar"
expect_msg "archive put to a missing dir" "Could not find the file /nonexist in container c1"
expect_call "archive put to a missing container" 404 1 PUT "/containers/nope/archive?path=/" \
    --data-binary @"$T/put.tar"
expect_msg "archive put to a missing container" "No such container: nope"
st_ok "archive get (tar, stat header), head, put (chunked, read-only, no path)"

# --- kill, exit codes, OOM, delete ---------------------------------------------------------
expect_call "create c2" 201 1 POST "/containers/create?name=c2" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["/bin/sh","-c","sleep 30"],"Labels":{"singularity.job":"j2"}}'
C2=$(js "$T/b" 'd["Id"]')
expect_call "start c2" 204 1 POST /containers/c2/start
expect_call "delete running" 409 1 DELETE /containers/c2
expect_msg "delete running" "You cannot remove a running container $C2. Stop the container before attempting removal or force remove"
expect_call "kill: bad signal" 400 1 POST "/containers/c2/kill?signal=BOGUS"
expect_msg "bad signal" "Invalid signal: BOGUS"
expect_call "kill TERM" 204 1 POST "/containers/c2/kill?signal=TERM"
expect_call "inspect after TERM" 200 1 GET /containers/c2/json
st_expect_eq "$(js "$T/b" '[d["State"]["Status"], d["State"]["ExitCode"], d["State"]["OOMKilled"]]')" \
    '["exited", 143, false]' "TERM ends with 143"
expect_call "kill exited" 409 1 POST "/containers/c2/kill?signal=SIGKILL"
expect_msg "kill exited" "Cannot kill container: c2: Container $C2 is not running"
expect_call "start c2 again" 204 1 POST /containers/c2/start
expect_call "kill (KILL)" 204 1 POST /containers/c2/kill
expect_call "inspect after KILL" 200 1 GET /containers/c2/json
st_expect_eq "$(js "$T/b" 'd["State"]["ExitCode"]')" 137 "KILL ends with 137"
expect_call "start c2 a third time" 204 1 POST /containers/c2/start
expect_call "force delete running" 204 1 DELETE "/containers/c2?force=1&v=1"
expect_call "delete again" 404 1 DELETE "/containers/c2?force=1&v=1"
expect_msg "delete again" "No such container: c2"
expect_call "kill missing" 404 1 POST /containers/nope/kill
expect_msg "kill missing" "Cannot kill container: nope: No such container: nope"
expect_call "start missing" 404 1 POST /containers/nope/start
expect_msg "start missing" "No such container: nope"
expect_call "create c3" 201 1 POST "/containers/create?name=c3" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["/train.sh","--sleep","0.2","--exit","3"],"Labels":{"singularity.job":"j3"}}'
expect_call "create c4" 201 1 POST "/containers/create?name=c4" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["/train.sh","--sleep","5","--mem","512"],"Labels":{"singularity.job":"j4"},"HostConfig":{"Memory":268435456}}'
expect_call "create c5" 201 1 POST "/containers/create?name=c5" -H "$J" \
    -d '{"Image":"singularity/testai:1","Cmd":["sleep","infinity"]}'
expect_call "start c3" 204 1 POST /containers/c3/start
expect_call "start c4" 204 1 POST /containers/c4/start
expect_call "start c5" 204 1 POST /containers/c5/start
sleep 1.2
expect_call "inspect c5" 200 1 GET /containers/c5/json
st_expect_eq "$(js "$T/b" 'd["State"]["Status"]')" running "sleep infinity runs on"
expect_call "force delete c5" 204 1 DELETE "/containers/c5?force=true"
expect_call "inspect c3" 200 1 GET /containers/c3/json
st_expect_eq "$(js "$T/b" '[d["State"]["Status"], d["State"]["ExitCode"]]')" '["exited", 3]' "--exit 3"
expect_call "archive of a failed job" 200 1 GET "/containers/c3/archive?path=/output"
st_expect_eq "$(python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getnames())' "$T/b")" \
    "['output']" "a job that failed wrote no result"
expect_call "inspect c4" 200 1 GET /containers/c4/json
st_expect_eq "$(js "$T/b" '[d["State"]["Status"], d["State"]["ExitCode"], d["State"]["OOMKilled"]]')" \
    '["exited", 137, true]' "--mem over HostConfig.Memory: OOM"
st_ok "kill (TERM 143, KILL 137, bad signal, not running), delete (running, force), --exit, OOM, sleep infinity"

# --- events ---------------------------------------------------------------------------------
sleep 0.2
python3 - "$T/events.live" "$C1" "$C2" <<'PY' || st_fail "the live event stream is not what dockerd sends"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert evs, "no events"
for e in evs:
    assert e["Type"] == "container", e
    assert "singularity.job" in e["Actor"]["Attributes"], e
    assert sorted(e) == ["Action", "Actor", "Type", "from", "id", "scope", "status", "time", "timeNano"], sorted(e)
    assert e["status"] == e["Action"] and e["id"] == e["Actor"]["ID"] and e["scope"] == "local"
    assert e["time"] == e["timeNano"] // 10**9
acts = [(e["Actor"]["Attributes"]["name"], e["Action"]) for e in evs]
c1 = [a for n, a in acts if n == "c1"]
assert c1 == ["create", "start", "die", "archive-path", "extract-to-dir", "extract-to-dir"], c1
die = [e for e in evs if e["Action"] == "die" and e["id"] == sys.argv[2]][0]
a = die["Actor"]["Attributes"]
assert a == {"exitCode": "0", "image": "singularity/testai:1", "name": "c1", "singularity.job": "j1", "x": "y"}, a
c2 = [(a, e["Actor"]["Attributes"].get("signal"), e["Actor"]["Attributes"].get("exitCode"))
      for e in evs if e["id"] == sys.argv[3] for a in [e["Action"]]]
assert c2 == [("create", None, None), ("start", None, None), ("kill", "15", None),
              ("die", None, "143"), ("start", None, None), ("kill", "9", None),
              ("die", None, "137"), ("start", None, None), ("kill", "9", None),
              ("die", None, "137"), ("destroy", None, None)], c2
c4 = [a for n, a in acts if n == "c4"]
assert c4 == ["create", "start", "oom", "die"], c4
PY
now=$(( $(date +%s) + 1 ))
expect_call "events since/until replay" 200 1 GET \
    "/events?since=$T0&until=$now&filters=$(urlq '{"event":["die"],"label":["singularity.job=j1"]}')"
st_expect_eq "$(python3 -c 'import json, sys; print([(e["Actor"]["Attributes"]["name"], e["Actor"]["Attributes"]["exitCode"]) for e in map(json.loads, open(sys.argv[1]))])' "$T/b")" \
    "[('c1', '0')]" "the replayed die of c1"
expect_call "volume events" 200 1 GET \
    "/events?since=$T0&until=$now&filters=$(urlq '{"type":["volume"]}')"
python3 - "$T/b" "$C1" <<'PY' || st_fail "volume events are not what dockerd sends"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
for e in evs:
    assert sorted(e) == ["Action", "Actor", "Type", "scope", "time", "timeNano"], e
v1 = [e["Action"] for e in evs if e["Actor"]["ID"] == "v1"]
assert v1 == ["create", "create", "mount", "unmount"], v1
m = [e for e in evs if e["Action"] == "mount"][0]["Actor"]["Attributes"]
assert m == {"container": sys.argv[2], "destination": "/data", "driver": "local",
             "propagation": "", "read/write": "false"}, m
PY
expect_call "events of another engine" 200 2 GET "/events?since=$T0&until=$now"
st_expect_eq "$(wc -c <"$T/b")" 0 "engine h0002 saw no events"
# The last 1,000 events are kept: 1,100 volume creations on h0003.
for i in $(seq 1 1100); do
	printf 'url = "http://localhost/v1.41/volumes/create"\n-X POST\n-H "%s"\n-d "{\\"Name\\":\\"e%d\\"}"\n-o /dev/null\n' "$J" "$i"
done >"$T/many.curl"
curl -sS --no-progress-meter -Z --parallel-max 200 --unix-socket "$SD/h0003.sock" -K "$T/many.curl" ||
    st_fail "1,100 volume creations failed"
expect_call "the kept events" 200 3 GET "/events?since=0&until=$(( $(date +%s) + 1 ))"
st_expect_eq "$(wc -l <"$T/b")" 1000 "events kept"
st_ok "events: live with filters, since/until replay, volume events, the last 1,000"

# --- volumes in use; unknown calls; keep-alive ---------------------------------------------------
expect_call "delete a volume in use" 409 1 DELETE /volumes/v1
expect_msg "volume in use" "remove v1: volume is in use - [$C1]"
expect_call "delete c1" 204 1 DELETE /containers/c1
expect_call "delete v1" 204 1 DELETE /volumes/v1
expect_call "delete v1 again" 404 1 DELETE /volumes/v1
expect_msg "delete a missing volume" "get v1: no such volume"
expect_call "force delete a missing volume" 204 1 DELETE "/volumes/v1?force=1"
expect_call "an unknown call" 404 1 POST /containers/c3/wait
expect_msg "unknown call" "page not found"
expect_call "a known path with another method" 404 1 GET /containers/create
expect_msg "wrong method" "page not found"
conns=$(curl -sS --unix-socket "$SD/h0002.sock" -o /dev/null -o /dev/null \
    -w '%{num_connects} ' http://localhost/v1.41/_ping http://localhost/v1.41/info)
st_expect_eq "$conns" "1 0 " "a second call reuses the connection (keep-alive)"
st_ok "volume in use, unknown calls, keep-alive"

# --- 5,000 connections at once --------------------------------------------------------------------
python3 - "$SD" <<'PY' || st_fail "5,000 connections at once were not all answered in parallel"
import asyncio, resource, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
N = 5000
async def one(i, ready, go):
    r, w = await asyncio.open_unix_connection("%s/h%04d.sock" % (sys.argv[1], 1 + i % 3))
    ready.append(1)
    await go.wait()
    w.write(b"GET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    await w.drain()
    data = b""
    while not data.endswith(b"\r\n\r\nOK"):
        chunk = await r.read(4096)
        assert chunk, "closed early"
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK"), data[:40]
    return w
async def main():
    ready, go = [], asyncio.Event()
    tasks = [asyncio.ensure_future(one(i, ready, go)) for i in range(N)]
    while len(ready) < N:
        await asyncio.sleep(0.05)
        if any(t.done() and t.exception() for t in tasks):
            raise [t.exception() for t in tasks if t.done() and t.exception()][0]
    t0 = time.monotonic()
    go.set()
    ws = await asyncio.gather(*tasks)
    dt = time.monotonic() - t0
    # Served one after another, 5,000 calls of 5 ms would take 25 s.
    assert dt < 5, "%.1f s" % dt
    print("ok - 5,000 connections open at once, all answered in %.2f s" % dt)
    for w in ws:
        w.close()
asyncio.run(main())
PY

# --- statistics -------------------------------------------------------------------------------
kill -USR1 "$SIM_PID"
for _ in $(seq 1 50); do
	[ -s "$T/stats.json" ] && break
	sleep 0.05
done
python3 - "$T/stats.json" <<'PY' || st_fail "the statistics are wrong"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["simulator"].startswith("engine-sim") and s["seq"] == 1 and s["hosts"] == 3
t, h1 = s["total"], s["engines"]["h0001"]
assert t["calls"]["POST /containers/create"] == h1["calls"]["POST /containers/create"] == 10, t["calls"]
assert t["calls"]["POST /volumes/create"] >= 1104
assert t["unknown"] == {"POST /v1.41/containers/{}/wait": 1, "GET /v1.41/containers/create": 1}, t["unknown"]
assert t["unknown_calls"] == 2
assert t["registry_auth"] == 1 and t["pulls"] == 3, t
assert t["log_bytes"] > 2000 and t["events_sent"] >= 30 and t["archive_put_bytes"] > 20000, t
assert s["connections"]["max_open"] >= 5000, s["connections"]
assert t["calls_total"] == sum(t["calls"].values())
PY
kill -TERM "$SIM_PID"
for _ in $(seq 1 100); do
	kill -0 "$SIM_PID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$SIM_PID" 2>/dev/null && st_fail "engine-sim did not stop on SIGTERM"
st_expect_eq "$(js "$T/stats.json" 'd["seq"]')" 2 "statistics written at exit"
[ ! -e "$SD/h0001.sock" ] || st_fail "the sockets are left behind"
st_ok "statistics on SIGUSR1 and at exit"
