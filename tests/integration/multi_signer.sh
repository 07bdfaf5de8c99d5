#!/bin/bash
# Several signer processes per token ("signers 3").  Four client loops
# sign with the real CLI, every signature checked by openssl, while one
# signer at a time is SIGKILLed (several times) and while the files are
# reloaded: the other signers serve, a dead signer's jobs are sent once
# more to another, so no client sees an error.  Stats, health and the
# Prometheus text report each signer.  Every signer killed at once (the
# monitor held, so that none comes back before we look): health is not
# ready; let go: ready again.  A reload to "signers 1" serves too.
# Last, deterministically: a signer SIGKILLed while the token holds its
# jobs (the fault module's hang); they are answered by the other signer,
# each signature verified.
. "$(dirname "$0")/lib.sh"
. "$INTEGRATION_DIR/faultlib.sh"
. "$INTEGRATION_DIR/loadlib.sh"

setup_token
SIGNERS=3
write_config
write_policy "permit user $ME stats"
start_daemon

# signer_pids: the daemon's signer processes, one a line.
signer_pids()
{
	local p
	for p in $(pgrep -P "$DAEMON_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = p11b-signer ] &&
		    echo "$p"
	done
	return 0
}

# signers_up N: stats say N configured and N serving, and exactly N
# signer processes run (retired ones gone).
signers_up()
{
	"$P11B" -s "$SOCK" stats 2>/dev/null |
	    grep -qx "signers configured=$1 up=$1" &&
	    [ "$(signer_pids | wc -l)" -eq "$1" ]
}

# none_of OLD: no signer pid now is one of OLD.
none_of()
{
	local p
	for p in $(signer_pids); do
		case " $1 " in *" $p "*) return 1 ;; esac
	done
	return 0
}

wait_for signers_up 3
ok $? "signers 3: three signer processes serve" ||
    diag "$(signer_pids | tr '\n' ' ')"
cli health
like "$(cat "$OUT")" "workers=6 signers=3 signers-up=3" \
    "health: 6 sessions, 3 signers, 3 up"
cli stats
is "$(grep -c '^signer slot=[0-2] up=1 looping=0 starts=1 restarts=0 busy=[0-9]*$' \
    "$OUT")" 3 "stats: one line per signer slot, each up" ||
    diag "$(grep '^signer' "$OUT")"
cli stats --prometheus
like "$(cat "$OUT")" 'p11broker_signers_up 3' "prometheus: signers_up 3"
like "$(cat "$OUT")" 'p11broker_signer_up\{slot="2"\} 1' \
    "prometheus: per-slot signer_up"

load_start 4
load_more 20
ok $? "four client loops sign" || diag "$(cat "$T"/fail.* | head -n 5)"

for round in 1 2 3 4; do
	before=$(signer_pids | tr '\n' ' ')
	victim=$(signer_pids | sed -n "$(( (round - 1) % 3 + 1 ))p")
	kill -KILL "$victim"
	ok $? "round $round: SIGKILL signer $victim while the loops sign"
	wait_for signers_up 3
	ok $? "round $round: three signers serve again" ||
	    diag "$(signer_pids | tr '\n' ' ')"
	running "$victim"
	ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
	    "round $round: signer $victim is gone (others: $before)"
	load_more 8
	ok $? "round $round: the loops go on signing"
done

old=$(signer_pids | tr '\n' ' ')
kill -HUP "$DAEMON_PID"
wait_log 'reloaded '
ok $? "SIGHUP under load: reloaded" ||
    diag "$(grep -E 'reload|signer' "$DAEMON_LOG" | tail -n 5)"
wait_for eval 'none_of "$old" && signers_up 3'
ok $? "after the reload: three new signers ($(signer_pids | tr '\n' ' '))"
load_more 8
ok $? "after the reload: the loops go on signing"

load_stop
n=$(load_total)
cat "$T"/fail.* >"$T/failures"
is "$(wc -l <"$T/failures")" 0 \
    "$n signatures, every one made and verified by openssl" ||
    diag "$(sort "$T/failures" | uniq -c | head -n 5)"

cli stats
restarts=$(sed -n 's/^signers starts=[0-9]* restarts=\([0-9]*\) .*/\1/p' \
    "$OUT")
ok "$([ "${restarts:-0}" -ge 4 ] && echo 0 || echo 1)" \
    "stats: $restarts signer restarts (4 kills)"
slot_restarts=$(sed -n 's/^signer slot=.* restarts=\([0-9]*\) .*/\1/p' \
    "$OUT" | awk '{ s += $1 } END { print s + 0 }')
is "$slot_restarts" "$restarts" "stats: the slots' restarts add up" ||
    diag "$(grep '^signer' "$OUT")"
grep -q 'the other signers serve' "$DAEMON_LOG"
ok $? "the log says the other signers serve"
diag "jobs of a killed signer sent to another: $(grep -o \
    '[0-9]* of its jobs sent to the other signers' "$DAEMON_LOG" |
    awk '{ s += $1 } END { print s + 0 }')"

# Every signer at once, the monitor held so that none is restarted yet.
MONITOR=$DAEMON_PID
all=$(signer_pids)
kill -STOP "$MONITOR"
# shellcheck disable=SC2086
kill -KILL $all
_unready()
{
	"$P11B" -s "$SOCK" health >"$T/health" 2>/dev/null
	[ $? -ne 0 ] && grep -q 'token=unavailable .*signers-up=0' "$T/health"
}
wait_for _unready
ok $? "every signer killed: health not ready" || diag "$(cat "$T/health")"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/in.1"
like "$ERR" "token-unavailable|TOKEN_UNAVAILABLE|unavailable" \
    "every signer killed: a request is answered token-unavailable"
kill -CONT "$MONITOR"
_ready()
{
	"$P11B" -s "$SOCK" health >"$T/health" 2>/dev/null &&
	    grep -q 'token=ready .*signers-up=3' "$T/health"
}
wait_for _ready
ok $? "the monitor restarts them: health ready, three up" ||
    diag "$(cat "$T/health")"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/in.1"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/in.1" 2>&1)" "Verified OK" "then a signature verifies"

# signers 1, by a reload.
SIGNERS=1
write_config
old=$(signer_pids | tr '\n' ' ')
kill -HUP "$DAEMON_PID"
wait_log 'reloaded ' 2
ok $? "reload to signers 1"
wait_for eval 'none_of "$old" && signers_up 1'
ok $? "signers 1: one signer serves"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/in.1"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/in.1" 2>&1)" "Verified OK" "signers 1: a signature verifies"
cli health
like "$(cat "$OUT")" "workers=2 signers=1 signers-up=1" "health: one signer"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

# --- a signer killed with jobs at the token --------------------------------
# Two signers of two workers; every C_Sign hangs until the rule goes, so
# four requests hold all four sessions, two on each signer.  The victim's
# two are sent to the other signer, where they wait for a session; once
# the hang is lifted all four are answered.
fault_setup
SIGNERS=2 fault_write_config "token-timeout 120"
start_daemon
wait_for signers_up 2
ok $? "fault module: two signers serve"
rules "C_Sign hang"
pids=
for i in 1 2 3 4; do
	head -c 300 /dev/urandom >"$T/held.$i"
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" -s "$SOCK" sign ec256 \
	    -a ecdsa-p256-sha256 -i "$T/held.$i" >"$T/held.$i.sig" \
	    2>"$T/held.$i.err" &
	pids="$pids $!"
done
wait_for calls_above C_Sign 3
ok $? "four signatures held at the token (C_Sign entered $(calls C_Sign) times)"
victim=$(signer_pids | head -n 1)
kill -KILL "$victim"
wait_log 'of its jobs sent to the other signers'
ok $? "the killed signer's jobs went to the other signer" ||
    diag "$(grep -E 'signer' "$DAEMON_LOG" | tail -n 5)"
sent=$(grep -o '[0-9]* of its jobs sent to the other signers' "$DAEMON_LOG" |
    tail -n 1 | cut -d' ' -f1)
ok "$([ "${sent:-0}" -ge 1 ] && echo 0 || echo 1)" \
    "the log counts them: ${sent:-0} (the victim held two sessions)"
rules ""			# the hang ends: every held call returns
failed=0
for p in $pids; do
	wait "$p" || failed=$((failed + 1))
done
is "$failed" 0 "all four clients got an answer, none an error" ||
    diag "$(cat "$T"/held.*.err)"
for i in 1 2 3 4; do
	is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
	    -signature "$T/held.$i.sig" "$T/held.$i" 2>&1)" "Verified OK" \
	    "held request $i: openssl verifies its signature"
done
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"
done_testing
