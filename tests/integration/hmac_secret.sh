#!/bin/bash
# HMAC, HMAC verification, get-secret, get-public-key, random, list and
# health through the real daemon and CLI, compared with openssl over the
# known key bytes and with the public keys read from the token.
. "$(dirname "$0")/lib.sh"

setup_token
write_config
write_policy
start_daemon

data="$T/data"
{ printf 'p11broker hmac test\n'; head -c 5000 /dev/urandom; } >"$data"

# openssl_hmac KEY MD FILE: lower-case hex HMAC with the known key bytes.
openssl_hmac()
{
	openssl mac -digest "$2" -macopt "hexkey:$(hex "$T/$1.key")" -in "$3" \
	    HMAC | tr 'A-F' 'a-f'
}

# --- HMAC -------------------------------------------------------------------

# SoftHSM2 wants an HMAC key at least as long as the digest, so SHA-384
# and SHA-512 run on the 64-byte key.
for spec in hmac32:sha256:SHA256:32 hmac64:sha256:SHA256:32 \
    hmac64:sha384:SHA384:48 hmac64:sha512:SHA512:64; do
	IFS=: read -r key md MD len <<<"$spec"
	want=$(openssl_hmac "$key" "$MD" "$data")
	t="$key hmac-$md"

	cli hmac "$key" -a "hmac-$md" -i "$data"
	is "$RC" 0 "$t: exit 0" || diag "$ERR"
	is "$(size "$OUT")" "$len" "$t: $len bytes"
	is "$(hex "$OUT")" "$want" "$t equals openssl HMAC over the key bytes"
	cp "$OUT" "$T/mac.$key.$md"

	cli_in "$data" hmac "$key" -a "hmac-$md" -o "$T/mac2.$key.$md"
	is "$RC" 0 "$t: stdin/-o exit 0" || diag "$ERR"
	check "$t: stdin/-o gives the same MAC" \
	    cmp -s "$T/mac.$key.$md" "$T/mac2.$key.$md"

	cli hmac-verify "$key" -a "hmac-$md" -m "$T/mac.$key.$md" -i "$data"
	is "$RC" 0 "hmac-verify $t: right MAC -> exit 0" || diag "$ERR"

	if [ -s "$T/mac.$key.$md" ]; then
		flip_byte "$T/mac.$key.$md" "$T/badmac" 7
	else
		head -c "$len" /dev/zero >"$T/badmac"
	fi
	cli hmac-verify "$key" -a "hmac-$md" -m "$T/badmac" -i "$data"
	is "$RC" 1 "hmac-verify $t: flipped MAC byte -> exit 1" || diag "$ERR"

	flip_byte "$data" "$T/baddata" 3
	cli hmac-verify "$key" -a "hmac-$md" -m "$T/mac.$key.$md" \
	    -i "$T/baddata"
	is "$RC" 1 "hmac-verify $t: changed data -> exit 1" || diag "$ERR"
done

# A MAC of another digest's length is not a valid MAC.
cli hmac-verify hmac64 -a hmac-sha512 -m "$T/mac.hmac64.sha256" -i "$data"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "hmac-verify: a SHA-256 MAC for hmac-sha512 is not valid (exit $RC)"

cli hmac hmac32 -i "$data"
is "$RC" 0 "hmac without -a: exit 0" || diag "$ERR"
is "$(hex "$OUT")" "$(openssl_hmac hmac32 SHA256 "$data")" \
    "hmac without -a is HMAC-SHA256"

: >"$T/empty"
cli hmac hmac32 -a hmac-sha256 -i "$T/empty"
is "$RC" 0 "hmac of empty input: exit 0" || diag "$ERR"
is "$(hex "$OUT")" "$(openssl_hmac hmac32 SHA256 "$T/empty")" \
    "hmac of empty input equals openssl"

# The token refuses HMAC-SHA384 with a 32-byte key: a clear refusal about
# the request, not an internal error.
cli hmac hmac32 -a hmac-sha384 -i "$data"
like "$RC" '^(6|7)$' \
    "hmac32 hmac-sha384 (key shorter than digest): exit 6 or 7" ||
    diag "$ERR"
is "$(size "$OUT")" 0 "hmac32 hmac-sha384: nothing on stdout"

# A refused or failed token operation must not leave a worker's session
# unusable: every worker still serves HMAC and signatures.
bad=0
for i in 1 2 3 4 5 6; do
	cli hmac hmac32 -a hmac-sha256 -i "$data"
	[ "$RC" -eq 0 ] || bad=$((bad + 1))
	cli sign ec256 -a ecdsa-p256-sha256 -i "$data"
	[ "$RC" -eq 0 ] || bad=$((bad + 1))
done
is "$bad" 0 "after the failures above, 12 hmac/sign requests all succeed" ||
    diag "last: $ERR"

# A MAC made by another key must not verify.
head -c 32 /dev/urandom >"$T/other.key"
openssl mac -digest SHA256 -macopt "hexkey:$(hex "$T/other.key")" \
    -in "$data" -binary HMAC >"$T/othermac"
cli hmac-verify hmac32 -a hmac-sha256 -m "$T/othermac" -i "$data"
is "$RC" 1 "hmac-verify: MAC under another key -> exit 1"

# --- secrets ----------------------------------------------------------------

cli secret api-token
is "$RC" 0 "secret api-token: exit 0" || diag "$ERR"
check "secret api-token: the 48 bytes written to the token" \
    cmp -s "$OUT" "$T/api-token.bin"

cli secret blob -o "$T/blob.out"
is "$RC" 0 "secret blob (data object) with -o: exit 0" || diag "$ERR"
check "secret blob: the data object's bytes" \
    cmp -s "$T/blob.out" "$T/blob.bin"

cli secret hmac32
is "$RC" 0 "secret hmac32: exit 0" || diag "$ERR"
check "secret hmac32: the key bytes" cmp -s "$OUT" "$T/hmac32.key"

cli secret sealed
isnt_ok=$([ "$RC" -ne 0 ] && echo 0 || echo 1)
ok "$isnt_ok" "secret sealed (non-extractable) is refused (exit $RC)"
like "$RC" '^(4|6|7)$' "secret sealed: exit code of a clear refusal (4/6/7)"
like "$ERR" '^p11broker: secret sealed: (denied|bad-request|unsupported)( |$)' \
    "secret sealed: one-line error naming the status"
is "$(size "$OUT")" 0 "secret sealed: nothing on stdout"
unlike "$(hex "$OUT")$ERR" "$(hex "$T/sealed.key")" \
    "secret sealed: the key bytes appear nowhere"

# --- public keys ------------------------------------------------------------

for key in ec256 ec384 ec521 rsa2048 ed25519; do
	cli pubkey "$key"
	is "$RC" 0 "pubkey $key: exit 0" || diag "$ERR"
	like "$(head -n 1 "$OUT")" '^-----BEGIN PUBLIC KEY-----$' \
	    "pubkey $key: PEM by default"
	if openssl pkey -pubin -in "$OUT" -outform DER \
	    -out "$T/$key.got.der" 2>/dev/null; then
		check "pubkey $key: same key as on the token (DER compare)" \
		    cmp -s "$T/$key.got.der" "$T/pub/$key.der"
	else
		ok 1 "pubkey $key: openssl reads the PEM"
	fi

	cli pubkey "$key" --der -o "$T/$key.der.out"
	is "$RC" 0 "pubkey $key --der -o: exit 0" || diag "$ERR"
	check "pubkey $key --der: exactly the token's SPKI" \
	    cmp -s "$T/$key.der.out" "$T/pub/$key.der"
done

# --- random, list, health ---------------------------------------------------

cli random 32
is "$RC" 0 "random 32: exit 0" || diag "$ERR"
is "$(size "$OUT")" 32 "random 32: 32 bytes"
r1=$(hex "$OUT")
cli random 32 -o "$T/rand2"
is "$RC" 0 "random 32 -o: exit 0" || diag "$ERR"
is "$(size "$T/rand2")" 32 "random 32 -o: 32 bytes"
r2=$(hex "$T/rand2")
ok "$([ "$r1" != "$r2" ] && echo 0 || echo 1)" "two random calls differ"

cli random 4096
is "$RC" 0 "random 4096 (the limit): exit 0" || diag "$ERR"
is "$(size "$OUT")" 4096 "random 4096: 4096 bytes"

cli random 4097
is "$RC" 8 "random 4097: exit 8 (too-large)"
like "$ERR" '^p11broker: random( [^:]*)?: too-large' \
    "random 4097: error names too-large"
is "$(size "$OUT")" 0 "random 4097: nothing on stdout"

# (sealed may be left out: no operation on it can succeed.)
cli list
is "$RC" 0 "list: exit 0" || diag "$ERR"
missing=
for key in ec256 ec384 ec521 rsa2048 ed25519 hmac32 hmac64 api-token blob; do
	grep -qw -- "$key" "$OUT" || missing="$missing $key"
done
is "$missing" "" "list shows every key root may use"

cli health
is "$RC" 0 "health: exit 0" || diag "$ERR"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
