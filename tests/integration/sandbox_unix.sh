#!/bin/bash
# "sandbox connect-unix PATH" (what the opensc and nshield profiles use):
# a module that connects to a local daemon's Unix socket after the
# signer is confined (libpcsclite to pcscd after a reset, nShield to a
# restarted hardserver).  tests/faultmod's module connects from inside
# C_Sign, under "sandbox enforce":
#   - without the knob the socket is refused (EACCES), the signer lives;
#   - with it the connect to the listed path goes through;
#   - and, measured and documented: a path that is not listed is NOT
#     refused.  seccomp cannot read connect()'s address, and this
#     kernel's Landlock (ABI 7) has no right for connecting to a
#     pathname socket even with file reads confined ("sandbox read").
# When a kernel confines it, the last step fails: update
# p11brokerd.conf(5) and contrib/vendors/README.md then.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build (the sandbox is off there)"
need_tools python3

setup_token
fault_setup

# listener DIR NAME: a Unix socket DIR/NAME.sock that logs each
# connection in $T/NAME.conns.
listener()
{
	python3 - "$1/$2" "$T/$2" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + ".sock")
os.chmod(sys.argv[1] + ".sock", 0o777)
s.listen(8)
while True:
    c, _ = s.accept()
    with open(sys.argv[2] + ".conns", "a") as f:
        f.write("connection\n")
    c.close()
PY
	local pid=$!
	on_cleanup "kill $pid 2>/dev/null"
	wait_for test -S "$1/$2.sock" || bail "listener $2 did not start"
}
# The unlisted socket lies outside every "sandbox read" path too.
ODIR=$(mktemp -d /tmp/p11b-unix.XXXXXX) || bail "mktemp"
on_cleanup 'rm -rf "$ODIR"'
chmod 0755 "$ODIR"
listener "$T" hsm
listener "$ODIR" other
conns() { cat "$T/$1.conns" 2>/dev/null | wc -l; }
chmod 0755 "$T"

# step RULE LOGLINE DESCRIPTION: the rule on C_Sign, a verified
# signature, and the module's line about it in the log.
step()
{
	rules "C_Sign $1"
	sign_ok
	ok $? "$3: a verified signature"
	wait_log "fault-pkcs11: C_Sign: $2"
	ok $? "$3" || diag "$(grep fault-pkcs11 "$DAEMON_LOG" | tail -n 3)"
}
use_ctl()
{
	sed -i "s|^\tpin-env \"P11BROKER_PIN\"|&\n\tmodule-env \"FAULT_PKCS11_CONTROL=$CTL\"|" \
	    "$CONF"
	grep -q 'module-env "FAULT_PKCS11_CONTROL=' "$CONF" || bail "sed failed"
}

fault_write_config
use_ctl
write_policy
unset FAULT_PKCS11_CONTROL
start_daemon
step "connect $T/hsm.sock" "connect $T/hsm.sock: Permission denied" \
    "no connect-unix: socket(AF_UNIX) refused after start-up"
is "$(conns hsm)" 0 "... the daemon's socket saw nothing"
! log_has 'stopped by its sandbox'
ok $? "... and the signer was not stopped (EACCES, not a trap)"
rules ""
stop_daemon

fault_write_config "sandbox connect-unix \"$T/hsm.sock\""
use_ctl
start_daemon
step "connect $T/hsm.sock" "connect $T/hsm.sock: ok" \
    "sandbox connect-unix: a connect to the listed socket"
wait_for test "$(conns hsm)" -ge 1
ok $? "... the daemon's socket saw it"
step "connect $ODIR/other.sock" "connect $ODIR/other.sock: ok" \
    "sandbox connect-unix: an unlisted path is not refused (kernel limit, documented)"
wait_for test "$(conns other)" -ge 1
ok $? "... the other socket saw it: the path list is not enforced"
! log_has 'stopped by its sandbox'
ok $? "no signer was stopped by its filter"
rules ""
stop_daemon

done_testing
