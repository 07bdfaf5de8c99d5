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

# --- 11: a PIN the token refused is never presented again -------------------
# The PIN from a file (a reload reads it again), the token behind the
# fault module, which counts every C_Login.
printf '%s\n' "$PIN" >"$T/pin"
chmod 0600 "$T/pin"
fault_write_config
sed -i "s|pin-env \"P11BROKER_PIN\"|pin-file \"$T/pin\"|" "$CONF"
grep -q "pin-file \"$T/pin\"" "$CONF" || bail "sed failed on pin-file"
write_policy
start_daemon
sign_ok
ok $? "PIN: a verified signature with the PIN from the file"
# The token's PIN changes behind the broker's back (as the user that owns
# the token files), and the signer has to log in again.
NEWPIN=86420
timeout "$HANG" setpriv --reuid="$P11B_DAEMON_USER" \
    --regid="$(id -g "$P11B_DAEMON_USER")" --clear-groups \
    env SOFTHSM2_CONF="$SOFTHSM2_CONF" pkcs11-tool --module \
    "$SOFTHSM_MODULE" --token-label p11b-test --login --pin "$PIN" \
    --change-pin --new-pin "$NEWPIN" >"$T/chpin.log" 2>&1 ||
    bail "cannot change the token's PIN: $(tail -n 3 "$T/chpin.log")"
kill -KILL "$(daemon_child p11b-signer)"
wait_log 'the token refused the PIN; the signer will NOT be restarted'
ok $? "PIN: the old PIN refused at the re-login, the signer stays down"
logins=$(calls C_Login)
for i in 1 2 3; do
	kill -HUP "$DAEMON_PID"
	wait_log 'reload rejected.*the token refused this PIN before' "$i" ||
	    break
done
is "$(log_count 'reload rejected.*the token refused this PIN before')" 3 \
    "PIN: three reloads with the same PIN are rejected, saying why"
is "$(calls C_Login)" "$logins" \
    "PIN: no C_Login across the three reloads (still $logins)"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "PIN: meanwhile sign answers TOKEN_UNAVAILABLE"
# The operator puts the new PIN in place and reloads.
printf '%s\n' "$NEWPIN" >"$T/pin"
kill -HUP "$DAEMON_PID"
wait_log 'reloaded .*\(generation 2\)'
ok $? "PIN: a reload with the new PIN is accepted"
is "$(calls C_Login)" "$((logins + 1))" "PIN: exactly one C_Login for it"
sign_ok
ok $? "PIN: signing works again (openssl verifies)"
# And the refused one stays refused: back to the old PIN, a reload
# presents nothing.
printf '%s\n' "$PIN" >"$T/pin"
kill -HUP "$DAEMON_PID"
wait_log 'reload rejected.*the token refused this PIN before' 4
ok $? "PIN: the old PIN again: rejected without a login"
is "$(calls C_Login)" "$((logins + 1))" "PIN: still no C_Login for it"
sign_ok
ok $? "PIN: the running signer still signs"
stop_daemon
PIN=$NEWPIN		# the token's, from now on

# --- 12: a stopped or killed front is restarted -----------------------------
# as_daemon_user ARGS...: run a command as the broker's own user.
as_daemon_user()
{
	setpriv --reuid="$P11B_DAEMON_USER" \
	    --regid="$(id -g "$P11B_DAEMON_USER")" --clear-groups "$@"
}

new_front()
{
	FRONT=$(daemon_child p11b-front) && [ "$FRONT" != "$1" ]
}

mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
write_config "front-watchdog 2" \
    "audit \"$LOG\" checkpoint-key ec384 checkpoint-lines 4"
write_policy
start_daemon
sign_ok
ok $? "watchdog: a verified signature" || diag "$RC $ERR"
FRONT=$(daemon_child p11b-front)
as_daemon_user kill -STOP "$FRONT"
ok $? "watchdog: the broker's own user stops the front (SIGSTOP)"
wait_log "the front \(pid $FRONT\) did not answer the watchdog in time"
ok $? "watchdog: the monitor says the front did not answer"
wait_log 'a new front serves'
ok $? "watchdog: the monitor starts a new front"
new_front "$FRONT"
ok $? "watchdog: a new front process ($FRONT)"
sign_ok
ok $? "watchdog: a client signs through the new front (openssl verifies)"
as_daemon_user kill -KILL "$FRONT"
ok $? "watchdog: the broker's own user kills the front (SIGKILL)"
wait_log 'the front was killed by signal 9'
ok $? "killed front: the monitor says so"
wait_log 'a new front serves' 2
ok $? "killed front: a new front serves"
wait_for new_front "$FRONT"
sign_ok
ok $? "killed front: a client signs again (openssl verifies)"
running "$DAEMON_PID"
ok $? "killed front: the broker did not stop"
stop_daemon
is "$EXIT_RC" 0 "front restarts: the daemon exits 0 on SIGTERM"
timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey "$T/pub/ec384.pem" \
    "$LOG" >"$T/verify.out" 2>"$T/verify.err"
is "$?" 0 "front restarts: the audit log verifies across both restarts" ||
    diag "$(cat "$T/verify.err")"
starts=$(grep -c '"event":"start"' "$LOG")
ok "$([ "$starts" -ge 3 ] && echo 0 || echo 1)" \
    "front restarts: $starts fronts started in the one chain (at least 3)"

# --- 12: a client against a stopped front times out -------------------------
# No watchdog here (front-watchdog 0): the front stays stopped, and the
# clients must give up on their own.
MODULE="$top_builddir/client/pkcs11/.libs/p11broker-pkcs11.so"
[ -f "$MODULE" ] || bail "$MODULE not built"
write_config "front-watchdog 0"
write_policy
start_daemon
FRONT=$(daemon_child p11b-front)
as_daemon_user kill -STOP "$FRONT"
P11BROKER_TIMEOUT=1 cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 3 "stopped front: the CLI fails (exit 3) instead of hanging"
like "$ERR" 'timeout \(no answer from the broker within 1\.000 s\)' \
    "stopped front: the error says timeout"
P11BROKER_TIMEOUT=1 P11BROKER_SOCKET=$SOCK timeout -k 2 "$HANG" \
    "$top_builddir/tests/integration/pkcs11_client" "$MODULE" random \
    >"$T/p11.out" 2>&1
rc=$?
ok "$([ "$rc" -eq 1 ] && echo 0 || echo 1)" \
    "stopped front: the PKCS#11 call fails (exit $rc) instead of hanging"
like "$(cat "$T/p11.out")" '# rv 0x30$' \
    "stopped front: C_GenerateRandom says CKR_DEVICE_ERROR (0x30)"
kill -CONT "$FRONT"
sign_ok
ok $? "stopped front: once continued, it serves again"
is "$(log_count 'did not answer the watchdog')" 0 \
    "front-watchdog 0: no watchdog"
stop_daemon

done_testing
