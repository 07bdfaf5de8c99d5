#!/bin/bash
# The sandbox holds: the front and the signer run as the configured user
# with seccomp filtering (Seccomp: 2) and no new privileges, the front
# never maps the PKCS#11 module, and the whole workload (every operation,
# a reload, an audit reopen) runs in enforce mode without a process being
# killed.  Then the real filters, installed in a child by sandbox_probe,
# end it with SIGSYS for execve, socket, a write open, ptrace and an
# executable mapping; Landlock refuses a read outside the allowed paths.
. "$(dirname "$0")/lib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build (its runtime needs calls the allowlists forbid)"
PROBE="$top_builddir/tests/tools/sandbox_probe"
[ -x "$PROBE" ] || bail "$PROBE not built"
SIGSYS=31

setup_token
write_config "sandbox enforce" \
    "audit \"$T/audit.log\" checkpoint-key ec521"
write_policy
start_daemon


status_field()
{
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' \
	    "/proc/$1/status"
}

FRONT=$(daemon_child p11b-front)
SIGNER=$(daemon_child p11b-signer)
ok $? "the daemon runs a front ($FRONT) and a signer ($SIGNER)"
[ -n "$FRONT" ] && [ -n "$SIGNER" ] || bail "no front or signer process"

if [ "$(id -u)" -eq 0 ]; then
	uid=$(id -u "$P11B_DAEMON_USER")
	gid=$(id -g "$P11B_DAEMON_USER")
else
	uid=$(id -u)
	gid=$(id -g)
fi
for role in front signer; do
	if [ "$role" = front ]; then p=$FRONT; else p=$SIGNER; fi
	is "$(status_field "$p" Seccomp)" 2 "$role: Seccomp: 2 (filtering)"
	is "$(status_field "$p" NoNewPrivs)" 1 "$role: NoNewPrivs: 1"
	is "$(status_field "$p" Uid)" "$uid $uid $uid $uid" \
	    "$role: real, effective, saved and fs uid are $uid"
	is "$(status_field "$p" Gid)" "$gid $gid $gid $gid" \
	    "$role: every gid is $gid"
	if [ "$(id -u)" -eq 0 ]; then
		is "$(status_field "$p" Groups)" "$gid" \
		    "$role: no supplementary group but its own"
	fi
	is "$(status_field "$p" CapEff)" 0000000000000000 \
	    "$role: no effective capabilities"
done
is "$(status_field "$DAEMON_PID" NoNewPrivs)" 1 "monitor: NoNewPrivs: 1"
grep -q softhsm "/proc/$SIGNER/maps"
ok $? "the signer has the PKCS#11 module mapped"
! grep -q softhsm "/proc/$FRONT/maps"
ok $? "the front never loaded the PKCS#11 module"
is "$(cat "/proc/$SIGNER/environ" "/proc/$FRONT/environ" | tr '\0' '\n' |
    grep -c "^P11BROKER_PIN=.*$PIN")" 0 "no PIN in the children's environment"

# The whole workload in enforce mode.
head -c 3000 /dev/urandom >"$T/data"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "enforce: sign ec256" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "enforce: openssl verifies the signature"
cli sign rsa2048 -a rsa-pss-sha256 -i "$T/data"
is "$RC" 0 "enforce: sign rsa2048 (PSS)" || diag "$ERR"
cli sign ed25519 -a ed25519 -i "$T/data"
is "$RC" 0 "enforce: sign ed25519" || diag "$ERR"
cli hmac hmac32 -a hmac-sha256 -i "$T/data"
is "$RC" 0 "enforce: hmac" || diag "$ERR"
is "$(hex "$OUT")" "$(openssl mac -digest SHA256 -macopt \
    hexkey:"$(hex "$T/hmac32.key")" -in "$T/data" HMAC | tr 'A-F' 'a-f')" \
    "enforce: the MAC equals openssl's"
cli secret api-token
is "$RC" 0 "enforce: secret" || diag "$ERR"
check "enforce: the secret's bytes" cmp -s "$OUT" "$T/api-token.bin"
cli random 64
is "$(size "$OUT")" 64 "enforce: random 64"
# A token error path (SoftHSM2 logs it with syslog()).
cli sign ec256 -a ecdsa-p256-sha256 --digest -i "$T/data"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "enforce: a wrong-length digest is refused"
kill_child "$DAEMON_PID" USR1
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded '
ok $? "enforce: SIGHUP reloads"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "enforce: sign after the reload" || diag "$ERR"
is "$(daemon_child p11b-front)" "$FRONT" "the front survived all of it"
! grep -q 'signal 31\|killed by signal' "$DAEMON_LOG"
ok $? "no process was killed by its filter" ||
    diag "$(grep 'signal' "$DAEMON_LOG")"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

# The filters bite.
for role in front signer; do
	is "$("$PROBE" "$role" allowed)" "exit 0" \
	    "$role filter: an allowed call goes through"
	for call in execve socket open-write ptrace mmap-exec; do
		is "$("$PROBE" "$role" "$call")" "signal $SIGSYS" \
		    "$role filter: $call ends the process with SIGSYS"
	done
done
rm -f /tmp/sandbox_probe.out

# Landlock: reads beneath the allowed directory only.
mkdir -p "$T/allowed"
echo in >"$T/allowed/file"
echo out >"$T/outside"
r=$("$PROBE" landlock "$T/allowed" "$T/allowed/file" "$T/outside")
if [ "$r" = unsupported ]; then
	ok 0 "Landlock # SKIP this kernel has no Landlock"
else
	is "$r" "inside=ok outside=EACCES
exit 0" "Landlock: a read inside is allowed, outside refused"
fi
done_testing
