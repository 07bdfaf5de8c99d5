#!/bin/bash
# p11broker-pkcs11.so when the broker dies: SIGKILL during a 4-thread
# signing run makes every thread return CKR_DEVICE_ERROR within 1 s, and
# after a restart the same module instance signs again (it reconnects).
# And when the broker closes an idle connection, the next call does not
# notice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

pkcs11_setup
GO="$T/restarted"
timeout -k 2 60 "$PKCS11_CLIENT" "$MODULE" kill "$DAEMON_PID" "$GO" \
    >"$T/client.out" 2>"$T/client.err" &
CLIENT=$!
# The client kills the broker; restart it once the old one is gone.
for i in $(seq 1 400); do
	running "$DAEMON_PID" || break
	sleep 0.05
done
old=$DAEMON_PID
stop_daemon >/dev/null
# The old signer (same process group) must be gone before a new one
# opens the token.
for i in $(seq 1 100); do
	pgrep -g "$old" >/dev/null 2>&1 || break
	sleep 0.05
done
# What is tested here is the module; a daemon that fails its own start
# (reported by diag) gets one more chance.
if ! try_start_daemon; then
	diag "restart failed once; retrying"
	sleep 1
	start_daemon
fi
touch "$GO"
wait "$CLIENT"
rc=$?
client_report
ok "$rc" "pkcs11_client kill"

stop_daemon >/dev/null
IDLE_TIMEOUT=1 write_config
start_daemon
run_client idle 3
ok $? "pkcs11_client idle"

done_testing
