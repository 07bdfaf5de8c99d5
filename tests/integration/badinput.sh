#!/bin/bash
# Bad input on the socket (tests/integration/rawclient.py speaks the wire
# format by hand) and through the CLI.  Each bad case must get its error
# and change nothing else: before and after every case a well-behaved CLI
# client signs (checked by openssl), and one raw connection held open
# across all cases still answers Health.
. "$(dirname "$0")/lib.sh"

RAWCLIENT="$INTEGRATION_DIR/rawclient.py"
# rawclient.py gives the broker P11B_CLOSE_WAIT (2 s) to close a
# connection after a fatal error; the idle timeout must be well above it.
IDLE_TIMEOUT=6

setup_token
write_config
write_policy
start_daemon

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
	read -r -t 10 line <&"$KA_OUT"
	like "$line" '^ok [0-9]+$' "$1: open raw connection answers health" ||
	    diag "keepalive: $line"
}

# raw_case NAME: one rawclient.py case; its PASS/FAIL lines become tests.
raw_case()
{
	local name=$1 out rc line
	out=$(timeout -k 2 60 python3 "$RAWCLIENT" "$SOCK" case "$name" 2>&1)
	rc=$?
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
	done <<<"$out"
	if [ "$rc" -ne 0 ] && ! printf '%s' "$out" | grep -q '^FAIL '; then
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

for c in zero-length over-limit at-limit truncated-close garbage no-op \
    unknown-key wrong-alg bad-digest big-random pipeline slow-bytes \
    many-idle hangup-mid-request; do
	raw_case "$c"
	after_case "$c"
done

# A half frame followed by silence must be dropped after idle-timeout
# (5 s here); meanwhile the open connection stays busy so that it is not
# idle itself.
P11B_IDLE_WAIT=$((IDLE_TIMEOUT * 3)) timeout -k 2 60 \
    python3 "$RAWCLIENT" "$SOCK" case truncated-idle >"$T/idle.out" 2>&1 &
idle_pid=$!
pings_ok=0
pings=0
while running "$idle_pid"; do
	if printf 'health\n' >&"$KA_IN" 2>/dev/null &&
	    read -r -t 10 line <&"$KA_OUT" && [ "${line#ok }" != "$line" ]; then
		pings_ok=$((pings_ok + 1))
	fi
	pings=$((pings + 1))
	sleep 1
done
wait "$idle_pid"
idle_rc=$?
grep -q '^FAIL ' "$T/idle.out" || [ "$idle_rc" -eq 0 ] ||
    ok 1 "truncated-idle: rawclient.py ran (exit $idle_rc)"
while IFS= read -r line; do
	case $line in
	PASS\ *) ok 0 "truncated-idle: ${line#PASS }" ;;
	FAIL\ *) ok 1 "truncated-idle: ${line#FAIL }" ;;
	*) diag "truncated-idle: $line" ;;
	esac
done <"$T/idle.out"
is "$pings_ok" "$pings" "busy raw connection answered every health meanwhile"
after_case truncated-idle

# --- the same classes of bad input through the CLI --------------------------

cli sign ec256 -a rsa-pss-sha256 -i "$msg"
is "$RC" 6 "cli: rsa-pss-sha256 on ec256 -> exit 6" || diag "$ERR"
like "$ERR" '^p11broker: sign ec256: bad-request' \
    "cli: rsa-pss-sha256 on ec256 error names bad-request"
is "$(printf '%s\n' "$ERR" | wc -l)" 1 "cli: the error is one line"

cli sign ec256 -a ecdsa-p384-sha384 -i "$msg"
is "$RC" 6 "cli: ecdsa-p384-sha384 on ec256 -> exit 6" || diag "$ERR"

head -c 31 /dev/urandom >"$T/short.digest"
cli sign ec256 -a ecdsa-p256-sha256 --digest -i "$T/short.digest"
is "$RC" 6 "cli: 31-byte --digest for ecdsa-p256-sha256 -> exit 6" ||
    diag "$ERR"
like "$ERR" '^p11broker: sign ec256: bad-request' \
    "cli: short digest error names bad-request"

cli sign no-such-key -a ecdsa-p256-sha256 -i "$msg"
is "$RC" 5 "cli: unknown key -> exit 5" || diag "$ERR"
like "$ERR" '^p11broker: sign no-such-key: no-such-key' \
    "cli: unknown key error names no-such-key"

cli random 4097
is "$RC" 8 "cli: random 4097 -> exit 8" || diag "$ERR"

head -c 70000 /dev/urandom >"$T/huge"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/huge"
is "$RC" 8 "cli: 70000-byte input (over max-frame) -> exit 8 (too-large)" ||
    diag "$ERR"
like "$ERR" 'too-large' "cli: over-limit input error names too-large"

cli sign ec256 -a no-such-alg -i "$msg"
is "$RC" 2 "cli: unknown algorithm name -> exit 2 (usage)"
cli sign ec256 -i "$msg"
is "$RC" 2 "cli: sign without -a -> exit 2 (usage)"
cli frobnicate
is "$RC" 2 "cli: unknown command -> exit 2 (usage)"
cli random notanumber
is "$RC" 2 "cli: random with a non-number -> exit 2 (usage)"

cli sign ec256 -a ecdsa-p256-sha256 -i "$T/does-not-exist"
is "$RC" 12 "cli: missing input file -> exit 12"
cli sign ec256 -a ecdsa-p256-sha256 -i "$msg" -o "$T/no/such/dir/sig"
is "$RC" 12 "cli: unwritable output file -> exit 12"

timeout 10 "$P11B" -s "$T/no-such.sock" health </dev/null >/dev/null \
    2>"$T/nosock.err"
is "$?" 3 "cli: no broker on the socket -> exit 3"

after_case cli

exec {KA_IN}>&-
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
