#!/bin/bash
# tests/reliability/front_faults.sh [BUILDDIR] -- front and PIN faults,
# measured (make check asserts the outcomes in hostile_faults.sh, never
# a time).  The real daemon on a throwaway SoftHSM2 token behind
# tests/faultmod's fault-pkcs11.so (which counts C_Login):
#
#   front-kill      SIGKILL of the front: ms from the kill to the first
#                   verified signature (CLI runs, ~10 ms each, included);
#                   each round on a daemon of its own, so each restart
#                   is at the 100 ms backoff floor
#   front-stop      SIGSTOP of the front with front-watchdog 2: ms from
#                   the stop to the first verified signature
#   client-timeout  P11BROKER_TIMEOUT=1, the CLI against a stopped front
#                   (front-watchdog 0): ms until it exits 3
#   pin-reloads     after the token refused the PIN: C_Login calls made
#                   by 20 SIGHUPs with the same pin-file (must be 0)
#
# ROUNDS (default 5) measurements per figure; one line each: median,
# min, max.  Not part of make check.
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
ROUNDS=${ROUNDS:-5}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/faultlib.sh"

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

report()
{
	local name=$1 unit=$2
	shift 2
	printf '%s\n' "$@" | sort -n | awk -v n="$name" -v u="$unit" '
	    { v[NR] = $1 }
	    END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%-15s median %s %s  min %s  max %s  (n=%d)\n",
		    n, m, u, v[1], v[NR], NR
	    }'
}

as_daemon_user()
{
	setpriv --reuid="$P11B_DAEMON_USER" \
	    --regid="$(id -g "$P11B_DAEMON_USER")" --clear-groups "$@"
}

# ms_until_signed T0: keep signing until one verifies; ms since T0.
ms_until_signed()
{
	until sign_ok; do :; done
	echo $(($(now_ms) - $1))
}

setup_token
fault_setup
printf '%s\n' "$PIN" >"$T/pin"
chmod 0600 "$T/pin"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, loadavg" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"

# front-kill and front-stop
fault_write_config "front-watchdog 2"
write_policy
# fresh_daemon: a daemon of its own for one round (no backoff carried
# over from the round before), serving.
fresh_daemon()
{
	[ -z "$DAEMON_PID" ] || stop_daemon
	start_daemon
	sign_ok || bail "no signature"
}
v=()
for i in $(seq 1 "$ROUNDS"); do
	fresh_daemon
	t0=$(now_ms)
	kill -KILL "$(daemon_child p11b-front)"
	v+=("$(ms_until_signed "$t0")")
done
report front-kill ms "${v[@]}"
v=()
for i in $(seq 1 "$ROUNDS"); do
	fresh_daemon
	t0=$(now_ms)
	as_daemon_user kill -STOP "$(daemon_child p11b-front)"
	v+=("$(ms_until_signed "$t0")")
done
report front-stop ms "${v[@]}"
stop_daemon

# client-timeout
fault_write_config "front-watchdog 0"
start_daemon
front=$(daemon_child p11b-front)
kill -STOP "$front"
v=()
for i in $(seq 1 "$ROUNDS"); do
	t0=$(now_ms)
	P11BROKER_TIMEOUT=1 cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 3 ] || bail "exit $RC, not 3"
	v+=("$(($(now_ms) - t0))")
done
report client-timeout ms "${v[@]}"
kill -CONT "$front"
stop_daemon

# pin-reloads
fault_write_config
sed -i "s|pin-env \"P11BROKER_PIN\"|pin-file \"$T/pin\"|" "$CONF"
start_daemon
rules "C_Login error CKR_PIN_INCORRECT"
kill -KILL "$(daemon_child p11b-signer)"
wait_log 'the token refused the PIN' || bail "no refusal"
logins=$(calls C_Login)
for i in $(seq 1 20); do
	kill -HUP "$DAEMON_PID"
	wait_log 'reload rejected' "$i" || bail "reload $i not rejected"
done
echo "pin-reloads     C_Login $logins before, $(calls C_Login) after 20" \
    "SIGHUPs with the refused PIN"
rules ""
stop_daemon
