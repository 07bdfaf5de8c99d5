#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/).

The protobuf frames are encoded by hand from proto/p11broker.proto, so
this needs nothing but Python 3.  The configs and policies come from the
examples in DESIGN.md, tests/unit/test_config.c and their broken variants.
The front <-> signer messages follow brokerd/common/signer_msg.h.

    python3 tests/fuzz/mkseeds.py [OUTDIR]      # default: tests/fuzz/corpus

Seeds are small files named after what they hold; run this again after a
schema or grammar change and commit the result.
"""

import os
import struct
import sys

# --- protobuf wire format -------------------------------------------------

VARINT, I64, LEN, I32 = 0, 1, 2, 5


def varint(n):
    n &= (1 << 64) - 1          # negative int32/enum: ten bytes, as protoc
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, n):
    return key(field, VARINT) + varint(n)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, LEN) + varint(len(b)) + b


def f_packed(field, values):
    return f_bytes(field, b"".join(varint(v) for v in values))


def frame(body):
    return struct.pack(">I", len(body)) + body


# --- schema (p11broker.v1) ------------------------------------------------

ALG = {
    "ecdsa-p256-sha256": 1, "ecdsa-p384-sha384": 2, "ecdsa-p521-sha512": 3,
    "rsa-pkcs1-sha256": 4, "rsa-pkcs1-sha384": 5, "rsa-pkcs1-sha512": 6,
    "rsa-pss-sha256": 7, "rsa-pss-sha384": 8, "rsa-pss-sha512": 9,
    "ed25519": 10, "hmac-sha256": 11, "hmac-sha384": 12, "hmac-sha512": 13,
    "rsa-pkcs1-sha224": 14, "rsa-pss-sha224": 15, "rsa-pkcs1-sha1": 16,
    "rsa-pss-sha1": 17, "rsa-pkcs1-raw": 18,
}
STATUS = {
    "ok": 1, "denied": 2, "no-such-key": 3, "bad-request": 4,
    "unsupported": 5, "too-large": 6, "rate-limited": 7,
    "token-unavailable": 8, "internal": 9,
}
KEY_TYPE = {"ec-p256": 1, "ec-p384": 2, "ec-p521": 3, "rsa": 4,
            "ed25519": 5, "secret": 6, "data": 7}
OP = {"sign": 1, "hmac": 2, "hmac-verify": 3, "secret": 4, "pubkey": 5,
      "random": 6, "list": 7, "health": 8}
# Request.op and Response.result oneof field numbers.
REQ_SIGN, REQ_HMAC, REQ_HMAC_VERIFY, REQ_SECRET, REQ_PUBKEY = 10, 11, 12, 13, 14
REQ_RANDOM, REQ_LIST, REQ_HEALTH, REQ_STATS = 15, 16, 17, 18
REQ_STREAM_DATA = 19
REQ_BATCH, RES_BATCH = 20, 19
RES_SIGN, RES_HMAC, RES_HMAC_VERIFY, RES_SECRET, RES_PUBKEY = 10, 11, 12, 13, 14
RES_RANDOM, RES_LIST, RES_HEALTH, RES_STATS = 15, 16, 17, 18


def request(rid, field, sub):
    return f_varint(1, rid) + f_bytes(field, sub)


def sign(rid, keyname, alg, data, digest=False, raw=False, salt=None):
    sub = f_bytes(1, keyname) + f_varint(2, ALG[alg]) + f_bytes(3, data)
    if digest:
        sub += f_varint(4, 1)
    if raw:
        sub += f_varint(5, 1)
    if salt is not None:
        sub += f_varint(6, salt) + f_varint(7, 1)
    return request(rid, REQ_SIGN, sub)


def hmac(rid, keyname, alg, data):
    return request(rid, REQ_HMAC, f_bytes(1, keyname) +
                   f_varint(2, ALG[alg]) + f_bytes(3, data))


def hmac_verify(rid, keyname, alg, data, mac):
    return request(rid, REQ_HMAC_VERIFY, f_bytes(1, keyname) +
                   f_varint(2, ALG[alg]) + f_bytes(3, data) + f_bytes(4, mac))


def hmac_stream(rid, keyname, alg, data, total=0):
    sub = f_bytes(1, keyname) + f_varint(2, ALG[alg]) + f_bytes(3, data)
    sub += f_varint(5, 1)
    if total:
        sub += f_varint(6, total)
    return request(rid, REQ_HMAC, sub)


def batch(rid, keyname, alg, op, items, digest=False, raw=False, salt=None,
          identity=b""):
    """A BatchRequest; items: data, or (data, mac) pairs."""
    sub = f_bytes(1, keyname) + f_varint(2, ALG[alg]) + f_varint(3, OP[op])
    if identity:
        sub += f_bytes(4, identity)
    if digest:
        sub += f_varint(5, 1)
    if raw:
        sub += f_varint(6, 1)
    if salt is not None:
        sub += f_varint(7, salt) + f_varint(8, 1)
    for it in items:
        data, mac = it if isinstance(it, tuple) else (it, b"")
        item = f_bytes(1, data) + (f_bytes(2, mac) if mac else b"")
        sub += f_bytes(9, item)
    return request(rid, REQ_BATCH, sub)


def batch_result(status, message="", output=b"", valid=False):
    out = f_varint(1, STATUS[status] + 1)
    if message:
        out += f_bytes(2, message)
    if output:
        out += f_bytes(3, output)
    if valid:
        out += f_varint(4, 1)
    return out


def stream_data(rid, data, last=False, mac=b"", cancel=False):
    sub = f_bytes(1, data)
    if last:
        sub += f_varint(2, 1)
    if mac:
        sub += f_bytes(3, mac)
    if cancel:
        sub += f_varint(4, 1)
    return request(rid, REQ_STREAM_DATA, sub)


def response(rid, status, message="", field=None, sub=b""):
    body = f_varint(1, rid) + f_varint(2, STATUS[status])
    if message:
        body += f_bytes(3, message)
    if field is not None:
        body += f_bytes(field, sub)
    return body


def key_info(name, ktype, bits, ops, algs, packed=True):
    b = f_bytes(1, name) + f_varint(2, KEY_TYPE[ktype]) + f_varint(3, bits)
    opv = [OP[o] for o in ops]
    algv = [ALG[a] for a in algs]
    if packed:
        if opv:
            b += f_packed(4, opv)
        if algv:
            b += f_packed(5, algv)
    else:
        b += b"".join(f_varint(4, v) for v in opv)
        b += b"".join(f_varint(5, v) for v in algv)
    return b


SHA256_EMPTY = bytes.fromhex(
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# --- fuzz_request: streams of frames --------------------------------------


def request_seeds():
    s = {}
    for i, alg in enumerate(sorted(ALG)):
        if alg.startswith("hmac"):
            continue
        s["sign-" + alg] = frame(sign(i + 1, "dns-zsk", alg, b"hello"))
    s["sign-digest"] = frame(sign(7, "ca-root", "ecdsa-p256-sha256",
                                  SHA256_EMPTY, digest=True))
    s["sign-digest-raw"] = frame(sign(8, "ca-root", "ecdsa-p384-sha384",
                                      bytes(48), digest=True, raw=True))
    s["sign-empty-data"] = frame(sign(9, "k", "ed25519", b""))
    s["sign-pss-salt"] = frame(sign(10, "ca-root", "rsa-pss-sha256",
                                    bytes(32), digest=True, salt=0))
    s["hmac"] = frame(hmac(10, "store-mac", "hmac-sha256", b"record"))
    s["sign-identity"] = frame(sign(31, "dnszsk", "ecdsa-p256-sha256",
                                    b"zone") + f_bytes(10, bytes(16)))
    s["hmac-identity"] = frame(request(32, REQ_HMAC, f_bytes(1, "store-mac") +
                                       f_varint(2, ALG["hmac-sha256"]) +
                                       f_bytes(3, b"r") +
                                       f_bytes(10, bytes(range(16)))))
    s["hmac-verify"] = frame(hmac_verify(11, "store-mac", "hmac-sha512",
                                         b"record", bytes(64)))
    s["secret"] = frame(request(12, REQ_SECRET, f_bytes(1, "api-token")))
    s["pubkey"] = frame(request(13, REQ_PUBKEY, f_bytes(1, "ca-root")))
    s["random"] = frame(request(14, REQ_RANDOM, f_varint(1, 32)))
    s["random-huge"] = frame(request(15, REQ_RANDOM, f_varint(1, 2**32 - 1)))
    s["list"] = frame(request(16, REQ_LIST, b""))
    s["health"] = frame(request(17, REQ_HEALTH, b""))
    s["health-id0"] = frame(f_bytes(REQ_HEALTH, b""))
    s["id-max"] = frame(request(2**64 - 1, REQ_LIST, b""))
    key64 = "k" * 64
    s["key-64"] = frame(request(18, REQ_SECRET, f_bytes(1, key64)))
    s["pipelined"] = b"".join(frame(b) for b in [
        sign(1, "dns-zsk", "ecdsa-p256-sha256", b"a" * 100),
        hmac(2, "store-mac", "hmac-sha384", b"b"),
        request(3, REQ_RANDOM, f_varint(1, 16)),
        request(4, REQ_HEALTH, b""),
        request(5, REQ_LIST, b""),
    ])
    s["big-sign"] = frame(sign(19, "dns-zsk", "rsa-pss-sha256",
                               bytes(range(256)) * 16))
    # Invalid contents: each must be refused, none may crash.
    s["bad-key-65"] = frame(request(20, REQ_SECRET, f_bytes(1, "k" * 65)))
    s["bad-key-empty"] = frame(request(21, REQ_PUBKEY, b""))
    s["bad-key-chars"] = frame(request(22, REQ_SECRET, f_bytes(1, "a/b")))
    s["bad-key-nul"] = frame(request(23, REQ_SECRET, f_bytes(1, "ab\0cd")))
    s["bad-alg-0"] = frame(request(24, REQ_SIGN, f_bytes(1, "k") +
                                   f_varint(2, 0)))
    s["bad-alg-99"] = frame(request(25, REQ_HMAC, f_bytes(1, "k") +
                                    f_varint(2, 99)))
    s["bad-alg-neg"] = frame(request(26, REQ_SIGN, f_bytes(1, "k") +
                                     f_varint(2, -1)))
    s["bad-format"] = frame(request(27, REQ_SIGN, f_bytes(1, "k") +
                                    f_varint(2, 1) + f_varint(5, 7)))
    s["no-op"] = frame(f_varint(1, 28))
    s["two-ops"] = frame(request(29, REQ_LIST, b"") +
                         f_bytes(REQ_HEALTH, b""))
    s["unknown-field"] = frame(request(30, REQ_HEALTH, b"") +
                               f_bytes(99, b"future") + f_varint(100, 1))
    s["stream"] = (frame(hmac_stream(40, "store-mac", "hmac-sha256", b"a",
                                     total=3)) +
                   frame(stream_data(40, b"b")) +
                   frame(stream_data(40, b"c", last=True)))
    s["stream-sign"] = frame(request(41, REQ_SIGN, f_bytes(1, "ed") +
                                     f_varint(2, ALG["ed25519"]) +
                                     f_bytes(3, b"m") + f_varint(8, 1) +
                                     f_varint(9, 1 << 40)))
    s["stream-verify-mac-last"] = frame(stream_data(42, b"", last=True,
                                                    mac=bytes(32)))
    s["stream-mac-not-last"] = frame(stream_data(43, b"x", mac=bytes(32)))
    s["stream-cancel"] = frame(stream_data(44, b"", cancel=True))
    s["batch-sign"] = frame(batch(60, "ec256", "ecdsa-p256-sha256", "sign",
                                  [b"one", b"two", b"three"]))
    s["batch-sign-digest-raw"] = frame(batch(61, "ec256", "ecdsa-p256-sha256",
                                             "sign", [bytes(32)] * 2,
                                             digest=True, raw=True))
    s["batch-pss-salt"] = frame(batch(62, "rsa2048", "rsa-pss-sha256", "sign",
                                      [b"m"], salt=20))
    s["batch-hmac"] = frame(batch(63, "hmac32", "hmac-sha256", "hmac",
                                  [b"a" * 64] * 8, identity=bytes(16)))
    s["batch-hmac-verify"] = frame(batch(64, "hmac32", "hmac-sha256",
                                         "hmac-verify",
                                         [(b"d1", bytes(32)),
                                          (b"d2", b"\1" * 32)]))
    # Invalid fields: refused by the decoder.
    s["batch-empty"] = frame(batch(65, "ec256", "ecdsa-p256-sha256", "sign",
                                   []))
    s["batch-op-secret"] = frame(batch(66, "api-token", "hmac-sha256",
                                       "secret", [b"x"]))
    s["batch-hmac-digest"] = frame(batch(67, "hmac32", "hmac-sha256", "hmac",
                                         [b"x"], digest=True))
    s["batch-mac-on-sign"] = frame(batch(68, "ec256", "ecdsa-p256-sha256",
                                         "sign", [(b"x", bytes(32))]))
    s["garbage"] = frame(b"\xff\xff\xff\xff\xff")
    s["truncated-body"] = frame(sign(31, "k", "ed25519", b"x"))[:-3]
    s["header-zero"] = struct.pack(">I", 0) + b"\x08\x01"
    s["header-too-large"] = struct.pack(">I", 64 * 1024 + 1) + b"\x08\x01"
    s["header-max"] = struct.pack(">I", 64 * 1024) + b"\x08\x01"
    s["header-only"] = struct.pack(">I", 5)
    s["good-then-bad"] = (frame(request(32, REQ_HEALTH, b"")) +
                          struct.pack(">I", 0xFFFFFFFF))
    return s


# --- fuzz_response: one frame body ----------------------------------------


def token_health(name, ready, signers, up, pin_refused=False, failovers=0):
    sub = f_bytes(1, name) + f_varint(2, int(ready)) + f_varint(3, signers)
    sub += f_varint(4, up)
    if pin_refused:
        sub += f_varint(5, 1)
    if failovers:
        sub += f_varint(6, failovers)
    return sub


def signer_slot(slot, up, starts, busy=0, token=0):
    sub = f_varint(1, slot) + f_varint(2, int(up)) + f_varint(4, starts)
    if busy:
        sub += f_varint(6, busy)
    if token:
        sub += f_varint(7, token)
    return sub


def health_tokens(rows):
    # HealthResponse.tokens = 7
    return (f_bytes(1, "0.1.0") + f_varint(2, 1) + f_varint(3, 60) +
            f_varint(4, 4) + f_varint(5, 3) + f_varint(6, 2) +
            b"".join(f_bytes(7, r) for r in rows))


def stats_tokens(slots, rows):
    # StatsResponse: latency buckets 2, counts 3, token_state 5,
    # signers 24, signers_up 25, signer_slots 26, tokens 27.
    return (f_packed(2, [1000, 10000]) + f_packed(3, [5, 2, 1]) +
            f_varint(4, 9000) + f_varint(5, 1) + f_varint(6, 4) +
            f_varint(24, len(slots)) + f_varint(25, len(slots)) +
            b"".join(f_bytes(26, sl) for sl in slots) +
            b"".join(f_bytes(27, r) for r in rows))


def response_seeds():
    s = {}
    s["sign-der"] = response(1, "ok", field=RES_SIGN,
                             sub=f_bytes(1, bytes.fromhex("3006020101020101")))
    s["hmac"] = response(2, "ok", field=RES_HMAC, sub=f_bytes(1, bytes(32)))
    s["hmac-verify-valid"] = response(3, "ok", field=RES_HMAC_VERIFY,
                                      sub=f_varint(1, 1))
    s["hmac-verify-invalid"] = response(4, "ok", field=RES_HMAC_VERIFY,
                                        sub=b"")
    s["secret"] = response(5, "ok", field=RES_SECRET,
                           sub=f_bytes(1, b"0123456789abcdef" * 2))
    s["pubkey"] = response(6, "ok", field=RES_PUBKEY,
                           sub=f_bytes(1, b"\x30\x59" + bytes(89)))
    s["pubkey-cert"] = response(7, "ok", field=RES_PUBKEY,
                                sub=f_bytes(1, b"\x30\x59" + bytes(89)) +
                                f_bytes(2, b"\x30\x82\x01\x00" + bytes(256)))
    s["pubkey-chain"] = response(12, "ok", field=RES_PUBKEY,
                                 sub=f_bytes(1, b"\x30\x59" + bytes(89)) +
                                 f_bytes(2, b"\x30\x03" + bytes(3)) +
                                 f_bytes(3, bytes(range(16))) +
                                 f_bytes(4, b"\x30\x81\x02" + bytes(2)) +
                                 f_bytes(4, b"\x30\x00"))
    s["random"] = response(8, "ok", field=RES_RANDOM,
                           sub=f_bytes(1, bytes(range(64))))
    keys = [
        key_info("dns-zsk", "ec-p256", 256, ["sign", "pubkey"],
                 ["ecdsa-p256-sha256"]),
        key_info("ca-root", "rsa", 4096, ["sign", "pubkey"],
                 ["rsa-pss-sha256", "rsa-pkcs1-sha256"], packed=False),
        key_info("api-token", "secret", 256, ["secret"], []),
        key_info("store-mac", "secret", 256, ["hmac", "hmac-verify"],
                 ["hmac-sha256", "hmac-sha384", "hmac-sha512"]),
        key_info("blob", "data", 0, ["secret"], []),
        key_info("edkey", "ed25519", 255, ["sign"], ["ed25519"]),
        key_info("dnszsk", "ec-p256", 256, ["sign"], ["ecdsa-p256-sha256"]) +
        f_bytes(6, b"\x20\x26") + f_bytes(7, b"dnszsk-2026") +
        f_varint(8, 1) + f_bytes(9, bytes(range(16))),
    ]
    s["list"] = response(9, "ok", field=RES_LIST,
                         sub=b"".join(f_bytes(1, k) for k in keys))
    s["list-empty"] = response(10, "ok", field=RES_LIST, sub=b"")
    s["list-odd-enums"] = response(11, "ok", field=RES_LIST, sub=f_bytes(
        1, f_bytes(1, "k") + f_varint(2, 1) +
        f_packed(4, [0, 1, 1, 8, 9, 31, 32, 2**31 - 1]) +
        f_packed(5, [0, 13, 14, 40])))
    s["list-bad-name"] = response(12, "ok", field=RES_LIST,
                                  sub=f_bytes(1, f_bytes(1, "bad name") +
                                              f_varint(2, 1)))
    s["list-bad-type"] = response(13, "ok", field=RES_LIST,
                                  sub=f_bytes(1, f_bytes(1, "k") +
                                              f_varint(2, 8)))
    s["health"] = response(14, "ok", field=RES_HEALTH, sub=(
        f_bytes(1, "0.1.0") + f_varint(2, 1) + f_varint(3, 86400) +
        f_varint(4, 4)))
    s["health-long-version"] = response(15, "ok", field=RES_HEALTH, sub=(
        f_bytes(1, "v" * 40) + f_varint(2, 2)))
    s["health-utf8-version"] = response(16, "ok", field=RES_HEALTH, sub=(
        f_bytes(1, "0.1.0-" + "\u00e9" * 20) + f_varint(2, 1)))
    two = [token_health("hsm-a", True, 2, 2, failovers=3),
           token_health("hsm.b_2", False, 1, 0, pin_refused=True)]
    s["health-tokens"] = response(40, "ok", field=RES_HEALTH,
                                  sub=health_tokens(two))
    eight = [token_health("t%d" % i, i % 2, 1, i % 2) for i in range(8)]
    s["health-tokens-8"] = response(41, "ok", field=RES_HEALTH,
                                    sub=health_tokens(eight))
    slots = [signer_slot(0, True, 1, token=0),
             signer_slot(1, True, 2, busy=1, token=1),
             signer_slot(2, False, 7, token=1)]
    s["stats-tokens"] = response(42, "ok", field=RES_STATS,
                                 sub=stats_tokens(slots, two))
    s["stats-no-tokens"] = response(43, "ok", field=RES_STATS,
                                    sub=stats_tokens(slots[:1], []))
    # Invalid: must be refused.
    nine = eight + [token_health("t8", True, 1, 1)]
    s["health-tokens-9"] = response(44, "ok", field=RES_HEALTH,
                                    sub=health_tokens(nine))
    s["health-token-bad-name"] = response(45, "ok", field=RES_HEALTH,
        sub=health_tokens([token_health("hsm a\"}", True, 1, 1)]))
    s["health-token-twice"] = response(46, "ok", field=RES_HEALTH,
        sub=health_tokens([two[0], two[0]]))
    s["stats-slot-token-2-of-2"] = response(47, "ok", field=RES_STATS,
        sub=stats_tokens([signer_slot(0, True, 1, token=2)], two))
    s["stats-slot-token-without-rows"] = response(48, "ok", field=RES_STATS,
        sub=stats_tokens([signer_slot(0, True, 1, token=1)], []))
    for name in STATUS:
        if name != "ok":
            s["status-" + name] = response(20 + STATUS[name], name,
                                           message=name + ": key x")
    s["batch"] = response(17, "ok", field=RES_BATCH, sub=(
        f_bytes(1, batch_result("ok", output=b"\x30\x06sig")) +
        f_bytes(1, batch_result("too-large", "input larger than the policy "
                                "allows")) +
        f_bytes(1, batch_result("rate-limited", "rate limit reached"))))
    s["batch-verify"] = response(18, "ok", field=RES_BATCH, sub=(
        f_bytes(1, batch_result("ok", valid=True)) +
        f_bytes(1, batch_result("ok"))))
    s["batch-empty"] = response(19, "ok", field=RES_BATCH, sub=b"")
    s["batch-denied-with-output"] = response(19, "ok", field=RES_BATCH,
        sub=f_bytes(1, batch_result("denied", output=b"x")))
    s["refused-id0"] = response(0, "too-large", message="frame too large")
    # Invalid: must be refused.
    s["ok-without-result"] = response(30, "ok")
    s["denied-with-result"] = response(31, "denied", field=RES_SIGN,
                                       sub=f_bytes(1, b"sig"))
    s["no-status"] = f_varint(1, 32)
    s["status-10"] = f_varint(1, 33) + f_varint(2, 10)
    s["status-neg"] = f_varint(1, 34) + f_varint(2, -1)
    s["garbage"] = b"\x0a\xff\xff\xff\xff\x0f"
    return s


# --- fuzz_config: configs and policies ------------------------------------

DESIGN_CONF = """\
socket "/run/p11broker/p11broker.sock" owner root group p11clients mode 0660
user "_p11broker"
workers 4
audit "/var/log/p11broker/audit.log" checkpoint-key audit-signer
policy "/etc/p11broker/policy.conf"

token {
        module "/usr/lib/softhsm/libsofthsm2.so"
        label "runbound-prod"          # or: serial "..." / slot 0
        pin-env "P11BROKER_PIN"        # or: pin-file "..." / pin-credential "pin"
}

key dns-zsk      label "zsk-2026"
key ca-root      id 01
key api-token    label "runbound-api-key"
key store-mac    label "runbound-store-key"
key audit-signer label "p11broker-audit"
"""

GOOD_CONF = """\
# p11brokerd.conf
socket "/run/p11broker/p11broker.sock" owner root group root mode 0660
workers 4
max-frame 65536
max-clients 1024
idle-timeout 300
policy "policy.conf"

token {
\tmodule "/usr/lib/softhsm/libsofthsm2.so"
\tlabel "runbound-prod"
\tpin-env "P11BROKER_PIN"
}

key dns-zsk      label "zsk-2026"
key ca-root      id 01
key api-token    label "runbound-api-key"
key store-mac    label "runbound-store-key"
key audit-signer label "p11broker-audit"
"""

DESIGN_POLICY = """\
permit user unbound  sign   dns-zsk   alg ecdsa-p256-sha256
permit group kipuka  sign   ca-root   alg rsa-pss-sha256,ecdsa-p384-sha384  max-input 16384
permit user runbound secret api-token
permit user runbound hmac   store-mac rate 2000/s
permit group wheel   stats
"""

GOOD_POLICY = """\
# policy.conf for the fixed config of fuzz_config
permit user root   sign        dns-zsk,ca-root
permit group 0     secret      api-token
permit user 1000   hmac        store-mac
permit user 1000   hmac-verify store-mac
permit group 100   pubkey      dns-zsk,ca-root,audit-signer
permit user 65534  random
permit group 65534 list
permit user 0      health
"""


def config_seeds():
    s = {}
    s["design.conf"] = DESIGN_CONF
    s["design-local.conf"] = "\n".join(
        line for line in DESIGN_CONF.replace("p11clients", "root").split("\n")
        if not line.startswith(("user ", "audit "))) + "\n"
    s["good.conf"] = GOOD_CONF
    s["slot-pinfile.conf"] = GOOD_CONF.replace(
        '\tlabel "runbound-prod"', "\tslot 0x10").replace(
        'pin-env "P11BROKER_PIN"', 'pin-file "pin"')
    s["serial-credential.conf"] = GOOD_CONF.replace(
        '\tlabel "runbound-prod"', '\tserial "0123456789abcdef"').replace(
        'pin-env "P11BROKER_PIN"', 'pin-credential "pin"')
    s["pin-literal.conf"] = GOOD_CONF.replace(
        'pin-env "P11BROKER_PIN"', 'pin "1234"')
    s["minimal.conf"] = ('socket /s\npolicy p\ntoken {\nmodule m\nslot 0\n'
                         'pin-env P\n}\n')
    s["ids.conf"] = GOOD_CONF + "key long id 0x" + "ab" * 64 + "\nkey odd-Name_1.x id 0A1b\n"
    s["escapes.conf"] = GOOD_CONF + 'key q label "a \\"quoted\\" \\\\ label"\n'
    s["streams.conf"] = (GOOD_CONF + "max-input 33554432\nmax-streams 8\n"
                         "max-streams-per-uid 2\nstream-timeout 60\n"
                         'key big label "big" max-input 1048576 low-s\n')
    s["crlf.conf"] = GOOD_CONF.replace("\n", "\r\n")
    s["no-newline.conf"] = GOOD_CONF.rstrip("\n")
    # Broken configs, one fault each.
    s["err-unknown-keyword.conf"] = GOOD_CONF + "frobnicate 1\n"
    s["err-missing-brace.conf"] = GOOD_CONF.replace("}\n", "")
    s["err-two-tokens.conf"] = GOOD_CONF + "token {\nmodule m\n}\n"
    s["err-workers.conf"] = GOOD_CONF.replace("workers 4", "workers 0")
    s["err-mode.conf"] = GOOD_CONF.replace("mode 0660", "mode 0999")
    s["err-dup-key.conf"] = GOOD_CONF + 'key dns-zsk label "again"\n'
    s["err-bad-id.conf"] = GOOD_CONF + "key k id 0g\nkey j id 123\n"
    s["err-unterminated.conf"] = 'socket "/s\n'
    s["err-two-pins.conf"] = GOOD_CONF.replace(
        'pin-env "P11BROKER_PIN"', 'pin-env "A"\n\tpin-file "B"')
    s["err-no-pin.conf"] = GOOD_CONF.replace('\tpin-env "P11BROKER_PIN"\n', "")
    s["err-unknown-owner.conf"] = GOOD_CONF.replace(
        "owner root", "owner no-such-user-here")
    s["err-control-byte.conf"] = GOOD_CONF + "\x01\n"
    s["err-long-word.conf"] = "key " + "a" * 1100 + " label x\n"
    s["err-brace-first.conf"] = "}\n" + GOOD_CONF
    s["err-empty.conf"] = ""
    # Policies, against the fixed config of fuzz_config.c.
    s["design.policy"] = DESIGN_POLICY
    s["design-local.policy"] = (DESIGN_POLICY.replace("runbound", "0       ")
                                .replace("unbound ", "root    ")
                                .replace("kipuka ", "root   ")
                                .replace("wheel", "root "))
    s["good.policy"] = GOOD_POLICY
    s["err-unknown-key.policy"] = "permit user root sign nokey\n"
    s["err-unknown-op.policy"] = "\npermit user root frob dns-zsk\n"
    s["err-takes-no-key.policy"] = "permit user root random dns-zsk\n"
    s["err-needs-key.policy"] = "permit user root sign\n"
    s["err-unknown-user.policy"] = "permit user no-such-user-here sign dns-zsk\n"
    s["err-deny.policy"] = "deny user root sign dns-zsk\n"
    s["err-dup-key.policy"] = "permit user root sign dns-zsk,dns-zsk\n"
    s["err-trailing.policy"] = "permit user root sign dns-zsk extra\n"
    s["err-robot.policy"] = "permit robot root sign dns-zsk\n"
    return {k: v.encode() for k, v in s.items()}


# --- front <-> signer messages (brokerd/common/signer_msg.h) ----------------------
#
# Fixed layouts in host byte order: these seeds are little-endian (x86-64,
# arm64).  Header: body length, type, zero, id.

SMSG_JOB, SMSG_RESULT, SMSG_HELLO = 1, 2, 3
SMSG_BATCH_JOB, SMSG_BATCH_RESULT = 4, 5
OP_SIGN, OP_HMAC, OP_HMAC_VERIFY, OP_SECRET, OP_PUBKEY, OP_RANDOM = range(1, 7)
NO_KEY = 0xFFFF


def smsg(mtype, mid, body, zero=0):
    return struct.pack("<IHHQ", len(body), mtype, zero, mid) + body


def smsg_job(key, op, alg, flags=0, random_len=0, data=b"", mac=b"",
             salt_set=0, salt_len=0, pad=0, sid=0):
    return (struct.pack("<HBBBBHBHIII", key, op, alg, flags, salt_set,
                        salt_len, pad, sid, random_len, len(data),
                        len(mac)) + data + mac)


def smsg_result(status, message=b"", out=b"", valid=0, secret=0):
    return (struct.pack("<BBBBI", status, valid, secret, len(message),
                        len(out)) + message + out)


def smsg_key(name, ktype, bits, obj=b"", spki=b"", cert=b"", extractable=0,
             algs=0, chain=b"", kid=b"", label=b"", local=0,
             identity=bytes(16)):
    return (struct.pack("<B", len(name)) + name +
            struct.pack("<BBIIIIB", ktype, extractable, bits, algs,
                        len(spki), len(cert), len(obj)) + obj + spki + cert +
            struct.pack("<I", len(chain)) + chain +
            struct.pack("<B", len(kid)) + kid +
            struct.pack("<B", len(label)) + label +
            struct.pack("<B", local) + identity)


def smsg_batch(key, op, alg, items, flags=0, salt_set=0, salt_len=0):
    """signer_batch.h: items are data, or (data, mac) pairs."""
    body = struct.pack("<HBBBBHI", key, op, alg, flags, salt_set, salt_len,
                       len(items))
    for it in items:
        data, mac = it if isinstance(it, tuple) else (it, b"")
        body += struct.pack("<II", len(data), len(mac)) + data + mac
    return body


def smsg_batch_result(results):
    """results: (status, message, out, valid) tuples."""
    body = struct.pack("<I", len(results))
    for status, message, out, valid in results:
        body += struct.pack("<BBBI", status, valid, len(message),
                            len(out)) + message + out
    return body


def smsg_hello(desc, workers, keys):
    return (struct.pack("<IIB", len(keys), workers, len(desc)) + desc +
            b"".join(keys))


def signer_msg_seeds():
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703"
                         "4200") + bytes(range(65))
    keys = [
        smsg_key(b"dns-zsk", 1, 256, b"private key label=dns-zsk id=01",
                 spki, algs=1 << 1, kid=b"\x01", label=b"dns-zsk-2026",
                 local=1, identity=bytes(range(16))),
        smsg_key(b"ca-root", 4, 3072, b"private key label=ca-root",
                 bytes(range(200)), b"\x30\x82" + bytes(100),
                 algs=sum(1 << a for a in (4, 5, 6, 7, 8, 9, 14, 15, 18))),
        smsg_key(b"hmac.k_1", 6, 256, b"secret key label=hmac", b"", b"",
                 1),
        smsg_key(b"ed", 5, 255, b"", bytes(44)),
        smsg_key(b"blob", 7, 0, b"data object label=blob", b"", b"", 1),
    ]
    hello = smsg_hello(b"SoftHSM slot 0 token=p11broker", 4, keys)
    s = {}
    s["job-sign"] = smsg(SMSG_JOB, 1, smsg_job(0, OP_SIGN, 1, 0,
                                               data=b"message"))
    s["job-sign-digest-raw"] = smsg(SMSG_JOB, 2, smsg_job(
        1, OP_SIGN, 7, 3, data=bytes(range(48))))
    s["job-hmac"] = smsg(SMSG_JOB, 3, smsg_job(2, OP_HMAC, 11,
                                               data=b"payload"))
    s["job-hmac-verify"] = smsg(SMSG_JOB, 4, smsg_job(
        2, OP_HMAC_VERIFY, 12, data=b"payload", mac=bytes(range(48))))
    s["job-secret"] = smsg(SMSG_JOB, 5, smsg_job(2, OP_SECRET, 0))
    s["job-random"] = smsg(SMSG_JOB, 6, smsg_job(NO_KEY, OP_RANDOM, 0,
                                                 random_len=32))
    s["job-random-max"] = smsg(SMSG_JOB, 7, smsg_job(NO_KEY, OP_RANDOM, 0,
                                                     random_len=4096))
    s["job-sign-pss-salt"] = smsg(SMSG_JOB, 10, smsg_job(
        1, OP_SIGN, 7, 1, data=bytes(range(32)), salt_set=1, salt_len=222))
    s["job-sign-empty"] = smsg(SMSG_JOB, 8, smsg_job(3, OP_SIGN, 10))
    s["job-sign-large"] = smsg(SMSG_JOB, 9, smsg_job(
        0, OP_SIGN, 1, data=bytes(i & 0xFF for i in range(3000))))
    # Stream phases: 1 begin, 2 update, 3 final (with a MAC), 4 abort.
    s["job-stream-begin"] = smsg(SMSG_JOB, 10, smsg_job(
        2, OP_HMAC, 11, data=b"first", pad=1, sid=7))
    s["job-stream-update"] = smsg(SMSG_JOB, 11, smsg_job(
        2, OP_HMAC, 11, data=b"more", pad=2, sid=7))
    s["job-stream-final-mac"] = smsg(SMSG_JOB, 12, smsg_job(
        2, OP_HMAC_VERIFY, 11, data=b"last", mac=bytes(32), pad=3,
        sid=0xFFFF))
    s["job-stream-abort"] = smsg(SMSG_JOB, 13, smsg_job(
        3, OP_SIGN, 10, pad=4, sid=1))
    s["result-sign"] = smsg(SMSG_RESULT, 1, smsg_result(
        0, out=b"\x30\x06\x02\x01\x01\x02\x01\x02"))
    s["result-verify"] = smsg(SMSG_RESULT, 4, smsg_result(0, valid=1))
    s["result-secret"] = smsg(SMSG_RESULT, 5, smsg_result(
        0, out=bytes(32), secret=1))
    s["result-error"] = smsg(SMSG_RESULT, 6, smsg_result(
        8, b"C_Sign: CKR_DEVICE_ERROR"))
    s["result-error-long"] = smsg(SMSG_RESULT, 7, smsg_result(
        7, b"x" * 127))
    s["hello"] = smsg(SMSG_HELLO, 0, hello)
    s["hello-no-keys"] = smsg(SMSG_HELLO, 0, smsg_hello(b"", 1, []))
    s["stream"] = (s["hello"] + s["job-sign"] + s["result-sign"] +
                   s["job-random"] + s["result-error"])
    s["batch-sign"] = smsg(SMSG_BATCH_JOB, 8, smsg_batch(
        0, OP_SIGN, 1, [b"one", b"two" * 30, b""]))
    s["batch-sign-digest-salt"] = smsg(SMSG_BATCH_JOB, 9, smsg_batch(
        1, OP_SIGN, 7, [bytes(32)] * 3, flags=1, salt_set=1, salt_len=20))
    s["batch-hmac-verify"] = smsg(SMSG_BATCH_JOB, 10, smsg_batch(
        2, OP_HMAC_VERIFY, 11, [(b"d", bytes(32)), (b"e", b"\1" * 32)]))
    s["batch-result"] = smsg(SMSG_BATCH_RESULT, 8, smsg_batch_result([
        (0, b"", b"\x30\x44" + bytes(68), 0), (5, b"too large", b"", 0),
        (7, b"token", b"", 0)]))
    s["batch-result-verify"] = smsg(SMSG_BATCH_RESULT, 10, smsg_batch_result(
        [(0, b"", b"", 1), (0, b"", b"", 0)]))
    s["batch-stream"] = s["batch-sign"] + s["batch-result"]
    s["err-batch-zero-items"] = smsg(SMSG_BATCH_JOB, 11, smsg_batch(
        0, OP_SIGN, 1, []))
    s["err-batch-secret"] = smsg(SMSG_BATCH_JOB, 11, smsg_batch(
        0, OP_SECRET, 0, [b"x"]))
    s["err-batch-mac-on-hmac"] = smsg(SMSG_BATCH_JOB, 11, smsg_batch(
        0, OP_HMAC, 11, [(b"x", bytes(32))]))
    s["err-batch-truncated"] = s["batch-sign"][:-2]
    s["err-batch-result-ok-message"] = smsg(SMSG_BATCH_RESULT, 8,
        smsg_batch_result([(0, b"ok?", b"sig", 0)]))
    # Broken: the target stops at these.
    s["err-hdr-zero"] = smsg(SMSG_JOB, 1, smsg_job(0, OP_SIGN, 1), zero=1)
    s["err-hdr-type"] = smsg(4, 1, smsg_job(0, OP_SIGN, 1))
    s["err-job-pubkey"] = smsg(SMSG_JOB, 1, smsg_job(0, OP_PUBKEY, 0))
    s["err-job-salt-flag"] = smsg(SMSG_JOB, 1, smsg_job(0, OP_SIGN, 1,
                                                        salt_set=2))
    s["err-job-salt-unset"] = smsg(SMSG_JOB, 1, smsg_job(0, OP_SIGN, 1,
                                                         salt_len=5))
    s["err-job-truncated"] = s["job-hmac-verify"][:-1]
    s["err-result-nonprintable"] = smsg(SMSG_RESULT, 1, smsg_result(
        3, b"bad\nline"))
    s["err-hello-trailing"] = smsg(SMSG_HELLO, 0, hello + b"\0")
    return s


def write(outdir, target, seeds):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return len(seeds)


# --- fuzz_dispatch: a caller byte, then frames (fuzz_dispatch.c) -------------
# Callers: 0 uid 1000, 1 group 2000, 2 uid 1001 (stats), 3 nobody (no rule).

def dispatch_seeds():
    digest = SHA256_EMPTY
    keyed = [
        sign(1, "ec256", "ecdsa-p256-sha256", b"message"),
        sign(2, "ec256", "ecdsa-p256-sha256", digest, digest=True),
        sign(3, "ec256", "ecdsa-p384-sha384", b"wrong alg"),
        sign(4, "ec384", "ecdsa-p384-sha384", b"no rule for this key"),
        sign(5, "rsa2048", "rsa-pss-sha256", b"x" * 2000),
        sign(5, "rsa2048", "rsa-pss-sha256", b"salted", salt=222),
        sign(5, "rsa2048", "rsa-pss-sha256", b"over", salt=223),
        sign(5, "rsa2048", "rsa-pkcs1-raw", bytes(36)),
        sign(6, "ed25519", "ed25519", b"m", digest=True),
        sign(7, "ec256", "ecdsa-p256-sha256", b"m", raw=True),
        sign(8, "rsa2048", "rsa-pkcs1-sha256", b"m", raw=True),
        hmac(9, "hmac32", "hmac-sha256", b"data"),
        hmac_verify(10, "hmac32", "hmac-sha256", b"data", b"\0" * 32),
        hmac_verify(11, "hmac32", "hmac-sha256", b"data", b"short"),
        request(12, REQ_SECRET, f_bytes(1, "api-token")),
        request(13, REQ_SECRET, f_bytes(1, "sealed")),
        request(14, REQ_PUBKEY, f_bytes(1, "ec256")),
        request(15, REQ_PUBKEY, f_bytes(1, "rsa2048")),
        request(16, REQ_PUBKEY, f_bytes(1, "no-such-key")),
        sign(17, "no-such-key", "ecdsa-p256-sha256", b"m"),
    ]
    plain = [
        request(20, REQ_RANDOM, f_varint(1, 32)),
        request(21, REQ_RANDOM, f_varint(1, 65)),
        request(22, REQ_RANDOM, f_varint(1, 0)),
        request(23, REQ_LIST, b""),
        request(24, REQ_HEALTH, b""),
        request(25, REQ_STATS, b""),
    ]
    s = {}
    for who in range(4):
        s["keyed-%d" % who] = bytes([who]) + b"".join(frame(r) for r in keyed)
        s["plain-%d" % who] = bytes([who]) + b"".join(frame(r) for r in plain)
    s["rate"] = bytes([0]) + b"".join(
        frame(hmac(30 + i, "hmac32", "hmac-sha256", b"r")) for i in range(12))
    s["garbage-then-more"] = bytes([0]) + frame(b"\xff\xff\xff") + \
        frame(request(40, REQ_HEALTH, b""))
    stream = [
        hmac_stream(50, "hmac32", "hmac-sha256", b"first", total=12),
        stream_data(50, b"second"),
        stream_data(50, b"x", last=True),
        stream_data(51, b"no stream"),
        stream_data(51, b"no stream", last=True),
        hmac_stream(52, "hmac32", "hmac-sha256", b"x" * 100),
        stream_data(52, b"", cancel=True),
        request(53, REQ_HMAC_VERIFY, f_bytes(1, "hmac32") +
                f_varint(2, ALG["hmac-sha256"]) + f_bytes(3, b"d") +
                f_varint(5, 1)),
        stream_data(53, b"", last=True, mac=bytes(32)),
        request(54, REQ_SIGN, f_bytes(1, "ed25519") +
                f_varint(2, ALG["ed25519"]) + f_bytes(3, b"m") +
                f_varint(4, 1) + f_varint(8, 1)),
        stream_data(55, b"m", mac=b"early"),
    ]
    for who in range(4):
        s["stream-%d" % who] = bytes([who]) + b"".join(frame(r)
                                                       for r in stream)
    batches = [
        batch(70, "ec256", "ecdsa-p256-sha256", "sign",
              [b"a", b"b" * 100, b"c"]),
        batch(71, "ec256", "ecdsa-p256-sha256", "sign", [digest, b"short"],
              digest=True),
        batch(72, "rsa2048", "rsa-pkcs1-raw", "sign", [bytes(36), b"",
                                                       bytes(300)]),
        batch(73, "hmac32", "hmac-sha256", "hmac", [b"r"] * 20),
        batch(74, "hmac32", "hmac-sha256", "hmac-verify",
              [(b"d", bytes(32)), (b"d", b"short")]),
        batch(75, "ec384", "ecdsa-p384-sha384", "sign", [b"no rule"]),
        batch(76, "no-such-key", "hmac-sha256", "hmac", [b"x"]),
        batch(77, "hmac32", "hmac-sha256", "hmac", [b"x"] * 300),
        batch(78, "ec256", "ecdsa-p256-sha256", "sign", [b"m"],
              identity=bytes(16)),
    ]
    for who in range(4):
        s["batch-%d" % who] = bytes([who]) + b"".join(frame(r)
                                                      for r in batches)
    s["bad-fields"] = bytes([3]) + frame(request(41, REQ_SIGN,
        f_bytes(1, "ec256") + f_varint(2, 99)))
    return s


def audit_state(seq, size, ino, head):
    return b"p11broker-audit-head v1 seq=%020d size=%020d ino=%020d " \
        b"head=%s\n" % (seq, size, ino, head)


def audit_state_seeds():
    """The audit log's head file (brokerd/front/audit_state.h)."""
    valid = audit_state(42, 12345, 1234567, b"a" * 64)
    return {
        "valid": valid,
        "minimal": audit_state(1, 1, 0, b"0" * 64),
        "cut": valid[:100],
        "baddigit": valid.replace(b"seq=0", b"seq=x", 1),
        "seq0": audit_state(0, 12345, 1234567, b"a" * 64),
        "upperhex": valid.replace(b"head=a", b"head=A", 1),
        "overflow": valid.replace(b"seq=00000000000000000042",
                                  b"seq=99999999999999999999", 1),
        "extra": valid + b"\n",
    }


def audit_line_seeds():
    """Audit lines (p11broker-audit(5)), alone and as the front's copy."""
    dec = (b'{"seq":7,"time":"2026-12-04T03:00:00.000001Z","type":"decision",'
           b'"id":1,"uid":0,"gid":0,"pid":42,"op":"sign","key":"ec256",'
           b'"alg":"ecdsa-p256-sha256","input_len":32,"input_sha256":"' +
           b"ab" * 32 + b'","status":"ok","latency_us":120,"prev":"' +
           b"0" * 64 + b'"}')
    ev = (b'{"seq":8,"time":"2026-12-04T03:00:00.000002Z","type":"event",'
          b'"event":"rotate","reason":"SIGUSR1","prev":"' + b"1" * 64 +
          b'"}')
    cp = (b'{"seq":9,"time":"2026-12-04T03:00:00.000003Z","type":"checkpoint",'
          b'"covers_seq":8,"covers_head":"' + b"2" * 64 + b'","key":"ec256",'
          b'"alg":"ecdsa-p256-sha256","sig":"MEUCIQDx","prev":"' + b"3" * 64 +
          b'"}')
    return {
        "decision": dec,
        "event": ev,
        "checkpoint": cp,
        "copy": dec + b"\n" + ev + b"\n" + cp + b"\n",
        "copy-nonl": dec + b"\n" + cp,
        "copy-ctl": dec + b"\n\x01" + cp + b"\n",
        "seq-big": b'{"seq":99999999999999999999,"x":1}\n',
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for target, seeds in (("request", request_seeds()),
                          ("response", response_seeds()),
                          ("config", config_seeds()),
                          ("signer_msg", signer_msg_seeds()),
                          ("dispatch", dispatch_seeds()),
                          ("audit_state", audit_state_seeds()),
                          ("audit_line", audit_line_seeds())):
        n = write(outdir, target, seeds)
        print("%s: %d seeds" % (os.path.join(outdir, target), n))


if __name__ == "__main__":
    main()
