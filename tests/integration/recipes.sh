#!/bin/bash
# The recipes in contrib/recipes/ as written: their `conf p11brokerd` and
# `conf policy` blocks are taken from the Markdown as they are (only user
# names become test uids), the token gets the recipe's objects, and each
# frontend's PKCS#11 calls run as its own uid through p11broker-pkcs11.so:
#   runbound.md  pkcs11-tool finds the two secrets by label and reads
#                CKA_VALUE (what Runbound does at start): byte for byte;
#                the CA's uid cannot see them
#   kipuka.md    openssl makes the CA certificate and signs a leaf through
#                the PKCS#11 engine; openssl verify accepts the chain and
#                the CA certificate holds the token's public key; the
#                resolver's uid cannot sign with the CA key
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run the frontends' uids"
need_prog pkcs11-tool openssl setpriv
need_plain_module
ENGINE_DIR=$(openssl version -e 2>/dev/null |
    sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')
[ -n "$ENGINE_DIR" ] && [ -f "$ENGINE_DIR/pkcs11.so" ] ||
    skip_all "OpenSSL pkcs11 engine not installed (libengine-pkcs11-openssl)"

RECIPES="$top_srcdir/contrib/recipes"
RUNBOUND_UID=4301
KIPUKA_UID=4302

# block FILE KIND: the recipe's ```conf KIND block(s).
block()
{
	awk -v want="\`\`\`conf $2" '
	    $0 == want { on = 1; next }
	    on && /^```/ { on = 0; next }
	    on { print }' "$RECIPES/$1"
}

setup_token
# The recipes' objects, on the test token.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/api-key.hex"
head -c 32 /dev/urandom >"$T/store.key"
P11_PIN=$PIN "$MKOBJECTS" -m "$SOFTHSM_MODULE" -t p11b-test -p P11_PIN \
    secret runbound-api-key 21 "$T/api-key.hex" \
    secret runbound-store-key 22 "$T/store.key" >/dev/null ||
    bail "mkobjects failed"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test -l \
    --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label kipuka-ca-ec-p256 --id 23 >/dev/null 2>&1 ||
    bail "keypairgen kipuka-ca-ec-p256 failed"
chown -R "$P11B_DAEMON_USER" "$T/tokens"

keys=$(block runbound.md p11brokerd; block kipuka.md p11brokerd)
rules=$({ block runbound.md policy; block kipuka.md policy; } |
    sed -e "s/^permit user runbound /permit user $RUNBOUND_UID /" \
        -e "s/^permit user kipuka /permit user $KIPUKA_UID /")
is "$(printf '%s\n' "$keys" | grep -c '^key ')" 3 \
    "the recipes name three keys"
is "$(printf '%s\n' "$rules" | grep -c '^permit user 43')" 5 \
    "the recipes give five rules, all to the frontends' uids"
mapfile -t keylines <<<"$keys"
mapfile -t rulelines <<<"$rules"
write_config "${keylines[@]}"
write_policy "${rulelines[@]}"
start_daemon

# The frontends load the module from a copy every uid can read.
mkdir -p "$T/mod"
cp "$MODULE" "$T/mod/p11broker-pkcs11.so"
chmod -R a+rX "$T/mod"
MOD="$T/mod/p11broker-pkcs11.so"
for u in $RUNBOUND_UID $KIPUKA_UID; do
	mkdir -m 0700 "$T/home-$u"
	chown "$u:$u" "$T/home-$u"
done

# as UID COMMAND...: the command as that uid (gid the same, no groups),
# with the module pointed at the test broker.
as()
{
	local uid=$1
	shift
	(cd "$T/home-$uid" && timeout -k 2 "$CLI_TIMEOUT" setpriv \
	    --reuid="$uid" --regid="$uid" --clear-groups env \
	    P11BROKER_SOCKET="$SOCK" HOME="$T/home-$uid" "$@")
}

# --- Runbound ---------------------------------------------------------------

# read_secret UID LABEL OUT: Runbound's calls (login with any PIN, find
# the secret key by label, read CKA_VALUE).
read_secret()
{
	as "$1" pkcs11-tool --module "$MOD" --slot-index 0 --login \
	    --pin not-the-hsm-pin --read-object --type secrkey --label "$2" \
	    -o "$3" >"$T/read.log" 2>&1
}
read_secret $RUNBOUND_UID runbound-api-key "$T/home-$RUNBOUND_UID/api"
ok $? "runbound: its API token read by label" || diag "$(cat "$T/read.log")"
check "runbound: the API token byte for byte" \
    cmp -s "$T/home-$RUNBOUND_UID/api" "$T/api-key.hex"
read_secret $RUNBOUND_UID runbound-store-key "$T/home-$RUNBOUND_UID/store"
ok $? "runbound: its store HMAC key read by label" ||
    diag "$(cat "$T/read.log")"
check "runbound: the store key byte for byte" \
    cmp -s "$T/home-$RUNBOUND_UID/store" "$T/store.key"
read_secret $KIPUKA_UID runbound-api-key "$T/home-$KIPUKA_UID/api"
isnt_ok=$?
ok "$((isnt_ok == 0))" "the CA's uid cannot read Runbound's API token"
check "... and got no bytes of it" test ! -s "$T/home-$KIPUKA_UID/api"

# --- kipuka -----------------------------------------------------------------

cat >"$T/engine.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_DIR/pkcs11.so
MODULE_PATH = $MOD
init = 0
EOF
chmod a+r "$T/engine.cnf"
CAKEY="pkcs11:token=p11broker;object=kipuka-ca-ec-p256;type=private"
KH="$T/home-$KIPUKA_UID"

as $KIPUKA_UID env OPENSSL_CONF="$T/engine.cnf" openssl req -new -x509 \
    -engine pkcs11 -keyform engine -key "$CAKEY" -subj "/CN=Issuing CA" \
    -days 30 -out "$KH/ca.pem" >"$T/ca.log" 2>&1
ok $? "kipuka: the CA certificate made with the CA key on the token" ||
    diag "$(cat "$T/ca.log")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/leaf.key" -subj "/CN=leaf.example" -out "$KH/leaf.csr" \
    2>/dev/null
chown $KIPUKA_UID "$KH/leaf.csr"
as $KIPUKA_UID env OPENSSL_CONF="$T/engine.cnf" openssl x509 -req \
    -in "$KH/leaf.csr" -engine pkcs11 -CAkeyform engine -CAkey "$CAKEY" \
    -CA "$KH/ca.pem" -CAcreateserial -days 1 -out "$KH/leaf.pem" \
    >"$T/leaf.log" 2>&1
ok $? "kipuka: a leaf certificate signed by the CA key" ||
    diag "$(cat "$T/leaf.log")"
check "openssl verify accepts the leaf under the CA" \
    quiet openssl verify -CAfile "$KH/ca.pem" "$KH/leaf.pem"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test \
    --read-object --type pubkey --label kipuka-ca-ec-p256 \
    -o "$T/ca-pub.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$T/ca-pub.der" -out "$T/ca-pub.pem" \
    2>/dev/null
openssl x509 -in "$KH/ca.pem" -noout -pubkey >"$T/ca-crt-pub.pem"
check "the CA certificate holds the token's public key" \
    cmp -s "$T/ca-pub.pem" "$T/ca-crt-pub.pem"

as $RUNBOUND_UID env OPENSSL_CONF="$T/engine.cnf" openssl req -new -x509 \
    -engine pkcs11 -keyform engine -key "$CAKEY" -subj "/CN=Forged CA" \
    -days 30 -out "$T/home-$RUNBOUND_UID/forged.pem" >"$T/forged.log" 2>&1
isnt_ok=$?
ok "$((isnt_ok == 0))" "the resolver's uid cannot sign with the CA key"

done_testing
