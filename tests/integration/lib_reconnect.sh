#!/bin/bash
# libp11broker keeps working when the broker closes its connection: after
# the broker's idle-timeout and after a broker restart, the next calls on
# the same struct p11b_conn succeed (four threads at once, then every
# kind of call), their outputs checked with openssl.  A timeout is not
# repeated: with the broker stopped, the call fails with P11B_ERR_TIMEOUT
# and no second connection waits in the socket's backlog.  A child after
# fork() is refused the parent's connection.  p11b_last_message() is
# empty after each success; P11B_ALG_NONE MACs as the CLI does.
. "$(dirname "$0")/lib.sh"

TOOL="$top_builddir/tests/tools/libreconnect"
[ -x "$TOOL" ] || bail "$TOOL not built"
need_tools ss

setup_token
IDLE_TIMEOUT=1 write_config
write_policy "permit user $ME stats"
start_daemon
export P11BROKER_SOCKET="$SOCK"
{ printf 'reconnect test\n'; head -c 2000 /dev/urandom; } >"$T/msg"

# verify_ec SIG DESC / verify_rsa_pss SIG DESC: openssl, against the
# public keys read from the token by mktoken.sh.
verify_ec()
{
	is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
	    -signature "$1" "$T/msg" 2>&1)" "Verified OK" "$2"
}
verify_rsa_pss()
{
	is "$(openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
	    -sigopt rsa_pss_saltlen:-1 -verify "$T/pub/rsa2048.pem" \
	    -signature "$1" "$T/msg" 2>&1)" "Verified OK" "$2"
}

# check_round_two WHEN: the outputs of the calls after the broker closed.
check_round_two()
{
	local when=$1 i
	for i in 0 1 2 3; do
		verify_ec "$T/sig.t$i" "$when: thread $i's ECDSA signature"
	done
	verify_rsa_pss "$T/sig.rsa" "$when: RSA-PSS signature"
	is "$(hex "$T/mac")" "$(openssl dgst -sha256 -mac HMAC -macopt \
	    "hexkey:$(hex "$T/hmac32.key")" -binary "$T/msg" | od -An -v \
	    -tx1 | tr -d ' \n')" \
	    "$when: HMAC with P11B_ALG_NONE is openssl's HMAC-SHA256"
	cmp -s "$T/ec256.der" "$T/pub/ec256.der"
	ok $? "$when: public key (SPKI DER) matches the token's"
	cmp -s "$T/secret" "$T/api-token.bin"
	ok $? "$when: secret byte for byte"
	rm -f "$T"/sig.* "$T/mac" "$T/ec256.der" "$T/secret"
}

# run_client GOFILE: the tool in the background, $CLIENT its pid.
run_client()
{
	: >"$T/client.out"
	timeout -k 2 $((HANG * 3)) "$TOOL" "$T" "$@" >"$T/client.out" \
	    2>"$T/client.err" &
	CLIENT=$!
}
client_waits()
{
	grep -q '^# waiting for' "$T/client.out" || ! running "$CLIENT"
}
client_done()
{
	wait "$CLIENT"
	local rc=$?
	diag "$(cat "$T/client.out" "$T/client.err")"
	ok "$rc" "$1"
}

# --- idle-timeout -------------------------------------------------------------

only_stats_connected()
{
	cli stats
	grep -q ' connections=1 ' "$OUT"
}
run_client "$T/idle.go"
wait_for client_waits
verify_ec "$T/sig.0" "idle: the first signature"
wait_for only_stats_connected
ok $? "the broker closed the idle connection (stats: connections=1)"
touch "$T/idle.go"
client_done "idle: every call after the idle close succeeded"
check_round_two idle

# --- broker restart -----------------------------------------------------------

run_client "$T/restart.go"
wait_for client_waits
verify_ec "$T/sig.0" "restart: the first signature"
stop_daemon >/dev/null
start_daemon
touch "$T/restart.go"
client_done "restart: every call after the restart succeeded"
check_round_two restart

# --- the CLI's HMAC default is the library's ----------------------------------

cli hmac hmac32 -i "$T/msg"
is "$(hex "$OUT")" "$(openssl dgst -sha256 -mac HMAC -macopt \
    "hexkey:$(hex "$T/hmac32.key")" -binary "$T/msg" | od -An -v -tx1 |
    tr -d ' \n')" "CLI hmac without -a: HMAC-SHA256"

# --- fork, last message -------------------------------------------------------

run_client fork
client_done "fork and last-message rules"

# --- a timeout is not repeated ------------------------------------------------

FRONT=$(daemon_child p11b-front)
[ -n "$FRONT" ] || bail "no p11b-front process"
on_cleanup "kill -CONT $FRONT 2>/dev/null"
# backlog: connections waiting on the listening socket to be accepted.
backlog()
{
	ss -xlnH | awk -v s="$SOCK" '$5 == s { print $3 }'
}
client_timed_out()
{
	grep -q '^timed out' "$T/client.out" || ! running "$CLIENT"
}
export P11BROKER_TIMEOUT=1
run_client timeout "$T/stopped" "$T/timeout.go"
unset P11BROKER_TIMEOUT
wait_for client_waits
kill -STOP "$FRONT"
touch "$T/stopped"
wait_for client_timed_out
like "$(cat "$T/client.out")" "timed out: no answer" \
    "a stopped broker: P11B_ERR_TIMEOUT"
is "$(backlog)" 0 "no second connection waits: the timeout was not repeated"
kill -CONT "$FRONT"
touch "$T/timeout.go"
client_done "after a timeout the next call opens a new connection"

done_testing
