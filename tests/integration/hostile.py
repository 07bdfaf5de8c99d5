#!/usr/bin/env python3
"""Hostile callers for tests/integration/hostile_callers.sh (and the
by-hand measurement tests/reliability/hostile.sh).

Run as the attacking uid (setpriv).  Frames are built with rawclient.py's
encoder.  Nothing here measures time: each mode waits for its event (an
answer, a close) and gives up only at P11B_HANG seconds.

usage:
  hostile.py SOCK flood N             one connection, N pipelined sign
                                      requests for a missing key; prints
                                      "answers N STATUS=COUNT..."
  hostile.py SOCK throttled N         N pipelined health requests; prints
                                      "first" at the first answer, then
                                      holds the connection (not reading)
                                      until stdin closes
  hostile.py SOCK hold N              N connections, a health request on
                                      each; prints "open K closed M" once
                                      each was answered or closed, then
                                      holds them until stdin closes
  hostile.py SOCK slow                begin a frame and send nothing more;
                                      prints "closed" when the broker
                                      hangs up (or "open" at HANG)
  hostile.py SOCK pipeline N F SIZE KEY ALG
                                      N connections, each sending F sign
                                      requests of SIZE bytes and never
                                      reading; prints "connected N", then
                                      runs until stdin closes
  hostile.py SOCK floodloop           flood (batches of 100) until stdin
                                      closes; prints "refused N"
  hostile.py SOCK slowloris N         N connections each sending a frame
                                      a byte a second, reconnecting when
                                      cut off, until stdin closes
  hostile.py SOCK probe OUT           the permitted caller (tests/
                                      reliability/hostile.sh): a sign
                                      request of ec256 on a fresh
                                      connection, again and again until
                                      stdin closes; one line per request
                                      in OUT: "ok|fail MICROSECONDS"
"""

import errno
import os
import select
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawclient as rc  # noqa: E402

HANG = rc.HANG


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(HANG)
    s.connect(path)
    return s


def read_frames(s, n):
    """Read n answers (or until EOF); returns their status names."""
    buf = b''
    out = []
    while len(out) < n:
        while len(buf) >= 4:
            ln = int.from_bytes(buf[:4], 'big')
            if len(buf) < 4 + ln:
                break
            out.append(rc.Response(buf[4:4 + ln]).status_name())
            buf = buf[4 + ln:]
            if len(out) == n:
                return out
        data = s.recv(65536)
        if not data:
            break
        buf += data
    return out


def flood(path, n):
    s = connect(path)
    req = b''.join(rc.frame(rc.sign(i + 1, 'nosuch', rc.ECDSA_P256_SHA256,
                                    b'x' * 32)) for i in range(n))
    t = threading.Thread(target=s.sendall, args=(req,))
    t.start()
    got = read_frames(s, n)
    t.join()
    counts = {}
    for st in got:
        counts[st] = counts.get(st, 0) + 1
    print('answers %d %s' % (len(got), ' '.join(
        '%s=%d' % kv for kv in sorted(counts.items()))), flush=True)


def wait_stdin():
    sys.stdin.read()


def throttled(path, n):
    s = connect(path)
    s.sendall(b''.join(rc.frame(rc.health(i + 1)) for i in range(n)))
    if read_frames(s, 1):
        print('first', flush=True)
    else:
        print('closed', flush=True)
    wait_stdin()


def answered_or_closed(s):
    """1: an answer came; 0: the broker closed the connection."""
    try:
        return 1 if read_frames(s, 1) else 0
    except (ConnectionResetError, socket.timeout):
        return 0


def hold(path, n):
    conns = []
    for i in range(n):
        try:
            s = connect(path)
            s.sendall(rc.frame(rc.health(i + 1)))
        except OSError:
            continue
        conns.append(s)
    opened = [s for s in conns if answered_or_closed(s)]
    print('open %d closed %d' % (len(opened), n - len(opened)), flush=True)
    wait_stdin()


def slow(path):
    s = connect(path)
    s.sendall(b'\0\0')          # half a header: the frame has begun
    r, _, _ = select.select([s], [], [], HANG)
    if r and s.recv(1) == b'':
        print('closed', flush=True)
    else:
        print('open', flush=True)


def pipeline(path, n, frames, size, key, alg):
    data = b'\xa5' * size
    req = b''.join(rc.frame(rc.sign(i + 1, key, alg, data))
                   for i in range(frames))
    conns = [connect(path) for _ in range(n)]
    for s in conns:
        s.settimeout(None)      # blocks on the broker's back-pressure
        threading.Thread(target=s.sendall, args=(req,), daemon=True).start()
    print('connected %d' % n, flush=True)
    wait_stdin()


def stdin_closed():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.read(1) == ''


def floodloop(path):
    s = connect(path)
    batch = 100
    req = b''.join(rc.frame(rc.sign(i + 1, 'nosuch', rc.ECDSA_P256_SHA256,
                                    b'x' * 32)) for i in range(batch))
    n = 0
    while not stdin_closed():
        t = threading.Thread(target=s.sendall, args=(req,))
        t.start()
        n += len(read_frames(s, batch))
        t.join()
    print('refused %d' % n, flush=True)


def slowloris(path, n):
    stop = threading.Event()

    def one():
        body = rc.sign(1, 'ec256', rc.ECDSA_P256_SHA256, b'x' * 32)
        msg = rc.frame(body)
        while not stop.is_set():
            try:
                s = connect(path)
                for b in msg:
                    if stop.wait(1.0):
                        break
                    s.sendall(bytes([b]))
            except OSError:
                stop.wait(0.2)
    for _ in range(n):
        threading.Thread(target=one, daemon=True).start()
    wait_stdin()
    stop.set()


def probe(path, out):
    import time
    with open(out, 'w') as f:
        i = 0
        while not stdin_closed():
            i += 1
            t0 = time.monotonic()
            ok = False
            why = ''
            stage = 'socket'
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                stage = 'connect'
                s.connect(path)
                stage = 'send'
                s.sendall(rc.frame(rc.sign(i, 'ec256', rc.ECDSA_P256_SHA256,
                                           b'probe %d' % i)))
                stage = 'read'
                got = read_frames(s, 1)
                ok = got == ['OK']
                why = 'answer:%s' % ','.join(map(str, got))
                s.close()
            except OSError as e:
                why = '%s:%s' % (stage, e.__class__.__name__ if e.errno is None
                                 else errno.errorcode.get(e.errno, e.errno))
            us = (time.monotonic() - t0) * 1e6
            # "ok US" or "fail US WHY" (the stage and the error, or the
            # answer's statuses).
            f.write('%s %d%s\n' % ('ok' if ok else 'fail', us,
                                    '' if ok else ' ' + why))
            f.flush()
            time.sleep(0.02)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if mode == 'flood':
        flood(path, int(args[0]))
    elif mode == 'throttled':
        throttled(path, int(args[0]))
    elif mode == 'hold':
        hold(path, int(args[0]))
    elif mode == 'slow':
        slow(path)
    elif mode == 'pipeline':
        pipeline(path, int(args[0]), int(args[1]), int(args[2]), args[3],
                 int(args[4]))
    elif mode == 'floodloop':
        floodloop(path)
    elif mode == 'slowloris':
        slowloris(path, int(args[0]))
    elif mode == 'probe':
        probe(path, args[0])
    else:
        sys.exit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
