#!/bin/bash
# The bad-input catalogue (tests/badinput/CATALOGUE.md): every case on the
# socket (tests/integration/rawclient.py speaks the wire format by hand)
# and through the CLI must get its specific error and change nothing else:
# after every case a well-behaved CLI client signs (checked by openssl),
# and one raw connection held open across all cases still answers Health.
# The slow cases (silent and slowloris clients, a half frame then
# silence) run in the background while the others go on.  Each TAP line
# names its catalogue ID.
. "$(dirname "$0")/lib.sh"

RAWCLIENT="$INTEGRATION_DIR/rawclient.py"
# The slow cases wait for the idle timeout (the broker's own clock):
# short, so that they finish while the other cases run.
IDLE_TIMEOUT=6

setup_token
# A streamed input over 64 KiB is too large here (L06).
write_config 'max-input 65536'
# V12 needs a key whose only hmac rule has a max-input.
write_policy
sed -i "s/^permit user $ME hmac hmac32,hmac64\$/permit user $ME hmac hmac32\\
permit user $ME hmac hmac64 max-input 1024/" "$POLICY"
grep -q 'hmac64 max-input 1024' "$POLICY" || bail "policy edit failed"
start_daemon

export P11B_DAEMON_PID=$DAEMON_PID P11B_TOKEN_DIR=$T
export P11B_IDLE_TIMEOUT=$IDLE_TIMEOUT P11B_HANG=$HANG

msg="$T/msg"
head -c 1000 /dev/urandom >"$msg"
round=0

# well_behaved WHEN: the real client signs and openssl verifies.
well_behaved()
{
	local out
	round=$((round + 1))
	cli sign ec256 -a ecdsa-p256-sha256 -i "$msg" -o "$T/good.$round.sig"
	if [ "$RC" -ne 0 ]; then
		ok 1 "$1: well-behaved client signs"
		diag "exit $RC: $ERR"
		return
	fi
	out=$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
	    -signature "$T/good.$round.sig" "$msg" 2>&1)
	is "$out" "Verified OK" "$1: well-behaved client signs (verified)"
}

# The long-lived raw connection, as a coprocess reading "health" lines.
coproc KA { exec python3 -u "$RAWCLIENT" "$SOCK" keepalive 2>&1; }
_KEEPALIVE_PID=$KA_PID
KA_IN=${KA[1]}
KA_OUT=${KA[0]}

keepalive()
{
	local line=
	if ! printf 'health\n' >&"$KA_IN" 2>/dev/null; then
		ok 1 "$1: open raw connection answers health"
		diag "keepalive client is gone"
		return
	fi
	read -r -t "$HANG" line <&"$KA_OUT"
	like "$line" '^ok [0-9]+$' "$1: open raw connection answers health" ||
	    diag "keepalive: $line"
}

# report NAME FILE: rawclient.py's PASS/FAIL/INFO lines as TAP.
report()
{
	local name=$1 line what
	while IFS= read -r line; do
		case $line in
		PASS\ *)
			ok 0 "$name: ${line#PASS }" ;;
		FAIL\ *)
			ok 1 "$name: ${line#FAIL }" ;;
		INFO\ *)
			diag "$name: ${line#INFO }" ;;
		?*)
			diag "$name: $line" ;;
		esac
	done <"$2"
}

# raw_case NAME: one rawclient.py case, reported as TAP.
raw_case()
{
	local name=$1 rc
	timeout -k 2 $((HANG * 3)) python3 "$RAWCLIENT" "$SOCK" case "$name" \
	    >"$T/case.out" 2>&1
	rc=$?
	report "$name" "$T/case.out"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$T/case.out"; then
		ok 1 "$name: rawclient.py ran (exit $rc)"
	fi
}

after_case()
{
	running "$DAEMON_PID"
	ok $? "after $1: daemon still running"
	well_behaved "after $1"
	keepalive "after $1"
}

well_behaved "start"
keepalive "start"

# C08 first, while no slow case holds a connection: the broker's
# descriptor count must come back exactly.
raw_case conn-flood
after_case conn-flood

# The slow cases, in the background: a half frame then silence (F08), a
# client that never sends (C05), one byte per second (C06).
slow_cases="truncated-idle silent slowloris"
slow_pids=
for c in $slow_cases; do
	timeout -k 2 $((HANG * 3)) \
	    python3 "$RAWCLIENT" "$SOCK" case "$c" >"$T/slow.$c.out" 2>&1 &
	slow_pids="$slow_pids $!"
done

for c in zero-length over-limit at-limit truncated-close split-frames \
    good-then-bad garbage wrong-wire-type unknown-fields duplicate-fields \
    nested-overflow ids no-op unknown-key key-names wrong-alg bad-digest \
    field-values empty-input max-input hmac-verify big-random pipeline \
    pipeline-flood half-close no-read slow-bytes many-idle \
    hangup-mid-request reset-unread parallel-garbage pss-salt; do
	raw_case "$c"
	after_case "$c"
done

# The open connection stays busy (and so is never idle itself) while the
# slow cases finish.
pings_ok=0
pings=0
for pid in $slow_pids; do
	while running "$pid"; do
		if printf 'health\n' >&"$KA_IN" 2>/dev/null &&
		    read -r -t "$HANG" line <&"$KA_OUT" &&
		    [ "${line#ok }" != "$line" ]; then
			pings_ok=$((pings_ok + 1))
		fi
		pings=$((pings + 1))
		sleep 1		# pacing: a ping a second, nothing expected of it
	done
done
for c in $slow_cases; do
	report "$c" "$T/slow.$c.out"
done
is "$pings_ok" "$pings" "busy raw connection answered every health meanwhile"
after_case "slow cases"

# --- the same classes of bad input through the CLI --------------------------

cli sign ec256 -a rsa-pss-sha256 -i "$msg"
is "$RC" 6 "L01 cli: rsa-pss-sha256 on ec256 -> exit 6" || diag "$ERR"
like "$ERR" '^p11broker: sign ec256: bad-request' \
    "L01 cli: rsa-pss-sha256 on ec256 error names bad-request"
is "$(printf '%s\n' "$ERR" | wc -l)" 1 "L01 cli: the error is one line"

cli sign ec256 -a ecdsa-p384-sha384 -i "$msg"
is "$RC" 6 "L02 cli: ecdsa-p384-sha384 on ec256 -> exit 6" || diag "$ERR"

head -c 31 /dev/urandom >"$T/short.digest"
cli sign ec256 -a ecdsa-p256-sha256 --digest -i "$T/short.digest"
is "$RC" 6 "L03 cli: 31-byte --digest for ecdsa-p256-sha256 -> exit 6" ||
    diag "$ERR"
like "$ERR" '^p11broker: sign ec256: bad-request' \
    "L03 cli: short digest error names bad-request"

cli sign no-such-key -a ecdsa-p256-sha256 -i "$msg"
is "$RC" 5 "L04 cli: unknown key -> exit 5" || diag "$ERR"
like "$ERR" '^p11broker: sign no-such-key: no-such-key' \
    "L04 cli: unknown key error names no-such-key"

cli random 4097
is "$RC" 8 "L05 cli: random 4097 -> exit 8" || diag "$ERR"

head -c 70000 /dev/urandom >"$T/huge"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/huge"
is "$RC" 8 "L06 cli: 70000-byte input (over max-input) -> exit 8 (too-large)" ||
    diag "$ERR"
like "$ERR" 'too-large' "L06 cli: over-limit input error names too-large"

cli sign ec256 -a no-such-alg -i "$msg"
is "$RC" 2 "L07 cli: unknown algorithm name -> exit 2 (usage)"
cli sign ec256 -i "$msg"
is "$RC" 2 "L08 cli: sign without -a -> exit 2 (usage)"
cli frobnicate
is "$RC" 2 "L09 cli: unknown command -> exit 2 (usage)"
cli random notanumber
is "$RC" 2 "L10 cli: random with a non-number -> exit 2 (usage)"

cli sign ec256 -a ecdsa-p256-sha256 -i "$T/does-not-exist"
is "$RC" 12 "L11 cli: missing input file -> exit 12"
cli sign ec256 -a ecdsa-p256-sha256 -i "$msg" -o "$T/no/such/dir/sig"
is "$RC" 12 "L12 cli: unwritable output file -> exit 12"

timeout "$HANG" "$P11B" -s "$T/no-such.sock" health </dev/null >/dev/null \
    2>"$T/nosock.err"
is "$?" 3 "L13 cli: no broker on the socket -> exit 3"

after_case cli

exec {KA_IN}>&-
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
