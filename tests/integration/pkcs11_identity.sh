#!/bin/bash
# True key identities through p11broker-pkcs11.so: each key shows the
# token object's own CKA_ID (pkcs11:id=%01 URIs work), CKA_LOCAL as the
# token says, the logical name or (P11BROKER_LABELS=token) the token's
# label; and a name remapped by a reload is a new key: a consumer that
# kept the old handle gets CKR_KEY_HANDLE_INVALID and the old id finds
# nothing, never a signature by the new key under the old id.  The key
# filter (P11BROKER_KEYS, P11BROKER_KEY_TYPES) narrows what is shown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog pkcs11-tool openssl
ROTATE="$top_builddir/tests/integration/pkcs11_rotate"
[ -x "$ROTATE" ] || bail "$ROTATE not built"

# Two generations of a DNS signing key, on the token under their own
# labels and ids; the config's name "dnszsk" points at the first.
add_dns_keys()
{
	local y
	for y in 2026 2027; do
		pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test \
		    --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
		    --label "dnszsk-$y" --id "$y" >/dev/null 2>&1 &&
		pkcs11-tool --module "$SOFTHSM_MODULE" \
		    --token-label p11b-test --read-object --type pubkey \
		    --id "$y" -o "$T/dns$y.der" >/dev/null 2>&1 &&
		openssl pkey -pubin -inform DER -in "$T/dns$y.der" \
		    -out "$T/pub/dnszsk-$y.pem" 2>/dev/null ||
		    bail "cannot make dnszsk-$y"
	done
}
PKCS11_BEFORE_START=add_dns_keys
# In a sanitizer build pkcs11-tool and openssl cannot load the module:
# only the rotation under pkcs11_rotate (built with the sanitizers) runs.
PLAIN=1
ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so' && PLAIN=0
pkcs11_setup
stop_daemon >/dev/null 2>&1
write_config 'key dnszsk label "dnszsk-2026"'
write_policy "permit user $ME sign dnszsk" "permit user $ME pubkey dnszsk"
start_daemon

P11T=(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE")

# objects [ENV=VALUE...]: pkcs11-tool -O into $T/objects.txt
objects()
{
	env "$@" "${P11T[@]}" --list-objects >"$T/objects.txt" 2>&1
}
# field LABEL CLASS WHAT: a line of LABEL's CLASS object ("ID:", "Access:")
field()
{
	awk -v k="$1" -v c="$2" -v w="$3" '/^[A-Z]/ { cls = $1; lab = "" }
	    /label:/ { lab = $2 } index($1, w) == 1 && lab == k && cls == c {
	    $1 = ""; sub(/^ /, ""); print; exit }' "$T/objects.txt"
}

printf 'signed by id\n' >"$T/msg"
if [ "$PLAIN" -eq 1 ]; then
objects
is "$(field ec256 Private ID:)" "01" "ec256: the token's CKA_ID 01"
is "$(field ec384 Private ID:)" "02" "ec384 (config: id 02): CKA_ID 02"
is "$(field ec256 Public ID:)" "01" "its public key: the same CKA_ID"
is "$(field hmac32 Secret ID:)" "10" "hmac32: the token's CKA_ID 10"
is "$(field dnszsk Private ID:)" "2026" \
    "dnszsk: the CKA_ID of the object the name stands for"
like "$(field ec256 Private Access:)" "(^|, )local" \
    "ec256, generated on the token: CKA_LOCAL true"
unlike "$(field hmac32 Secret Access:)" "local" \
    "hmac32, imported: CKA_LOCAL false"
objects P11BROKER_LABELS=token
is "$(field dnszsk-2026 Private ID:)" "2026" \
    "P11BROKER_LABELS=token: the token's label dnszsk-2026"
objects P11BROKER_LABELS=bogus
like "$(cat "$T/objects.txt")" "P11BROKER_LABELS=\"bogus\"" \
    "an unknown P11BROKER_LABELS value is a clear error"

# The filter: names (patterns) and types.
objects P11BROKER_KEYS='ec3*,hmac32'
is "$(grep -c 'label:' "$T/objects.txt")" 3 \
    "P11BROKER_KEYS=ec3*,hmac32: ec384's two objects and hmac32"
objects P11BROKER_KEY_TYPES=ed25519
is "$(awk '/label:/ { printf "%s ", $2 }' "$T/objects.txt")" \
    "ed25519 ed25519 " "P11BROKER_KEY_TYPES=ed25519: the Ed25519 pair only"
objects P11BROKER_KEY_TYPES=ec,nonsense
like "$(cat "$T/objects.txt")" "P11BROKER_KEY_TYPES=\"ec,nonsense\"" \
    "an unknown key type is a clear error"

# pkcs11:id=%01 with OpenSSL's engine (libp11), which needs Ed25519
# hidden: the filter does it.
if have_engine && ! ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so'; then
	write_engine_conf "$T/engine.cnf" "$MODULE"
	P11BROKER_KEY_TYPES=ec,rsa OPENSSL_CONF="$T/engine.cnf" \
	    timeout -k 2 "$CLI_TIMEOUT" openssl dgst -sha256 -engine pkcs11 \
	    -keyform engine -sign "pkcs11:id=%01;type=private" \
	    -out "$T/id01.sig" "$T/msg" >"$T/id01.log" 2>&1
	ok $? "openssl -sign pkcs11:id=%01" || diag "$(cat "$T/id01.log")"
	check "the pkcs11:id=%01 signature is ec256's (the token's id 01)" \
	    quiet openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
	    -signature "$T/id01.sig" "$T/msg"
	P11BROKER_KEY_TYPES=ec,rsa OPENSSL_CONF="$T/engine.cnf" \
	    timeout -k 2 "$CLI_TIMEOUT" openssl dgst -sha256 -engine pkcs11 \
	    -keyform engine -sign "pkcs11:id=%04;type=private" \
	    -out "$T/id04.sig" "$T/msg" >"$T/id04.log" 2>&1
	ok $? "openssl -sign pkcs11:id=%04" || diag "$(cat "$T/id04.log")"
	check "the pkcs11:id=%04 signature is rsa2048's" \
	    quiet openssl dgst -sha256 -verify "$T/pub/rsa2048.pem" \
	    -signature "$T/id04.sig" "$T/msg"
else
	diag "no OpenSSL pkcs11 engine or a sanitizer build:" \
	    "pkcs11:id=%01 with openssl not run"
fi
fi

# Rotation under a running consumer that cached handle and id.
rm -f "$T/go"
"$ROTATE" "$MODULE" 2026 "$T/go" "$T" >"$T/rotate.out" 2>&1 &
ROT_PID=$!
on_cleanup "kill $ROT_PID"
wait_for grep -q 'waiting for' "$T/rotate.out" ||
    bail "pkcs11_rotate did not start: $(cat "$T/rotate.out")"
raw_to_der "$T/before.sig" "$T/before.der"
check "before the remap: the dnszsk-2026 key signed" \
    quiet openssl dgst -sha256 -verify "$T/pub/dnszsk-2026.pem" \
    -signature "$T/before.der" "$T/msg"
sed -i 's/^key dnszsk label "dnszsk-2026"/key dnszsk label "dnszsk-2027"/' \
    "$CONF"
kill -HUP "$DAEMON_PID"
wait_log 'reloaded ' || bail "the reload did not happen"
touch "$T/go"
wait "$ROT_PID"
ok $? "the consumer saw the remap as a new key" ||
    diag "$(cat "$T/rotate.out")"
relay_checks "$T/rotate.out" "consumer: "
check "no signature was made under the old id after the remap" \
    test ! -e "$T/after.sig"

if [ "$PLAIN" -eq 1 ]; then
objects
is "$(field dnszsk Private ID:)" "2027" "a new search: dnszsk is CKA_ID 2027"
"${P11T[@]}" --sign --mechanism ECDSA-SHA256 --id 2027 -i "$T/msg" \
    -o "$T/new.sig" >/dev/null 2>&1
ok $? "sign with the new id"
raw_to_der "$T/new.sig" "$T/new.der"
check "the new id signs with the dnszsk-2027 key" \
    quiet openssl dgst -sha256 -verify "$T/pub/dnszsk-2027.pem" \
    -signature "$T/new.der" "$T/msg"
"${P11T[@]}" --sign --mechanism ECDSA-SHA256 --id 2026 -i "$T/msg" \
    -o "$T/old.sig" >"$T/old.log" 2>&1
check "the old id signs nothing" test ! -s "$T/old.sig"
fi

done_testing
