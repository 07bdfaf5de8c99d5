#!/bin/bash
# The EXAMPLES program of libp11broker(3), as the page prints it (built
# by make check from the page's source), signs with a real broker and
# openssl verifies its DER signature.
. "$(dirname "$0")/lib.sh"

EXAMPLE="$top_builddir/tests/tools/manexample"
[ -x "$EXAMPLE" ] || bail "$EXAMPLE not built"

setup_token
write_config
write_policy
start_daemon

msg="$T/msg"
{ printf 'libp11broker(3) example\n'; head -c 5000 /dev/urandom; } >"$msg"
P11BROKER_SOCKET=$SOCK timeout -k 2 "$HANG" "$EXAMPLE" ec256 <"$msg" \
    >"$T/sig.der" 2>"$T/example.err"
is "$?" 0 "the man page's example signs" || diag "$(cat "$T/example.err")"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature \
    "$T/sig.der" "$msg" 2>&1)" "Verified OK" \
    "openssl verifies the example's DER signature"

P11BROKER_SOCKET=$SOCK timeout -k 2 "$HANG" "$EXAMPLE" no-such-key \
    <"$msg" >"$T/none.out" 2>"$T/example.err"
is "$?" 1 "the example fails for a key that does not exist"
like "$(cat "$T/example.err")" "no.such.key" \
    "and prints p11b_strerror() and p11b_last_message()"

done_testing
