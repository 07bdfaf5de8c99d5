#!/bin/bash
# p11broker-pkcs11.so under OpenSSL's pkcs11 engine (libp11): a
# self-signed certificate made with "openssl req -engine pkcs11" that
# "openssl verify" accepts, and "openssl pkeyutl" signatures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog openssl
need_plain_module
need_engine
# libp11 0.4.12 stops enumerating private keys at the first type it does
# not know (Ed25519), as it would with the HSM's own module: this
# frontend gets EC and RSA keys only.
pkcs11_setup ec-rsa

write_engine_conf "$T/engine.cnf" "$MODULE"

eng()
{
	OPENSSL_CONF="$T/engine.cnf" timeout -k 2 "$CLI_TIMEOUT" openssl "$@"
}

for k in ec256 ec384 rsa2048; do
	eng req -x509 -new -engine pkcs11 -keyform engine \
	    -key "pkcs11:token=p11broker;object=$k;type=private" \
	    -subj "/CN=p11broker $k" -days 1 -out "$T/$k.crt" \
	    >"$T/req.log" 2>&1
	ok $? "openssl req -x509 with $k" || diag "$(cat "$T/req.log")"
	check "openssl verify accepts the $k certificate" \
	    quiet openssl verify -CAfile "$T/$k.crt" "$T/$k.crt"
	openssl x509 -in "$T/$k.crt" -noout -pubkey >"$T/$k.crtpub"
	check "$k certificate holds the token's key" \
	    cmp -s "$T/$k.crtpub" "$T/pub/$k.pem"
done

printf 'pkeyutl through the broker\n' >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"
eng pkeyutl -engine pkcs11 -keyform engine -sign \
    -inkey "pkcs11:token=p11broker;object=ec256;type=private" \
    -in "$T/msg.sha256" -out "$T/ec.sig" >"$T/pk.log" 2>&1
ok $? "openssl pkeyutl -sign ECDSA" || diag "$(cat "$T/pk.log")"
check "ECDSA signature verifies" quiet openssl pkeyutl -verify -pubin \
    -inkey "$T/pub/ec256.pem" -in "$T/msg.sha256" -sigfile "$T/ec.sig"
eng pkeyutl -engine pkcs11 -keyform engine -sign \
    -inkey "pkcs11:token=p11broker;object=rsa2048;type=private" \
    -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:digest \
    -in "$T/msg.sha256" -out "$T/pss.sig" >"$T/pk.log" 2>&1
ok $? "openssl pkeyutl -sign RSA-PSS" || diag "$(cat "$T/pk.log")"
check "RSA-PSS signature verifies" quiet openssl pkeyutl -verify -pubin \
    -inkey "$T/pub/rsa2048.pem" -pkeyopt digest:sha256 \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest \
    -in "$T/msg.sha256" -sigfile "$T/pss.sig"
eng pkeyutl -engine pkcs11 -keyform engine -sign \
    -inkey "pkcs11:token=p11broker;object=rsa2048;type=private" \
    -pkeyopt digest:sha384 -in <(openssl dgst -sha384 -binary "$T/msg") \
    -out "$T/pkcs1.sig" >"$T/pk.log" 2>&1
ok $? "openssl pkeyutl -sign RSA PKCS#1 SHA-384" || diag "$(cat "$T/pk.log")"
check "RSA PKCS#1 signature verifies" quiet openssl dgst -sha384 -verify \
    "$T/pub/rsa2048.pem" -signature "$T/pkcs1.sig" "$T/msg"

done_testing
