#!/bin/bash
# Key versions (p11brokerd.conf(5), "Key versions"): a store HMAC key and
# a CA signing key, each rotated from v1 to v2 by a config edit and
# SIGHUP.  MACs made under v1 still verify and the answer names v1; new
# MACs are v2's (openssl over v2's known bytes); signatures after the
# rotation verify with v2's public key (openssl), the old ones with v1's,
# which `pubkey --version v1` still returns; `list` shows both versions
# with their token CKA_IDs; a bad MAC is invalid under every version; the
# audit lines name the version and `audit verify` passes; a policy rule
# on the logical key covers its versions; dropping v1 by another reload
# ends its MACs; the PKCS#11 module shows both versions as objects and
# checks an old MAC with the old key object only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to connect as another uid"
need_tools setpriv

setup_token
P11=(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test -l
    --pin 1234)
# The store key's versions: known bytes (ids a1, a2).  The CA key's v1 is
# ec256 (id 01); its v2 a new P-256 pair (id b2).
head -c 32 /dev/urandom >"$T/store-v1.key"
head -c 32 /dev/urandom >"$T/store-v2.key"
P11_PIN=1234 "$MKOBJECTS" -m "$SOFTHSM_MODULE" -t p11b-test -p P11_PIN \
    secret store-v1 a1 "$T/store-v1.key" \
    secret store-v2 a2 "$T/store-v2.key" >"$T/mkobjects.log" 2>&1 ||
    bail "mkobjects: $(cat "$T/mkobjects.log")"
"${P11[@]}" --keypairgen --key-type EC:prime256v1 --label ca-v2 --id b2 \
    >"$T/keygen.log" 2>&1 || bail "keypairgen: $(cat "$T/keygen.log")"
"${P11[@]}" --read-object --type pubkey --id b2 -o "$T/ca-v2.der" \
    >"$T/read.log" 2>&1 || bail "read ca-v2: $(cat "$T/read.log")"
openssl pkey -pubin -inform DER -in "$T/ca-v2.der" -out "$T/ca-v2.pem" \
    2>"$T/read.log" || bail "ca-v2 public key: $(cat "$T/read.log")"
chown -R "$P11B_DAEMON_USER" "$T/tokens"

LOG="$T/audit.log"
AUDIT="audit \"$LOG\" checkpoint-key ec384 checkpoint-lines 4"
V1=('key store version v1 label "store-v1"'
    'key ca version v1 id 01')
V2=('key store version v2 label "store-v2" previous v1 label "store-v1"'
    'key ca version v2 label "ca-v2" previous v1 id 01')
V2_ONLY=('key store version v2 label "store-v2"'
    'key ca version v2 label "ca-v2" previous v1 id 01')
write_config "$AUDIT" "${V1[@]}"
# nobody may only check MACs: the rule names the logical key.
write_policy "permit user $ME hmac store" "permit user $ME hmac-verify store" \
    "permit user $ME sign ca" "permit user $ME pubkey ca" \
    "permit user nobody hmac-verify store"
start_daemon

not()
{
	! "$@"
}

# reload: the config now has these key lines; SIGHUP, wait for it to
# take (the Nth "reloaded" line).
n_reloads=0
reload()
{
	local tmp="$T/conf.new"
	cp "$CONF" "$CONF.before"
	write_config "$AUDIT" "$@"
	mv -f "$CONF" "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$CONF"
	n_reloads=$((n_reloads + 1))
	kill_child "$DAEMON_PID" HUP || bail "daemon is gone"
	wait_log 'reloaded ' "$n_reloads" ||
	    bail "reload $n_reloads not taken: $(tail -n 3 "$DAEMON_LOG")"
}

# mac_ref KEYFILE IN: HMAC-SHA256 by openssl over the known key bytes.
mac_ref()
{
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(hex "$1")" -binary \
	    "$2"
}

# audit_count FIELD=VALUE...: decision lines with all of these (python's
# json reads them, not the broker's code).
audit_count()
{
	python3 - "$LOG" "$@" <<'EOF'
import json, sys
want = dict(a.split('=', 1) for a in sys.argv[2:])
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if all(str(o.get(k)).lower() == v.lower() for k, v in want.items()):
        n += 1
print(n)
EOF
}

{ printf 'stored file one\n'; head -c 500 /dev/urandom; } >"$T/data1"
{ printf 'stored file two\n'; head -c 700 /dev/urandom; } >"$T/data2"
chmod 0644 "$T/data1" "$T/data2"

# --- before the rotation: v1 -------------------------------------------------
cli hmac store -i "$T/data1" -o "$T/mac1"
is "$RC" 0 "hmac under v1" || diag "$ERR"
mac_ref "$T/store-v1.key" "$T/data1" >"$T/mac1.ref"
check "the MAC is openssl's over v1's bytes" cmp -s "$T/mac1" "$T/mac1.ref"
cli hmac-verify store -m "$T/mac1" -i "$T/data1"
is "$RC" 0 "v1's MAC verifies" || diag "$ERR"
is "$(cat "$OUT")" "version=v1 current" "and the answer names v1, current"
# A large input (streamed) under v1.
{ cat "$T/data1"; head -c 200000 /dev/urandom; } >"$T/big1"
chmod 0644 "$T/big1"
cli hmac store -i "$T/big1" -o "$T/big1.mac"
mac_ref "$T/store-v1.key" "$T/big1" >"$T/big1.ref"
check "a streamed MAC under v1 is openssl's" cmp -s "$T/big1.mac" \
    "$T/big1.ref"
cli sign ca -a ecdsa-p256-sha256 -i "$T/data1" -o "$T/sig1"
is "$RC" 0 "sign with ca v1" || diag "$ERR"
check "openssl verifies it with v1's (ec256's) public key" quiet openssl \
    dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$T/sig1" "$T/data1"

# --- rotation to v2 ----------------------------------------------------------
reload "${V2[@]}"

cli hmac-verify store -m "$T/mac1" -i "$T/data1"
is "$RC" 0 "after the rotation, v1's MAC still verifies" || diag "$ERR"
is "$(cat "$OUT")" "version=v1 previous" \
    "and the answer names v1, an older version (re-MAC it)"
cli hmac store -i "$T/data2" -o "$T/mac2"
is "$RC" 0 "hmac after the rotation" || diag "$ERR"
mac_ref "$T/store-v2.key" "$T/data2" >"$T/mac2.ref"
check "a new MAC is openssl's over v2's bytes" cmp -s "$T/mac2" "$T/mac2.ref"
mac_ref "$T/store-v1.key" "$T/data2" >"$T/mac2.v1"
check "and not v1's" not cmp -s "$T/mac2" "$T/mac2.v1"
cli hmac-verify store -m "$T/mac2" -i "$T/data2"
is "$RC:$(cat "$OUT")" "0:version=v2 current" "v2's MAC verifies as v2"
# A large input is a stream: checked under the current version only.
{ cat "$T/data2"; head -c 200000 /dev/urandom; } >"$T/big"
mac_ref "$T/store-v2.key" "$T/big" >"$T/big.mac"
cli hmac-verify store -m "$T/big.mac" -i "$T/big"
is "$RC:$(cat "$OUT")" "0:version=v2 current" "a streamed MAC under v2"
cli hmac-verify store -m "$T/big1.mac" -i "$T/big1"
is "$RC" 1 "a streamed check names no version: the current one only"

# Bad MACs: invalid under every version, with no version named.
for m in mac1 mac2; do
	flip_byte "$T/$m" "$T/$m.bad" 5
	cli hmac-verify store -m "$T/$m.bad" -i "$T/data1"
	is "$RC" 1 "$m with a byte flipped is invalid" || diag "$ERR"
	is "$(cat "$OUT")" "" "and no version is named"
done
cli hmac-verify store -m "$T/mac1" -i "$T/data2"
is "$RC" 1 "v1's MAC over other data is invalid"

# The rule on the logical key covers v1 for nobody too; hmac is not his.
as_nobody hmac-verify store -m "$T/mac1" -i "$T/data1"
is "$RC:$(cat "$OUT")" "0:version=v1 previous" \
    "another uid with hmac-verify on store checks v1's MAC"
as_nobody hmac store -i "$T/data1"
is "$RC" 4 "but may not make MACs (denied)"

# Signatures: v2's now; v1's public key by name.
cli sign ca -a ecdsa-p256-sha256 -i "$T/data2" -o "$T/sig2"
is "$RC" 0 "sign with ca after the rotation" || diag "$ERR"
check "openssl verifies it with v2's public key" quiet openssl dgst \
    -sha256 -verify "$T/ca-v2.pem" -signature "$T/sig2" "$T/data2"
check "and not with v1's" not quiet openssl dgst -sha256 -verify \
    "$T/pub/ec256.pem" -signature "$T/sig2" "$T/data2"
cli pubkey ca -o "$T/ca.pem"
check "pubkey ca: v2's public key" cmp -s "$T/ca.pem" "$T/ca-v2.pem"
cli pubkey ca --version v1 -o "$T/ca.v1.pem"
is "$RC" 0 "pubkey ca --version v1" || diag "$ERR"
check "is v1's (ec256's) public key" cmp -s "$T/ca.v1.pem" "$T/pub/ec256.pem"
check "which verifies the signature made before the rotation" quiet \
    openssl dgst -sha256 -verify "$T/ca.v1.pem" -signature "$T/sig1" \
    "$T/data1"
cli pubkey ca --version v9
is "$RC" 5 "pubkey of a version the key does not have: no-such-key"

# list: every version with its token CKA_ID.
cli list
like "$(cat "$OUT")" "^store secret 256 ops=hmac,hmac-verify .* version=v2 current id=a2$" \
    "list: store v2, current, CKA_ID a2"
like "$(cat "$OUT")" "^store secret 256 ops=hmac-verify .* version=v1 previous id=a1$" \
    "list: store v1, previous, verify only, CKA_ID a1"
like "$(cat "$OUT")" "^ca ec-p256 256 ops=sign,pubkey .* version=v2 current id=b2$" \
    "list: ca v2, current, CKA_ID b2"
like "$(cat "$OUT")" "^ca ec-p256 256 ops=pubkey .* version=v1 previous id=01$" \
    "list: ca v1, previous, pubkey only, CKA_ID 01"

# Audit: the lines name the version; the log verifies.
is "$(audit_count op=hmac-verify key=store version=v1 valid=true)" 3 \
    "audit: the checks of v1's MAC name v1"
is "$(audit_count op=hmac key=store version=v2 status=ok)" 1 \
    "audit: the MAC after the rotation names v2"
is "$(audit_count op=sign key=ca version=v2)" 1 \
    "audit: the signature after the rotation names v2"
is "$(audit_count op=pubkey key=ca version=v1)" 1 \
    "audit: the public key of v1 names v1"
is "$(audit_count op=hmac-verify valid=false version=None)" 4 \
    "audit: an invalid MAC names no version"

# --- the PKCS#11 module: both versions as objects ---------------------------
export P11BROKER_SOCKET="$SOCK"
if [ -n "${P11B_SANITIZED:-}" ]; then
	diag "pkcs11-tool skipped (sanitizer build; pkcs11_client runs)"
else
	timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE" \
	    --list-objects >"$T/objects.txt" 2>&1
	ok $? "pkcs11-tool --list-objects"
	# One line per object: "CLASS label=LABEL id=ID".
	objects=$(awk '/^[A-Z]/ { if (c != "") print c, "label=" l, "id=" i;
	    c = $1; l = ""; i = "" } $1 == "label:" { l = $2 }
	    $1 == "ID:" { i = $2 }
	    END { if (c != "") print c, "label=" l, "id=" i }' "$T/objects.txt")
	like "$objects" "^Secret label=store id=a2$" "store v2 (CKA_ID a2)"
	like "$objects" "^Secret label=store@v1 id=a1$" \
	    "store v1 as store@v1 (CKA_ID a1)"
	like "$objects" "^Public label=ca id=b2$" "ca's v2 public key (b2)"
	like "$objects" "^Private label=ca id=b2$" "ca's v2 private key (b2)"
	like "$objects" "^Public label=ca@v1 id=01$" \
	    "ca's v1 public key as ca@v1 (CKA_ID 01)"
	unlike "$objects" "^Private label=ca@v1" "but no v1 private key"
fi
run_p11()
{
	timeout -k 2 "$HANG" "$PKCS11_CLIENT" "$MODULE" "$@" >"$T/p11.out" \
	    2>&1
	RC=$?
}
run_p11 hmac-verify store@v1 "$T/data1" "$(hex "$T/mac1")"
is "$RC:$(grep "^rv " "$T/p11.out")" "0:rv 0x0" "C_Verify: v1's MAC with store@v1"
run_p11 hmac-verify store@v1 "$T/data1" "$(hex "$T/mac1")" multi
is "$RC:$(grep "^rv " "$T/p11.out")" "0:rv 0x0" "C_VerifyUpdate: the same"
# Over a frame: the library streams it, naming store@v1's identity.
run_p11 hmac-verify store@v1 "$T/big1" "$(hex "$T/big1.mac")" multi
is "$RC:$(grep "^rv " "$T/p11.out")" "0:rv 0x0" \
    "C_VerifyUpdate over 200 KB: v1's MAC with store@v1 (a pinned stream)"
run_p11 hmac-verify store "$T/data1" "$(hex "$T/mac1")"
is "$RC:$(grep "^rv " "$T/p11.out")" "1:rv 0xc0" \
    "v1's MAC with the current object: CKR_SIGNATURE_INVALID"
run_p11 hmac-verify store@v1 "$T/data2" "$(hex "$T/mac2")"
is "$RC:$(grep "^rv " "$T/p11.out")" "1:rv 0xc0" "v2's MAC with store@v1: invalid"
run_p11 hmac-verify store "$T/data2" "$(hex "$T/mac2")"
is "$RC:$(grep "^rv " "$T/p11.out")" "0:rv 0x0" "v2's MAC with store"

# --- v1 dropped ---------------------------------------------------------------
reload "${V2_ONLY[@]}"
cli hmac-verify store -m "$T/mac1" -i "$T/data1"
is "$RC" 1 "once v1 is dropped, its MACs no longer verify"
cli hmac-verify store -m "$T/mac2" -i "$T/data2"
is "$RC:$(cat "$OUT")" "0:version=v2 current" "v2's still do"
cli list
unlike "$(cat "$OUT")" "version=v1 previous id=a1" "list: store v1 is gone"

stop_daemon
timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey "$T/pub/ec384.pem" \
    "$LOG" >"$T/verify.out" 2>&1
is "$?" 0 "audit verify passes" || diag "$(cat "$T/verify.out")"
done_testing
