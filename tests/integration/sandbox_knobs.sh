#!/bin/bash
# The sandbox knobs a vendor module needs, under "sandbox enforce", with
# tests/faultmod's module acting as one (open, create, connect from
# inside C_Sign; it logs how each went):
#   - module-env: the module's own settings come from the config, not
#     from the daemon's environment (here its control file: every rule
#     below reaches it only through module-env);
#   - "sandbox read" leaves /dev/urandom readable and nothing else
#     outside its paths;
#   - "sandbox write DIR": files are created below DIR, not elsewhere;
#   - "sandbox connect-port P" (Landlock, by port only): a TCP connect
#     to P goes through, to another port is refused, and
#     "sandbox allow socket inet" lets the socket be made.
# Each step signs (openssl verifies) and reads the module's own line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faultlib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build (the sandbox is off there)"
need_tools python3

setup_token
fault_setup

# listener NAME: a TCP listener on 127.0.0.1 that logs each connection
# in $T/NAME.conns; its port in $T/NAME.port.
listener()
{
	python3 - "$T/$1" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".port.new", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".port.new", sys.argv[1] + ".port")
while True:
    c, _ = s.accept()
    with open(sys.argv[1] + ".conns", "a") as f:
        f.write("connection\n")
    c.close()
PY
	local pid=$!
	on_cleanup "kill $pid 2>/dev/null"
	wait_for test -s "$T/$1.port" || bail "listener $1 did not start"
}
listener allowed
listener other
P1=$(cat "$T/allowed.port")
P2=$(cat "$T/other.port")
conns() { cat "$T/$1.conns" 2>/dev/null | wc -l; }

mkdir "$T/store"
[ "$(id -u)" -eq 0 ] && chown "$P11B_DAEMON_USER" "$T/store"
fault_write_config "sandbox allow socket inet" "sandbox connect-port $P1" \
    "sandbox write \"$T/store\""
sed -i "s|^\tpin-env \"P11BROKER_PIN\"|&\n\tmodule-env \"FAULT_PKCS11_CONTROL=$CTL\"|" \
    "$CONF"
grep -q 'module-env "FAULT_PKCS11_CONTROL=' "$CONF" || bail "sed failed"
write_policy
unset FAULT_PKCS11_CONTROL
start_daemon

# (The signer sets it with setenv: /proc/PID/environ shows only what a
# process was started with, so the module's rules below are the proof.)
is "$(tr '\0' '\n' <"/proc/$DAEMON_PID/environ" | grep -c '^FAULT_PKCS11_CONTROL=')" \
    0 "module-env: the monitor does not"

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

step "open /dev/urandom" "open /dev/urandom: ok" \
    "sandbox read: /dev/urandom is readable (and module-env set the rules)"
step "open /etc/passwd" "open /etc/passwd: Permission denied" \
    "sandbox read: /etc/passwd is not"
step "create $T/store/obj" "create $T/store/obj: ok" \
    "sandbox write: a file created below the write path"
[ -f "$T/store/obj" ]
ok $? "... and it is there"
step "create $T/outside" "create $T/outside: Permission denied" \
    "sandbox write: not outside it"
[ ! -e "$T/outside" ]
ok $? "... and nothing was created"
if [ "$(python3 -c 'import ctypes,os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(444, None, 0, 1))')" -ge 4 ]; then
	step "connect $P1" "connect $P1: ok" \
	    "sandbox connect-port $P1: a TCP connect to it"
	wait_for test "$(conns allowed)" -ge 1
	ok $? "... the listener on $P1 saw it"
	step "connect $P2" "connect $P2: Permission denied" \
	    "sandbox connect-port: port $P2 is refused"
	is "$(conns other)" 0 "... the listener on $P2 saw nothing"
else
	ok 0 "# SKIP no Landlock ABI 4 (TCP rules) on this kernel"
fi
! log_has 'stopped by its sandbox'
ok $? "no signer was stopped by its filter"
rules ""
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
