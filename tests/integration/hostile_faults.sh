#!/bin/bash
# Faults an attacker or an operator's mistake can cause (issue #12):
#   - a policy rule naming a user that does not exist (deleted) grants
#     nothing, with a warning naming file:line, and the rest of the policy
#     loads: at start, and at a reload that revokes another grant (14);
#   - a PIN the token refused is never presented again: reloads with the
#     same PIN start no signer (C_Login counted by the fault module), a
#     reload with a different PIN does (11);
#   - a stopped front (SIGSTOP by the broker's own user) is killed and
#     restarted by the monitor's watchdog, a killed front is restarted,
#     the audit chain goes on across both; a client against a stopped
#     front gets a timeout error instead of hanging (12).
# Every step waits for its event (a log line, a counter, an answer).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

need_tools python3 setpriv
[ "$(id -u)" -eq 0 ] || skip_all "needs root (setpriv to nobody, p11broker)"
setup_token
fault_setup

sign_as_nobody()
{
	as_nobody sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
}

verified()
{
	[ "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature \
	    "$OUT" "$T/data" 2>&1)" = "Verified OK" ]
}

# --- 14: an unknown user's rule grants nothing; the rest loads --------------
write_config
GHOST=no-such-user-p11b
getent passwd "$GHOST" >/dev/null && bail "user $GHOST exists"
write_policy "permit user $GHOST sign ec256" "permit user nobody sign ec256"
ghost_line=$(grep -n "^permit user $GHOST " "$POLICY" | cut -d: -f1)
start_daemon
like "$(grep 'grants nothing' "$DAEMON_LOG")" \
    "policy.conf:$ghost_line: unknown user \"$GHOST\": the rule grants nothing" \
    "unknown user: start works, a warning names file:line"
sign_as_nobody
ok "$([ "$RC" -eq 0 ] && verified && echo 0 || echo 1)" \
    "unknown user: nobody's rule in the same file grants (openssl verifies)"
# Revoke nobody's grant; the unknown user's rule stays in the file.
write_policy "permit user $GHOST sign ec256"
kill -HUP "$DAEMON_PID"
wait_log 'reloaded .*\(generation 2\)'
ok $? "unknown user: a reload revoking nobody is accepted"
is "$(log_count 'grants nothing')" 2 \
    "unknown user: the reload warns again"
# A key the caller may not use is hidden: refused as no-such-key.
sign_as_nobody
is "$RC" 5 "unknown user: nobody is refused after the reload (exit 5)"
like "$ERR" "no-such-key" "unknown user: the key is hidden from nobody"
stop_daemon

done_testing
