#!/bin/bash
# Knot DNS through p11broker-pkcs11.so, the rotation that made zones
# Bogus while CKA_ID was a hash of the key's name: keymgr import-pkcs11
# remembers the key by the token's CKA_ID, kzonesign signs, the operator
# remaps the name to new key material (config + SIGHUP), and the next
# signing run must be refused (the old id is gone), not sign with the new
# key while the zone still publishes the old one.  Importing the new id
# then gives a zone that ldns-verify-zone and kzonecheck accept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog pkcs11-tool openssl keymgr kzonesign kzonecheck ldns-verify-zone
# Knot cannot load the instrumented module (pkcs11_identity.sh covers a
# rotation under the sanitizers with its own client).
need_plain_module

add_dns_keys()
{
	local y
	for y in 2026 2027; do
		pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test \
		    --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
		    --label "dnszsk-$y" --id "$y" >/dev/null 2>&1 ||
		    bail "cannot make dnszsk-$y"
	done
}
PKCS11_BEFORE_START=add_dns_keys
pkcs11_setup
stop_daemon >/dev/null 2>&1
write_config 'key dnszsk label "dnszsk-2026"'
# Only the DNS key: the old material is reachable under no other name.
cat >"$POLICY" <<EOF2
permit user $ME sign dnszsk
permit user $ME pubkey dnszsk
permit user $ME list
permit user $ME health
EOF2
start_daemon

K="$T/knot"
mkdir -p "$K/zones" "$K/kasp" "$K/out"
cat >"$K/knot.conf" <<EOF2
server:
    rundir: "$K"
database:
    storage: "$K"
    kasp-db: "$K/kasp"
keystore:
  - id: broker
    backend: pkcs11
    config: "pkcs11:token=p11broker;pin-value=unused $MODULE"
policy:
  - id: manual
    keystore: broker
    manual: on
    algorithm: ecdsap256sha256
    single-type-signing: on
zone:
  - domain: example.com
    storage: "$K/zones"
    file: "example.com.zone"
    dnssec-signing: on
    dnssec-policy: manual
EOF2
# zone SERIAL: the unsigned zone
zone()
{
	cat >"$K/zones/example.com.zone" <<EOF2
\$ORIGIN example.com.
\$TTL 3600
@ IN SOA ns1 hostmaster $1 7200 3600 1209600 3600
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.$(( $1 % 100 ))
EOF2
}
KM=(timeout -k 2 "$CLI_TIMEOUT" keymgr -c "$K/knot.conf" example.com)
sign_zone()
{
	rm -f "$K/out/example.com.zone"
	timeout -k 2 "$CLI_TIMEOUT" kzonesign -c "$K/knot.conf" \
	    -o "$K/out" example.com >"$T/kzonesign.log" 2>&1
}
# verified DESC: both verifiers accept the signed zone
verified()
{
	check "ldns-verify-zone: $1" \
	    quiet ldns-verify-zone "$K/out/example.com.zone"
	check "kzonecheck -d on: $1" quiet kzonecheck -d on -o example.com \
	    "$K/out/example.com.zone"
}
# tag ID: the key tag keymgr lists for the key with that id
tag()
{
	"${KM[@]}" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'
}

out=$("${KM[@]}" import-pkcs11 2026 algorithm=ECDSAP256SHA256 size=256 \
    ksk=yes zsk=yes 2>&1)
like "$out" "^2026" "keymgr import-pkcs11 2026 (the token's CKA_ID)"
old_tag=$(tag 2026)
zone 2026120401
sign_zone
ok $? "kzonesign signs with the key behind dnszsk" ||
    diag "$(cat "$T/kzonesign.log")"
verified "the zone signed with dnszsk-2026"
like "$(grep -E 'RRSIG[[:space:]]+SOA' "$K/out/example.com.zone")" \
    " $old_tag example\\.com\\. " "the SOA is signed by key tag $old_tag"

# The operator remaps the name to new material and reloads.
sed -i 's/^key dnszsk label "dnszsk-2026"/key dnszsk label "dnszsk-2027"/' \
    "$CONF"
kill -HUP "$DAEMON_PID"
wait_log 'reloaded ' || bail "the reload did not happen"
zone 2026120402
sign_zone
rc=$?
isnt_signed=1
[ -s "$K/out/example.com.zone" ] && isnt_signed=0
check "after the remap kzonesign is refused the key it knows (id 2026)" \
    test "$rc" -ne 0 -a "$isnt_signed" -eq 1
like "$(cat "$T/kzonesign.log")" "failed to load (private )?keys" \
    "Knot says it cannot load the key" || diag "$(cat "$T/kzonesign.log")"

# The rotation done the way Knot knows: import the new id, drop the old.
out=$("${KM[@]}" import-pkcs11 2027 algorithm=ECDSAP256SHA256 size=256 \
    ksk=yes zsk=yes 2>&1)
like "$out" "^2027" "keymgr import-pkcs11 2027"
new_tag=$(tag 2027)
# keymgr also tries to destroy the token object, which the module
# refuses; the key leaves Knot's database all the same.
"${KM[@]}" delete 2026 >/dev/null 2>&1
is "$("${KM[@]}" list 2>/dev/null | awk '$1 ~ /^[0-9a-f]+$/ { print $1 }')" \
    2027 "Knot's key database holds the new id only"
sign_zone
ok $? "kzonesign re-signs with the new key" ||
    diag "$(cat "$T/kzonesign.log")"
verified "the re-signed zone"
like "$(grep -E 'RRSIG[[:space:]]+SOA' "$K/out/example.com.zone")" \
    " $new_tag example\\.com\\. " "the SOA is signed by key tag $new_tag"

done_testing
