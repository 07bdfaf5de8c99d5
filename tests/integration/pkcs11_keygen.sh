#!/bin/bash
# Key generation through p11broker-pkcs11.so: pkcs11-tool makes an EC key
# pair and an HMAC key (C_GenerateKeyPair, C_GenerateKey) that show in
# C_FindObjects at once and sign (openssl verifies); a template asking
# for an extractable or non-sensitive key is refused.  Then Knot DNS with
# automatic key management (manual: off) generates its own keys through
# the module (GnuTLS gives no label: the module puts the keyspace prefix
# and the CKA_ID in hex), signs, and the zone validates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog pkcs11-tool openssl
need_plain_module
pkcs11_setup
stop_daemon >/dev/null 2>&1
write_config "keyspace apps label-prefix \"app-\" types ec-p256,hmac-256" \
    "keyspace knot label-prefix \"knot-\" types ec-p256" \
    "sandbox write \"$T/tokens\""
write_policy "permit user $ME generate apps,knot" \
    "permit user $ME sign apps,knot" "permit user $ME pubkey apps,knot" \
    "permit user $ME hmac apps" "permit user $ME hmac-verify apps"
start_daemon

P11=(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE" --login
    --pin unused)
data="$T/data"
head -c 500 /dev/urandom >"$data"

# --- pkcs11-tool: a key pair and a secret key ---------------------------------

"${P11[@]}" --keypairgen --key-type EC:prime256v1 --label app-tool \
    --id c0ffee >"$T/gen.out" 2>&1
ok $? "pkcs11-tool --keypairgen through the module" ||
    diag "$(cat "$T/gen.out")"
"${P11[@]}" --list-objects --type privkey >"$T/objs" 2>&1
check "the new private key is found at once (C_FindObjects)" \
    grep -q "label: *app-tool" "$T/objs"
"${P11[@]}" --sign --mechanism ECDSA-SHA256 --id c0ffee \
    --signature-format openssl -i "$data" -o "$T/tool.sig" >/dev/null 2>&1
ok $? "pkcs11-tool signs with it"
cli pubkey app-tool -o "$T/tool.pem"
is "$RC" 0 "the broker gives its public key" || diag "$ERR"
check "openssl verifies the module's signature" \
    quiet openssl dgst -sha256 -verify "$T/tool.pem" \
    -signature "$T/tool.sig" "$data"

# pkcs11-tool asks for a non-sensitive secret key unless told otherwise.
"${P11[@]}" --keygen --key-type GENERIC:32 --label app-mac0 >"$T/gen.out" 2>&1
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
    "a secret key with CKA_SENSITIVE false is refused"
like "$(cat "$T/gen.out")" "TEMPLATE_INCONSISTENT" "  ... as an inconsistent template"
"${P11[@]}" --keygen --key-type GENERIC:32 --sensitive --label app-mac \
    --id 0d0e >"$T/gen.out" 2>&1
ok $? "pkcs11-tool --keygen GENERIC:32 --sensitive (C_GenerateKey)" ||
    diag "$(cat "$T/gen.out")"
"${P11[@]}" --list-objects --type secrkey >"$T/objs" 2>&1
check "the new secret key is found at once" grep -q "label: *app-mac" "$T/objs"
cli hmac app-mac -a hmac-sha256 -i "$data" -o "$T/mac"
is "$RC" 0 "the broker MACs with the module's new key" || diag "$ERR"
cli hmac-verify app-mac -a hmac-sha256 -m "$T/mac" -i "$data"
is "$RC" 0 "... and verifies the MAC"

"${P11[@]}" --keypairgen --key-type EC:prime256v1 --label app-loose \
    --extractable >"$T/gen.out" 2>&1
isnt_rc=$?
check "an extractable key is refused" test "$isnt_rc" -ne 0
like "$(cat "$T/gen.out")" "TEMPLATE_INCONSISTENT" "  ... as an inconsistent template"
cli list
unlike "$(cat "$OUT")" "app-loose" "and nothing was made"

"${P11[@]}" --keypairgen --key-type EC:prime256v1 --label other \
    >"$T/gen.out" 2>&1
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
    "a label outside every keyspace is refused"

# --- Knot DNS: automatic key management -----------------------------------------

if ! command -v keymgr >/dev/null || ! command -v kzonesign >/dev/null ||
    ! command -v kzonecheck >/dev/null ||
    ! command -v ldns-verify-zone >/dev/null; then
	diag "Knot DNS or ldns not installed: the Knot part is skipped"
	done_testing
	exit 0
fi
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
  - id: auto
    keystore: broker
    manual: off
    algorithm: ecdsap256sha256
    single-type-signing: on
zone:
  - domain: example.com
    storage: "$K/zones"
    file: "example.com.zone"
    dnssec-signing: on
    dnssec-policy: auto
EOF2
cat >"$K/zones/example.com.zone" <<EOF2
\$ORIGIN example.com.
\$TTL 3600
@ IN SOA ns1 hostmaster 2026120401 7200 3600 1209600 3600
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
EOF2
export P11BROKER_KEYSPACE_PREFIX=knot-
timeout -k 2 120 kzonesign -c "$K/knot.conf" -o "$K/out" example.com \
    >"$T/kzonesign.log" 2>&1
ok $? "kzonesign (manual: off) generates its key and signs" ||
    diag "$(cat "$T/kzonesign.log")"
keys=$(timeout -k 2 "$CLI_TIMEOUT" keymgr -c "$K/knot.conf" example.com \
    list 2>/dev/null | awk '$1 ~ /^[0-9a-f]+$/ { print $1 }')
ok "$([ -n "$keys" ] && echo 0 || echo 1)" "Knot's database holds the key it made"
cli list
for id in $keys; do
	check "the broker serves Knot's key knot-$id" grep -qw "knot-$id" "$OUT"
done
check "ldns-verify-zone accepts the signed zone" \
    quiet ldns-verify-zone "$K/out/example.com.zone"
check "kzonecheck -d on accepts it" \
    quiet kzonecheck -d on -o example.com "$K/out/example.com.zone"
check "the zone has a DNSKEY and RRSIGs" \
    grep -Eq 'RRSIG[[:space:]]+SOA' "$K/out/example.com.zone"

# --- knotd itself: the server's own key management ------------------------------

command -v knotd >/dev/null || { diag "knotd not installed"; done_testing; exit 0; }
N="$T/knotd"
mkdir -p "$N/zones" "$N/kasp"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$N/knot.conf" <<EOF2
server:
    rundir: "$N"
    listen: 127.0.0.1@$port
database:
    storage: "$N"
    kasp-db: "$N/kasp"
keystore:
  - id: broker
    backend: pkcs11
    config: "pkcs11:token=p11broker;pin-value=unused $MODULE"
policy:
  - id: auto
    keystore: broker
    manual: off
    algorithm: ecdsap256sha256
    single-type-signing: on
zone:
  - domain: example.net
    storage: "$N/zones"
    file: "example.net.zone"
    zonefile-sync: 0
    dnssec-signing: on
    dnssec-policy: auto
EOF2
cat >"$N/zones/example.net.zone" <<EOF2
\$ORIGIN example.net.
\$TTL 3600
@ IN SOA ns1 hostmaster 2026120401 7200 3600 1209600 3600
@ IN NS ns1
ns1 IN A 192.0.2.1
EOF2
knotd -c "$N/knot.conf" >"$T/knotd.log" 2>&1 &
knotd_pid=$!
on_cleanup "kill $knotd_pid 2>/dev/null"
signed() { grep -Eq 'RRSIG[[:space:]]+SOA' "$N/zones/example.net.zone"; }
wait_for signed
ok $? "knotd (manual: off) generates its key through the module and signs" ||
    diag "$(tail -n 20 "$T/knotd.log")"
nkeys=$(timeout -k 2 "$CLI_TIMEOUT" keymgr -c "$N/knot.conf" example.net \
    list 2>/dev/null | awk '$1 ~ /^[0-9a-f]+$/' | wc -l)
ok "$([ "$nkeys" -ge 1 ] && echo 0 || echo 1)" "knotd's database holds the key it made"
kill "$knotd_pid" 2>/dev/null
wait "$knotd_pid" 2>/dev/null
check "ldns-verify-zone accepts knotd's zone" \
    quiet ldns-verify-zone "$N/zones/example.net.zone"
check "kzonecheck -d on accepts knotd's zone" \
    quiet kzonecheck -d on -o example.net "$N/zones/example.net.zone"

done_testing
