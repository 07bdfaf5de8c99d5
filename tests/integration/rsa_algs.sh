#!/bin/bash
# RSA breadth through the CLI, each signature checked by openssl: RSA-PSS
# with any salt length the key allows (0, 32, the maximum; one more is
# refused), SHA-224, and the weak algorithms (SHA-1, raw PKCS#1 v1.5 over
# TLS 1.0/1.1's 36 bytes) only once the policy names them for the key.
# HMAC: the broker offers only what the token does for the key's length
# (SoftHSM2 refuses HMAC-SHA384/512 with a 32-byte key).
. "$(dirname "$0")/lib.sh"

setup_token
write_config
write_policy
start_daemon

printf 'RSA breadth through the broker\n' >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"
RSAPUB="$T/pub/rsa2048.pem"

# pss_verify SIG SALT: openssl's verdict on an RSA-PSS SHA-256 signature.
pss_verify()
{
	openssl pkeyutl -verify -pubin -inkey "$RSAPUB" -in "$T/msg.sha256" \
	    -sigfile "$1" -pkeyopt digest:sha256 \
	    -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$2" \
	    >/dev/null 2>&1
}

# --- RSA-PSS salt lengths: 0 .. 256 - 32 - 2 = 222 for a 2048-bit key ------
for salt in 0 32 222; do
	cli sign rsa2048 -a rsa-pss-sha256 --salt "$salt" -i "$T/msg" \
	    -o "$T/pss$salt.sig"
	is "$RC" 0 "rsa-pss-sha256 with salt $salt" || diag "$ERR"
	pss_verify "$T/pss$salt.sig" "$salt"
	ok $? "openssl verifies the salt-$salt signature with saltlen $salt"
done
pss_verify "$T/pss0.sig" 32
isnt_ok=$?
ok $((isnt_ok == 0)) "the salt-0 signature does not verify as salt 32"
pss_verify "$T/pss222.sig" max
ok $? "the salt-222 signature is openssl's \"max\""
cli sign rsa2048 -a rsa-pss-sha256 --digest --salt 222 -i "$T/msg.sha256" \
    -o "$T/pssd.sig"
is "$RC" 0 "a digest signed with salt 222" || diag "$ERR"
pss_verify "$T/pssd.sig" 222
ok $? "openssl verifies it"
cli sign rsa2048 -a rsa-pss-sha256 --salt 223 -i "$T/msg" -o "$T/x.sig"
is "$RC" 6 "salt 223 (one over the key's maximum): bad request"
like "$ERR" "salt length" "the refusal says why"
cli sign rsa2048 -a rsa-pss-sha512 --salt 190 -i "$T/msg" -o "$T/p512.sig"
is "$RC" 0 "rsa-pss-sha512 with its maximum salt, 190" || diag "$ERR"
openssl dgst -sha512 -binary "$T/msg" >"$T/msg.sha512"
openssl pkeyutl -verify -pubin -inkey "$RSAPUB" -in "$T/msg.sha512" \
    -sigfile "$T/p512.sig" -pkeyopt digest:sha512 \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:190 \
    >/dev/null 2>&1
ok $? "openssl verifies it"
cli sign rsa2048 -a rsa-pss-sha512 --salt 191 -i "$T/msg" -o "$T/x.sig"
is "$RC" 6 "rsa-pss-sha512 with salt 191: bad request"
cli sign ec256 -a ecdsa-p256-sha256 --salt 0 -i "$T/msg" -o "$T/x.sig"
is "$RC" 6 "a salt length on ECDSA: bad request"
cli sign rsa2048 -a rsa-pss-sha256 --salt 70000 -i "$T/msg" -o "$T/x.sig"
is "$RC" 2 "--salt 70000: usage error, nothing sent"

# --- SHA-224 ----------------------------------------------------------------
cli sign rsa2048 -a rsa-pkcs1-sha224 -i "$T/msg" -o "$T/p224.sig"
is "$RC" 0 "rsa-pkcs1-sha224" || diag "$ERR"
is "$(openssl dgst -sha224 -verify "$RSAPUB" -signature "$T/p224.sig" \
    "$T/msg" 2>&1)" "Verified OK" "openssl dgst -sha224 verifies it"
cli sign rsa2048 -a rsa-pss-sha224 -i "$T/msg" -o "$T/s224.sig"
is "$RC" 0 "rsa-pss-sha224 (salt: the digest length)" || diag "$ERR"
is "$(openssl dgst -sha224 -verify "$RSAPUB" -signature "$T/s224.sig" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:28 \
    "$T/msg" 2>&1)" "Verified OK" "openssl verifies it with salt 28"

# --- what the broker offers -------------------------------------------------
cli list
is "$RC" 0 "list" || diag "$ERR"
rsa_line=$(grep '^rsa2048 ' "$OUT")
hmac32_line=$(grep '^hmac32 ' "$OUT")
hmac64_line=$(grep '^hmac64 ' "$OUT")
like "$rsa_line" "rsa-pss-sha224" "rsa2048 offers rsa-pss-sha224"
unlike "$rsa_line" "sha1|raw" "rsa2048 offers no weak algorithm by default"
like "$hmac32_line" "algs=hmac-sha256$" \
    "hmac32 (32 bytes) offers hmac-sha256 only"
like "$hmac64_line" "algs=hmac-sha256,hmac-sha384,hmac-sha512$" \
    "hmac64 (64 bytes) offers all three"
log_has 'key hmac32: hmac-sha512 not offered'
ok $? "the signer logs why hmac32 gets no hmac-sha512"
cli hmac hmac32 -a hmac-sha512 -i "$T/msg" -o "$T/x.mac"
is "$RC" 7 "hmac32 with hmac-sha512: unsupported, before the token"
like "$ERR" "does not offer" "the refusal says why"
hexkey=$(od -An -tx1 -v "$T/hmac64.key" | tr -d ' \n')
for h in sha384 sha512; do
	cli hmac hmac64 -a "hmac-$h" -i "$T/msg" -o "$T/$h.mac"
	is "$RC" 0 "hmac64 with hmac-$h" || diag "$ERR"
	want=$(openssl dgst -"$h" -mac HMAC -macopt "hexkey:$hexkey" -binary \
	    "$T/msg" | od -An -tx1 -v | tr -d ' \n')
	is "$(hex "$T/$h.mac")" "$want" "hmac64 hmac-$h equals openssl's"
done

# --- weak algorithms: refused until the policy names them ---------------------
openssl dgst -md5 -binary "$T/msg" >"$T/md5sha1"
openssl dgst -sha1 -binary "$T/msg" >>"$T/md5sha1"
cli sign rsa2048 -a rsa-pkcs1-sha1 -i "$T/msg" -o "$T/x.sig"
is "$RC" 4 "rsa-pkcs1-sha1 without a rule naming it: denied"
cli_in "$T/md5sha1" sign rsa2048 -a rsa-pkcs1-raw -o "$T/x.sig"
is "$RC" 4 "rsa-pkcs1-raw without a rule naming it: denied"

write_policy "permit user $ME sign rsa2048 alg rsa-pkcs1-sha1,rsa-pkcs1-raw"
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded '
ok $? "policy naming rsa-pkcs1-sha1 and rsa-pkcs1-raw reloaded"
cli list
like "$(grep '^rsa2048 ' "$OUT")" "rsa-pkcs1-sha1.*rsa-pkcs1-raw" \
    "rsa2048 now offers them"
unlike "$(grep '^rsa2048 ' "$OUT")" "rsa-pss-sha1" \
    "but not rsa-pss-sha1, which no rule names"
cli sign rsa2048 -a rsa-pkcs1-sha1 -i "$T/msg" -o "$T/sha1.sig"
is "$RC" 0 "rsa-pkcs1-sha1 with the rule" || diag "$ERR"
is "$(openssl dgst -sha1 -verify "$RSAPUB" -signature "$T/sha1.sig" \
    "$T/msg" 2>&1)" "Verified OK" "openssl dgst -sha1 verifies it"
cli_in "$T/md5sha1" sign rsa2048 -a rsa-pkcs1-raw -o "$T/raw.sig"
is "$RC" 0 "rsa-pkcs1-raw over MD5||SHA-1 (36 bytes) with the rule" ||
    diag "$ERR"
openssl pkeyutl -verify -pubin -inkey "$RSAPUB" -in "$T/md5sha1" \
    -sigfile "$T/raw.sig" -pkeyopt rsa_padding_mode:pkcs1 >/dev/null 2>&1
ok $? "openssl pkeyutl verifies the raw PKCS#1 signature over those bytes"
cli sign rsa2048 -a rsa-pss-sha1 -i "$T/msg" -o "$T/x.sig"
is "$RC" 4 "rsa-pss-sha1, not named: still denied"
head -c 246 /dev/zero >"$T/long"
cli_in "$T/long" sign rsa2048 -a rsa-pkcs1-raw -o "$T/x.sig"
is "$RC" 6 "rsa-pkcs1-raw over 246 bytes (k - 11 = 245): bad request"
cli_in "$T/md5sha1" sign rsa2048 -a rsa-pkcs1-raw --digest -o "$T/x.sig"
is "$RC" 6 "rsa-pkcs1-raw with --digest: bad request"

stop_daemon
done_testing
