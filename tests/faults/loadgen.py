#!/usr/bin/env python3
"""loadgen.py: a mixed, signed workload against the Singularity API.

Threads, each with its own keep-alive HTTPS connection, pick operations at
random by weight for a while and record every answer. Signatures follow the
DESIGN's v2 scheme (HMAC-SHA512 over "ST2-HMAC-SHA512", the timestamp,
METHOD, URI and the hex SHA-256 of BODY), written here from the
specification with Python's hmac module, not with the project's code. A
write is never signed twice alike (the server accepts a timestamped write's
signature once): one identical to an earlier one waits for the next second.
Python's standard library only (http.client, ssl, hmac).

usage: loadgen.py --base https://127.0.0.1:PORT --cacert CA --key K --secret S
                  [--threads 16] [--duration 10] [--mix OP=W,...]
                  [--set UUID] [--upload-set UUID] [--shard-bytes N] [--batch-jobs K]
                  [--image NAME --tag TAG] [--allow 200,201,...]
                  [--every OP=SECONDS,...] [--ledger OUT.json] [--tag-prefix P]

Operations (--mix, weights are integers):
  ping          GET /ping (unsigned)
  account       GET /account
  data_list     GET /data
  data_get      GET /data/{--set}
  data_create   POST /data {"name": unique, "pilot_count": 2}
  shard_upload  POST /data/{--upload-set, else --set}/shard/{sha256}, a
                fresh zip of --shard-bytes random bytes (base64)
  batch_create  POST /batch, --batch-jobs jobs on --set (production)
  batch_list    GET /batch?limit=20
  job_list      GET /job?limit=100 (also refreshes the model candidates)
  model_get     GET /model/{job} for a COMPLETED job seen by job_list; the
                body must be Content-Length bytes of a valid zip

--every OP=S,... runs OP at most once every S seconds over all threads (a
thread that draws it too early draws again): it keeps 10 MiB uploads and
batch creation at a rate the disk and the dispatcher can follow.

The ledger (--ledger) is a JSON object: "requests" (per operation: count,
statuses, p50/p99/max latency in ms, requests per second), "violations"
(answers outside --allow, a 503 without Retry-After or not the JSON
"unavailable" error, a connection failure, a bad model body), and the
writes with their answers: "data_sets" [{name, status}], "shards" [{sha256,
status}], "batches" [{batch_uuid, status, successful, jobs}]. A summary
table is printed on stdout. Exit status 1 when there is any violation.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse
import zipfile

PILOTS = 2


class Client:
    """One keep-alive HTTPS connection that signs what it sends."""

    # The signatures of writes made so far, over every thread.
    signed = set()
    signed_lock = threading.Lock()

    def sign(self, method, uri, body):
        """(timestamp, signature) of a request in the v2 form; a write
        whose signature was made before waits for the next second."""
        while True:
            ts = str(int(time.time()))
            msg = b"\n".join([b"ST2-HMAC-SHA512", ts.encode(), method.encode(),
                              uri.encode(),
                              hashlib.sha256(body).hexdigest().encode()])
            sig = hmac.new(self.secret, msg, hashlib.sha512).hexdigest()
            if method in ("GET", "HEAD"):
                return ts, sig
            with Client.signed_lock:
                if sig not in Client.signed:
                    Client.signed.add(sig)
                    return ts, sig
            time.sleep(1.05 - time.time() % 1)

    def __init__(self, args):
        u = urllib.parse.urlsplit(args.base)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=args.cacert)
        self.key, self.secret = args.key, args.secret.encode()
        self.timeout = args.timeout
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPSConnection(
            self.host, self.port, context=self.ctx, timeout=self.timeout)

    def request(self, method, uri, body=b"", sign=True):
        """Return (status, headers dict lower-cased, body bytes); status 0
        and the reason in the body when the connection failed."""
        headers = {"Content-Type": "application/json"} if body else {}
        if sign:
            ts, sig = self.sign(method, uri, body)
            headers["X-singularity-apikey"] = self.key
            headers["X-singularity-signature"] = sig
            headers["X-singularity-timestamp"] = ts
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, uri, body=body or None,
                                  headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                h = {k.lower(): v for k, v in r.getheaders()}
                if h.get("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, h, data
            except (http.client.RemoteDisconnected,
                    http.client.CannotSendRequest,
                    BrokenPipeError, ConnectionResetError) as e:
                # A kept-alive connection the server closed between two
                # requests: reconnect once (nothing was processed).
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, {}, str(e).encode()
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                return 0, {}, ("%s: %s" % (type(e).__name__, e)).encode()
        return 0, {}, b"unreachable"


def make_zip(n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("part.bin", os.urandom(n))
    return buf.getvalue()


class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.samples = {}           # op -> [(status, ms)]
        self.violations = []
        self.data_sets, self.shards, self.batches = [], [], []
        self.models_seen = 0
        self.model_bytes = 0
        self.completed = []         # job ids with a model candidate
        self.allow = set(int(s) for s in args.allow.split(","))
        self.mix = []
        for part in args.mix.split(","):
            op, w = part.split("=")
            if not hasattr(self, "op_" + op):
                sys.exit("loadgen: unknown operation %s" % op)
            self.mix += [op] * int(w)
        self.every = {}
        for part in filter(None, args.every.split(",")):
            op, secs = part.split("=")
            self.every[op] = float(secs)
        self.last = {}
        self.seq = 0
        self.stop_at = 0

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def record(self, op, status, ms, headers, body, what):
        with self.lock:
            self.samples.setdefault(op, []).append((status, ms))
        bad = None
        if status not in self.allow:
            bad = "status %d" % status
        elif status == 503:
            try:
                code = json.loads(body).get("code")
            except (ValueError, AttributeError):
                code = None
            if "retry-after" not in headers:
                bad = "503 without Retry-After"
            elif code != "unavailable":
                bad = "503 that is not the responders' JSON (web server's own?)"
        if bad:
            with self.lock:
                self.violations.append({
                    "op": op, "what": what, "problem": bad,
                    "body": body[:200].decode("utf-8", "replace")})

    def call(self, c, op, method, uri, body=b"", sign=True):
        t0 = time.monotonic()
        status, headers, data = c.request(method, uri, body, sign)
        ms = (time.monotonic() - t0) * 1000.0
        self.record(op, status, ms, headers, data, method + " " + uri[:80])
        return status, headers, data

    # --- operations --------------------------------------------------------
    def op_ping(self, c):
        self.call(c, "ping", "GET", "/ping", sign=False)

    def op_account(self, c):
        self.call(c, "account", "GET", "/account")

    def op_data_list(self, c):
        self.call(c, "data_list", "GET", "/data")

    def op_data_get(self, c):
        self.call(c, "data_get", "GET", "/data/" + self.args.set)

    def op_data_create(self, c):
        name = "%s-%d-%d" % (self.args.tag_prefix, os.getpid(), self.next_seq())
        body = json.dumps({"name": name, "pilot_count": PILOTS}).encode()
        st, _, _ = self.call(c, "data_create", "POST", "/data", body)
        with self.lock:
            self.data_sets.append({"name": name, "status": st})

    def op_shard_upload(self, c):
        z = make_zip(self.args.shard_bytes)
        sha = hashlib.sha256(z).hexdigest()
        body = base64.b64encode(z)
        st, _, _ = self.call(c, "shard_upload", "POST", "/data/%s/shard/%s" % (
            self.args.upload_set or self.args.set, sha), body)
        with self.lock:
            self.shards.append({"sha256": sha, "status": st,
                                "size": len(z)})

    def op_batch_create(self, c):
        jobs = [{"command": "/train.sh --sleep 0.%d" % random.randint(1, 5),
                 "image": self.args.image, "image_tag": self.args.tag,
                 "data_set_id": self.args.set}
                for _ in range(self.args.batch_jobs)]
        body = json.dumps({"mode": "production", "jobs": jobs,
                           "requisitions": {"cpu": self.args.cpu,
                                            "gpu": 0}}).encode()
        st, _, data = self.call(c, "batch_create", "POST", "/batch", body)
        rec = {"status": st, "jobs": len(jobs)}
        if st in (200, 201):
            try:
                d = json.loads(data)
                rec["batch_uuid"] = d.get("batch_uuid")
                rec["successful"] = d.get("successful")
            except ValueError:
                rec["problem"] = "answer is not JSON"
        with self.lock:
            self.batches.append(rec)

    def op_batch_list(self, c):
        self.call(c, "batch_list", "GET", "/batch?limit=20")

    def op_job_list(self, c):
        st, _, data = self.call(c, "job_list", "GET", "/job?limit=100")
        if st == 200:
            try:
                ids = [j["id"] for j in json.loads(data)
                       if j.get("status") == "COMPLETED"]
            except (ValueError, KeyError, TypeError):
                ids = []
            with self.lock:
                self.completed = ids or self.completed

    def op_model_get(self, c):
        with self.lock:
            ids = list(self.completed)
        if not ids:
            self.op_job_list(c)
            return
        job = random.choice(ids)
        st, h, data = self.call(c, "model_get", "GET", "/model/" + job)
        if st == 200:
            problem = None
            if h.get("content-length") != str(len(data)):
                problem = "model body of %d bytes, Content-Length %s" % (
                    len(data), h.get("content-length"))
            elif not zipfile.is_zipfile(io.BytesIO(data)):
                problem = "model body is not a zip"
            with self.lock:
                if problem:
                    self.violations.append({"op": "model_get", "what": job,
                                            "problem": problem, "body": ""})
                self.models_seen += 1
                self.model_bytes += len(data)

    # --- driver ------------------------------------------------------------
    def draw(self, rnd):
        """An operation by weight, skipping those run too recently."""
        for _ in range(20):
            op = rnd.choice(self.mix)
            if op not in self.every:
                return op
            now = time.monotonic()
            with self.lock:
                if now - self.last.get(op, -1e9) >= self.every[op]:
                    self.last[op] = now
                    return op
        return "ping"

    def worker(self, seed):
        rnd = random.Random(seed)
        c = Client(self.args)
        while time.monotonic() < self.stop_at:
            getattr(self, "op_" + self.draw(rnd))(c)

    def run(self):
        self.t0 = time.monotonic()
        self.stop_at = self.t0 + self.args.duration
        ts = [threading.Thread(target=self.worker, args=(i,), daemon=True)
              for i in range(self.args.threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.elapsed = time.monotonic() - self.t0

    def report(self):
        out = {"threads": self.args.threads, "seconds": round(self.elapsed, 1),
               "requests": {}, "violations": self.violations,
               "data_sets": self.data_sets, "shards": self.shards,
               "batches": self.batches, "models_downloaded": self.models_seen,
               "model_bytes": self.model_bytes}
        total = 0
        print("%-13s %7s %8s %8s %8s %8s  %s" % (
            "endpoint", "count", "req/s", "p50 ms", "p99 ms", "max ms",
            "statuses"))
        for op in sorted(self.samples):
            s = self.samples[op]
            lat = sorted(ms for _, ms in s)
            st = {}
            for code, _ in s:
                st[str(code)] = st.get(str(code), 0) + 1
            row = {"count": len(s), "rps": round(len(s) / self.elapsed, 1),
                   "p50_ms": round(pct(lat, 50), 1),
                   "p99_ms": round(pct(lat, 99), 1),
                   "max_ms": round(lat[-1], 1), "statuses": st}
            out["requests"][op] = row
            total += len(s)
            print("%-13s %7d %8.1f %8.1f %8.1f %8.1f  %s" % (
                op, row["count"], row["rps"], row["p50_ms"], row["p99_ms"],
                row["max_ms"],
                " ".join("%s:%d" % kv for kv in sorted(st.items()))))
        out["total"] = total
        out["rps"] = round(total / self.elapsed, 1)
        print("total: %d requests in %.1f s, %.1f req/s, %d threads; "
              "%d violations" % (total, self.elapsed, out["rps"],
                                 self.args.threads, len(self.violations)))
        for v in self.violations[:20]:
            print("violation: %(op)s %(what)s: %(problem)s %(body)s" % v)
        if self.args.ledger:
            with open(self.args.ledger, "w") as f:
                json.dump(out, f)
        return 1 if self.violations else 0


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1,
                   int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--mix", default="ping=1,account=3,data_list=2,data_get=2")
    ap.add_argument("--set", default="")
    ap.add_argument("--upload-set", default="")
    ap.add_argument("--shard-bytes", type=int, default=8192)
    ap.add_argument("--batch-jobs", type=int, default=3)
    ap.add_argument("--cpu", type=float, default=0.5)
    ap.add_argument("--image", default="singularity/testai")
    ap.add_argument("--tag", default="1")
    ap.add_argument("--allow", default="200,201")
    ap.add_argument("--every", default="")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--ledger", default="")
    ap.add_argument("--tag-prefix", default="lg")
    args = ap.parse_args()
    # The secret is read from the environment when given as "-", so that
    # it does not show in the process list.
    if args.secret == "-":
        args.secret = os.environ["LOADGEN_SECRET"]
    load = Load(args)
    load.run()
    sys.exit(load.report())


if __name__ == "__main__":
    main()
