#!/usr/bin/env python3
"""data_client.py: an independent client of the data API for the e2e tests.

Only the Python standard library and Debian's python3-requests; nothing of
the project's code. It sends what the original singularity-cli sends:

  - the signature: lowercase hex HMAC-SHA512 keyed with the secret's text,
    over METHOD "\\n" ENDPOINT "\\n" BODY;
  - POST /data with a JSON body {"name", "pilot_count"};
  - each shard as the base64 text of the zip, without newlines, with no
    Content-Type header, to /data/{data_set_uuid}/shard/{sha256}, where
    data_set_uuid is read from the answer to POST /data.

usage: data_client.py URL CA_FILE NAME PILOTS FILE...
       (API key and secret in $API_KEY and $API_SECRET)

Creates the set NAME, uploads each FILE (a zip) as a shard, uploads the
first one a second time, reads the set back and checks every answer.
Prints one "ok - ..." line per check; exits 0 when all pass, 1 otherwise.
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import requests


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self, url, ca_file, key, secret):
        self.url = url.rstrip("/")
        self.ca_file = ca_file
        self.key = key
        self.secret = secret

    def sign(self, method, endpoint, body):
        msg = method + "\n" + endpoint + "\n" + body
        return hmac.new(self.secret.encode(), msg.encode(),
                        hashlib.sha512).hexdigest()

    def call(self, method, endpoint, body=""):
        headers = {
            "X-singularity-apikey": self.key,
            "X-singularity-signature": self.sign(method, endpoint, body),
        }
        resp = requests.request(method, self.url + endpoint, data=body,
                                headers=headers, verify=self.ca_file,
                                timeout=60)
        if "X-atlas-trace" not in resp.headers:
            fail("%s %s: no X-atlas-trace header" % (method, endpoint))
        return resp


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    url, ca_file, name, pilots = sys.argv[1:5]
    files = sys.argv[5:]
    c = Client(url, ca_file, os.environ["API_KEY"], os.environ["API_SECRET"])

    body = json.dumps({"name": name, "pilot_count": int(pilots)})
    r = c.call("POST", "/data", body)
    if r.status_code != 201:
        fail("POST /data: %d %s" % (r.status_code, r.text))
    created = r.json()
    set_id = created["data_set_uuid"]
    if created.get("dataset_uuid") != set_id or created.get("name") != name:
        fail("POST /data answer: %r" % created)
    if len(created["pilot_ids"]) != int(pilots):
        fail("POST /data: %d pilot_ids" % len(created["pilot_ids"]))
    print("ok - python: POST /data 201, data_set_uuid %s" % set_id)

    total = 0
    for f in files:
        with open(f, "rb") as fh:
            raw = fh.read()
        sha = hashlib.sha256(raw).hexdigest()
        payload = base64.b64encode(raw).decode("ascii")
        endpoint = "/data/%s/shard/%s" % (set_id, sha)
        r = c.call("POST", endpoint, payload)
        if r.status_code != 201:
            fail("POST %s: %d %s" % (endpoint, r.status_code, r.text))
        a = r.json()
        if (a.get("shard_id") != sha or a.get("size") != len(raw) or
                a.get("created") is not True or
                a.get("data_set_uuid") != set_id or
                (int(pilots) > 0 and a.get("pilot_id") not in
                 created["pilot_ids"])):
            fail("shard answer: %r" % a)
        total += len(raw)
    print("ok - python: %d shards uploaded, 201 each" % len(files))

    # The first shard again: 200, "created": false, nothing changes.
    with open(files[0], "rb") as fh:
        raw = fh.read()
    sha = hashlib.sha256(raw).hexdigest()
    r = c.call("POST", "/data/%s/shard/%s" % (set_id, sha),
               base64.b64encode(raw).decode("ascii"))
    if r.status_code != 200 or r.json().get("created") is not False:
        fail("second upload: %d %s" % (r.status_code, r.text))
    print("ok - python: the same shard again 200 created=false")

    r = c.call("GET", "/data/" + name)
    if r.status_code != 200:
        fail("GET /data/%s: %d %s" % (name, r.status_code, r.text))
    s = r.json()
    if (s.get("shard_count") != len(files) or s.get("bytes") != total or
            s.get("data_set_uuid") != set_id or
            s.get("pilot_ids") != created["pilot_ids"]):
        fail("GET /data/%s: %r" % (name, s))
    if sum(p["shard_count"] for p in s["pilots"]) != (
            len(files) if int(pilots) > 0 else 0):
        fail("pilot shard counts: %r" % s["pilots"])
    print("ok - python: GET /data/%s shard_count %d bytes %d"
          % (name, len(files), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
