#!/usr/bin/env python3
"""Hold N idle connections to p11brokerd (tests/bench/idle.sh).

usage: idle.py SOCK N

Opens N connections and prints "open N".  Then, for each line on stdin:
  health   one Health request on every connection, each answer read;
           prints "answered N" (connections that got an OK answer)
  sign KEY one ECDSA P-256 Sign request (a 32-byte digest) on every
           connection, answers not read: prints "sent N" (requests in
           flight while the token holds them)
  collect  reads the answer to those: prints "answered N" (OK answers)
  close    closes every connection; prints "closed" and exits
EOF closes too.  Standard library only; the wire format comes from
tests/integration/rawclient.py.
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'integration'))
import rawclient  # noqa: E402


def health_all(conns):
    for i, c in enumerate(conns):
        c.send(rawclient.frame(rawclient.health(i + 1)))
    ok = 0
    for i, c in enumerate(conns):
        r = c.recv_response(timeout=30)
        if r is not None and r.status == rawclient.OK and r.id == i + 1:
            ok += 1
    return ok


def sign_all(conns, key):
    for i, c in enumerate(conns):
        c.send(rawclient.frame(rawclient.sign(
            i + 1, key.encode(), rawclient.ECDSA_P256_SHA256, bytes(32),
            is_digest=True)))
    return len(conns)


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    conns = []
    while len(conns) < n:
        try:
            conns.append(rawclient.Conn(path))
        except BlockingIOError:
            # The listen backlog is full (a non-blocking AF_UNIX connect
            # does not wait): let the broker accept.
            time.sleep(0.01)
    print('open %d' % len(conns), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'health':
            print('answered %d' % health_all(conns), flush=True)
        elif cmd.startswith('sign '):
            print('sent %d' % sign_all(conns, cmd[5:]), flush=True)
        elif cmd == 'collect':
            ok = 0
            for i, c in enumerate(conns):
                r = c.recv_response(timeout=120)
                if r is not None and r.status == rawclient.OK and \
                        r.id == i + 1:
                    ok += 1
            print('answered %d' % ok, flush=True)
        elif cmd == 'close':
            break
    for c in conns:
        c.close()
    print('closed', flush=True)


if __name__ == '__main__':
    main()
