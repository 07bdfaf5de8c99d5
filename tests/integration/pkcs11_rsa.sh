#!/bin/bash
# RSA breadth through p11broker-pkcs11.so under unmodified programs, each
# result checked by an independent verifier:
#   - OpenSSL's engine (libp11) with its PSS defaults (salt "max"):
#     "openssl req -x509 -sigopt rsa_padding_mode:pss" and "openssl cms
#     -sign -keyopt rsa_padding_mode:pss", checked by openssl verify and
#     openssl cms -verify; pkeyutl with salt 0, 32 and max;
#   - "openssl dgst -sha1 -sign": refused until the policy names
#     rsa-pkcs1-sha1 for the key, then verified;
#   - "openssl dgst -sha224 -sign", pkcs11-tool with ECDSA-SHA224 and
#     SHA224-RSA-PKCS-PSS (salt 100; 227, one over the maximum, refused);
#   - TLS 1.1 (MD5+SHA-1 signed with raw CKM_RSA_PKCS) between gnutls-serv,
#     holding the broker's key through the module, and gnutls-cli;
#   - "pkcs11-tool --test --login" reports no error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog openssl
need_plain_module
need_engine
# EC and RSA keys only: libp11 0.4.12 stops at Ed25519 (pkcs11_openssl.sh).
pkcs11_setup ec-rsa

write_engine_conf "$T/engine.cnf" "$MODULE"

eng()
{
	OPENSSL_CONF="$T/engine.cnf" timeout -k 2 "$CLI_TIMEOUT" openssl "$@"
}

RSAKEY="pkcs11:token=p11broker;object=rsa2048;type=private"
RSAPUB="$T/pub/rsa2048.pem"

# --- openssl req / cms with OpenSSL's PSS defaults (salt "max") -----------
eng req -x509 -new -engine pkcs11 -keyform engine -key "$RSAKEY" \
    -sha256 -sigopt rsa_padding_mode:pss -subj "/CN=p11broker pss" \
    -days 1 -out "$T/pss.crt" >"$T/req.log" 2>&1
ok $? "openssl req -x509 -sigopt rsa_padding_mode:pss (default salt)" ||
    diag "$(cat "$T/req.log")"
check "openssl verify accepts the RSA-PSS certificate" \
    quiet openssl verify -CAfile "$T/pss.crt" "$T/pss.crt"
text=$(openssl x509 -in "$T/pss.crt" -noout -text 2>&1)
like "$text" "Signature Algorithm: rsassaPss" "the certificate is RSA-PSS"
like "$text" "Salt Length: 0xDE" "with salt 222, the key's maximum"

printf 'signed data for cms\n' >"$T/cms.in"
eng cms -sign -engine pkcs11 -keyform engine -inkey "$RSAKEY" \
    -signer "$T/pss.crt" -keyopt rsa_padding_mode:pss -md sha256 \
    -nodetach -binary -in "$T/cms.in" -outform DER -out "$T/cms.der" \
    >"$T/cms.log" 2>&1
ok $? "openssl cms -sign -keyopt rsa_padding_mode:pss" ||
    diag "$(cat "$T/cms.log")"
openssl cms -verify -binary -inform DER -in "$T/cms.der" \
    -CAfile "$T/pss.crt" -out "$T/cms.out" >"$T/cmsv.log" 2>&1
ok $? "openssl cms -verify accepts it" || diag "$(cat "$T/cmsv.log")"
check "the verified content is the signed data" cmp -s "$T/cms.in" "$T/cms.out"

# --- pkeyutl with chosen salt lengths -------------------------------------
# libp11 0.4.12 passes salt 0, 32, 222 and "auto" (as the maximum) to
# the module; "max" it does not know, and falls back to padding in
# software and a raw RSA operation (CKM_RSA_X_509), which the broker
# never offers: sign anything is not a signing service.
printf 'pss salts\n' >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"
for salt in 0 32 222 auto; do
	eng pkeyutl -engine pkcs11 -keyform engine -sign -inkey "$RSAKEY" \
	    -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
	    -pkeyopt "rsa_pss_saltlen:$salt" -in "$T/msg.sha256" \
	    -out "$T/pss$salt.sig" >"$T/pk.log" 2>&1
	ok $? "pkeyutl -sign RSA-PSS with salt $salt" ||
	    diag "$(cat "$T/pk.log")"
	n=$salt
	[ "$salt" = auto ] && n=max
	check "openssl pkeyutl -verify with rsa_pss_saltlen:$n" \
	    quiet openssl pkeyutl -verify -pubin -inkey "$RSAPUB" \
	    -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
	    -pkeyopt "rsa_pss_saltlen:$n" -in "$T/msg.sha256" \
	    -sigfile "$T/pss$salt.sig"
done

# --- SHA-224 --------------------------------------------------------------
eng dgst -sha224 -engine pkcs11 -keyform engine -sign "$RSAKEY" \
    -out "$T/sha224.sig" "$T/msg" >"$T/dgst.log" 2>&1
ok $? "openssl dgst -sha224 -sign" || diag "$(cat "$T/dgst.log")"
check "openssl dgst -sha224 -verify" quiet openssl dgst -sha224 -verify \
    "$RSAPUB" -signature "$T/sha224.sig" "$T/msg"

# --- SHA-1: only where the policy names it ---------------------------------
eng dgst -sha1 -engine pkcs11 -keyform engine -sign "$RSAKEY" \
    -out "$T/sha1.sig" "$T/msg" >"$T/dgst.log" 2>&1
isnt_rc=$?
ok $((isnt_rc == 0)) "openssl dgst -sha1 -sign without a rule naming it fails"
write_policy_ec_rsa
printf 'permit user %s sign rsa2048 alg rsa-pkcs1-sha1,rsa-pkcs1-raw\n' \
    "$ME" >>"$POLICY"
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded '
ok $? "policy naming rsa-pkcs1-sha1 and rsa-pkcs1-raw for rsa2048 reloaded"
eng dgst -sha1 -engine pkcs11 -keyform engine -sign "$RSAKEY" \
    -out "$T/sha1.sig" "$T/msg" >"$T/dgst.log" 2>&1
ok $? "openssl dgst -sha1 -sign with the rule" || diag "$(cat "$T/dgst.log")"
check "openssl dgst -sha1 -verify" quiet openssl dgst -sha1 -verify \
    "$RSAPUB" -signature "$T/sha1.sig" "$T/msg"

# --- TLS 1.1 through gnutls-serv -------------------------------------------
# gnutls-serv loads PKCS#11 modules through p11-kit, which reads no user
# config as root: in a mount namespace of its own, its module directory
# is one that names this module only.  TLS 1.1 signs MD5 || SHA-1 (36
# bytes) with raw CKM_RSA_PKCS; NORMAL leaves TLS 1.1 out of Debian 12's
# GnuTLS 3.7, +VERS-TLS1.1 brings it back.
P11KIT_MODULES=/usr/share/p11-kit/modules
if ! command -v gnutls-serv >/dev/null || ! command -v gnutls-cli >/dev/null
then
	diag "gnutls-serv or gnutls-cli missing: TLS 1.1 not tried"
elif [ "$(id -u)" -ne 0 ] || [ ! -d "$P11KIT_MODULES" ] ||
    ! unshare -m true 2>/dev/null; then
	diag "no private mount namespace here: TLS 1.1 not tried"
else
	mkdir -p "$T/p11kit-modules"
	printf 'module: %s\n' "$MODULE" >"$T/p11kit-modules/p11broker.module"
	port=$((20000 + RANDOM % 20000))
	setsid unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 &&
	    exec "$@"' sh "$T/p11kit-modules" "$P11KIT_MODULES" \
	    gnutls-serv --port "$port" --x509certfile "$T/pss.crt" \
	    --x509keyfile "$RSAKEY" --priority "NORMAL:+VERS-TLS1.1" --echo \
	    >"$T/serv.log" 2>&1 &
	SERV_PID=$!
	on_cleanup "kill $SERV_PID 2>/dev/null"
	wait_for grep -q "listening" "$T/serv.log"
	ok $? "gnutls-serv started with the broker's key" ||
	    diag "$(cat "$T/serv.log")"
	# The certificate is signed RSA-PSS; what is checked here is the
	# handshake signature, which gnutls-cli verifies whatever --insecure.
	printf 'ping\n' | timeout -k 2 "$CLI_TIMEOUT" gnutls-cli --insecure \
	    --priority "NORMAL:-VERS-ALL:+VERS-TLS1.1" --port "$port" \
	    127.0.0.1 >"$T/tls.log" 2>&1
	ok $? "gnutls-cli completes a TLS 1.1 handshake" ||
	    diag "$(tail -n 15 "$T/tls.log"; tail -n 15 "$T/serv.log")"
	like "$(cat "$T/tls.log")" "Description: \(TLS1\.1-X\.509\)-\(ECDHE" \
	    "the session is TLS 1.1 with an RSA-signed ECDHE key exchange"
	like "$(cat "$T/tls.log")" "Handshake was completed" \
	    "gnutls-cli: handshake completed"
fi

# --- SHA-224 mechanisms through pkcs11-tool -------------------------------
if command -v pkcs11-tool >/dev/null; then
	P11T=(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE"
	    --login --pin 0000)
	# pkcs11-tool --sign picks its key by id, not by label.
	"${P11T[@]}" --sign --id "$(key_id ec256)" --mechanism ECDSA-SHA224 \
	    --signature-format openssl -i "$T/msg" -o "$T/ec224.sig" \
	    >"$T/p11t.log" 2>&1
	ok $? "pkcs11-tool --sign -m ECDSA-SHA224 (P-256)" ||
	    diag "$(cat "$T/p11t.log")"
	check "openssl dgst -sha224 verifies the ECDSA signature" \
	    quiet openssl dgst -sha224 -verify "$T/pub/ec256.pem" \
	    -signature "$T/ec224.sig" "$T/msg"
	"${P11T[@]}" --sign --id "$(key_id rsa2048)" --mechanism SHA224-RSA-PKCS-PSS \
	    --mgf MGF1-SHA224 --salt-len 100 \
	    -i "$T/msg" -o "$T/pss224.sig" >"$T/p11t.log" 2>&1
	ok $? "pkcs11-tool --sign -m SHA224-RSA-PKCS-PSS --salt-len 100" ||
	    diag "$(cat "$T/p11t.log")"
	check "openssl verifies it with salt 100" \
	    quiet openssl dgst -sha224 -verify "$RSAPUB" \
	    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:100 \
	    -signature "$T/pss224.sig" "$T/msg"
	"${P11T[@]}" --sign --id "$(key_id rsa2048)" --mechanism SHA224-RSA-PKCS-PSS \
	    --mgf MGF1-SHA224 --salt-len 227 \
	    -i "$T/msg" -o "$T/x.sig" >"$T/p11t.log" 2>&1
	isnt_rc=$?
	ok $((isnt_rc == 0)) "salt 227 (256 - 28 - 2 + 1) is refused"
	like "$(cat "$T/p11t.log")" "CKR_MECHANISM_PARAM_INVALID" \
	    "as CKR_MECHANISM_PARAM_INVALID"
fi

# --- pkcs11-tool --test ------------------------------------------------------
if command -v pkcs11-tool >/dev/null; then
	timeout -k 2 $((HANG * 3)) pkcs11-tool --module "$MODULE" --test \
	    --login --pin 0000 >"$T/test.log" 2>&1
	rc=$?
	ok "$rc" "pkcs11-tool --test --login exits 0" ||
	    diag "$(tail -n 30 "$T/test.log")"
	like "$(cat "$T/test.log")" "No errors" \
	    "pkcs11-tool --test: \"No errors\"" ||
	    diag "$(grep -E 'ERR|[Ff]ailed|errors' "$T/test.log" | head)"
	like "$(cat "$T/test.log")" "RSA-PKCS: OK" \
	    "pkcs11-tool --test signed with raw RSA-PKCS"
fi

done_testing
