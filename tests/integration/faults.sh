#!/bin/bash
# The broker under token faults, with tests/faultmod's fault-pkcs11.so
# between the signer and SoftHSM2:
#   - a session or device error answers TOKEN_UNAVAILABLE, health says
#     so, requests are refused rather than queued, and signing resumes
#     once the token is back (new login, sessions);
#   - a hung call times out (token-timeout) while the other worker keeps
#     serving; when every worker hangs the signer is replaced;
#   - a refused PIN at a re-login is never retried: one C_Login, a loud
#     log line, the broker stays up answering TOKEN_UNAVAILABLE;
#   - verify-signatures never passes on a corrupted signature, low-s
#     gives s <= n/2;
#   - SIGTERM lets the requests in flight finish and refuses new ones.
# Every step waits for its event (a call counted on entry by the fault
# module, a log line, a health answer); how fast recovery and drain are
# is measured by tests/reliability/run.sh, not asserted here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

need_tools python3
setup_token
fault_setup
fault_write_config "token-timeout 1"
sed -i 's/^key ec256   label "ec256"$/key ec256 label "ec256" verify-signatures low-s/' \
    "$CONF"
grep -q 'verify-signatures low-s' "$CONF" || bail "sed failed on ec256"
write_policy "permit user $ME stats"
start_daemon

sign_ok
ok $? "through the fault module, no rules: a verified signature"

# --- a device error: unhealthy, then back -----------------------------------
rules "C_Sign error CKR_DEVICE_ERROR"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "CKR_DEVICE_ERROR: TOKEN_UNAVAILABLE (exit 10)" || diag "$ERR"
like "$ERR" "token-unavailable" "CKR_DEVICE_ERROR: the error names it"

# The token stays away: every call fails, the signer cannot start.
inits=$(calls C_Initialize)
rules "* error CKR_TOKEN_NOT_PRESENT"
# The signer restarted after the device error may have started before
# the new rule: a request finds the token gone, health then says so.
gone_and_says_so()
{
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	health_says unavailable
}
wait_for gone_and_says_so
ok $? "token gone: health says unavailable"
fast=0
for i in 1 2 3 4 5; do
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 10 ] && fast=$((fast + 1))
done
is "$fast" 5 "token gone: 5 requests, 5 TOKEN_UNAVAILABLE (refused, not queued)"
# A few restart attempts with backoff: new signers met the absent token.
wait_for calls_above C_Initialize $((inits + 2))
ok $? "token gone: the monitor keeps starting signers (C_Initialize" \
    "$inits -> $(calls C_Initialize))"
rules ""
wait_for sign_ok
ok $? "token back: signing again"
cli health
like "$(cat "$OUT")" "token=ready" "token back: health says ready"
grep -q 'the token is unhealthy; starting over' "$DAEMON_LOG"
ok $? "the log says the signer started over"

# --- a session error --------------------------------------------------------
# (Rule progress is per process: a restarted signer would see "count 1"
# afresh, so the rule goes once it fired.)
rules "C_SignInit error CKR_SESSION_HANDLE_INVALID"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "CKR_SESSION_HANDLE_INVALID: TOKEN_UNAVAILABLE" || diag "$ERR"
rules ""
wait_for sign_ok
ok $? "session error: signing again"

# --- a hung call: timeout, the other worker serves --------------------------
# bg_sign: a signature request in the background (cli() keeps no status).
bg_sign()
{
	timeout "$HANG" "$P11B" -s "$SOCK" sign ec256 -a ecdsa-p256-sha256 \
	    -i "$T/data" >/dev/null 2>&1 &
}

signs=$(calls C_Sign)
rules "C_Sign hang count 1"
bg_sign
hung=$!
wait_for calls_above C_Sign "$signs"
ok $? "one worker hung: its C_Sign is held by the rule"
sign_ok
ok $? "one worker hung: the other still signs"
wait "$hung"
rc=$?
is "$rc" 10 "the hung request times out with TOKEN_UNAVAILABLE"
grep -q 'no answer in 1000 ms' "$DAEMON_LOG"
ok $? "the log names the stuck worker"
rules ""			# releases the hung call
wait_for sign_ok
ok $? "after the release: signing works"

# Every worker hangs: the monitor replaces the signer.
SIGNER=$(daemon_child p11b-signer)
rules "C_Sign hang count 2"
bg_sign
h1=$!
bg_sign
h2=$!
wait "$h1"
is "$?" 10 "both workers hung: first request TOKEN_UNAVAILABLE"
wait "$h2"
is "$?" 10 "both workers hung: second request TOKEN_UNAVAILABLE"
# A new signer would read the rule afresh: it goes now.
rules ""
wait_for sign_ok
ok $? "both workers hung: a new signer serves"
new=$(daemon_child p11b-signer)
ok "$([ -n "$new" ] && [ "$new" != "$SIGNER" ] && echo 0 || echo 1)" \
    "both workers hung: the signer was replaced ($SIGNER -> $new)"
grep -q 'every token session is stuck' "$DAEMON_LOG"
ok $? "the log says every session was stuck"

# --- corrupted signatures ---------------------------------------------------
rules "C_Sign corrupt"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 11 "verify-signatures: a corrupted signature is refused (internal)" ||
    diag "$ERR"
is "$(size "$OUT")" 0 "verify-signatures: nothing on stdout"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
is "$RC" 0 "without verify-signatures the token's output goes out"
isnt=$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)
unlike "$isnt" "^Verified OK" "... and it does not verify (the fault is real)"
grep -q 'key ec256: the token returned a signature that does not verify' \
    "$DAEMON_LOG"
ok $? "the log names the key whose signature failed"
rules ""

# --- low-s ------------------------------------------------------------------
high=0
for i in $(seq 1 40); do
	cli sign ec256 -a ecdsa-p256-sha256 --raw -i "$T/data"
	s=$(od -An -v -tx1 -j32 -N32 "$OUT" | tr -d ' \n')
	# n/2 for P-256
	python3 -c "import sys; s=int('$s',16); n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551; sys.exit(0 if s <= n//2 else 1)" ||
	    high=$((high + 1))
done
is "$high" 0 "low-s: 40 signatures, every s <= n/2"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "low-s: the normalised signature verifies"

# --- an orderly signer exit finalizes the module ---------------------------
# A reload replaces the signer; the old one, its links closed, logs out
# and calls C_Finalize, so a module with state outside the process (a
# TPM's loaded objects, a network HSM's session) is left clean.
fin=$(calls C_Finalize)
logouts=$(calls C_Logout)
kill_child "$DAEMON_PID" HUP
wait_for calls_above C_Finalize "$fin"
ok $? "reload: the old signer calls C_Finalize as it leaves"
ok "$(calls_above C_Logout "$logouts" && echo 0 || echo 1)" \
    "reload: ... after C_Logout"
wait_for sign_ok
ok $? "reload: the new signer signs"

# --- a refused PIN at a re-login: never retried -----------------------------
logins=$(calls C_Login)
rules "C_Login error CKR_PIN_INCORRECT"
SIGNER=$(daemon_child p11b-signer)
kill -KILL "$SIGNER"
wait_log 'the token refused the PIN; the signer will NOT be restarted'
ok $? "PIN refused at re-login: a loud log line"
running "$DAEMON_PID"
ok $? "PIN refused: the broker stays up"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "PIN refused: sign answers TOKEN_UNAVAILABLE"
cli health
like "$(cat "$OUT")" "token=unavailable" "PIN refused: health says unavailable"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"
# Counted over the rest of the daemon's life, not over a time window.
is "$(calls C_Login)" "$((logins + 1))" \
    "PIN refused: exactly one more C_Login until the daemon stopped"
rules ""

# --- SIGTERM drains ---------------------------------------------------------
# Three workers, each holding one signature at the token (a hang rule,
# proven by the fault module's entry count), and a token-timeout that
# only a hang reaches: the three are surely in flight at the SIGTERM.
# stop-timeout: the drain waits for the release below, however long the
# checks before it take on a busy machine.
sed -e 's/^workers .*/workers 3/' -e "s/^token-timeout .*/token-timeout $HANG/" \
    "$CONF" >"$T/drain.conf"
printf 'stop-timeout %s\n' "$HANG" >>"$T/drain.conf"
grep -q '^workers 3$' "$T/drain.conf" || bail "sed failed on workers"
start_daemon "$T/drain.conf"
signs=$(calls C_Sign)
rules "C_Sign hang"
for i in 1 2 3; do
	timeout "$HANG" "$P11B" -s "$SOCK" sign ec256 -a ecdsa-p256-sha256 \
	    -i "$T/data" -o "$T/drain.$i" 2>"$T/drain.$i.err" &
	eval "d$i=\$!"
done
wait_for calls_above C_Sign $((signs + 2))
ok $? "SIGTERM: three signatures held at the token"
kill -TERM "$DAEMON_PID"
# The front's line: it has closed the listening socket by then.
# (start_daemon began a new log.)
wait_log '^p11brokerd\[front\]: signal 15: stopping'
ok $? "SIGTERM: the front says it is stopping"
_socket_accepts "$SOCK"
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
    "SIGTERM: a new connection is refused"
rules ""			# releases the three
drained=0
for i in 1 2 3; do
	eval "wait \$d$i" && [ "$(openssl dgst -sha256 -verify \
	    "$T/pub/ec256.pem" -signature "$T/drain.$i" "$T/data" 2>&1)" = \
	    "Verified OK" ] && drained=$((drained + 1))
done
is "$drained" 3 "SIGTERM: the 3 requests in flight completed and verify"
wait_exit "$DAEMON_PID"
is "$EXIT_RC" 0 "SIGTERM: the daemon exits 0"
DAEMON_PID=
rules ""
done_testing
