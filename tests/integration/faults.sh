#!/bin/bash
# The broker under token faults, with tests/faultmod's fault-pkcs11.so
# between the signer and SoftHSM2:
#   - a session or device error answers TOKEN_UNAVAILABLE, health says
#     so, requests are refused at once rather than queued, and signing
#     resumes within 1 s of the token coming back (new login, sessions);
#   - a hung call times out (token-timeout) while the other worker keeps
#     serving; when every worker hangs the signer is replaced;
#   - a refused PIN at a re-login is never retried: one C_Login, a loud
#     log line, the broker stays up answering TOKEN_UNAVAILABLE;
#   - verify-signatures never passes on a corrupted signature, low-s
#     gives s <= n/2;
#   - SIGTERM lets the requests in flight finish and refuses new ones.
. "$(dirname "$0")/lib.sh"

FAULTMOD="$top_builddir/tests/faultmod/.libs/fault-pkcs11.so"
[ -f "$FAULTMOD" ] || bail "$FAULTMOD not built (make check builds it)"
need_tools python3
# How long "at once" and "within 1 s" may take: valgrind is slow.
LIMIT=1000
[ -n "${P11B_DAEMON_WRAPPER:-}" ] && LIMIT=20000

setup_token
CTL="$T/fault.ctl"
COUNTS="$T/counts"
: >"$CTL"
: >"$COUNTS"
chmod 0644 "$CTL" "$COUNTS"
export FAULT_PKCS11_MODULE="$SOFTHSM_MODULE"
export FAULT_PKCS11_CONTROL="$CTL"
export FAULT_PKCS11_COUNTS="$COUNTS"

write_config "token-timeout 1" "sandbox read \"$T\"" \
    "sandbox allow ftruncate pwrite64"
sed -i "s|module \"$SOFTHSM_MODULE\"|module \"$FAULTMOD\"|" "$CONF"
sed -i 's/^key ec256   label "ec256"$/key ec256 label "ec256" verify-signatures low-s/' \
    "$CONF"
grep -q 'verify-signatures low-s' "$CONF" || bail "sed failed on ec256"
write_policy "permit user $ME stats"
start_daemon

# rules LINE...: replace the control file (atomically: a new inode).
rules()
{
	printf '%s\n' "$@" >"$CTL.new"
	chmod 0644 "$CTL.new"
	mv -f "$CTL.new" "$CTL"
}

calls()
{
	awk -v f="$1" '$1 == f { print $2; exit }' "$COUNTS"
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}


head -c 200 /dev/urandom >"$T/data"
sign_ok()
{
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 0 ] && [ "$(openssl dgst -sha256 -verify \
	    "$T/pub/ec256.pem" -signature "$OUT" "$T/data" 2>&1)" = \
	    "Verified OK" ]
}

sign_ok
ok $? "through the fault module, no rules: a verified signature"

# --- a device error: unhealthy, then back within 1 s ------------------------
rules "C_Sign error CKR_DEVICE_ERROR"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "CKR_DEVICE_ERROR: TOKEN_UNAVAILABLE (exit 10)" || diag "$ERR"
like "$ERR" "token-unavailable" "CKR_DEVICE_ERROR: the error names it"

# The token stays away: every call fails, the signer cannot start.
rules "* error CKR_TOKEN_NOT_PRESENT"
sleep 0.3
cli health
like "$(cat "$OUT")" "token=unavailable" "token gone: health says unavailable"
t0=$(now_ms)
fast=0
for i in 1 2 3 4 5; do
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 10 ] && fast=$((fast + 1))
done
t1=$(now_ms)
is "$fast" 5 "token gone: 5 requests, 5 TOKEN_UNAVAILABLE"
ok "$([ $((t1 - t0)) -lt $((LIMIT * 5 / 2)) ] && echo 0 || echo 1)" \
    "token gone: answered at once, not queued ($((t1 - t0)) ms for 5)"
sleep 1.5	# a few restart attempts with backoff
rules ""
t0=$(now_ms)
back=
while [ $(($(now_ms) - t0)) -lt $((LIMIT * 3)) ]; do
	if sign_ok; then
		back=$(($(now_ms) - t0))
		break
	fi
	sleep 0.05
done
ok "$([ -n "$back" ] && [ "$back" -le "$LIMIT" ] && echo 0 || echo 1)" \
    "token back: signing again after ${back:-never} ms (<= $LIMIT)"
diag "token back after ${back:-never} ms"
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
back=
t0=$(now_ms)
while [ $(($(now_ms) - t0)) -lt $((LIMIT * 3)) ]; do
	sign_ok && { back=$(($(now_ms) - t0)); break; }
	sleep 0.05
done
ok "$([ -n "$back" ] && [ "$back" -le "$LIMIT" ] && echo 0 || echo 1)" \
    "session error: signing again after ${back:-never} ms"

# --- a hung call: timeout, the other worker serves --------------------------
# bg_sign: a signature request in the background (cli() keeps no status).
bg_sign()
{
	timeout 20 "$P11B" -s "$SOCK" sign ec256 -a ecdsa-p256-sha256 \
	    -i "$T/data" >/dev/null 2>&1 &
}

rules "C_Sign hang count 1"
bg_sign
hung=$!
sleep 0.3
t0=$(now_ms)
sign_ok
ok $? "one worker hung: the other still signs"
ok "$([ $(($(now_ms) - t0)) -lt $((LIMIT * 9 / 10)) ] && echo 0 || echo 1)" \
    "one worker hung: that took $(($(now_ms) - t0)) ms"
wait "$hung"
rc=$?
is "$rc" 10 "the hung request times out with TOKEN_UNAVAILABLE"
grep -q 'no answer in 1000 ms' "$DAEMON_LOG"
ok $? "the log names the stuck worker"
rules ""			# releases the hung call
sleep 0.2
sign_ok
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
back=
t0=$(now_ms)
while [ $(($(now_ms) - t0)) -lt $((LIMIT * 3)) ]; do
	sign_ok && { back=1; break; }
	sleep 0.05
done
ok "$([ -n "$back" ] && echo 0 || echo 1)" "both workers hung: a new signer serves"
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

# --- a refused PIN at a re-login: never retried -----------------------------
logins=$(calls C_Login)
rules "C_Login error CKR_PIN_INCORRECT"
SIGNER=$(daemon_child p11b-signer)
kill -KILL "$SIGNER"
for i in $(seq 1 100); do
	grep -q 'refused the PIN' "$DAEMON_LOG" && break
	sleep 0.05
done
grep -q 'the token refused the PIN; the signer will NOT be restarted' \
    "$DAEMON_LOG"
ok $? "PIN refused at re-login: a loud log line"
sleep 2
is "$(calls C_Login)" "$((logins + 1))" \
    "PIN refused: exactly one more C_Login in 2 s (no retry)"
running "$DAEMON_PID"
ok $? "PIN refused: the broker stays up"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "PIN refused: sign answers TOKEN_UNAVAILABLE"
cli health
like "$(cat "$OUT")" "token=unavailable" "PIN refused: health says unavailable"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"
rules ""

# --- SIGTERM drains ---------------------------------------------------------
start_daemon
rules "C_Sign delay 400ms"
for i in 1 2 3; do
	timeout 20 "$P11B" -s "$SOCK" sign ec256 -a ecdsa-p256-sha256 \
	    -i "$T/data" -o "$T/drain.$i" 2>"$T/drain.$i.err" &
	eval "d$i=\$!"
done
sleep 0.2
kill -TERM "$DAEMON_PID"
sleep 0.1
cli health
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "SIGTERM: a new connection is refused (exit $RC)"
drained=0
for i in 1 2 3; do
	eval "wait \$d$i" && [ "$(openssl dgst -sha256 -verify \
	    "$T/pub/ec256.pem" -signature "$T/drain.$i" "$T/data" 2>&1)" = \
	    "Verified OK" ] && drained=$((drained + 1))
done
is "$drained" 3 "SIGTERM: the 3 requests in flight completed and verify"
wait_exit "$DAEMON_PID" 10
is "$EXIT_RC" 0 "SIGTERM: the daemon exits 0 within 10 s"
DAEMON_PID=
rules ""
done_testing
