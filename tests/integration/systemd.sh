#!/bin/bash
# Under systemd: the shipped units rate well in `systemd-analyze
# security`; the broker takes its socket from socket activation
# (LISTEN_FDS) and its PIN from a credential, started unprivileged as the
# service user (no "user" statement, nothing to drop), and is still
# sandboxed: both children show Seccomp 2 and NoNewPrivs 1 as that user.
. "$(dirname "$0")/lib.sh"

UNITS="$top_srcdir/contrib/systemd"
need_tools systemd-analyze systemd-socket-activate setpriv

# The score of the shipped service unit (0 = best, 10 = worst).
unit_rated "$UNITS/p11brokerd.service" 1.0 "the service"
# The drop-ins for HSMs the tight unit cannot reach (contrib/systemd/
# drop-ins/): each, applied to the unit (a second [Service] section is
# what systemd makes of a drop-in), still rates <= 1.5, and a network
# drop-in keeps the unit's IPAddressDeny=any.
units=$(mktemp -d) || bail "mktemp failed"
for d in "$UNITS"/drop-ins/*.conf; do
	name=$(basename "$d" .conf)
	cat "$UNITS/p11brokerd.service" "$d" >"$units/p11brokerd.service"
	unit_rated "$units/p11brokerd.service" 1.5 "the unit with drop-in $name"
done
rm -rf "$units"
grep -q '^IPAddressAllow=' "$UNITS/drop-ins/network-hsm.conf" &&
    ! grep -q '^IPAddressDeny=' "$UNITS/drop-ins/network-hsm.conf"
ok $? "the network drop-in only adds addresses to the unit's IPAddressDeny=any"
grep -q '^LoadCredential=pin:' "$UNITS/p11brokerd.service"
ok $? "the service passes the PIN as a credential"
grep -q '^ListenStream=/run/p11broker/p11broker.sock' \
    "$UNITS/p11brokerd.socket"
ok $? "the socket unit listens where the default config says"

[ "$(id -u)" -eq 0 ] || { done_testing; exit 0; }

P11B_NO_USER=1
setup_token
mkdir -p "$T/creds"
printf '%s' "$PIN" >"$T/creds/pin"
chmod 0400 "$T/creds/pin"
chown "$P11B_DAEMON_USER" "$T/creds" "$T/creds/pin"
write_config
sed -i 's/pin-env "P11BROKER_PIN"/pin-credential "pin"/' "$CONF"
grep -q 'pin-credential' "$CONF" || bail "sed failed"
write_policy
chmod 0644 "$CONF" "$POLICY"

# systemd-socket-activate (as root) makes the socket, then the broker
# runs as the service user with it in fd 3.
: >"$DAEMON_LOG"
setsid systemd-socket-activate -l "$SOCK" \
    -E CREDENTIALS_DIRECTORY="$T/creds" -E SOFTHSM2_CONF \
    setpriv --reuid="$P11B_DAEMON_USER" --regid="$P11B_DAEMON_USER" \
    --clear-groups "$BROKERD" -d -f "$CONF" </dev/null >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
wait_for test -S "$SOCK"
chmod 0666 "$SOCK"
# The first connection starts nothing new: the broker is already running.
# answers_health: a health request on $SOCK succeeds.
answers_health()
{
	timeout "$HANG" "$P11B" -s "$SOCK" health >/dev/null 2>&1
}
wait_for answers_health
cli health
is "$RC" 0 "socket-activated broker answers health" ||
    diag "$ERR" "$(cat "$DAEMON_LOG")"
head -c 500 /dev/urandom >"$T/data"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "socket activation + credential PIN: sign" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "the signature verifies"

uid=$(id -u "$P11B_DAEMON_USER")
n=0
for p in $(pgrep -P "$DAEMON_PID"); do
	comm=$(cat "/proc/$p/comm")
	case "$comm" in p11b-front|p11b-signer) ;; *) continue ;; esac
	n=$((n + 1))
	is "$(awk '$1 == "Uid:" { print $2 }' "/proc/$p/status")" "$uid" \
	    "$comm: runs as $P11B_DAEMON_USER"
	[ -n "${P11B_SANITIZED:-}" ] ||
	    is "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$p/status")" 2 \
	    "$comm: Seccomp 2"
	is "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$p/status")" 1 \
	    "$comm: NoNewPrivs 1"
done
is "$n" 2 "a front and a signer under the socket-activated monitor"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

# A socket that is not the configured one is refused, clearly.
AS_USER="setpriv --reuid=$P11B_DAEMON_USER --regid=$P11B_DAEMON_USER --clear-groups"
CREDENTIALS_DIRECTORY="$T/creds" $AS_USER "$BROKERD" -n -f "$CONF" \
    >/dev/null 2>&1
is "$?" 0 "-n accepts the config (as the service user)"
systemd-socket-activate -l "$T/other.sock" \
    -E CREDENTIALS_DIRECTORY="$T/creds" -E SOFTHSM2_CONF \
    $AS_USER "$BROKERD" -d -f "$CONF" </dev/null >"$T/other.log" 2>&1 &
other=$!
wait_for test -S "$T/other.sock"
timeout "$HANG" "$P11B" -s "$T/other.sock" health >/dev/null 2>&1
wait_for _not_running "$other"
like "$(cat "$T/other.log")" "socket activation: got .*other.sock, the config says" \
    "an inherited socket at another path is refused with a clear error"
kill "$other" 2>/dev/null
wait "$other" 2>/dev/null
done_testing
