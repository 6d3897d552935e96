#!/usr/bin/env python3
"""rawhttp.py: send one request's bytes exactly as given over TLS.

usage: rawhttp.py HOST PORT CAFILE REQUEST_FILE HEADERS_OUT BODY_OUT [TIMEOUT]

REQUEST_FILE holds the whole request (request line, headers, blank line,
body) with whatever bytes a test wants in it: NUL, bare CR, LF inside a
value. The answer's status code is printed ("000" when the server closed
the connection without an answer, or said nothing for TIMEOUT seconds,
default 20); its header block and body are written
to HEADERS_OUT and BODY_OUT. Exit 0 unless the connection itself failed.
"""
import socket
import ssl
import sys


def main():
    host, port, cafile, req, hout, bout = sys.argv[1:7]
    timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 20
    data = open(req, "rb").read()
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, int(port)), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname=host)
    got = b""
    try:
        # The server may answer (431) and close while the request is
        # still being sent: read what it said anyway.
        s.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (OSError, ssl.SSLError, socket.timeout):
        pass
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    open(hout, "wb").write(head + b"\r\n")
    open(bout, "wb").write(body)
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        print(parts[1].decode())
    else:
        print("000")


if __name__ == "__main__":
    main()
