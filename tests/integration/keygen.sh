#!/bin/bash
# Policy-gated key generation in a keyspace: a caller with "generate"
# makes EC, RSA, Ed25519 and HMAC keys and uses them under the rules that
# name the keyspace (signatures checked by openssl with the returned
# public key, MACs by hmac-verify); another uid is denied; a label
# outside the keyspace, a type it does not hold and a duplicate label are
# refused; the token holds the keys sensitive and never extractable; a
# restart finds them again; the audit log names who, what, label and id.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a client as nobody"
need_tools setpriv
getent passwd nobody >/dev/null || bail "no user nobody"

setup_token
LOG="$T/audit.log"
write_config "keyspace apps label-prefix \"app-\" types ec-p256,ec-p384,rsa-2048,ed25519,hmac-256" \
    "audit \"$LOG\" checkpoint-key ec384" \
    "sandbox write \"$T/tokens\""
write_policy "permit user $ME generate apps" \
    "permit user $ME sign apps" "permit user $ME pubkey apps" \
    "permit user $ME hmac apps" "permit user $ME hmac-verify apps" \
    "permit user nobody list"
start_daemon

data="$T/data"
head -c 1000 /dev/urandom >"$data"

# --- generate and use each type ---------------------------------------------

gen_sign()	# LABEL TYPE ALG DGST
{
	cli generate "$1" "$2" -o "$T/$1.pem"
	is "$RC" 0 "generate $1 ($2)" || diag "$ERR"
	check "generate $1: answers its name" grep -qx "name $1" "$OUT"
	check "generate $1: answers a 16-byte id" \
	    grep -Eqx 'id [0-9a-f]{32}' "$OUT"
	cli sign "$1" -a "$3" -i "$data" -o "$T/$1.sig"
	is "$RC" 0 "sign with $1" || diag "$ERR"
	if [ "$4" = pss ]; then
		check "$1: openssl verifies the RSA-PSS signature" \
		    openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
		    -sigopt rsa_pss_saltlen:32 -verify "$T/$1.pem" \
		    -signature "$T/$1.sig" "$data"
	elif [ -n "$4" ]; then
		check "$1: openssl verifies the signature" openssl dgst "-$4" \
		    -verify "$T/$1.pem" -signature "$T/$1.sig" "$data"
	else
		check "$1: openssl verifies the Ed25519 signature" \
		    openssl pkeyutl -verify -pubin -inkey "$T/$1.pem" -rawin \
		    -in "$data" -sigfile "$T/$1.sig"
	fi
}
gen_sign app-ec256 ec-p256 ecdsa-p256-sha256 sha256
gen_sign app-ec384 ec-p384 ecdsa-p384-sha384 sha384
gen_sign app-rsa rsa-2048 rsa-pss-sha256 pss
gen_sign app-ed ed25519 ed25519 ""

# HMAC: the key never leaves the token, so the MAC is checked by the
# broker's hmac-verify (right MAC accepted, a flipped one refused).
cli generate app-mac hmac-256 --id 0a0b0c
is "$RC" 0 "generate app-mac (hmac-256) with a given id" || diag "$ERR"
check "app-mac: answers the given id" grep -qx "id 0a0b0c" "$OUT"
cli hmac app-mac -a hmac-sha256 -i "$data" -o "$T/mac"
is "$RC" 0 "hmac with app-mac" || diag "$ERR"
is "$(size "$T/mac")" 32 "app-mac: a 32-byte MAC"
cli hmac-verify app-mac -a hmac-sha256 -m "$T/mac" -i "$data"
is "$RC" 0 "hmac-verify accepts app-mac's MAC" || diag "$ERR"
flip_byte "$T/mac" "$T/mac.bad" 5
cli hmac-verify app-mac -a hmac-sha256 -m "$T/mac.bad" -i "$data"
is "$RC" 1 "hmac-verify refuses a flipped MAC"

cli list
check "list shows the generated keys" grep -qw app-ec256 "$OUT"

# --- refusals ----------------------------------------------------------------

cli generate other-key ec-p256
is "$RC" 4 "a label outside the keyspace: denied" || diag "$ERR"
like "$ERR" "outside every keyspace" "  ... saying so"
cli generate app-rsa3 rsa-3072
is "$RC" 4 "a type the keyspace does not hold: denied" || diag "$ERR"
cli generate app-ec256 ec-p256
is "$RC" 6 "a duplicate label: bad request" || diag "$ERR"
as_nobody generate app-nobody ec-p256
is "$RC" 4 "nobody (no generate rule): denied" || diag "$ERR"
as_nobody sign app-ec256 -a ecdsa-p256-sha256 -i "$data"
is "$RC" 5 "nobody: a keyspace key looks missing" || diag "$ERR"
as_nobody list
unlike "$(cat "$OUT")" "app-" "nobody: list shows no keyspace key"

# --- on the token: sensitive, never extractable --------------------------------

attrs()	# LABEL TYPE: the listing of that one object
{
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test \
	    --login --pin "$PIN" --list-objects --type "$2" 2>/dev/null |
	    awk -v l="$1" '/^[A-Za-z].*Object/ { keep = 0; head = $0 }
		/^ *label: / { keep = ($2 == l); if (keep) print head }
		keep'
}
for k in app-ec256:privkey app-rsa:privkey app-ed:privkey app-mac:secrkey; do
	attrs "${k%%:*}" "${k#*:}" >"$T/attrs"
	diag "$(cat "$T/attrs")"
	check "${k%%:*}: on the token" grep -q "label: *${k%%:*}" "$T/attrs"
	check "${k%%:*}: sensitive" grep -Eq 'Access: *.*\bsensitive' \
	    "$T/attrs"
	check "${k%%:*}: never extractable" grep -Eq \
	    'Access: *.*never extractable' "$T/attrs"
	unlike "$(grep Access "$T/attrs")" "[^r ]extractable|^\s*Access:\s*extractable" \
	    "${k%%:*}: not extractable"
done
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test --login \
    --pin "$PIN" --read-object --type secrkey --label app-mac \
    -o "$T/stolen" >/dev/null 2>&1
ok "$([ -s "$T/stolen" ] && echo 1 || echo 0)" \
    "the HMAC key's value cannot be read from the token"

# --- audit ---------------------------------------------------------------------

check "audit: the generation of app-ec256 (who, type, label, token id)" \
    grep -Eq "\"uid\":$(id -u).*\"op\":\"generate\",\"key\":\"app-ec256\".*\"status\":\"ok\".*\"key_type\":\"ec-p256\",\"token_id\":\"[0-9a-f]{32}\"" "$LOG"
check "audit: app-mac's token id" \
    grep -Eq '"op":"generate","key":"app-mac".*"token_id":"0a0b0c"' "$LOG"
check "audit: the refused label" \
    grep -Eq '"op":"generate","key":"other-key".*"status":"denied"' "$LOG"

# --- restart: the keys are found again -------------------------------------------

stop_daemon
start_daemon
cli sign app-ec256 -a ecdsa-p256-sha256 -i "$data" -o "$T/again.sig"
is "$RC" 0 "after a restart: sign with app-ec256" || diag "$ERR"
check "after a restart: openssl verifies it with the first public key" \
    openssl dgst -sha256 -verify "$T/app-ec256.pem" \
    -signature "$T/again.sig" "$data"
cli hmac-verify app-mac -a hmac-sha256 -m "$T/mac" -i "$data"
is "$RC" 0 "after a restart: app-mac verifies its MAC" || diag "$ERR"

done_testing
