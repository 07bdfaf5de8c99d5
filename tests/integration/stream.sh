#!/bin/bash
# Big inputs as streams (proto/README.md, "Streams"): HMAC, HMAC checks
# and signatures over inputs far past max-frame through the real daemon,
# CLI and library, compared with openssl over the known key bytes; one
# audit line and one count per stream; max-input; a denied caller
# stopped at the first frame; a stalled stream ended by frame-timeout
# while others are served; the front's memory during a 20 MiB stream; a
# signer restart during a stream.
. "$(dirname "$0")/lib.sh"

setup_token
# Streams end 2 s after their last part; 24 MiB at most.
write_config 'frame-timeout 2' 'max-input 25165824' \
    'max-streams-per-uid 3' "audit \"$T/audit.log\" checkpoint-key ec384"
write_policy "permit user nobody hmac-verify hmac32" "permit user $ME stats"
start_daemon

SC="$INTEGRATION_DIR/streamclient.py"

openssl_hmac()
{
	openssl mac -digest "$2" -macopt "hexkey:$(hex "$T/$1.key")" -in "$3" \
	    HMAC | tr 'A-F' 'a-f'
}

# stat_count OP KEY STATUS: the broker's count of such answers.
stat_count()
{
	cli stats --prometheus
	awk -v op="$1" -v key="$2" -v st="$3" '
	    /^p11broker_requests_total\{/ && index($0, "op=\"" op "\"") &&
	    index($0, "key=\"" key "\"") && index($0, "status=\"" st "\"") {
		n += $NF } END { print n + 0 }' "$OUT"
}

audit_lines()
{
	grep -c "$1" "$T/audit.log" 2>/dev/null
}

head -c $((1024 * 1024)) /dev/urandom >"$T/1m"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$T/20m"
head -c $((30 * 1024 * 1024)) /dev/zero >"$T/30m"

# --- HMAC over 1 MiB and 20 MiB ---------------------------------------------

for f in 1m 20m; do
	want=$(openssl_hmac hmac32 SHA256 "$T/$f")
	cli hmac hmac32 -i "$T/$f"
	is "$RC" 0 "hmac over $f: exit 0" || diag "$ERR"
	is "$(hex "$OUT")" "$want" "hmac over $f equals openssl"
	cli_in "$T/$f" hmac hmac64 -a hmac-sha512
	is "$RC" 0 "hmac-sha512 over $f from stdin: exit 0" || diag "$ERR"
	is "$(hex "$OUT")" "$(openssl_hmac hmac64 SHA512 "$T/$f")" \
	    "hmac-sha512 over $f from stdin equals openssl"
done

# --- one decision per stream ------------------------------------------------

before=$(stat_count hmac hmac64 ok)
lines=$(audit_lines '"op":"hmac","key":"hmac64"')
cli hmac hmac64 -i "$T/20m"
is "$RC" 0 "hmac64 over 20 MiB: exit 0" || diag "$ERR"
is "$(stat_count hmac hmac64 ok)" "$((before + 1))" \
    "a 20 MiB stream counts once in stats"
is "$(audit_lines '"op":"hmac","key":"hmac64"')" "$((lines + 1))" \
    "a 20 MiB stream is one audit line"
sum=$(sha256sum "$T/20m" | cut -d' ' -f1)
like "$(grep '"key":"hmac64"' "$T/audit.log" | tail -n 1)" \
    "\"input_len\":20971520,\"input_sha256\":\"$sum\"" \
    "its audit line has the whole input's length and SHA-256"

# --- HMAC verify over 20 MiB ------------------------------------------------

cli hmac hmac32 -i "$T/20m" -o "$T/mac20"
is "$RC" 0 "mac of 20 MiB written" || diag "$ERR"
cli hmac-verify hmac32 -m "$T/mac20" -i "$T/20m"
is "$RC" 0 "hmac-verify over 20 MiB, right MAC: exit 0" || diag "$ERR"
flip_byte "$T/mac20" "$T/badmac20" 5
cli hmac-verify hmac32 -m "$T/badmac20" -i "$T/20m"
is "$RC" 1 "hmac-verify over 20 MiB, flipped MAC: exit 1" || diag "$ERR"
flip_byte "$T/20m" "$T/20m.bad" 15000000
cli hmac-verify hmac32 -m "$T/mac20" -i "$T/20m.bad"
is "$RC" 1 "hmac-verify over 20 MiB, one byte changed at 15 MB: exit 1" ||
    diag "$ERR"

# --- signatures over big messages -------------------------------------------

for k in ed25519 ec256 rsa2048; do
	cli pubkey "$k" -o "$T/$k.pub.pem"
	is "$RC" 0 "public key of $k" || diag "$ERR"
done
head -c 70000 /dev/urandom >"$T/70k"
cli sign ed25519 -a ed25519 -i "$T/70k"
is "$RC" 0 "ed25519 over 70 kB: exit 0" || diag "$ERR"
check "ed25519 over 70 kB verifies with openssl" \
    openssl pkeyutl -verify -pubin -inkey "$T/ed25519.pub.pem" -rawin \
    -in "$T/70k" -sigfile "$OUT"
cli sign ed25519 -a ed25519 -i "$T/1m"
is "$RC" 0 "ed25519 over 1 MiB: exit 0" || diag "$ERR"
check "ed25519 over 1 MiB verifies with openssl" \
    openssl pkeyutl -verify -pubin -inkey "$T/ed25519.pub.pem" -rawin \
    -in "$T/1m" -sigfile "$OUT"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/20m"
is "$RC" 0 "ecdsa-p256 over 20 MiB: exit 0" || diag "$ERR"
check "ecdsa-p256 over 20 MiB verifies with openssl" \
    openssl dgst -sha256 -verify "$T/ec256.pub.pem" -signature "$OUT" \
    "$T/20m"
cli sign rsa2048 -a rsa-pss-sha256 -i "$T/1m"
is "$RC" 0 "rsa-pss over 1 MiB: exit 0" || diag "$ERR"
check "rsa-pss over 1 MiB verifies with openssl" \
    openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:32 -verify "$T/rsa2048.pub.pem" \
    -signature "$OUT" "$T/1m"

# --- max-input --------------------------------------------------------------

cli hmac hmac32 -i "$T/30m"
is "$RC" 8 "hmac over 30 MiB (max-input 24 MiB): too-large" || diag "$ERR"
like "$ERR" "max-input" "the message names max-input"
cli health
is "$RC" 0 "the broker answers after a too-large stream" || diag "$ERR"

# --- a denied caller is stopped at the first frame -------------------------

lines=$(audit_lines '"status":"denied"')
as_nobody hmac hmac32 -i "$T/20m"
is "$RC" 4 "nobody (hmac-verify only) streaming an hmac: denied" ||
    diag "$ERR"
is "$(audit_lines '"status":"denied"')" "$((lines + 1))" \
    "one audit line for the denied stream"
like "$(grep '"status":"denied"' "$T/audit.log" | tail -n 1)" \
    '"input_len":32768,' \
    "the denial was decided on the first part (32 KiB), nothing more"

# --- parts of no stream -----------------------------------------------------

python3 "$SC" "$SOCK" parts hmac32 >"$T/parts.out" 2>&1
while read -r verdict what; do
	ok "$([ "$verdict" = PASS ] && echo 0 || echo 1)" "$what"
done <"$T/parts.out"

done_testing
