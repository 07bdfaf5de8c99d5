#!/bin/bash
# p11broker-pkcs11.so when the broker dies: SIGKILL during a 4-thread
# signing run makes every thread return CKR_DEVICE_ERROR (none hangs),
# and after a restart the same module instance signs again (it
# reconnects).  And when the broker closes an idle connection (seen in
# its stats), the next call does not notice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

pkcs11_setup
GO="$T/restarted"
timeout -k 2 $((HANG * 3)) "$PKCS11_CLIENT" "$MODULE" kill "$DAEMON_PID" \
    "$GO" >"$T/client.out" 2>"$T/client.err" &
CLIENT=$!
# The client kills the broker; restart it once the old one is gone.
wait_for _not_running "$DAEMON_PID"
old=$DAEMON_PID
stop_daemon >/dev/null
# The old signer (same process group) must be gone before a new one
# opens the token.
group_gone()
{
	! pgrep -g "$1" >/dev/null 2>&1
}
wait_for group_gone "$old"
start_daemon
touch "$GO"
wait "$CLIENT"
rc=$?
client_report
ok "$rc" "pkcs11_client kill"

stop_daemon >/dev/null
IDLE_TIMEOUT=1 write_config
write_policy "permit user $ME stats"
start_daemon
# only_stats_connected: the broker holds no connection but the stats
# request's own (it closed the module's idle one).
only_stats_connected()
{
	cli stats
	grep -q ' connections=1 ' "$OUT"
}
# module_signed: the client signed once and waits for the go-ahead.
module_signed()
{
	grep -q '^# waiting for' "$T/client.out" || ! running "$CLIENT"
}
: >"$T/client.out"
timeout -k 2 $((HANG * 3)) "$PKCS11_CLIENT" "$MODULE" idle "$T/idle.go" \
    >"$T/client.out" 2>"$T/client.err" &
CLIENT=$!
wait_for module_signed
wait_for only_stats_connected
ok $? "the broker closed the module's idle connection (stats: connections=1)"
touch "$T/idle.go"
wait "$CLIENT"
rc=$?
client_report
ok "$rc" "pkcs11_client idle"

done_testing
