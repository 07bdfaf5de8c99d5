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
"""

import os
import select
import socket
import struct
import sys
import time

# --- schema numbers (proto/p11broker.proto) ---------------------------------

STATUS = {0: 'STATUS_UNSPECIFIED', 1: 'OK', 2: 'DENIED', 3: 'NO_SUCH_KEY',
          4: 'BAD_REQUEST', 5: 'UNSUPPORTED', 6: 'TOO_LARGE',
          7: 'RATE_LIMITED', 8: 'TOKEN_UNAVAILABLE', 9: 'INTERNAL'}
OK, BAD_REQUEST, NO_SUCH_KEY, TOO_LARGE, UNSUPPORTED = 1, 4, 3, 6, 5

ECDSA_P256_SHA256, ECDSA_P384_SHA384, ECDSA_P521_SHA512 = 1, 2, 3
RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512 = 4, 5, 6
RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512 = 7, 8, 9
ED25519, HMAC_SHA256, HMAC_SHA384, HMAC_SHA512 = 10, 11, 12, 13

# Request fields
REQ_ID, OP_SIGN, OP_HMAC, OP_RANDOM, OP_LIST, OP_HEALTH = 1, 10, 11, 15, 16, 17
# Response fields
RESP_ID, RESP_STATUS, RESP_MESSAGE = 1, 2, 3

MAX_FRAME = int(os.environ.get('P11B_MAX_FRAME', '65536'))
TIMEOUT = 10.0
CLOSE_WAIT = float(os.environ.get('P11B_CLOSE_WAIT', '2'))

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

    def closed_by_peer(self, timeout=None):
        """True when the peer closes (EOF or reset) within timeout
        (default: CLOSE_WAIT, well below the idle-timeout the tests
        configure, so that an idle close does not count)."""
        if timeout is None:
            timeout = CLOSE_WAIT
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

    def expect(self, resp, status, rid, what):
        if resp is None:
            return self.check(False, what, 'connection closed, no response')
        good = resp.status == status and resp.id == rid
        return self.check(good, '%s -> %s id %d' % (what, STATUS[status], rid),
                          'got %s' % resp)

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
    c.check(conn.closed_by_peer(), what + ': connection closed by broker')
    conn.close()


def case_zero_length(c, path):
    error_then_close(c, path, b'\0\0\0\0', None, 'zero-length frame')


def case_over_limit(c, path):
    error_then_close(c, path, b'\x00\x10\x00\x00', TOO_LARGE,
                     'length header 0x00100000')
    error_then_close(c, path, b'\xff\xff\xff\xff', TOO_LARGE,
                     'length header 0xffffffff')
    # One byte over the limit, with the body actually following.
    error_then_close(c, path, struct.pack('>I', MAX_FRAME + 1) +
                     b'\0' * (MAX_FRAME + 1), TOO_LARGE,
                     'frame of max-frame + 1 bytes')


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
    c.expect(resp, OK, 41, 'sign request of exactly max-frame bytes')
    if resp is not None and resp.result is not None:
        sig = resp.result.get(1, [b''])[-1]
        c.check(sig[:1] == b'\x30', 'signature for max-frame request is DER')
    c.health_ok(conn, 42, 'connection usable after a max-frame request')
    conn.close()


def case_truncated_close(c, path):
    conn = Conn(path)
    conn.send(struct.pack('>I', 100) + health(5)[:2] + b'\0' * 8)
    conn.close()
    c.check(True, 'sent 10 of 100 announced bytes and closed')
    conn = Conn(path)
    conn.send(b'\x00\x00')       # half a length header
    conn.close()
    c.check(True, 'sent half a length header and closed')


def case_truncated_idle(c, path):
    """Half a frame then silence: the broker must drop the connection
    (idle-timeout) rather than hold it forever."""
    wait = float(os.environ.get('P11B_IDLE_WAIT', '15'))
    conn = Conn(path)
    conn.send(struct.pack('>I', 100) + b'\x08')
    t0 = time.monotonic()
    closed = conn.closed_by_peer(wait)
    c.check(closed, 'silent half-frame connection closed by the broker '
            '(after %.1f s)' % (time.monotonic() - t0),
            'still open after %.0f s' % wait)
    conn.close()


def case_garbage(c, path):
    for what, payload in (
            ('invalid wire type', b'\x0f\xff\xff\xff'),
            ('0xff bytes', b'\xff' * 16),
            ('field longer than frame', b'\x08\x05\x52\x20\x0a\x05ec256'),
            ('unterminated varint', b'\x08\xff\xff\xff')):
        error_then_close(c, path, frame(payload), BAD_REQUEST,
                         'garbage protobuf (%s)' % what)


def case_no_op(c, path):
    conn = Conn(path)
    conn.send(frame(f_varint(REQ_ID, 7)))
    c.expect(conn.recv_response(), BAD_REQUEST, 7, 'request without op')
    conn.close()
    conn = Conn(path)
    # A future op number (unknown field 30) is an op this broker lacks.
    conn.send(frame(f_varint(REQ_ID, 8) + f_bytes(30, b'')))
    resp = conn.recv_response()
    c.check(resp is not None and resp.id == 8 and
            resp.status in (BAD_REQUEST, UNSUPPORTED),
            'request with an unknown op -> BAD_REQUEST or UNSUPPORTED id 8',
            'got %s' % resp)
    conn.close()
    conn = Conn(path)
    # An unknown extra field beside a known op is ignored (fields are
    # only ever added).
    conn.send(frame(health(9) + f_varint(99, 1)))
    c.expect(conn.recv_response(), OK, 9,
             'health with an unknown extra field')
    conn.close()


def case_unknown_key(c, path):
    conn = Conn(path)
    conn.send(frame(sign(11, 'no-such-key', ECDSA_P256_SHA256, b'hello')))
    c.expect(conn.recv_response(), NO_SUCH_KEY, 11, 'sign with unknown key')
    conn.send(frame(sign(12, '', ECDSA_P256_SHA256, b'hello')))
    resp = conn.recv_response()
    c.check(resp is not None and resp.id == 12 and
            resp.status in (NO_SUCH_KEY, BAD_REQUEST),
            'sign with empty key name -> NO_SUCH_KEY or BAD_REQUEST',
            'got %s' % resp)
    c.health_ok(conn, 13, 'connection usable after unknown key')
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
        c.expect(conn.recv_response(), BAD_REQUEST, rid, name)
    c.health_ok(conn, 40, 'connection usable after wrong algorithms')
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
        c.expect(conn.recv_response(), BAD_REQUEST, rid, name)
    rid += 1
    conn.send(frame(sign(rid, 'ec256', ECDSA_P256_SHA256, b'\x11' * 32,
                         is_digest=True)))
    c.expect(conn.recv_response(), OK, rid, '32-byte digest for p256')
    conn.close()


def case_big_random(c, path):
    conn = Conn(path)
    conn.send(frame(random_req(61, 4097)))
    c.expect(conn.recv_response(), TOO_LARGE, 61, 'random 4097')
    conn.send(frame(random_req(62, 0xffffffff)))
    c.expect(conn.recv_response(), TOO_LARGE, 62, 'random 0xffffffff')
    conn.send(frame(random_req(63, 4096)))
    resp = conn.recv_response()
    if c.expect(resp, OK, 63, 'random 4096'):
        data = (resp.result or {}).get(1, [b''])[-1]
        c.check(len(data) == 4096, 'random 4096 returns 4096 bytes',
                'got %d bytes' % len(data))
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
            resp = conn.recv_response(timeout=30)
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
    c.check(len(got) == PIPELINE, '%d pipelined requests -> %d responses'
            % (PIPELINE, PIPELINE),
            'got %d' % len(got))
    c.check(sorted(got) == sorted(kinds), 'response ids match request ids',
            'missing %s extra %s' % (sorted(set(kinds) - set(got))[:5],
                                     sorted(set(got) - set(kinds))[:5]))
    c.check(not bad, 'every pipelined response OK with the right result',
            '; '.join(bad[:3]))
    print('INFO responses in request order: %s' % (got == sorted(got)))
    c.health_ok(conn, 2000, 'connection usable after the pipeline')
    conn.close()


def case_slow_bytes(c, path):
    conn = Conn(path)
    data = frame(sign(70, 'ec256', ECDSA_P256_SHA256, b'slow'))
    for b in data:
        conn.send(bytes([b]))
        time.sleep(0.002)
    c.expect(conn.recv_response(), OK, 70, 'request written one byte at a time')
    conn.close()


def case_many_idle(c, path):
    idle = [Conn(path) for _ in range(40)]
    conn = Conn(path)
    c.health_ok(conn, 80, 'health while 40 other connections sit idle')
    conn.close()
    for x in idle:
        x.close()


def case_hangup_mid_request(c, path):
    conn = Conn(path)
    batch = b''.join(frame(sign(90 + i, 'rsa2048', RSA_PSS_SHA256,
                                b'abandoned')) for i in range(8))
    conn.send(batch)
    conn.close()
    c.check(True, 'sent 8 sign requests and hung up without reading')


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
