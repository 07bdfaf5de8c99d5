#!/usr/bin/env python3
"""Streamed requests by hand, for tests/integration/stream.sh.

usage:
  streamclient.py SOCK stall KEY
      open an HMAC stream on KEY (one part), print "open", then send
      nothing; print the answer when it comes ("answer STATUS MESSAGE")
  streamclient.py SOCK restart KEY PIDFILE
      open an HMAC stream, print "open", wait for a line on stdin (the
      test kills the signer meanwhile), send the next parts and the
      last, print the answer
  streamclient.py SOCK stalls KEY N
      open N HMAC streams on N connections, print "open N", wait for a
      line on stdin, then print the N answers
  streamclient.py SOCK reload KEY FILE
      open an HMAC stream with FILE's first half, print "open", wait for
      a line on stdin (the test reloads the broker meanwhile), send the
      second half as the last part; print the answer and "mac HEX"
  streamclient.py SOCK trickle KEY
      open an HMAC stream and send a small part every 0.2 s until the
      broker answers (stream-timeout); print the answer
  streamclient.py SOCK parts KEY
      parts for a stream nobody opened, then one that was refused: the
      first is answered once, the rest dropped; prints "PASS"/"FAIL"

Each answer line: "answer ID STATUS MESSAGE".  Waits end at P11B_HANG.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawclient as rc  # noqa: E402

OP_STREAM_DATA = 19


def hmac_begin(rid, key, data, alg=rc.HMAC_SHA256):
    body = rc.f_bytes(1, key) + rc.f_varint(2, alg) + rc.f_bytes(3, data)
    body += rc.f_varint(5, 1)                     # more
    return rc.frame(rc.request(rid, rc.OP_HMAC, body))


def hmac_identity_begin(rid, key, data, identity, alg=rc.HMAC_SHA256):
    body = rc.f_bytes(1, key) + rc.f_varint(2, alg) + rc.f_bytes(3, data)
    body += rc.f_varint(5, 1) + rc.f_bytes(10, identity)
    return rc.frame(rc.request(rid, rc.OP_HMAC, body))


def part(rid, data, last=False, mac=b'', cancel=False):
    body = rc.f_bytes(1, data)
    if last:
        body += rc.f_varint(2, 1)
    if mac:
        body += rc.f_bytes(3, mac)
    if cancel:
        body += rc.f_varint(4, 1)
    return rc.frame(rc.request(rid, OP_STREAM_DATA, body))


def answer(conn):
    r = conn.recv_response()
    if r is None:
        print('closed', flush=True)
        return None
    print('answer %d %s %s' % (r.id, r.status_name(), r.message), flush=True)
    return r


def stall(sock, key):
    c = rc.Conn(sock)
    c.send(hmac_begin(7, key, b'x' * 1000))
    print('open', flush=True)
    answer(c)


def restart(sock, key):
    c = rc.Conn(sock)
    c.send(hmac_begin(9, key, b'y' * 1000))
    print('open', flush=True)
    sys.stdin.readline()
    try:
        c.send(part(9, b'z' * 1000))
        c.send(part(9, b'z' * 1000, last=True))
    except OSError as e:
        print('send failed %s' % e, flush=True)
    answer(c)


def stalls(sock, key, n):
    conns = []
    for i in range(n):
        c = rc.Conn(sock)
        c.send(hmac_begin(100 + i, key, b's' * 100))
        conns.append(c)
    # A health on each: the stream did not block its connection.
    for i, c in enumerate(conns):
        c.send(rc.frame(rc.health(200 + i)))
        r = c.recv_response()
        if r is None or r.id != 200 + i:
            print('FAIL health on a connection with an open stream: %s'
                  % r, flush=True)
    # One more of the same uid: over max-streams-per-uid.
    extra = rc.Conn(sock)
    extra.send(hmac_begin(300, key, b's' * 100))
    answer(extra)
    print('open %d' % n, flush=True)
    sys.stdin.readline()
    for c in conns:
        answer(c)


def reload(sock, key, path):
    data = open(path, 'rb').read()
    half = len(data) // 2
    c = rc.Conn(sock)
    c.send(hmac_begin(12, key, data[:half]))
    print('open', flush=True)
    sys.stdin.readline()
    c.send(part(12, data[half:], last=True))
    r = answer(c)
    if r is not None and r.result is not None:
        print('mac %s' % r.result.get(1, [b''])[-1].hex(), flush=True)


def trickle(sock, key):
    c = rc.Conn(sock)
    c.send(hmac_begin(13, key, b't'))
    while True:
        r, _, _ = rc.select.select([c.s], [], [], 0.2)
        if r:
            answer(c)
            return
        try:
            c.send(part(13, b't'))
        except OSError as e:
            print('send failed %s' % e, flush=True)
            answer(c)
            return


def parts(sock, key):
    c = rc.Conn(sock)
    # Nobody opened stream 5: one answer, then silence for its parts.
    c.send(part(5, b'a' * 10))
    c.send(part(5, b'a' * 10))
    c.send(part(5, b'a' * 10, last=True))
    c.send(rc.frame(rc.health(6)))
    r1 = c.recv_response()
    r2 = c.recv_response()
    ok = (r1 is not None and r1.id == 5 and r1.status == rc.BAD_REQUEST and
          r2 is not None and r2.id == 6 and r2.status == rc.OK)
    print('%s a part of no stream: one BAD_REQUEST, then dropped (%s; %s)'
          % ('PASS' if ok else 'FAIL', r1, r2), flush=True)
    # A stream cancelled: one answer, the parts after it dropped.
    c.send(hmac_begin(8, key, b'b' * 10))
    c.send(part(8, b'', cancel=True))
    c.send(part(8, b'b' * 10, last=True))
    c.send(rc.frame(rc.health(10)))
    r1 = c.recv_response()
    r2 = c.recv_response()
    ok = (r1 is not None and r1.id == 8 and r1.status == rc.BAD_REQUEST and
          'cancel' in r1.message and r2 is not None and r2.id == 10)
    print('%s a cancelled stream: answered once (%s; %s)'
          % ('PASS' if ok else 'FAIL', r1, r2), flush=True)
    # A MAC on a part that is not the last: the frame is invalid.
    c.send(hmac_begin(11, key, b'c' * 10))
    c.send(part(11, b'c', mac=b'm' * 32))
    r1 = c.recv_response()
    ok = r1 is not None and r1.id == 11 and r1.status == rc.BAD_REQUEST
    print('%s a MAC before the last part: BAD_REQUEST (%s)'
          % ('PASS' if ok else 'FAIL', r1), flush=True)
    # Refused at its first frame (a wrong key identity; a key that does
    # not exist): the parts sent before the refusal was read are dropped,
    # never answered "no open stream" (which the client would take for
    # an answer to a request it does not have).
    for rid, begin, what in (
            (20, hmac_identity_begin(20, key, b'd' * 10, b'\x01' * 16),
             'a wrong identity'),
            (30, hmac_begin(30, b'no-such-key', b'e' * 10), 'an unknown key')):
        c.send(begin)
        c.send(part(rid, b'd' * 10))
        c.send(part(rid, b'd' * 10))
        c.send(part(rid, b'd' * 10, last=True))
        c.send(rc.frame(rc.health(rid + 1)))
        r1 = c.recv_response()
        r2 = c.recv_response()
        ok = (r1 is not None and r1.id == rid and
              r1.status in (rc.NO_SUCH_KEY, rc.DENIED) and
              r2 is not None and r2.id == rid + 1 and r2.status == rc.OK)
        print('%s a stream refused for %s: answered once, its parts '
              'dropped (%s; %s)' % ('PASS' if ok else 'FAIL', what, r1, r2),
              flush=True)


def main():
    sock, cmd = sys.argv[1], sys.argv[2]
    if cmd == 'stall':
        stall(sock, sys.argv[3])
    elif cmd == 'restart':
        restart(sock, sys.argv[3])
    elif cmd == 'stalls':
        stalls(sock, sys.argv[3], int(sys.argv[4]))
    elif cmd == 'reload':
        reload(sock, sys.argv[3], sys.argv[4])
    elif cmd == 'trickle':
        trickle(sock, sys.argv[3])
    elif cmd == 'parts':
        parts(sock, sys.argv[3])
    else:
        sys.exit('unknown command %s' % cmd)


if __name__ == '__main__':
    main()
