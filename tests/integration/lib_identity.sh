#!/bin/bash
# libp11broker's key identity (KeyInfo.identity) is checked on every path
# an input can take: a whole request, an input the library streams by
# itself (over one frame), the caller's own stream and a secret's read
# (p11b_stream_expect() before the first part).  With the right identity
# the MACs equal openssl's over hmac32's known bytes and the Ed25519
# signature made in parts verifies; with another key's identity each is
# refused no-such-key and nothing comes out.
. "$(dirname "$0")/lib.sh"

TOOL="$top_builddir/tests/tools/libidentity"
[ -x "$TOOL" ] || bail "$TOOL not built"

setup_token
write_config
write_policy
start_daemon
head -c 100 /dev/urandom >"$T/small"
head -c 200000 /dev/urandom >"$T/big"

"$TOOL" "$SOCK" "$T" >"$T/tool.out" 2>&1
ok $? "libidentity: every check passed" || diag "$(cat "$T/tool.out")"
relay_checks "$T/tool.out"

# hmac FILE: openssl's HMAC-SHA256 of FILE under hmac32's bytes, in hex.
hmac()
{
	openssl mac -digest SHA256 -macopt hexkey:"$(xxd -p -c 256 \
	    "$T/hmac32.key")" -in "$1" HMAC | tr 'A-F' 'a-f'
}
hex() { xxd -p -c 256 "$1"; }
is "$(hex "$T/small.mac")" "$(hmac "$T/small")" \
    "whole: the MAC is openssl's"
is "$(hex "$T/big.mac")" "$(hmac "$T/big")" \
    "streamed by the library: the MAC is openssl's"
is "$(hex "$T/stream.mac")" "$(hmac "$T/big")" \
    "the caller's stream: the MAC is openssl's"
check "secret with its identity: hmac32's bytes" \
    cmp -s "$T/secret.out" "$T/hmac32.key"
out=$(openssl pkeyutl -verify -pubin -inkey "$T/pub/ed25519.pem" -rawin \
    -in "$T/big" -sigfile "$T/ed25519.sig" 2>&1)
is "$out" "Signature Verified Successfully" \
    "Ed25519 in parts: openssl verifies the signature"

stop_daemon
is "$EXIT_RC" 0 "the daemon exits 0 on SIGTERM"
done_testing
