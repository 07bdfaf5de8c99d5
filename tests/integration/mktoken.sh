#!/bin/bash
# mktoken.sh DIR: a throwaway SoftHSM2 token "p11b-test" (user PIN 1234)
# with the keys the integration tests use, plus the reference material the
# tests check the broker against:
#   DIR/softhsm2.conf          token config (export SOFTHSM2_CONF=...)
#   DIR/hmac32.key             32 random bytes, secret "hmac32" (id 10)
#   DIR/api-token.bin          48 random bytes, secret "api-token" (id 11)
#   DIR/hmac64.key             64 random bytes, secret "hmac64" (id 13):
#                              SoftHSM2 refuses HMAC-SHA384/512 with a key
#                              shorter than the digest (CKR_KEY_SIZE_RANGE)
#   DIR/blob.bin               data object "blob"
#   DIR/sealed.key             bytes of the non-extractable secret "sealed"
#   DIR/pub/LABEL.pem          public key of each key pair, read back from
#                              the token with pkcs11-tool and openssl
# Key pairs: ec256 (01), ec384 (02), ec521 (03), rsa2048 (04), ed25519 (05).
#
# Needs SOFTHSM_MODULE (default /usr/lib/softhsm/libsofthsm2.so) and
# top_builddir (for tests/tools/mkobjects).
set -u
set -e

die()
{
	echo "mktoken.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: mktoken.sh DIR"
dir=$(cd "$1" && pwd) || die "$1: no such directory"
module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
mkobjects=${top_builddir:-.}/tests/tools/mkobjects
[ -x "$mkobjects" ] || die "$mkobjects not built"

mkdir -p "$dir/tokens" "$dir/pub"
cat >"$dir/softhsm2.conf" <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$dir/softhsm2.conf"

label=p11b-test
pin=1234
softhsm2-util --init-token --free --label "$label" --pin "$pin" \
    --so-pin 000000 >/dev/null || die "softhsm2-util --init-token failed"

p11tool()
{
	pkcs11-tool --module "$module" --token-label "$label" -l --pin "$pin" \
	    "$@"
}

keypair()
{
	p11tool --keypairgen --key-type "$1" --label "$2" --id "$3" \
	    >/dev/null 2>"$dir/keygen.err" ||
	    die "keypairgen $1 $2: $(cat "$dir/keygen.err")"
}

keypair EC:prime256v1 ec256 01
keypair EC:secp384r1 ec384 02
keypair EC:secp521r1 ec521 03
keypair rsa:2048 rsa2048 04
keypair EC:edwards25519 ed25519 05

head -c 32 /dev/urandom >"$dir/hmac32.key"
head -c 64 /dev/urandom >"$dir/hmac64.key"
head -c 48 /dev/urandom >"$dir/api-token.bin"
head -c 32 /dev/urandom >"$dir/sealed.key"
{ printf 'p11broker test blob\n'; head -c 200 /dev/urandom; } >"$dir/blob.bin"

P11_PIN=$pin "$mkobjects" -m "$module" -t "$label" -p P11_PIN \
    secret hmac32 10 "$dir/hmac32.key" \
    secret api-token 11 "$dir/api-token.bin" \
    secret hmac64 13 "$dir/hmac64.key" \
    data blob "$dir/blob.bin" \
    sealed sealed 12 "$dir/sealed.key" >/dev/null

# EC and EdDSA public keys are also built by hand from CKA_EC_POINT and
# CKA_EC_PARAMS: pkcs11-tool 0.23 cannot export a P-384 public key
# ("cannot create EVP_PKEY") and writes PEM instead of DER for EdDSA.
# CKA_EC_POINT is an OCTET STRING holding the point; the SPKI wants the
# point in a BIT STRING, with the curve OID (EC) or no parameters (Ed25519,
# whose CKA_EC_PARAMS in SoftHSM2 2.6.1 is PrintableString "edwards25519").
pkcs11-tool --module "$module" --token-label "$label" --list-objects \
    --type pubkey >"$dir/pubkeys.txt" 2>/dev/null ||
    die "cannot list public keys"
python3 - "$dir/pubkeys.txt" "$dir/pub" <<'EOF' || die "cannot build SPKIs"
import re, sys

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b

def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body

def unwrap_octet_string(b):
    if b[0] != 0x04:
        raise ValueError("EC_POINT is not an OCTET STRING")
    n, i = b[1], 2
    if n & 0x80:
        k = n & 0x7f
        n, i = int.from_bytes(b[2:2 + k], 'big'), 2 + k
    if i + n != len(b):
        raise ValueError("bad EC_POINT length")
    return b[i:]

EC_PUBLIC_KEY = bytes.fromhex('06072a8648ce3d0201')
ED25519 = bytes.fromhex('06032b6570')
keys, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith('Public Key Object'):
        cur = {}
        keys.append(cur)
        continue
    m = re.match(r'\s+(EC_POINT|EC_PARAMS|label):\s+(\S+)', line)
    if m and cur is not None:
        cur[m.group(1)] = m.group(2)
for k in keys:
    if 'EC_POINT' not in k:
        continue
    point = unwrap_octet_string(bytes.fromhex(k['EC_POINT']))
    params = bytes.fromhex(k['EC_PARAMS'])
    if params == tlv(0x13, b'edwards25519') or \
       params == bytes.fromhex('06032b6570'):
        if len(point) != 32:
            raise ValueError("bad Ed25519 point")
        alg = tlv(0x30, ED25519)
    elif params[0] == 0x06:
        if point[0] != 0x04:
            raise ValueError("EC point not uncompressed")
        alg = tlv(0x30, EC_PUBLIC_KEY + params)
    else:
        raise ValueError("unknown EC_PARAMS " + k['EC_PARAMS'])
    spki = tlv(0x30, alg + tlv(0x03, b'\0' + point))
    open('%s/%s.handmade.der' % (sys.argv[2], k['label']), 'wb').write(spki)
EOF

for key in ec256 ec384 ec521 rsa2048 ed25519; do
	raw="$dir/pub/$key.p11tool"
	hand="$dir/pub/$key.handmade.der"
	if p11tool --read-object --type pubkey --label "$key" -o "$raw" \
	    >/dev/null 2>&1; then
		if head -c 10 "$raw" | grep -q -- '-----'; then
			inform=PEM
		else
			inform=DER
		fi
		openssl pkey -pubin -inform "$inform" -in "$raw" \
		    -outform DER -out "$dir/pub/$key.der" ||
		    die "openssl cannot read the $key public key"
		# Two independent readings of the same key must agree.
		if [ -f "$hand" ]; then
			cmp -s "$hand" "$dir/pub/$key.der" ||
			    die "$key: exported SPKI differs from CKA_EC_POINT"
		fi
	else
		[ -f "$hand" ] || die "cannot export the $key public key"
		cp "$hand" "$dir/pub/$key.der"
	fi
	openssl pkey -pubin -inform DER -in "$dir/pub/$key.der" \
	    -out "$dir/pub/$key.pem" || die "openssl rejects the $key SPKI"
	rm -f "$raw" "$hand"
done

rm -f "$dir/keygen.err"
echo "token $label ready in $dir"
