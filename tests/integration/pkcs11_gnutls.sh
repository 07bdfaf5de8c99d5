#!/bin/bash
# p11broker-pkcs11.so under GnuTLS: p11tool lists the keys and certtool
# makes self-signed certificates with pkcs11: URLs that openssl verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog p11tool certtool openssl
need_plain_module
pkcs11_setup

out=$(timeout -k 2 "$CLI_TIMEOUT" p11tool --provider "$MODULE" --list-all \
    2>"$T/list.err")
ok $? "p11tool --list-all" || diag "$(cat "$T/list.err")"
for k in ec256 ec384 ec521 rsa2048 ed25519 hmac32; do
	like "$out" "Label: $k" "p11tool lists $k"
done
like "$out" "Type: Private key \(EC/ECDSA-SECP256R1\)" "EC key type"
like "$out" "Type: Private key \(RSA-2048\)" "RSA key type"

cat >"$T/template" <<EOF2
cn = "p11broker gnutls test"
serial = 7
expiration_days = 2
ca
cert_signing_key
signing_key
EOF2
for k in ec256 ec384 rsa2048; do
	timeout -k 2 "$CLI_TIMEOUT" certtool --generate-self-signed \
	    --provider "$MODULE" \
	    --load-privkey "pkcs11:token=p11broker;object=$k;type=private" \
	    --template "$T/template" --outfile "$T/$k.crt" \
	    >"$T/cert.log" 2>&1
	ok $? "certtool --generate-self-signed with $k" ||
	    diag "$(tail -n 5 "$T/cert.log")"
	check "openssl verifies the $k certificate" \
	    quiet openssl verify -CAfile "$T/$k.crt" "$T/$k.crt"
	openssl x509 -in "$T/$k.crt" -noout -pubkey >"$T/$k.crtpub" 2>/dev/null
	check "$k certificate holds the token's key" \
	    cmp -s "$T/$k.crtpub" "$T/pub/$k.pem"
done

done_testing
