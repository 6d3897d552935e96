#!/usr/bin/env python3
"""findsecret.py: look for secrets in files, in every form they could leak.

usage: findsecret.py SECRETS SIGNATURES FILE...

SECRETS holds one secret a line (API secrets, the seal key, a password);
each is searched as its text, upper- and lower-case, base64 of the text,
hex of the text and, when it is hex, as the raw bytes it encodes and their
base64. SIGNATURES holds one signature a line (hex), searched in either
case and as base64 of its raw bytes. FILES are read as bytes. Prints
"FILE:LINE: <what>" for each hit (never the secret itself) and exits 1 when
there is any, 0 otherwise.
"""
import base64
import binascii
import sys


def forms(value, what):
    out = []
    t = value.encode()
    out += [(t, what), (t.upper(), what + " (upper case)"),
            (t.lower(), what + " (lower case)")]  # hex: matched in any case
    out.append((base64.b64encode(t).rstrip(b"="), what + " as base64"))
    out.append((binascii.hexlify(t), what + " text as hex"))
    out.append((binascii.hexlify(t).upper(), what + " text as HEX"))
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = None
    if raw and len(raw) >= 8:
        out.append((raw, what + " as raw bytes"))
        out.append((base64.b64encode(raw).rstrip(b"="), what + " raw as base64"))
    # Any long enough piece of the text counts too (a truncated leak).
    if len(t) >= 48:
        out.append((t[:32].lower(), what + " (first 32 characters)"))
        out.append((t[-32:].lower(), what + " (last 32 characters)"))
    return out


def main():
    needles = []
    for i, line in enumerate(open(sys.argv[1]).read().split()):
        needles += forms(line.strip(), "secret #%d" % (i + 1))
    sigs = set(open(sys.argv[2]).read().split())
    for s in sorted(sigs):
        needles += forms(s, "a signature")
    needles = [(n, w) for n, w in needles if len(n) >= 16]
    hits = 0
    for path in sys.argv[3:]:
        data = open(path, "rb").read()
        low = data.lower()
        for needle, what in needles:
            if all(c in b"0123456789abcdefABCDEF" for c in needle):
                pos = low.find(needle.lower())
            else:
                pos = data.find(needle)
            if pos != -1:
                print("%s:%d: %s" % (path, data.count(b"\n", 0, pos) + 1, what))
                hits += 1
    sys.exit(1 if hits else 0)


if __name__ == "__main__":
    main()
