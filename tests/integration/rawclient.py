#!/usr/bin/env python3
"""Raw-socket client for the p11broker integration tests.

Speaks the wire format by hand (4-byte big-endian length, then a protobuf
message) with a tiny varint / length-delimited encoder and decoder, so the
tests can send what the real client never would.  Standard library only.

usage:
  rawclient.py SOCK keepalive     one connection; each "health" line on
                                  stdin sends a Health request and prints
                                  "ok ID" or "fail REASON"
  rawclient.py SOCK case NAME     run one bad-input case on fresh
                                  connections; prints "PASS what" /
                                  "FAIL what" lines; exit 1 on any FAIL
  rawclient.py SOCK list-cases

Each check prints "PASS what" or "FAIL what: detail".  Every "what"
starts with the case's catalogue ID (tests/badinput/CATALOGUE.md).
Nothing here measures time: a check waits for its event (an answer, a
close) and gives up only at P11B_HANG seconds (60), which only a hang
reaches.  Environment: P11B_MAX_FRAME, P11B_IDLE_TIMEOUT (the broker's
settings), P11B_HANG, P11B_DAEMON_PID (for memory and descriptor
checks), P11B_TOKEN_DIR (for the known HMAC key bytes).
"""

import hashlib
import hmac
import os
import random
import select
import socket
import struct
import sys
import threading
import time
import fcntl
import termios

# --- schema numbers (proto/p11broker.proto) ---------------------------------

STATUS = {0: 'STATUS_UNSPECIFIED', 1: 'OK', 2: 'DENIED', 3: 'NO_SUCH_KEY',
          4: 'BAD_REQUEST', 5: 'UNSUPPORTED', 6: 'TOO_LARGE',
          7: 'RATE_LIMITED', 8: 'TOKEN_UNAVAILABLE', 9: 'INTERNAL'}
OK, DENIED, NO_SUCH_KEY, BAD_REQUEST, UNSUPPORTED, TOO_LARGE = 1, 2, 3, 4, 5, 6

ECDSA_P256_SHA256, ECDSA_P384_SHA384, ECDSA_P521_SHA512 = 1, 2, 3
RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512 = 4, 5, 6
RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512 = 7, 8, 9
ED25519, HMAC_SHA256, HMAC_SHA384, HMAC_SHA512 = 10, 11, 12, 13

# Request fields
REQ_ID, OP_SIGN, OP_HMAC, OP_HMAC_VERIFY = 1, 10, 11, 12
OP_SECRET, OP_PUBKEY, OP_RANDOM, OP_LIST, OP_HEALTH, OP_STATS = \
    13, 14, 15, 16, 17, 18
# Response fields
RESP_ID, RESP_STATUS, RESP_MESSAGE = 1, 2, 3

MAX_FRAME = int(os.environ.get('P11B_MAX_FRAME', '65536'))
# The one deadline of every wait: only a hang reaches it.
HANG = float(os.environ.get('P11B_HANG', '60'))
TIMEOUT = HANG
IDLE_TIMEOUT = float(os.environ.get('P11B_IDLE_TIMEOUT', '6'))
DAEMON_PID = os.environ.get('P11B_DAEMON_PID')
TOKEN_DIR = os.environ.get('P11B_TOKEN_DIR')

# --- protobuf encoding -------------------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, value):
    return varint(num << 3 | 0) + varint(value)


def f_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def frame(msg):
    return struct.pack('>I', len(msg)) + msg


def request(rid, op_field, body):
    return f_varint(REQ_ID, rid) + f_bytes(op_field, body)


def health(rid):
    return request(rid, OP_HEALTH, b'')


def random_req(rid, n):
    return request(rid, OP_RANDOM, f_varint(1, n))


def sign(rid, key, alg, data, is_digest=False, fmt=0):
    body = f_bytes(1, key) + f_varint(2, alg) + f_bytes(3, data)
    if is_digest:
        body += f_varint(4, 1)
    if fmt:
        body += f_varint(5, fmt)
    return request(rid, OP_SIGN, body)

# --- protobuf decoding -------------------------------------------------------


def read_varint(buf, i):
    shift = n = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError('bad varint')
        b = buf[i]
        i += 1
        n |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def decode(buf):
    """Return {field number: [values]}; varints as int, LEN as bytes."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError('truncated field %d' % num)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError('wire type %d' % wt)
        fields.setdefault(num, []).append(v)
    return fields


class Response:
    def __init__(self, raw):
        self.raw = raw
        f = decode(raw)
        self.fields = f
        self.id = f.get(RESP_ID, [0])[-1]
        self.status = f.get(RESP_STATUS, [0])[-1]
        self.message = f.get(RESP_MESSAGE, [b''])[-1].decode('utf-8',
                                                             'replace')
        self.result = None
        self.result_field = None
        for num in range(10, 30):
            if num in f:
                self.result_field = num
                self.result = decode(f[num][-1])

    def status_name(self):
        return STATUS.get(self.status, str(self.status))

    def __str__(self):
        return 'id=%d status=%s message="%s"' % (self.id, self.status_name(),
                                                 self.message)

# --- connection --------------------------------------------------------------


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(path)
        self.buf = b''

    def send(self, data):
        self.s.sendall(data)

    def _fill(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('timed out')
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv_response(self, timeout=TIMEOUT):
        """A Response, or None when the broker closed the connection."""
        try:
            if not self._fill(4, timeout):
                if self.buf:
                    raise ValueError('connection closed mid-header')
                return None
        except ConnectionResetError:
            return None
        n = struct.unpack('>I', self.buf[:4])[0]
        if n == 0 or n > 16 * 1024 * 1024:
            raise ValueError('bad response frame length %d' % n)
        if not self._fill(4 + n, timeout):
            raise ValueError('connection closed mid-frame')
        raw, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return Response(raw)

    def closed_by_peer(self, timeout=HANG):
        """True when the peer closes (EOF or reset) within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return False
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk

    def closed_after_error(self):
        """After an error the broker ends the connection: it reads no
        further request.  A Health sent now must get no answer, only the
        close (an open connection would answer it, an idle close would
        not come while it is busy), so no clock tells the two apart."""
        try:
            self.send(frame(health(0x7fffffff)))
        except OSError:
            return True
        try:
            return self.recv_response() is None
        except (OSError, ValueError):
            return True

    def close(self):
        self.s.close()

# --- results -----------------------------------------------------------------


class Case:
    def __init__(self):
        self.failed = False

    def check(self, cond, what, detail=''):
        if cond:
            print('PASS %s' % what)
        else:
            self.failed = True
            print('FAIL %s%s' % (what, ': ' + detail if detail else ''))
        sys.stdout.flush()
        return cond

    def info(self, text):
        print('INFO %s' % text)
        sys.stdout.flush()

    def expect(self, resp, status, rid, what):
        what = '%s -> %s id %d' % (what, STATUS[status], rid)
        if resp is None:
            return self.check(False, what, 'connection closed, no response')
        good = resp.status == status and resp.id == rid
        return self.check(good, what, 'got %s' % resp)

    def health_ok(self, conn, rid, what):
        conn.send(frame(health(rid)))
        return self.expect(conn.recv_response(), OK, rid, what)


def error_then_close(c, path, payload, status, what):
    """Send payload on a new connection, expect one error response with
    id 0 and the given status, then the connection closed."""
    conn = Conn(path)
    try:
        conn.send(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        resp = conn.recv_response()
    except (TimeoutError, ValueError) as e:
        c.check(False, what + ': error response', str(e))
        conn.close()
        return
    if status is None:
        c.check(resp is not None and resp.status not in (0, OK) and
                resp.id == 0, what + ': error response with id 0',
                'got %s' % (resp or 'close without response'))
        if resp is not None:
            print('INFO %s: %s' % (what, resp))
    else:
        c.expect(resp, status, 0, what)
    c.check(conn.closed_after_error(), what + ': connection closed by broker '
            '(a request sent after the error gets no answer)')
    conn.close()


def case_zero_length(c, path):
    error_then_close(c, path, b'\0\0\0\0', None, 'F01 zero-length frame')


def case_over_limit(c, path):
    error_then_close(c, path, b'\x00\x10\x00\x00', TOO_LARGE,
                     'F02 length header 0x00100000')
    error_then_close(c, path, b'\xff\xff\xff\xff', TOO_LARGE,
                     'F03 length header 0xffffffff')
    error_then_close(c, path, b'\x80\x00\x00\x00', TOO_LARGE,
                     'F03 length header 0x80000000 (sign bit)')
    # One byte over the limit, with the body actually following.
    error_then_close(c, path, struct.pack('>I', MAX_FRAME + 1) +
                     b'\0' * (MAX_FRAME + 1), TOO_LARGE,
                     'F04 frame of max-frame + 1 bytes')


def sized_sign(rid, total):
    """A sign request for ec256 whose encoding is exactly total bytes."""
    for n in range(total, max(-1, total - 64), -1):
        msg = sign(rid, 'ec256', ECDSA_P256_SHA256, b'\x5a' * n)
        if len(msg) == total:
            return msg
    raise ValueError('cannot size request to %d' % total)


def case_at_limit(c, path):
    conn = Conn(path)
    msg = sized_sign(41, MAX_FRAME)
    conn.send(frame(msg))
    resp = conn.recv_response()
    c.expect(resp, OK, 41, 'F05 sign request of exactly max-frame bytes')
    if resp is not None and resp.result is not None:
        sig = resp.result.get(1, [b''])[-1]
        c.check(sig[:1] == b'\x30',
                'F05 signature for max-frame request is DER')
    c.health_ok(conn, 42, 'F05 connection usable after a max-frame request')
    conn.close()


def case_truncated_close(c, path):
    conn = Conn(path)
    conn.send(struct.pack('>I', 100) + health(5)[:2] + b'\0' * 8)
    conn.close()
    c.check(True, 'F06 sent 10 of 100 announced bytes and closed')
    conn = Conn(path)
    conn.send(b'\x00\x00')       # half a length header
    conn.close()
    c.check(True, 'F07 sent half a length header and closed')


def case_truncated_idle(c, path):
    """Half a frame then silence: the broker must drop the connection
    (idle-timeout) rather than hold it forever."""
    conn = Conn(path)
    conn.send(struct.pack('>I', 100) + b'\x08')
    t0 = time.monotonic()
    closed = conn.closed_by_peer()
    c.check(closed, 'F08 silent half-frame connection closed by the broker',
            'still open after %.0f s' % HANG)
    c.info('F08 closed after %.1f s' % (time.monotonic() - t0))
    conn.close()


def case_garbage(c, path):
    for what, payload in (
            ('P01 invalid wire type 7', b'\x0f\xff\xff\xff'),
            ('P01 invalid wire type 6', b'\x0e\x01'),
            ('P02 0xff bytes', b'\xff' * 16),
            ('P03 field longer than frame', b'\x08\x05\x52\x20\x0a\x05ec256'),
            ('P04 unterminated varint', b'\x08\xff\xff\xff'),
            ('P04 frame ends inside a tag', b'\x08\x05\x92')):
        error_then_close(c, path, frame(payload), BAD_REQUEST,
                         'garbage protobuf (%s)' % what)


def case_no_op(c, path):
    conn = Conn(path)
    conn.send(frame(f_varint(REQ_ID, 7)))
    c.expect(conn.recv_response(), BAD_REQUEST, 7, 'V01 request without op')
    conn.close()
    conn = Conn(path)
    # A future op number (unknown field 30) is an op this broker lacks.
    conn.send(frame(f_varint(REQ_ID, 8) + f_bytes(30, b'')))
    resp = conn.recv_response()
    c.check(resp is not None and resp.id == 8 and
            resp.status in (BAD_REQUEST, UNSUPPORTED),
            'V02 request with an unknown op -> BAD_REQUEST or UNSUPPORTED id 8',
            'got %s' % resp)
    conn.close()
    conn = Conn(path)
    # An unknown extra field beside a known op is ignored (fields are
    # only ever added).
    conn.send(frame(health(9) + f_varint(99, 1)))
    c.expect(conn.recv_response(), OK, 9,
             'P07 health with an unknown extra field')
    conn.close()


def case_unknown_key(c, path):
    conn = Conn(path)
    conn.send(frame(sign(11, 'no-such-key', ECDSA_P256_SHA256, b'hello')))
    c.expect(conn.recv_response(), NO_SUCH_KEY, 11, 'V03 sign with unknown key')
    conn.send(frame(sign(12, '', ECDSA_P256_SHA256, b'hello')))
    resp = conn.recv_response()
    c.check(resp is not None and resp.id == 12 and
            resp.status in (NO_SUCH_KEY, BAD_REQUEST),
            'V03 sign with empty key name -> NO_SUCH_KEY or BAD_REQUEST',
            'got %s' % resp)
    c.health_ok(conn, 13, 'V03 connection usable after unknown key')
    conn.close()


def case_wrong_alg(c, path):
    conn = Conn(path)
    rid = 20
    for key, alg, name in (
            ('ec256', RSA_PSS_SHA256, 'rsa-pss-sha256 on ec256'),
            ('ec256', ECDSA_P384_SHA384, 'ecdsa-p384-sha384 on ec256'),
            ('ec256', ECDSA_P521_SHA512, 'ecdsa-p521-sha512 on ec256'),
            ('ec256', ED25519, 'ed25519 on ec256'),
            ('ec256', HMAC_SHA256, 'hmac-sha256 on ec256'),
            ('ec256', 0, 'ALGORITHM_UNSPECIFIED on ec256'),
            ('ec256', 99, 'algorithm 99 on ec256'),
            ('ec384', ECDSA_P256_SHA256, 'ecdsa-p256-sha256 on ec384'),
            ('rsa2048', ECDSA_P256_SHA256, 'ecdsa-p256-sha256 on rsa2048'),
            ('rsa2048', ED25519, 'ed25519 on rsa2048'),
            ('ed25519', RSA_PKCS1_SHA256, 'rsa-pkcs1-sha256 on ed25519'),
            ('ed25519', ECDSA_P256_SHA256, 'ecdsa-p256-sha256 on ed25519')):
        rid += 1
        conn.send(frame(sign(rid, key, alg, b'message')))
        cid = 'V07' if alg in (0, 99) else 'V08'
        c.expect(conn.recv_response(), BAD_REQUEST, rid, cid + ' ' + name)
    c.health_ok(conn, 40, 'V08 connection usable after wrong algorithms')
    conn.close()


def case_pss_salt(c, path):
    """V16: RSA-PSS salt lengths on the wire (fields 6 and 7)."""
    conn = Conn(path)
    rid = 1600
    digest = b'\x22' * 32

    def salted(key, alg, length, is_set, data=digest):
        body = (f_bytes(1, key) + f_varint(2, alg) + f_bytes(3, data) +
                f_varint(4, 1) + f_varint(6, length))
        if is_set:
            body += f_varint(7, 1)
        return request(rid, OP_SIGN, body)
    for key, alg, length, is_set, name in (
            ('rsa2048', RSA_PSS_SHA256, 5, False,
             'salt_length 5 without salt_length_set'),
            ('rsa2048', RSA_PSS_SHA256, 223, True,
             'salt 223 on a 2048-bit key with SHA-256 (max 222)'),
            ('rsa2048', RSA_PSS_SHA256, 2**32 - 1, True, 'salt 2^32-1'),
            ('rsa2048', RSA_PKCS1_SHA256, 0, True, 'salt on PKCS#1 v1.5'),
            ('ec256', ECDSA_P256_SHA256, 0, True, 'salt on ECDSA')):
        rid += 1
        conn.send(frame(salted(key, alg, length, is_set)))
        c.expect(conn.recv_response(), BAD_REQUEST, rid, 'V16 ' + name)
    for length in (0, 222):
        rid += 1
        conn.send(frame(salted('rsa2048', RSA_PSS_SHA256, length, True)))
        resp = conn.recv_response()
        c.expect(resp, OK, rid, 'V16 salt %d' % length)
        sig = (resp.result or {}).get(1, [b''])[-1] if resp else b''
        c.check(len(sig) == 256, 'V16 salt %d: a 256-byte signature' %
                length, 'got %d bytes' % len(sig))
    c.health_ok(conn, rid + 1, 'V16 connection usable after bad salts')
    conn.close()


def case_bad_digest(c, path):
    conn = Conn(path)
    rid = 50
    for key, alg, n, name in (
            ('ec256', ECDSA_P256_SHA256, 31, '31-byte digest for p256'),
            ('ec256', ECDSA_P256_SHA256, 33, '33-byte digest for p256'),
            ('ec256', ECDSA_P256_SHA256, 0, 'empty digest for p256'),
            ('ec384', ECDSA_P384_SHA384, 32, '32-byte digest for p384'),
            ('rsa2048', RSA_PKCS1_SHA384, 32,
             '32-byte digest for rsa-pkcs1-sha384'),
            ('rsa2048', RSA_PSS_SHA512, 48,
             '48-byte digest for rsa-pss-sha512')):
        rid += 1
        conn.send(frame(sign(rid, key, alg, b'\x11' * n, is_digest=True)))
        c.expect(conn.recv_response(), BAD_REQUEST, rid, 'V09 ' + name)
    rid += 1
    conn.send(frame(sign(rid, 'ed25519', ED25519, b'\x11' * 32,
                         is_digest=True)))
    c.expect(conn.recv_response(), BAD_REQUEST, rid,
             'V09 is_digest with ed25519')
    rid += 1
    conn.send(frame(sign(rid, 'ec256', ECDSA_P256_SHA256, b'\x11' * 32,
                         is_digest=True)))
    c.expect(conn.recv_response(), OK, rid, 'V09 32-byte digest for p256')
    conn.close()


def case_big_random(c, path):
    conn = Conn(path)
    conn.send(frame(random_req(61, 4097)))
    c.expect(conn.recv_response(), TOO_LARGE, 61, 'V13 random 4097')
    conn.send(frame(random_req(62, 0xffffffff)))
    c.expect(conn.recv_response(), TOO_LARGE, 62, 'V13 random 0xffffffff')
    conn.send(frame(random_req(63, 4096)))
    resp = conn.recv_response()
    if c.expect(resp, OK, 63, 'V13 random 4096'):
        data = (resp.result or {}).get(1, [b''])[-1]
        c.check(len(data) == 4096, 'V13 random 4096 returns 4096 bytes',
                'got %d bytes' % len(data))
    conn.send(frame(random_req(64, 0)))
    c.expect(conn.recv_response(), BAD_REQUEST, 64, 'V13 random 0')
    conn.send(frame(request(65, OP_RANDOM, b'')))
    c.expect(conn.recv_response(), BAD_REQUEST, 65,
             'V13 random without a length')
    conn.close()


PIPELINE = 1000     # more than the broker's 256 in flight per connection


def case_pipeline(c, path):
    conn = Conn(path)
    kinds = {}
    batch = b''
    for i in range(PIPELINE):
        rid = 1000 + i
        if i % 3 == 0:
            batch += frame(health(rid))
            kinds[rid] = 'health'
        elif i % 3 == 1:
            batch += frame(random_req(rid, 16))
            kinds[rid] = 'random'
        else:
            batch += frame(sign(rid, 'ec256', ECDSA_P256_SHA256,
                                b'pipelined %d' % rid))
            kinds[rid] = 'sign'
    conn.send(batch)
    got = []
    bad = []
    try:
        for _ in range(PIPELINE):
            resp = conn.recv_response()
            if resp is None:
                bad.append('connection closed after %d responses' % len(got))
                break
            got.append(resp.id)
            kind = kinds.get(resp.id)
            if resp.status != OK:
                bad.append(str(resp))
            elif kind == 'random':
                if len((resp.result or {}).get(1, [b''])[-1]) != 16:
                    bad.append('random %d: wrong length' % resp.id)
            elif kind == 'sign':
                if (resp.result or {}).get(1, [b''])[-1][:1] != b'\x30':
                    bad.append('sign %d: not DER' % resp.id)
    except (TimeoutError, ValueError) as e:
        bad.append(str(e))
    c.check(len(got) == PIPELINE, 'C01 %d pipelined requests -> %d responses'
            % (PIPELINE, PIPELINE),
            'got %d' % len(got))
    c.check(sorted(got) == sorted(kinds), 'C01 response ids match request ids',
            'missing %s extra %s' % (sorted(set(kinds) - set(got))[:5],
                                     sorted(set(got) - set(kinds))[:5]))
    c.check(not bad, 'C01 every pipelined response OK with the right result',
            '; '.join(bad[:3]))
    print('INFO responses in request order: %s' % (got == sorted(got)))
    c.health_ok(conn, 2000, 'C01 connection usable after the pipeline')
    conn.close()


def case_slow_bytes(c, path):
    conn = Conn(path)
    data = frame(sign(70, 'ec256', ECDSA_P256_SHA256, b'slow'))
    for b in data:
        conn.send(bytes([b]))
        time.sleep(0.002)
    c.expect(conn.recv_response(), OK, 70,
             'F10 request written one byte at a time')
    conn.close()


def case_many_idle(c, path):
    idle = [Conn(path) for _ in range(40)]
    conn = Conn(path)
    c.health_ok(conn, 80, 'C07 health while 40 other connections sit idle')
    conn.close()
    for x in idle:
        x.close()


def case_hangup_mid_request(c, path):
    conn = Conn(path)
    # 32 RSA signatures keep the token busy for tens of milliseconds, so
    # that some are surely still there when the hang-up is seen.
    batch = b''.join(frame(sign(90 + i, 'rsa2048', RSA_PSS_SHA256,
                                b'abandoned')) for i in range(32))
    conn.send(batch)
    conn.close()
    c.check(True, 'C09 sent 32 sign requests and hung up without reading')


# --- framing -----------------------------------------------------------------


def case_split_frames(c, path):
    conn = Conn(path)
    data = frame(sign(100, 'ec256', ECDSA_P256_SHA256, b'split'))
    for i in range(4):          # the length prefix, one byte per write
        conn.send(data[i:i + 1])
        time.sleep(0.05)
    conn.send(data[4:9])
    time.sleep(0.05)
    conn.send(data[9:])
    c.expect(conn.recv_response(), OK, 100,
             'F09 length prefix split over four writes')
    a, b = frame(health(101)), frame(health(102))
    both = a + b
    conn.send(both[:len(a) + 2])
    time.sleep(0.05)
    conn.send(both[len(a) + 2:])
    ids = sorted(r.id for r in (conn.recv_response(), conn.recv_response())
                 if r is not None)
    c.check(ids == [101, 102], 'F11 two frames, the write split inside the '
            'second header -> both answered', 'got ids %s' % ids)
    conn.send(b''.join(frame(health(110 + i)) for i in range(20)))
    ids = []
    for _ in range(20):
        r = conn.recv_response()
        if r is None or r.status != OK:
            break
        ids.append(r.id)
    c.check(sorted(ids) == list(range(110, 130)),
            'F11 20 frames in one write -> 20 OK responses',
            'got %s' % ids)
    conn.close()


def case_good_then_bad(c, path):
    """A complete request and a bad frame in one write: the request is
    answered, then the frame error, then the connection closes."""
    conn = Conn(path)
    conn.send(frame(health(120)) + b'\0\0\0\0')
    r1 = conn.recv_response()
    r2 = conn.recv_response() if r1 is not None else None
    c.expect(r1, OK, 120, 'F12 health then a zero-length frame: health')
    c.expect(r2, BAD_REQUEST, 0, 'F12 then the frame error')
    c.check(conn.closed_after_error(), 'F12 then the connection is closed')
    conn.close()
    # A request still at the token when the bad frame arrives: the
    # connection closes after the error; its answer may be lost.
    conn = Conn(path)
    conn.send(frame(sign(121, 'rsa2048', RSA_PSS_SHA256, b'x')) +
              b'\xff\xff\xff\xff')
    got = []
    try:
        while True:
            r = conn.recv_response()
            if r is None:
                break
            got.append('%d:%s' % (r.id, r.status_name()))
    except (TimeoutError, ValueError) as e:
        got.append(str(e))
    c.check('0:TOO_LARGE' in got, 'F12 sign then an over-limit header: '
            'TOO_LARGE id 0 and close', 'got %s' % got)
    c.info('F12 answers before the close: %s' % got)
    conn.close()

# --- protobuf ----------------------------------------------------------------


def case_wrong_wire_type(c, path):
    for what, payload in (
            ('P05 id (varint) sent as bytes',
             f_bytes(REQ_ID, b'\x05') + f_bytes(OP_HEALTH, b'')),
            ('P05 health (message) sent as varint',
             f_varint(REQ_ID, 5) + f_varint(OP_HEALTH, 0)),
            ('P05 sign.key (string) sent as varint',
             f_varint(REQ_ID, 5) + f_bytes(OP_SIGN, f_varint(1, 7))),
            ('P05 random.length sent as fixed32',
             f_varint(REQ_ID, 5) + f_bytes(OP_RANDOM, b'\x0d\x10\0\0\0')),
            ('P06 start-group wire type',
             f_varint(REQ_ID, 5) + b'\xa3\x06' + b'\xa4\x06'),
            ('P06 field number 0', b'\x00\x01' + f_bytes(OP_HEALTH, b''))):
        error_then_close(c, path, frame(payload), BAD_REQUEST, what)


def case_unknown_fields(c, path):
    conn = Conn(path)
    rid = 130
    for what, body in (
            ('P07 unknown varint, fixed64, fixed32 and bytes fields',
             health(130) + f_varint(99, 1) + varint(98 << 3 | 1) +
             b'\1' * 8 + varint(97 << 3 | 5) + b'\2' * 4 +
             f_bytes(96, b'future')),
            ('P07 unknown field number 2^29-1',
             health(131) + f_varint((1 << 29) - 1, 7)),
            ('P07 unknown field inside the health message',
             f_varint(REQ_ID, 132) + f_bytes(OP_HEALTH, f_varint(50, 1)))):
        conn.send(frame(body))
        c.expect(conn.recv_response(), OK, rid, what)
        rid += 1
    conn.send(frame(f_varint(REQ_ID, 133) + f_bytes(
        OP_SIGN, f_bytes(1, 'ec256') + f_varint(2, ECDSA_P256_SHA256) +
        f_bytes(3, b'msg') + f_varint(15, 1) + f_bytes(16, b'x'))))
    r = conn.recv_response()
    if c.expect(r, OK, 133, 'P07 sign with unknown fields inside'):
        sig = (r.result or {}).get(1, [b''])[-1]
        c.check(sig[:1] == b'\x30', 'P07 and its signature is DER')
    conn.close()


def case_duplicate_fields(c, path):
    conn = Conn(path)
    conn.send(frame(f_varint(REQ_ID, 5) + f_varint(REQ_ID, 140) +
                    f_bytes(OP_HEALTH, b'')))
    c.expect(conn.recv_response(), OK, 140, 'P08 id twice: the last wins')
    conn.send(frame(sign(141, 'ec256', ECDSA_P256_SHA256, b'm') +
                    f_bytes(OP_HEALTH, b'')))
    r = conn.recv_response()
    c.check(r is not None and r.id == 141 and r.status == OK and
            r.result_field == OP_HEALTH,
            'P08 sign then health in one request: the last op (health) wins',
            'got %s result %s' % (r, r and r.result_field))
    conn.send(frame(health(142) + f_bytes(OP_SIGN, f_bytes(1, 'ec256') +
                                          f_varint(2, ECDSA_P256_SHA256) +
                                          f_bytes(3, b'm'))))
    r = conn.recv_response()
    c.check(r is not None and r.id == 142 and r.status == OK and
            r.result_field == OP_SIGN,
            'P08 health then sign in one request: the last op (sign) wins',
            'got %s result %s' % (r, r and r.result_field))
    conn.send(frame(f_varint(REQ_ID, 143) + f_bytes(
        OP_SIGN, f_bytes(1, 'no-such-key') + f_bytes(1, 'ec256') +
        f_varint(2, ED25519) + f_varint(2, ECDSA_P256_SHA256) +
        f_bytes(3, b'm'))))
    c.expect(conn.recv_response(), OK, 143,
             'P08 key and algorithm twice inside sign: the last wins')
    # A repeated embedded message is merged (protobuf rules).
    conn.send(frame(f_varint(REQ_ID, 144) +
                    f_bytes(OP_SIGN, f_bytes(1, 'ec256')) +
                    f_bytes(OP_SIGN, f_varint(2, ECDSA_P256_SHA256) +
                            f_bytes(3, b'm'))))
    r = conn.recv_response()
    c.check(r is not None and r.id == 144 and r.status in (OK, BAD_REQUEST),
            'P08 sign message split over two fields: merged (OK) or '
            'refused (BAD_REQUEST), id 144', 'got %s' % r)
    if r is not None:
        c.info('P08 split sign message: %s' % r)
    c.health_ok(conn, 145, 'P08 connection usable after duplicates')
    conn.close()


def case_nested_overflow(c, path):
    key = f_bytes(1, 'ec256') + f_varint(2, ECDSA_P256_SHA256)
    for what, payload in (
            ('P09 sign field claims 2^31 bytes',
             f_varint(REQ_ID, 5) + varint(OP_SIGN << 3 | 2) +
             varint(1 << 31) + key),
            ('P09 sign.data claims 2^32 + 5 bytes',
             f_varint(REQ_ID, 5) + f_bytes(OP_SIGN, key + varint(3 << 3 | 2) +
                                         varint((1 << 32) + 5) + b'abcde')),
            ('P09 sign field length 2^64-1',
             f_varint(REQ_ID, 5) + varint(OP_SIGN << 3 | 2) +
             varint((1 << 64) - 1) + key),
            ('P10 overlong (11-byte) varint id',
             varint(REQ_ID << 3) + b'\xff' * 10 + b'\x01' +
             f_bytes(OP_HEALTH, b''))):
        error_then_close(c, path, frame(payload), BAD_REQUEST, what)


def case_ids(c, path):
    conn = Conn(path)
    big = (1 << 64) - 1
    conn.send(frame(health(big)))
    c.expect(conn.recv_response(), OK, big, 'P10 id 2^64-1 is echoed')
    conn.send(frame(f_bytes(OP_HEALTH, b'')))
    c.expect(conn.recv_response(), OK, 0, 'P10 request without an id')
    conn.send(frame(f_varint(REQ_ID, 150) + f_bytes(OP_SIGN, b'')))
    c.expect(conn.recv_response(), BAD_REQUEST, 150,
             'P11 empty sign message (no key, no algorithm)')
    conn.send(frame(f_varint(REQ_ID, 151) + f_bytes(OP_HMAC_VERIFY, b'')))
    c.expect(conn.recv_response(), BAD_REQUEST, 151,
             'P11 empty hmac-verify message')
    c.health_ok(conn, 152, 'P11 connection usable after empty messages')
    conn.close()

# --- field values ------------------------------------------------------------


def case_key_names(c, path):
    conn = Conn(path)
    rid = 160
    for name, status, what in (
            ('a' * 64, NO_SUCH_KEY, 'V04 64-character key name (unknown)'),
            ('a' * 65, BAD_REQUEST, 'V04 65-character key name'),
            ('k' * 60000, BAD_REQUEST, 'V04 60000-character key name'),
            ('ec 256', BAD_REQUEST, 'V05 key name with a space'),
            ('../ec256', BAD_REQUEST, 'V05 key name with a slash'),
            ('ec256\n', BAD_REQUEST, 'V05 key name with a newline'),
            ('ec256*', BAD_REQUEST, 'V05 key name with a star'),
            ('\u00e9c256', BAD_REQUEST, 'V05 key name with UTF-8 (e-acute)'),
            (b'ec\xff\xfe256', BAD_REQUEST, 'V05 key name not UTF-8')):
        rid += 1
        conn.send(frame(sign(rid, name, ECDSA_P256_SHA256, b'm')))
        c.expect(conn.recv_response(), status, rid, what)
    for name, what in ((b'ec256\0', 'V06 key name "ec256" + NUL'),
                       (b'ec256\0evil', 'V06 key name "ec256" NUL "evil"'),
                       (b'\0ec256', 'V06 key name NUL "ec256"')):
        rid += 1
        conn.send(frame(sign(rid, name, ECDSA_P256_SHA256, b'm')))
        c.expect(conn.recv_response(), BAD_REQUEST, rid, what)
    c.health_ok(conn, 199, 'V04-V06 connection usable after bad key names')
    conn.close()


def case_field_values(c, path):
    conn = Conn(path)
    tests = (
        (200, sign(200, 'ec256', ECDSA_P256_SHA256, b'm', fmt=7),
         BAD_REQUEST, 'V10 signature format 7'),
        (201, sign(201, 'rsa2048', RSA_PKCS1_SHA256, b'm', fmt=1),
         BAD_REQUEST, 'V10 raw format on an RSA key'),
        (202, sign(202, 'ed25519', ED25519, b'm', fmt=1),
         BAD_REQUEST, 'V10 raw format on ed25519'),
        (203, f_varint(REQ_ID, 203) + f_bytes(OP_SIGN, f_bytes(1, 'ec256') +
                                             varint(2 << 3) + b'\xff' * 9 +
                                             b'\x01' + f_bytes(3, b'm')),
         BAD_REQUEST, 'V07 algorithm -1'),
        (204, request(204, OP_HMAC, f_bytes(1, 'hmac32') +
                      f_varint(2, ECDSA_P256_SHA256) + f_bytes(3, b'm')),
         BAD_REQUEST, 'V08 hmac with an ECDSA algorithm'),
        (205, request(205, OP_HMAC, f_bytes(1, 'hmac32') + f_varint(2, 77) +
                      f_bytes(3, b'm')),
         BAD_REQUEST, 'V07 hmac algorithm 77'),
        (206, sign(206, 'hmac32', HMAC_SHA256, b'm'),
         DENIED, 'V15 sign with an HMAC key (hmac only)'),
        (207, request(207, OP_SECRET, f_bytes(1, 'sealed')),
         UNSUPPORTED, 'V15 secret of a non-extractable key'),
        (208, request(208, OP_STATS, b''), DENIED,
         'V15 stats without a stats rule'),
        (209, request(209, OP_PUBKEY, f_bytes(1, 'hmac32')), DENIED,
         'V15 public key of a secret key'),
        (210, request(210, OP_SECRET, f_bytes(1, 'ec256')), DENIED,
         'V15 secret of a private key'),
    )
    for rid, body, status, what in tests:
        conn.send(frame(body))
        c.expect(conn.recv_response(), status, rid, what)
    conn.send(frame(sign(211, 'ec256', ECDSA_P256_SHA256, b'm', fmt=1)))
    r = conn.recv_response()
    if c.expect(r, OK, 211, 'V10 raw format on ec256'):
        c.check(len((r.result or {}).get(1, [b''])[-1]) == 64,
                'V10 raw P-256 signature is 64 bytes')
    c.health_ok(conn, 212, 'V07-V15 connection usable after bad values')
    conn.close()


def hmac_key():
    if not TOKEN_DIR:
        return None
    with open(os.path.join(TOKEN_DIR, 'hmac32.key'), 'rb') as f:
        return f.read()


def case_empty_input(c, path):
    conn = Conn(path)
    conn.send(frame(sign(220, 'ec256', ECDSA_P256_SHA256, b'')))
    r = conn.recv_response()
    if c.expect(r, OK, 220, 'V11 sign an empty message (ec256)'):
        c.check((r.result or {}).get(1, [b''])[-1][:1] == b'\x30',
                'V11 its signature is DER')
    conn.send(frame(sign(221, 'ed25519', ED25519, b'')))
    r = conn.recv_response()
    if c.expect(r, OK, 221, 'V11 sign an empty message (ed25519)'):
        c.check(len((r.result or {}).get(1, [b''])[-1]) == 64,
                'V11 its signature is 64 bytes')
    conn.send(frame(request(222, OP_HMAC, f_bytes(1, 'hmac32') +
                            f_varint(2, HMAC_SHA256))))
    r = conn.recv_response()
    key = hmac_key()
    if c.expect(r, OK, 222, 'V11 hmac of empty data') and key:
        mac = (r.result or {}).get(1, [b''])[-1]
        c.check(mac == hmac.new(key, b'', hashlib.sha256).digest(),
                'V11 the MAC of empty data is HMAC-SHA256(key, "")')
    conn.close()


def case_max_input(c, path):
    conn = Conn(path)
    for rid, n, status in ((230, 1024, OK), (231, 1025, TOO_LARGE),
                           (232, 60000, TOO_LARGE)):
        conn.send(frame(request(rid, OP_HMAC, f_bytes(1, 'hmac64') +
                                f_varint(2, HMAC_SHA256) +
                                f_bytes(3, b'\x42' * n))))
        c.expect(conn.recv_response(), status, rid,
                 'V12 hmac64 (max-input 1024) with %d bytes' % n)
    c.health_ok(conn, 233, 'V12 connection usable after TOO_LARGE')
    conn.close()


def hmac_verify(rid, data, mac, alg=HMAC_SHA256, key='hmac32'):
    return request(rid, OP_HMAC_VERIFY, f_bytes(1, key) + f_varint(2, alg) +
                   f_bytes(3, data) + f_bytes(4, mac))


def case_hmac_verify(c, path):
    key = hmac_key()
    data = b'the data'
    good = hmac.new(key or b'', data, hashlib.sha256).digest()
    conn = Conn(path)
    rid = 240
    for n in (0, 1, 31, 33, 48, 64, 1000):
        rid += 1
        conn.send(frame(hmac_verify(rid, data, b'\x11' * n)))
        c.expect(conn.recv_response(), BAD_REQUEST, rid,
                 'V14 hmac-verify (sha256) with a %d-byte MAC' % n)
    if key:
        for rid, mac, valid, what in (
                (250, good, 1, 'the right MAC'),
                (251, good[:-1] + bytes([good[-1] ^ 1]), 0, 'a wrong MAC')):
            conn.send(frame(hmac_verify(rid, data, mac)))
            r = conn.recv_response()
            if c.expect(r, OK, rid, 'V14 hmac-verify with ' + what):
                got = (r.result or {}).get(1, [0])[-1]
                c.check(got == valid, 'V14 %s -> valid=%d' % (what, valid),
                        'got valid=%s' % got)
    c.health_ok(conn, 252, 'V14 connection usable after hmac-verify')
    conn.close()

# --- connections -------------------------------------------------------------


def daemon_pids():
    """The daemon and every process below it (monitor, front, signer: the
    checks hold whatever the process layout)."""
    if not DAEMON_PID:
        return []
    parent = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                stat = f.read()
        except OSError:
            continue
        parent[int(d)] = int(stat.rsplit(')', 1)[1].split()[1])
    pids, todo = [], [int(DAEMON_PID)]
    while todo:
        p = todo.pop()
        if p in parent:
            pids.append(p)
            todo.extend(q for q, pp in parent.items() if pp == p)
    return pids


def daemon_rss_kib():
    """Total RSS of the daemon's processes, or None."""
    total = None
    for pid in daemon_pids():
        try:
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total = (total or 0) + int(line.split()[1])
        except OSError:
            pass
    return total


def daemon_instrumented():
    """Under ASan or valgrind RSS says little (quarantine, shadow memory):
    the memory checks then only report."""
    for pid in daemon_pids():
        try:
            with open('/proc/%d/maps' % pid) as f:
                maps = f.read()
        except OSError:
            continue
        if 'libasan' in maps or 'vgpreload' in maps:
            return True
    return False


def check_rss(c, cond, what, detail):
    if daemon_instrumented():
        c.info('%s: not checked under ASan/valgrind (%s)' % (what, detail))
    else:
        c.check(cond, what, detail)


def daemon_fds():
    """Open descriptors of all the daemon's processes, or None."""
    total = None
    for pid in daemon_pids():
        try:
            total = (total or 0) + len(os.listdir('/proc/%d/fd' % pid))
        except OSError:
            pass
    return total


def mixed_request(rid):
    k = rid % 10
    if k == 0:
        return frame(sign(rid, 'ec256', ECDSA_P256_SHA256, b'flood')), 'sign'
    if k == 1:
        return frame(random_req(rid, 16)), 'random'
    return frame(health(rid)), 'health'


FLOOD = 10000


def case_pipeline_flood(c, path):
    """Far more requests than the 256 in flight per connection, sent in
    one go while a second thread reads."""
    conn = Conn(path)
    first = 1 << 20
    kinds, batch = {}, []
    for rid in range(first, first + FLOOD):
        data, kinds[rid] = mixed_request(rid)
        batch.append(data)
    got, bad = [], []

    def reader():
        try:
            for _ in range(FLOOD):
                r = conn.recv_response()
                if r is None:
                    bad.append('closed after %d responses' % len(got))
                    return
                got.append(r.id)
                if r.status != OK:
                    bad.append(str(r))
        except (OSError, ValueError) as e:
            bad.append(str(e))

    t = threading.Thread(target=reader)
    t.start()
    conn.send(b''.join(batch))
    t.join(60)
    c.check(len(got) == FLOOD and sorted(got) == sorted(kinds),
            'C02 %d pipelined requests -> %d responses, ids matched'
            % (FLOOD, FLOOD), 'got %d; %s' % (len(got), bad[:2]))
    c.check(not bad, 'C02 every flood response OK', '; '.join(bad[:3]))
    c.health_ok(conn, 7, 'C02 connection usable after the flood')
    conn.close()


def case_half_close(c, path):
    """shutdown(SHUT_WR) after the requests: every answer must still
    arrive, then EOF."""
    for what, reqs in (
            ('health', [frame(health(300 + i)) for i in range(5)]),
            ('sign', [frame(sign(310 + i, 'ec256', ECDSA_P256_SHA256, b'h'))
                      for i in range(5)])):
        conn = Conn(path)
        conn.send(b''.join(reqs))
        conn.s.shutdown(socket.SHUT_WR)
        got = []
        try:
            while True:
                r = conn.recv_response()
                if r is None:
                    break
                got.append((r.id, r.status))
        except (TimeoutError, ValueError) as e:
            got.append(str(e))
        ok = len(got) == len(reqs) and all(
            isinstance(g, tuple) and g[1] == OK for g in got)
        c.check(ok, 'C03 %d %s requests then SHUT_WR -> %d OK responses, '
                'then EOF' % (len(reqs), what, len(reqs)),
                'got %s' % got)
        conn.close()


def case_no_read(c, path):
    """A client that sends many requests with big answers and does not
    read them: the broker stops reading it (1 MiB unread, 256 in flight),
    its memory stays bounded, others are served, and nothing is lost once
    the client reads."""
    n = 2000
    rss0 = daemon_rss_kib()
    conn = Conn(path)
    conn.send(b''.join(frame(random_req(400000 + i, 4096)) for i in range(n)))
    c.check(wait_backpressure(conn), 'C04 the broker stops answering the '
            'client that does not read')
    rss1 = daemon_rss_kib()
    other = Conn(path)
    c.health_ok(other, 1, 'C04 another client is served meanwhile')
    other.send(frame(sign(2, 'ec256', ECDSA_P256_SHA256, b'meanwhile')))
    c.expect(other.recv_response(), OK, 2, 'C04 and signs meanwhile')
    other.close()
    if rss0 is not None and rss1 is not None:
        c.info('C04 daemon RSS %d KiB before, %d KiB with %d MiB of answers '
               'unread' % (rss0, rss1, n * 4 // 1024))
        check_rss(c, rss1 - rss0 < 16 * 1024, 'C04 daemon RSS grew by less '
                  'than 16 MiB with ~8 MiB of unread answers',
                  'grew by %d KiB' % (rss1 - rss0))
    got = 0
    try:
        for _ in range(n):
            r = conn.recv_response()
            if r is None or r.status != OK:
                break
            got += 1
    except (TimeoutError, ValueError):
        pass
    c.check(got == n, 'C04 all %d answers arrive once the client reads' % n,
            'got %d' % got)
    conn.close()


def queued(sock):
    """(bytes sent but not yet read by the broker, bytes answered but not
    yet read by us) on a Unix stream socket."""
    outq = struct.unpack('i', fcntl.ioctl(sock, termios.TIOCOUTQ,
                                          b'\0\0\0\0'))[0]
    inq = struct.unpack('i', fcntl.ioctl(sock, termios.FIONREAD,
                                         b'\0\0\0\0'))[0]
    return outq, inq


def wait_backpressure(conn):
    """Until the broker has stopped answering a client that does not
    read: answers wait on our side and neither queue moves for 20 looks
    in a row (a broker that is merely slow, on a busy machine, only
    makes the memory measured after this smaller).  False at HANG."""
    deadline = time.monotonic() + HANG
    last, same = None, 0
    while time.monotonic() < deadline:
        now = queued(conn.s)
        same = same + 1 if now == last and now[1] > 0 else 0
        if same >= 20:
            return True
        last = now
        time.sleep(0.05)
    return False


def case_silent(c, path):
    """A connection that never sends is closed, and not before the idle
    timeout (the clock starts before connect, so a slow client cannot
    make the broker look early; a busy machine only makes it later)."""
    t0 = time.monotonic()
    conn = Conn(path)
    closed = conn.closed_by_peer()
    took = time.monotonic() - t0
    c.check(closed, 'C05 a connection that never sends is closed',
            'still open after %.0f s' % took)
    c.check(took >= IDLE_TIMEOUT - 1, 'C05 ... not before idle-timeout '
            '(%.0f s)' % IDLE_TIMEOUT, 'closed after %.1f s' % took)
    c.info('C05 closed after %.1f s' % took)
    conn.close()


def case_slowloris(c, path):
    """One byte per second into a frame that never ends: the broker must
    drop the connection (after its idle-timeout, whatever the bytes),
    not whenever the sender tires; only a hang reaches the deadline."""
    limit = HANG
    conn = Conn(path)
    data = struct.pack('>I', 200) + b'\x08' * 200
    t0 = time.monotonic()
    closed = False
    for i in range(len(data)):
        if time.monotonic() - t0 > limit:
            break
        try:
            conn.send(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if conn.closed_by_peer(1.0):
            closed = True
            break
    took = time.monotonic() - t0
    c.info('C06 closed after %.1f s' % took)
    c.check(closed, 'C06 slowloris (1 byte/s into a 200-byte frame) '
            'closed by the broker',
            'still open after %.0f s, %d bytes sent' % (took, i))
    conn.close()


def held_or_closed(s, rid):
    """'held' when the broker answers a Health on this connection,
    'closed' when it closes it instead, else what went wrong."""
    try:
        s.settimeout(HANG)
        s.sendall(frame(health(rid)))
        hdr = s.recv(4)
    except socket.timeout:
        return 'neither answered nor closed in %.0f s' % HANG
    except OSError:
        return 'closed'
    if not hdr:
        return 'closed'
    return 'held' if len(hdr) == 4 else 'half a header'


def case_conn_flood(c, path):
    """10,000 connection attempts against max-clients: the excess is
    closed at once, the established keep being served, and the broker's
    descriptors and memory come back."""
    total, wave = 10000, 500
    fds0, rss0 = daemon_fds(), daemon_rss_kib()
    keep = Conn(path)
    c.health_ok(keep, 1, 'C08 established connection before the flood')
    max_open = refused = attempts = 0
    bad = []
    rid = 10
    while attempts < total:
        socks = []
        for _ in range(wave):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(HANG)
            attempts += 1
            try:
                s.connect(path)
                socks.append(s)
            except OSError:
                refused += 1
                s.close()
        # Each connection is either held (it answers a Health) or closed
        # by the broker: wait for one or the other, however long the
        # broker takes to reach it.
        held = 0
        for s in socks:
            rid += 1
            verdict = held_or_closed(s, rid)
            if verdict == 'held':
                held += 1
            elif verdict == 'closed':
                refused += 1
            else:
                bad.append(verdict)
        max_open = max(max_open, held)
        rid += 1
        keep.send(frame(health(rid)))
        r = keep.recv_response()
        if r is None or r.status != OK:
            bad.append('established connection: %s' % r)
        for s in socks:
            s.close()
    c.check(attempts == total, 'C08 %d connection attempts made' % total)
    c.check(max_open <= 64, 'C08 at most max-clients (64) held at once',
            'held %d' % max_open)
    c.check(refused >= total - 64 * (total // wave),
            'C08 the excess was refused or closed by the broker',
            'refused %d' % refused)
    c.check(not bad, 'C08 every admitted connection served, every other '
            'closed, the established one served throughout',
            '; '.join(bad[:3]))
    c.info('C08 %d attempts, %d refused or closed, at most %d held in a '
           'wave' % (attempts, refused, max_open))
    keep.close()
    if fds0 is not None:
        deadline = time.monotonic() + HANG
        while daemon_fds() > fds0 and time.monotonic() < deadline:
            time.sleep(0.1)
        fds1 = daemon_fds()
        c.check(fds1 <= fds0, 'C08 daemon descriptors back to %d' % fds0,
                'now %d' % fds1)
    rss1 = daemon_rss_kib()
    if rss0 is not None and rss1 is not None:
        c.info('C08 daemon RSS %d KiB before, %d KiB after' % (rss0, rss1))
        check_rss(c, rss1 - rss0 < 4096, 'C08 daemon RSS back near its '
                  'baseline (within 4 MiB)', 'grew by %d KiB' % (rss1 - rss0))


def case_reset_unread(c, path):
    """Close with answers unread in the receive queue: the broker's next
    send gets ECONNRESET/EPIPE."""
    conn = Conn(path)
    conn.send(b''.join(frame(random_req(500 + i, 4096)) for i in range(50)))
    deadline = time.monotonic() + HANG
    while queued(conn.s)[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)        # until answers wait unread
    conn.send(b''.join(frame(sign(600 + i, 'rsa2048', RSA_PSS_SHA256, b'r'))
                       for i in range(8)))
    conn.close()
    c.check(True, 'C10 closed with unread answers and requests in flight')


def case_parallel_garbage(c, path):
    """50 clients at once, each sending random frames."""
    rng = random.Random(4242)
    payloads = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
                for _ in range(50)]
    results = [None] * 50

    def one(i):
        try:
            conn = Conn(path)
            conn.send(frame(payloads[i]))
            r = conn.recv_response()
            results[i] = 'closed' if r is None else (
                'status %s' % r.status_name())
            conn.close()
        except (OSError, ValueError) as e:
            results[i] = 'error %s' % e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    bad = [r for r in results if r is None or r.startswith('error') or
           r == 'status OK']
    c.check(not bad, 'C11 50 clients sending random bytes at once: each '
            'gets an error status or a close', '%s' % bad[:3])
    c.info('C11 outcomes: %s' % sorted(set(results)))


CASES = {
    'zero-length': case_zero_length,
    'over-limit': case_over_limit,
    'at-limit': case_at_limit,
    'truncated-close': case_truncated_close,
    'truncated-idle': case_truncated_idle,
    'garbage': case_garbage,
    'no-op': case_no_op,
    'unknown-key': case_unknown_key,
    'wrong-alg': case_wrong_alg,
    'bad-digest': case_bad_digest,
    'big-random': case_big_random,
    'pipeline': case_pipeline,
    'slow-bytes': case_slow_bytes,
    'many-idle': case_many_idle,
    'hangup-mid-request': case_hangup_mid_request,
    'split-frames': case_split_frames,
    'good-then-bad': case_good_then_bad,
    'wrong-wire-type': case_wrong_wire_type,
    'unknown-fields': case_unknown_fields,
    'duplicate-fields': case_duplicate_fields,
    'nested-overflow': case_nested_overflow,
    'ids': case_ids,
    'key-names': case_key_names,
    'field-values': case_field_values,
    'empty-input': case_empty_input,
    'max-input': case_max_input,
    'hmac-verify': case_hmac_verify,
    'pipeline-flood': case_pipeline_flood,
    'half-close': case_half_close,
    'no-read': case_no_read,
    'silent': case_silent,
    'slowloris': case_slowloris,
    'conn-flood': case_conn_flood,
    'reset-unread': case_reset_unread,
    'parallel-garbage': case_parallel_garbage,
    'pss-salt': case_pss_salt,
}


def keepalive(path):
    """One connection held open for the whole test.  Each "health" line
    on stdin sends a Health request and reports on it; between commands
    the connection also pings by itself every second, so that slow test
    steps do not make it idle, and reports any failure of those pings
    with the next answer."""
    conn = Conn(path)
    rid = 1 << 40
    errors = []

    def ping():
        nonlocal rid
        rid += 1
        try:
            conn.send(frame(health(rid)))
            resp = conn.recv_response()
            if resp is None:
                return 'connection closed by broker'
            if resp.status != OK or resp.id != rid:
                return '%s (expected OK id=%d)' % (resp, rid)
        except (OSError, ValueError) as e:
            return str(e)
        return None

    while True:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if not r:
            err = ping()
            if err and not errors:
                errors.append('background ping: ' + err)
            continue
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip() != 'health':
            print('fail unknown command %r' % line.strip())
        elif errors:
            print('fail %s' % errors[0])
        else:
            err = ping()
            print('fail %s' % err if err else 'ok %d' % rid)
        sys.stdout.flush()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == 'keepalive':
        keepalive(path)
    elif cmd == 'list-cases':
        print('\n'.join(CASES))
    elif cmd == 'case' and len(sys.argv) == 4 and sys.argv[3] in CASES:
        c = Case()
        try:
            CASES[sys.argv[3]](c, path)
        except (OSError, ValueError) as e:
            c.check(False, '%s: unexpected error' % sys.argv[3],
                    '%s: %s' % (type(e).__name__, e))
        sys.exit(1 if c.failed else 0)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
