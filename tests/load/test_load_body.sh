#!/usr/bin/env bash
# The body cap is checked before the body is read (issue 16, finding 8):
# a request announcing a Content-Length over the 8 MiB cap is answered
# 413 at once, without sending a byte of its body, by the coordinator
# (HTTPS) and by a node's local API (HTTP); a chunked upload is stopped
# near the cap instead of being read to its end.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/mp.sh"

coord_start
org_init bank
node_start bank
NODE=$(sed 's|^http://||; s|/.*||' "$WORK/bank/node.url")
COORD=$(echo "$COORD_URL" | sed 's|^https://||; s|/.*||')

/usr/bin/python3 - "$COORD" "$NODE" <<'PY' || fail "the body cap was not applied before the body"
import socket, ssl, sys, time

def connect(hostport, tls):
    host, port = hostport.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE   # a probe of the cap, not of trust
        s = ctx.wrap_socket(s)
    return s

def over_cap(hostport, tls, path):
    s = connect(hostport, tls)
    s.settimeout(3)
    t0 = time.time()
    s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000000\r\n\r\n")
    try:
        answer = s.recv(200)
    except socket.timeout:
        sys.exit("%s: no answer within 3 s to a Content-Length over the cap "
                 "(the server waits for the body)" % hostport)
    if not answer.startswith(b"HTTP/1.1 413"):
        sys.exit("%s: expected 413, got %r" % (hostport, answer[:60]))
    print("%s: 413 after %.0f ms, no body sent" % (hostport, (time.time() - t0) * 1000))

def chunked(hostport, tls, path):
    s = connect(hostport, tls)
    s.settimeout(10)
    s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    sent = 0
    try:
        while sent < (64 << 20):
            s.sendall(chunk)
            sent += 65536
    except (OSError, ssl.SSLError):
        pass
    if sent >= (64 << 20):
        sys.exit("%s: a chunked upload of 64 MiB was read to its end (cap 8 MiB)" % hostport)
    print("%s: chunked upload stopped after %d MiB" % (hostport, sent >> 20))

over_cap(sys.argv[1], True, b"/v1/events")
over_cap(sys.argv[2], False, b"/v1/projects")
chunked(sys.argv[1], True, b"/v1/events")
chunked(sys.argv[2], False, b"/v1/projects")
PY
ok
finish
