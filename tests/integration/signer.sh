#!/bin/bash
# The signer can die without taking the service down: SIGKILL it while
# four threads sign on one shared connection.  The callers see
# TOKEN_UNAVAILABLE (never a lost connection), the monitor starts a new
# signer, and correct signatures flow again on the same connection; the
# front is the same process throughout.
. "$(dirname "$0")/lib.sh"

KEEPSIGN="$top_builddir/tests/tools/keepsign"
[ -x "$KEEPSIGN" ] || bail "$KEEPSIGN not built"

setup_token
write_config
write_policy "permit user $ME stats"
start_daemon


# field NAME LINE: the value of NAME=value in a keepsign line.
field()
{
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

FRONT=$(daemon_child p11b-front)
SIGNER=$(daemon_child p11b-signer)
[ -n "$FRONT" ] && [ -n "$SIGNER" ] || bail "no front or signer process"

for round in 1 2; do
	# keepsign says "signing" once the load is on, and ends once the
	# callers were failed and then served again (or at the deadline).
	"$KEEPSIGN" "$SOCK" ec256 4 "$HANG" >"$T/keep.out" 2>"$T/keep.err" &
	keep=$!
	wait_for grep -q '^signing$' "$T/keep.out"
	ok $? "round $round: four threads are signing on one connection" ||
	    diag "$(cat "$T/keep.err")"
	kill -KILL "$SIGNER"
	ok $? "round $round: SIGKILL the signer ($SIGNER) mid-load"
	wait "$keep"
	is "$?" 0 "round $round: keepsign ran to the end" ||
	    diag "$(cat "$T/keep.err")"
	line=$(tail -n 1 "$T/keep.out")
	diag "round $round: $line"
	is "$(field lost "$line")" 0 \
	    "round $round: no caller lost its connection"
	is "$(field other "$line")" 0 \
	    "round $round: no status but ok and token-unavailable"
	ok "$([ "$(field token-unavailable "$line")" -ge 1 ] && echo 0 ||
	    echo 1)" "round $round: callers saw TOKEN_UNAVAILABLE"
	ok "$([ "$(field ok-after-unavailable "$line")" -ge 20 ] && echo 0 ||
	    echo 1)" "round $round: then successes again, same connection"
	is "$(daemon_child p11b-front)" "$FRONT" \
	    "round $round: the front is the same process"
	new=$(daemon_child p11b-signer)
	ok "$([ -n "$new" ] && [ "$new" != "$SIGNER" ] && echo 0 || echo 1)" \
	    "round $round: a new signer runs ($new)"
	SIGNER=$new
done

head -c 1000 /dev/urandom >"$T/data"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "after the restarts: sign ec256" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "after the restarts: openssl verifies"
cli health
like "$(cat "$OUT")" "token=ready" "health: token=ready"
grep -q 'the signer was killed by signal 9' "$DAEMON_LOG"
ok $? "the log says the signer was killed"
grep -q 'signer: serving again' "$DAEMON_LOG"
ok $? "the log says the signer serves again"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"
running "$SIGNER" 2>/dev/null
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" "no signer outlives the daemon"
done_testing
