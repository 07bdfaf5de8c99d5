#!/usr/bin/env python3
"""ed25519_verify.py SPKI-DER MESSAGE SIGNATURE: verify an Ed25519
signature; prints "valid" (exit 0) or "invalid" (exit 1).

The openssl 3.0 command line cannot verify a signature over the empty
message ("Could not allocate 0 bytes for oneshot sign/verify buffer"), so
the tests use this instead for that case; sign_verify.sh checks that it
agrees with openssl on non-empty messages.  Verification as in RFC 8032,
section 6 (the reference code), standard library only.
"""

import hashlib
import sys

P = 2 ** 255 - 19
Q = 2 ** 252 + 27742317777372353535851937790883648493


def inv(x):
    return pow(x, P - 2, P)


D = -121665 * inv(121666) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    ea = (a[1] - a[0]) * (b[1] - b[0]) % P
    eb = (a[1] + a[0]) * (b[1] + b[0]) % P
    c, d = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = eb - ea, d - c, d + c, eb + ea
    return (e * f, g * h, f * g, e * h)


def point_mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = point_add(acc, pt)
        pt = point_add(pt, pt)
        s >>= 1
    return acc


def point_equal(a, b):
    return ((a[0] * b[2] - b[0] * a[2]) % P == 0 and
            (a[1] * b[2] - b[1] * a[2]) % P == 0)


def recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * inv(D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


GY = 4 * inv(5) % P
GX = recover_x(GY, 0)
G = (GX, GY, 1, GX * GY % P)


def decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, 'little')
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def verify(public, msg, sig):
    if len(public) != 32 or len(sig) != 64:
        return False
    a = decompress(public)
    r = decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], 'little')
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(),
                       'little') % Q
    return point_equal(point_mul(s, G), point_add(r, point_mul(h, a)))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    spki = open(sys.argv[1], 'rb').read()
    # SubjectPublicKeyInfo for Ed25519: a fixed 12-byte prefix, then the key.
    prefix = bytes.fromhex('302a300506032b6570032100')
    if len(spki) != 44 or spki[:12] != prefix:
        sys.exit('%s: not an Ed25519 SPKI' % sys.argv[1])
    msg = open(sys.argv[2], 'rb').read()
    sig = open(sys.argv[3], 'rb').read()
    if verify(spki[12:], msg, sig):
        print('valid')
        return 0
    print('invalid')
    return 1


if __name__ == '__main__':
    sys.exit(main())
