#!/bin/bash
# p11broker-pkcs11.so under OpenSC's pkcs11-tool: the token, its objects,
# signatures with every key type checked by openssl, HMAC against the
# known key, and a secret read back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog pkcs11-tool openssl
need_plain_module

# A certificate for ec256 on the token (same CKA_ID 01), issued by a
# throwaway CA: the broker returns it with the public key.
add_certificate()
{
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$T/ca.key" -subj "/CN=test CA" -days 2 \
	    -out "$T/ca.crt" >/dev/null 2>&1 &&
	openssl x509 -new -force_pubkey "$T/pub/ec256.pem" \
	    -subj "/CN=ec256 certificate" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
	    -days 2 -outform DER -out "$T/ec256.crt.der" >/dev/null 2>&1 &&
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test \
	    --login --pin "$PIN" --write-object "$T/ec256.crt.der" \
	    --type cert --id 01 --label ec256 >/dev/null 2>&1 ||
	    bail "cannot put a certificate on the token"
}
PKCS11_BEFORE_START=add_certificate
pkcs11_setup

P11T=(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE")

out=$("${P11T[@]}" --show-info 2>&1)
like "$out" "Manufacturer +p11broker" "module info"
out=$("${P11T[@]}" --list-token-slots 2>&1)
like "$out" "token label +: p11broker" "one token, default label"
out=$(P11BROKER_TOKEN_LABEL=frontend "${P11T[@]}" --list-token-slots 2>&1)
like "$out" "token label +: frontend" "label from P11BROKER_TOKEN_LABEL"
out=$("${P11T[@]}" --list-mechanisms 2>&1)
for m in ECDSA ECDSA-SHA256 RSA-PKCS SHA256-RSA-PKCS RSA-PKCS-PSS \
    SHA384-RSA-PKCS-PSS EDDSA SHA256-HMAC; do
	like "$out" "(^|[^-A-Z0-9])$m," "mechanism $m"
done

"${P11T[@]}" --list-objects >"$T/objects.txt" 2>"$T/objects.err"
ok $? "list objects"
for k in ec256 ec384 ec521 rsa2048 ed25519; do
	n=$(awk -v k="$k" '/^[A-Z]/ { cls = $1 }
	    /label:/ && $2 == k && (cls == "Private" || cls == "Public") {
	    n++ } END { print n + 0 }' "$T/objects.txt")
	is "$n" 2 "$k: private and public key object"
done
like "$(cat "$T/objects.txt")" "Secret Key Object; Generic secret length 32" \
    "HMAC key as a generic secret"
unlike "$(cat "$T/objects.txt")" "label: *sealed" \
    "a key the caller may not use is not there"
# Known bytes: get-secret is allowed for api-token, not for hmac64.
val=$(awk '/VALUE:/ { v = $2; getline; if ($1 !~ /:/) v = v $1 }
    /label: *api-token/ { print v }' "$T/objects.txt")
is "$val" "$(hex "$T/api-token.bin")" "api-token: CKA_VALUE is the secret"
unlike "$(grep -B3 'label: *hmac64' "$T/objects.txt")" "VALUE:" \
    "hmac64: CKA_VALUE not readable"

# The certificate: its own object, with the key's CKA_ID and bytes.
like "$(cat "$T/objects.txt")" "Certificate Object; type = X.509 cert" \
    "certificate object"
id=$(key_id ec256)
"${P11T[@]}" --read-object --type cert --id "$id" -o "$T/cert.out" \
    >/dev/null 2>&1
check "certificate has the key's CKA_ID and its DER" \
    cmp -s "$T/cert.out" "$T/ec256.crt.der"
out=$(openssl x509 -inform DER -in "$T/cert.out" -noout -subject 2>&1)
like "$out" "CN ?= ?ec256 certificate" "certificate subject"

printf 'sign me through the broker\n' >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/msg.sha256"

# sign LABEL MECHANISM INPUT OUT [pkcs11-tool options]
sign()
{
	local label=$1 mech=$2 in=$3 out=$4 id
	shift 4
	id=$(key_id "$label")
	[ -n "$id" ] || { diag "no id for $label"; return 1; }
	"${P11T[@]}" --sign --id "$id" --mechanism "$mech" -i "$in" \
	    -o "$out" "$@" >"$T/sign.log" 2>&1 ||
	    { diag "$(cat "$T/sign.log")"; return 1; }
}

sign ec256 ECDSA "$T/msg.sha256" "$T/ec256.sig" --signature-format openssl
check "ECDSA P-256 over a digest verifies" \
    quiet openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
    -signature "$T/ec256.sig" "$T/msg"
sign ec384 ECDSA-SHA384 "$T/msg" "$T/ec384.sig" --signature-format openssl
check "ECDSA-SHA384 P-384 verifies" \
    quiet openssl dgst -sha384 -verify "$T/pub/ec384.pem" \
    -signature "$T/ec384.sig" "$T/msg"
sign ec521 ECDSA-SHA512 "$T/msg" "$T/ec521.sig" --signature-format openssl
check "ECDSA-SHA512 P-521 verifies" \
    quiet openssl dgst -sha512 -verify "$T/pub/ec521.pem" \
    -signature "$T/ec521.sig" "$T/msg"
sign ec521 ECDSA-SHA256 "$T/msg" "$T/ec521b.sig" --signature-format openssl
check "ECDSA-SHA256 with a P-521 key verifies" \
    quiet openssl dgst -sha256 -verify "$T/pub/ec521.pem" \
    -signature "$T/ec521b.sig" "$T/msg"
sign ec256 ECDSA-SHA384 "$T/msg" "$T/ec256b.sig" --signature-format openssl
check "ECDSA-SHA384 with a P-256 key verifies" \
    quiet openssl dgst -sha384 -verify "$T/pub/ec256.pem" \
    -signature "$T/ec256b.sig" "$T/msg"

sign rsa2048 SHA256-RSA-PKCS "$T/msg" "$T/rsa.sig"
check "SHA256-RSA-PKCS verifies" \
    quiet openssl dgst -sha256 -verify "$T/pub/rsa2048.pem" \
    -signature "$T/rsa.sig" "$T/msg"
# CKM_RSA_PKCS over a DigestInfo made by hand (SHA-512).
{ printf '\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03'
  printf '\x05\x00\x04\x40'; openssl dgst -sha512 -binary "$T/msg"; } \
    >"$T/msg.di512"
sign rsa2048 RSA-PKCS "$T/msg.di512" "$T/rsa-raw.sig"
check "RSA-PKCS over a SHA-512 DigestInfo verifies" \
    quiet openssl dgst -sha512 -verify "$T/pub/rsa2048.pem" \
    -signature "$T/rsa-raw.sig" "$T/msg"
sign rsa2048 SHA256-RSA-PKCS-PSS "$T/msg" "$T/pss.sig"
check "SHA256-RSA-PKCS-PSS verifies" \
    quiet openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -verify "$T/pub/rsa2048.pem" \
    -signature "$T/pss.sig" "$T/msg"
openssl dgst -sha384 -binary "$T/msg" >"$T/msg.sha384"
sign rsa2048 RSA-PKCS-PSS "$T/msg.sha384" "$T/pss384.sig" \
    --hash-algorithm SHA384 --mgf MGF1-SHA384
check "RSA-PKCS-PSS over a SHA-384 digest verifies" \
    quiet openssl dgst -sha384 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -verify "$T/pub/rsa2048.pem" \
    -signature "$T/pss384.sig" "$T/msg"
"${P11T[@]}" --sign --id "$(key_id rsa2048)" --mechanism RSA-PKCS-PSS \
    --hash-algorithm SHA384 --mgf MGF1-SHA256 -i "$T/msg.sha384" \
    -o "$T/pss-bad.sig" >"$T/sign.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q CKR_MECHANISM_PARAM_INVALID "$T/sign.log"
ok $? "PSS with a foreign MGF hash refused: CKR_MECHANISM_PARAM_INVALID"

sign ed25519 EDDSA "$T/msg" "$T/ed.sig"
check "Ed25519 verifies" quiet openssl pkeyutl -verify -pubin \
    -inkey "$T/pub/ed25519.pem" -rawin -in "$T/msg" -sigfile "$T/ed.sig"

id=$(key_id ec256)
"${P11T[@]}" --verify --id "$id" --mechanism ECDSA -i "$T/msg.sha256" \
    --signature-file "$T/ec256.sig" --signature-format openssl \
    >"$T/verify.log" 2>&1
like "$(cat "$T/verify.log")" "Signature is valid" "C_Verify with the public key"

# HMAC: the same MAC as openssl computes with the known key.
"${P11T[@]}" --sign --id "$(key_id hmac32 secrkey)" --mechanism SHA256-HMAC -i "$T/msg" \
    -o "$T/mac" >/dev/null 2>&1
openssl dgst -sha256 -mac hmac -macopt "hexkey:$(hex "$T/hmac32.key")" \
    -binary "$T/msg" >"$T/mac.ref"
check "SHA256-HMAC equals openssl's" cmp -s "$T/mac" "$T/mac.ref"

n=$("${P11T[@]}" --generate-random 5000 2>/dev/null | wc -c)
is "$n" 5000 "C_GenerateRandom"

out=$("${P11T[@]}" --login --pin 0000 --list-objects --type privkey 2>&1)
like "$out" "label: *ec256" "C_Login with any PIN is accepted"

done_testing
