#!/bin/bash
# Every signing algorithm on its key, through the real daemon and CLI;
# every signature checked by openssl against the public key read from the
# token independently (tests/integration/mktoken.sh).
. "$(dirname "$0")/lib.sh"

setup_token
write_config
write_policy
start_daemon

# The PIN came in P11BROKER_PIN: it must be gone from the daemon's
# environment, including the bytes /proc shows from the initial stack.
if [ -n "${P11B_DAEMON_WRAPPER:-}" ]; then
	# Under valgrind /proc shows the wrapper's own environment.
	ok 0 "the PIN is not left in /proc environ # SKIP daemon wrapped"
else
	env_pin=$(tr '\0' '\n' <"/proc/$DAEMON_PID/environ" |
	    grep -c "^P11BROKER_PIN=.*$PIN")
	is "$env_pin" 0 "the PIN is not left in the daemon's /proc environ"
fi

PUB="$T/pub"
msg="$T/msg"
{ printf 'p11broker sign test\n'; head -c 3000 /dev/urandom; } >"$msg"
tampered="$T/msg.tampered"
flip_byte "$msg" "$tampered" 100

# verify_dgst DESC KEY MD SIG [SIGOPTS...]: openssl dgst -verify on $msg,
# then the same signature must fail on the tampered message.
verify_dgst()
{
	local desc=$1 key=$2 md=$3 sig=$4 out
	shift 4
	out=$(openssl dgst "-$md" "$@" -verify "$PUB/$key.pem" \
	    -signature "$sig" "$msg" 2>&1)
	is "$out" "Verified OK" "$desc: openssl verifies"
	out=$(openssl dgst "-$md" "$@" -verify "$PUB/$key.pem" \
	    -signature "$sig" "$tampered" 2>&1)
	like "$out" "^Verification [Ff]ailure" \
	    "$desc: openssl rejects it for a tampered message"
}

# --- ECDSA ------------------------------------------------------------------

for spec in ec256:ecdsa-p256-sha256:sha256:32:64 \
    ec384:ecdsa-p384-sha384:sha384:48:96 \
    ec521:ecdsa-p521-sha512:sha512:64:132; do
	IFS=: read -r key alg md dlen rawlen <<<"$spec"

	# message on stdin, signature on stdout, DER by default
	cli_in "$msg" sign "$key" -a "$alg"
	is "$RC" 0 "$alg: sign message from stdin (exit 0)" || diag "$ERR"
	cp "$OUT" "$T/$key.der.sig"
	is "$(openssl asn1parse -inform DER -in "$T/$key.der.sig" 2>&1 |
	    grep -c 'prim: *INTEGER')" 2 \
	    "$alg: signature is a DER SEQUENCE of two INTEGERs"
	verify_dgst "$alg DER" "$key" "$md" "$T/$key.der.sig"

	# message with -i, signature with -o
	cli sign "$key" -a "$alg" -i "$msg" -o "$T/$key.o.sig"
	is "$RC" 0 "$alg: sign with -i/-o (exit 0)" || diag "$ERR"
	is "$(size "$OUT")" 0 "$alg: nothing on stdout with -o"
	verify_dgst "$alg -i/-o" "$key" "$md" "$T/$key.o.sig"

	# pre-computed digest
	openssl dgst "-$md" -binary "$msg" >"$T/$key.digest"
	is "$(size "$T/$key.digest")" "$dlen" "$md digest is $dlen bytes"
	cli sign "$key" -a "$alg" --digest -i "$T/$key.digest" \
	    -o "$T/$key.dgst.sig"
	is "$RC" 0 "$alg: sign --digest (exit 0)" || diag "$ERR"
	verify_dgst "$alg --digest" "$key" "$md" "$T/$key.dgst.sig"

	# raw r||s, converted to DER here
	cli sign "$key" -a "$alg" --raw -i "$msg" -o "$T/$key.raw.sig"
	is "$RC" 0 "$alg: sign --raw (exit 0)" || diag "$ERR"
	is "$(size "$T/$key.raw.sig")" "$rawlen" \
	    "$alg: raw signature is $rawlen bytes"
	if raw_to_der "$T/$key.raw.sig" "$T/$key.raw2der.sig"; then
		verify_dgst "$alg --raw" "$key" "$md" "$T/$key.raw2der.sig"
	else
		ok 1 "$alg --raw: convert raw signature to DER"
	fi
done

# The empty message is a message too.
: >"$T/empty"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/empty" -o "$T/empty.sig"
is "$RC" 0 "ecdsa-p256-sha256: sign the empty message" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$PUB/ec256.pem" \
    -signature "$T/empty.sig" "$T/empty" 2>&1)" "Verified OK" \
    "ecdsa-p256-sha256: empty-message signature verifies"

# A signature by the P-256 key must not verify under the P-384 key: the
# broker used the key that was asked for.
like "$(openssl dgst -sha256 -verify "$PUB/ec384.pem" \
    -signature "$T/ec256.der.sig" "$msg" 2>&1)" \
    "^Verification failure" "ec256 signature does not verify under ec384"

# --- RSA --------------------------------------------------------------------

for md in sha256 sha384 sha512; do
	case $md in
	sha256) dlen=32 ;;
	sha384) dlen=48 ;;
	sha512) dlen=64 ;;
	esac
	openssl dgst "-$md" -binary "$msg" >"$T/rsa.$md.digest"

	cli sign rsa2048 -a "rsa-pkcs1-$md" -i "$msg" -o "$T/pkcs1.$md.sig"
	is "$RC" 0 "rsa-pkcs1-$md: sign (exit 0)" || diag "$ERR"
	is "$(size "$T/pkcs1.$md.sig")" 256 "rsa-pkcs1-$md: 256-byte signature"
	verify_dgst "rsa-pkcs1-$md" rsa2048 "$md" "$T/pkcs1.$md.sig"
	# PKCS#1 v1.5 is deterministic: the digest path must give the same
	# bytes, which also shows the DigestInfo was built for this digest.
	cli sign rsa2048 -a "rsa-pkcs1-$md" --digest -i "$T/rsa.$md.digest" \
	    -o "$T/pkcs1.$md.dsig"
	is "$RC" 0 "rsa-pkcs1-$md: sign --digest (exit 0)" || diag "$ERR"
	check "rsa-pkcs1-$md: --digest signature equals message signature" \
	    cmp -s "$T/pkcs1.$md.sig" "$T/pkcs1.$md.dsig"

	cli sign rsa2048 -a "rsa-pss-$md" -i "$msg" -o "$T/pss.$md.sig"
	is "$RC" 0 "rsa-pss-$md: sign (exit 0)" || diag "$ERR"
	is "$(size "$T/pss.$md.sig")" 256 "rsa-pss-$md: 256-byte signature"
	# saltlen:digest makes openssl insist on a salt of the digest length.
	verify_dgst "rsa-pss-$md (salt $dlen)" rsa2048 "$md" "$T/pss.$md.sig" \
	    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	    -sigopt "rsa_mgf1_md:$md"
	# ... and the signature is not PKCS#1 v1.5.
	like "$(openssl dgst "-$md" -verify "$PUB/rsa2048.pem" \
	    -signature "$T/pss.$md.sig" "$msg" 2>&1)" \
	    "^Verification failure" "rsa-pss-$md: not a PKCS#1 v1.5 signature"

	cli sign rsa2048 -a "rsa-pss-$md" --digest -i "$T/rsa.$md.digest" \
	    -o "$T/pss.$md.dsig"
	is "$RC" 0 "rsa-pss-$md: sign --digest (exit 0)" || diag "$ERR"
	verify_dgst "rsa-pss-$md --digest" rsa2048 "$md" "$T/pss.$md.dsig" \
	    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
	    -sigopt "rsa_mgf1_md:$md"
done

# --- Ed25519 ----------------------------------------------------------------

verify_ed25519()
{
	local desc=$1 in=$2 sig=$3 out
	out=$(openssl pkeyutl -verify -pubin -inkey "$PUB/ed25519.pem" \
	    -rawin -in "$in" -sigfile "$sig" 2>&1)
	is "$out" "Signature Verified Successfully" "$desc: openssl verifies"
}

cli_in "$msg" sign ed25519 -a ed25519 -o "$T/ed.sig"
is "$RC" 0 "ed25519: sign (exit 0)" || diag "$ERR"
is "$(size "$T/ed.sig")" 64 "ed25519: 64-byte signature"
verify_ed25519 ed25519 "$msg" "$T/ed.sig"
out=$(openssl pkeyutl -verify -pubin -inkey "$PUB/ed25519.pem" -rawin \
    -in "$tampered" -sigfile "$T/ed.sig" 2>&1)
like "$out" "Signature Verification Failure" \
    "ed25519: openssl rejects it for a tampered message"
# Ed25519 is deterministic.
cli sign ed25519 -a ed25519 -i "$msg" -o "$T/ed2.sig"
check "ed25519: the same message gives the same signature" \
    cmp -s "$T/ed.sig" "$T/ed2.sig"

printf '%032d' 0 >"$T/fake.digest"

# Ed25519 signs the whole message: a large one must work too.
head -c 60000 /dev/urandom >"$T/big"
cli sign ed25519 -a ed25519 -i "$T/big" -o "$T/big.sig"
is "$RC" 0 "ed25519: sign a 60000-byte message (exit 0)" || diag "$ERR"
verify_ed25519 "ed25519 60000-byte message" "$T/big" "$T/big.sig"

# openssl 3.0's pkeyutl cannot take an empty message, so the empty-message
# signature goes to an RFC 8032 verifier, first shown to agree with
# openssl on the signatures above.
ED_VERIFY="$INTEGRATION_DIR/ed25519_verify.py"
is "$(python3 "$ED_VERIFY" "$PUB/ed25519.der" "$msg" "$T/ed.sig")" valid \
    "ed25519_verify.py accepts what openssl accepted"
is "$(python3 "$ED_VERIFY" "$PUB/ed25519.der" "$tampered" "$T/ed.sig")" \
    invalid "ed25519_verify.py rejects the tampered message"
cli sign ed25519 -a ed25519 -i "$T/empty" -o "$T/empty.ed.sig"
is "$RC" 0 "ed25519: sign the empty message (exit 0)" || diag "$ERR"
is "$(python3 "$ED_VERIFY" "$PUB/ed25519.der" "$T/empty" \
    "$T/empty.ed.sig")" valid "ed25519: empty-message signature verifies"
is "$(python3 "$ED_VERIFY" "$PUB/ed25519.der" "$T/fake.digest" \
    "$T/empty.ed.sig")" invalid \
    "ed25519: empty-message signature does not fit another message"

# ... so a "digest" makes no sense for it.
cli sign ed25519 -a ed25519 --digest -i "$T/fake.digest"
like "$RC" '^(6|7)$' "ed25519 --digest refused (bad-request/unsupported)" ||
    diag "$ERR"
is "$(size "$OUT")" 0 "ed25519 --digest: no signature on stdout"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
