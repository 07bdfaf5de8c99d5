#!/bin/bash
# A module that makes a call its sandbox refuses (tests/faultmod's
# "socket inet": a TCP-speaking HSM client) under "sandbox enforce":
#   - the log names the call, its number and family, and the config line
#     that would allow it (the signer's SIGSYS handler reports it; the
#     monitor logs it as the signer's word);
#   - restarts back off, doubling from 50 ms (the delays are read from the
#     log, not timed), and from the third quick death the token is
#     unavailable: 20 of 20 health probes under load say so;
#   - Stats counts the starts, restarts and sandbox kills by call name,
#     as the log does; the token back, health is ready again;
#   - "sandbox allow socket inet" lets AF_INET through (a verified
#     signature) and still stops AF_NETLINK;
#   - a wrong PIN at a reload counts one login failure.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build (the sandbox is off there)"

setup_token
fault_setup
fault_write_config
write_policy "permit user $ME stats"
start_daemon
sign_ok
ok $? "no rules: a verified signature under sandbox enforce"

# prom NAME{LABELS}: the value of one series of `stats --prometheus`.
prom()
{
	cli stats --prometheus
	awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "none" }' \
	    "$OUT"
}

# --- the forbidden call ---------------------------------------------------
rules "C_Sign socket inet"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 10 "socket(AF_INET) in C_Sign: the request answers TOKEN_UNAVAILABLE" ||
    diag "$ERR"
REPORT='stopped by its sandbox: it reports the system call socket \(41, family AF_INET\); the config line that allows it: "sandbox allow socket inet"'
wait_log "$REPORT"
ok $? "the log names socket (41), AF_INET and the line to add" ||
    diag "$(grep monitor "$DAEMON_LOG" | tail -n 5)"

# Requests keep killing new signers; from the third in a row the token
# is unavailable.
sign_and_unavailable_logged()
{
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	log_has 'signers in a row ended within 10 s; the token is UNAVAILABLE'
}
wait_for sign_and_unavailable_logged
ok $? "three quick deaths: the monitor says the token is UNAVAILABLE"
wait_for health_says unavailable
ok $? "health follows"
ready=0
for i in $(seq 1 20); do
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	cli health
	grep -q 'token=ready' "$OUT" && ready=$((ready + 1))
done
is "$ready" 0 "under load in the crash loop: 0 of 20 health probes say ready"

# The restart delays, as the monitor logged them: doubling from 50 ms,
# at most 30 s.
delays=$(sed -n 's/.*restarting the signer in \([0-9]*\) ms$/\1/p' \
    "$DAEMON_LOG" | tr '\n' ' ')
want=50
bad=
for d in $delays; do
	[ "$d" -eq "$want" ] || bad="$bad $d(want $want)"
	want=$((want * 2 > 30000 ? 30000 : want * 2))
done
is "$bad" "" "restart delays double from 50 ms: $delays"
kills=$(log_count 'stopped by its sandbox: it reports the system call socket')
ok "$([ "$kills" -ge 3 ] && echo 0 || echo 1)" "$kills sandbox kills logged"

# Stats, once the monitor's counts reached the front (no more requests,
# so no more kills; the last scheduled restart may still be pending).
kills_counted()
{
	[ "$(prom 'p11broker_sandbox_kills_total{syscall="socket"}')" = \
	    "$kills" ] &&
	[ "$(prom p11broker_signer_restarts_total)" = "$kills" ]
}
wait_for kills_counted
ok $? "p11broker_sandbox_kills_total{syscall=\"socket\"} and restarts: $kills" ||
    diag "$(grep -E 'sandbox_kills|signer_' "$OUT")"
is "$(prom p11broker_signer_starts_total)" "$((kills + 1))" \
    "p11broker_signer_starts_total: the first one and $kills restarts"
is "$(prom p11broker_login_failures_total)" 0 "no login failure"
grep -q '^# HELP p11broker_sandbox_kills_total ' "$OUT"
ok $? "p11broker_sandbox_kills_total has a HELP line"
is "$(prom p11broker_token_ready)" 0 "p11broker_token_ready 0"

# --- the module fixed: back --------------------------------------------------
rules ""
wait_for sign_ok
ok $? "the call gone: signing again (after the backoff)"
health_says ready
ok $? "a signer that served: health says ready"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

# --- sandbox allow socket inet ---------------------------------------------
fault_write_config "sandbox allow socket inet"
rules "C_Sign socket inet"
start_daemon
sign_ok
ok $? "sandbox allow socket inet: socket(AF_INET) goes through, a verified signature"
ok "$(log_has 'stopped by its sandbox' && echo 1 || echo 0)" \
    "... and nothing was stopped"
rules "C_Sign socket netlink"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
wait_log 'it reports the system call socket \(41, family AF_NETLINK\); the config line that allows it: "sandbox allow socket"'
ok $? "sandbox allow socket inet: AF_NETLINK is still stopped, and named"
rules ""
stop_daemon

# --- a wrong PIN: one login failure ------------------------------------------
printf '%s\n' "$PIN" >"$T/pin"
chmod 0600 "$T/pin"
fault_write_config
sed -i "s|pin-env \"P11BROKER_PIN\"|pin-file \"$T/pin\"|" "$CONF"
grep -q "pin-file \"$T/pin\"" "$CONF" || bail "sed failed on pin-file"
start_daemon
printf '%s\n' 999999 >"$T/pin"
kill -HUP "$DAEMON_PID"
wait_log 'reload rejected'
ok $? "a wrong PIN in the pin-file: the reload is rejected"
wait_for eval '[ "$(prom p11broker_login_failures_total)" = 1 ]'
ok $? "p11broker_login_failures_total 1"
is "$(prom p11broker_signer_starts_total)" 2 \
    "p11broker_signer_starts_total 2 (the first, the reload's)"
is "$(prom p11broker_signer_restarts_total)" 0 "no restart"
sign_ok
ok $? "the signer in force still signs"
stop_daemon

done_testing
