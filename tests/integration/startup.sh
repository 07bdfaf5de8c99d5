#!/bin/bash
# Start-up and shutdown: wrong PIN (fatal, one C_Login only), config and
# policy errors with file:line: diagnostics, PIN file permissions, -n and
# the effective policy, socket mode, stale sockets, SIGTERM.
. "$(dirname "$0")/lib.sh"

SPY_MODULE=
for m in /usr/lib/x86_64-linux-gnu/pkcs11-spy.so \
    /usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so /usr/lib64/pkcs11-spy.so \
    /usr/lib/pkcs11-spy.so; do
	[ -f "$m" ] && SPY_MODULE=$m && break
done

setup_token
write_config
write_policy

# check_conf CONF: p11brokerd -n; sets RC, OUT, ERR.
check_conf()
{
	OUT="$T/n.out"
	P11BROKER_PIN=${CHECK_PIN-$PIN} timeout -k 2 "$HANG" "$BROKERD" -n -f "$1" \
	    </dev/null >"$OUT" 2>"$T/n.err"
	RC=$?
	ERR=$(cat "$T/n.err")
}

# start_fg CONF: start the daemon with a deadline and wait for it to exit
# (for start-ups that must fail: exit 124 means it did not); sets RC
# and ERR.
start_fg()
{
	P11BROKER_PIN=${START_PIN-$PIN} timeout -k 2 "$HANG" \
	    "$BROKERD" -d -f "$1" \
	    </dev/null >"$T/fg.out" 2>"$T/fg.err"
	RC=$?
	ERR=$(cat "$T/fg.out" "$T/fg.err")
}

# --- -n: check and print the effective policy -------------------------------

check_conf "$CONF"
is "$RC" 0 "-n with a good config: exit 0" || diag "$ERR"
ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" "-n does not create the socket"
for op in sign pubkey hmac hmac-verify secret random list health; do
	who="($ME|[^0-9]$(id -u)[^0-9])"
	grep -Eq "permit.*$who.*(^|[[:space:]])$op([[:space:],]|$)" "$OUT"
	ok $? "-n prints a rule for $ME $op" || diag "$(cat "$OUT")"
done
missing=
for key in ec256 ec384 ec521 rsa2048 ed25519 hmac32 api-token blob sealed; do
	grep -qw -- "$key" "$OUT" || missing="$missing $key"
done
is "$missing" "" "-n output names every key in the policy"

# Relative policy path: relative to the config file's directory.
mkdir "$T/rel"
sed "s|^policy .*|policy \"policy.conf\"|" "$CONF" >"$T/rel/p11brokerd.conf"
cp "$POLICY" "$T/rel/policy.conf"
(cd / && check_conf "$T/rel/p11brokerd.conf"; exit "$RC")
is "$?" 0 "-n: relative policy path resolved against the config's directory"

# --- config and policy errors -----------------------------------------------

# bad_conf NAME FILE-TO-GREP LINE DESCRIPTION: -n on $T/NAME.conf fails
# with a "FILE:LINE:" diagnostic.
bad_conf()
{
	local conf=$1 file=$2 line=$3 desc=$4
	check_conf "$conf"
	ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
	    "$desc: -n fails (exit $RC)"
	like "$ERR" "$file:$line: " "$desc: diagnostic names $file:$line" ||
	    true
}

# unknown keyword on line 3
{
	sed -n '1,2p' "$CONF"
	printf 'frobnicate 7\n'
	sed -n '3,$p' "$CONF"
} >"$T/bad1.conf"
bad_conf "$T/bad1.conf" bad1.conf 3 "unknown keyword"

# token block without its closing brace
grep -v '^}$' "$CONF" >"$T/bad2.conf"
bad_conf "$T/bad2.conf" bad2.conf '[0-9]+' "missing closing brace"

# a key naming a label that is not on the token, on the last line
cp "$CONF" "$T/bad3.conf"
printf 'key ghost label "no-such-label"\n' >>"$T/bad3.conf"
bad_conf "$T/bad3.conf" bad3.conf "$(wc -l <"$T/bad3.conf")" \
    "key with a label not on the token"
like "$ERR" 'no-such-label|ghost' \
    "missing label: diagnostic names the label or key"

# a key with an id not on the token
cp "$CONF" "$T/bad4.conf"
printf 'key ghost2 id 7f7f\n' >>"$T/bad4.conf"
bad_conf "$T/bad4.conf" bad4.conf "$(wc -l <"$T/bad4.conf")" \
    "key with an id not on the token"

# key options that do not fit the key (found when the key is resolved)
sed 's/^key rsa2048 label "rsa2048"$/key rsa2048 label "rsa2048" low-s/' \
    "$CONF" >"$T/bad9.conf"
bad_conf "$T/bad9.conf" bad9.conf "$(grep -n '^key rsa2048' "$T/bad9.conf" |
    cut -d: -f1)" "low-s on an RSA key"
like "$ERR" 'low-s is for ECDSA keys' "low-s on RSA: says why"
sed 's/^key hmac32  label "hmac32"$/key hmac32 label "hmac32" verify-signatures/' \
    "$CONF" >"$T/bad10.conf"
bad_conf "$T/bad10.conf" bad10.conf "$(grep -n '^key hmac32' \
    "$T/bad10.conf" | cut -d: -f1)" "verify-signatures on a secret key"
like "$ERR" 'verify-signatures needs the key.s public key' \
    "verify-signatures without a public key: says why"

# policy: unknown operation on line 2
printf 'permit user root sign ec256\npermit user root frobnicate ec256\n' \
    >"$T/badpol1.policy"
sed "s|^policy .*|policy \"badpol1.policy\"|" "$CONF" >"$T/bad5.conf"
bad_conf "$T/bad5.conf" badpol1.policy 2 "policy: unknown operation"

# policy: a key the config does not define, on line 3
printf 'permit user root health\n\npermit user root sign nokey\n' \
    >"$T/badpol2.policy"
sed "s|^policy .*|policy \"badpol2.policy\"|" "$CONF" >"$T/bad6.conf"
bad_conf "$T/bad6.conf" badpol2.policy 3 "policy: undefined key"

# policy: a user that does not exist is not an error: the rule grants
# nothing, with a warning naming file:line (hostile_faults.sh runs it)
printf 'permit user no-such-user-p11b health\n' >"$T/badpol3.policy"
sed "s|^policy .*|policy \"badpol3.policy\"|" "$CONF" >"$T/bad7.conf"
check_conf "$T/bad7.conf"
is "$RC" 0 "policy: unknown user: -n passes"
like "$ERR" 'badpol3.policy:1: unknown user "no-such-user-p11b": the rule grants nothing' \
    "policy: unknown user: a warning names file:line"

# policy: random takes no key
printf 'permit user root random ec256\n' >"$T/badpol4.policy"
sed "s|^policy .*|policy \"badpol4.policy\"|" "$CONF" >"$T/bad8.conf"
bad_conf "$T/bad8.conf" badpol4.policy 1 "policy: key given to random"

# a world-writable policy file is refused (StrictModes)
cp "$POLICY" "$T/ww.policy"
chmod 0666 "$T/ww.policy"
sed "s|^policy .*|policy \"ww.policy\"|" "$CONF" >"$T/bad9.conf"
check_conf "$T/bad9.conf"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "world-writable policy file refused (exit $RC)"
like "$ERR" 'ww\.policy' "world-writable policy: diagnostic names the file"

# A broken config also stops a real start, leaving no socket behind.
start_fg "$T/bad1.conf"
ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
    "start with a broken config fails (exit $RC)"
like "$ERR" 'bad1\.conf:3: ' "start with a broken config: file:line diagnostic"
ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" \
    "start with a broken config leaves no socket"

# --- PIN sources ------------------------------------------------------------

printf '%s\n' "$PIN" >"$T/pin"
chmod 0644 "$T/pin"
sed "s|pin-env .*|pin-file \"$T/pin\"|" "$CONF" >"$T/pinfile.conf"
CHECK_PIN= check_conf "$T/pinfile.conf"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "pin-file with mode 0644 refused (exit $RC)"
like "$ERR" "$T/pin|pin-file|PIN" "pin-file 0644: diagnostic names the file"
chmod 0600 "$T/pin"
CHECK_PIN= check_conf "$T/pinfile.conf"
is "$RC" 0 "pin-file with mode 0600 accepted" || diag "$ERR"
chmod 0400 "$T/pin"
CHECK_PIN= check_conf "$T/pinfile.conf"
is "$RC" 0 "pin-file with mode 0400 accepted" || diag "$ERR"

# systemd credential: $CREDENTIALS_DIRECTORY/NAME, same mode rules
mkdir -p "$T/creds"
printf '%s\n' "$PIN" >"$T/creds/token-pin"
chmod 0600 "$T/creds/token-pin"
sed "s|pin-env .*|pin-credential \"token-pin\"|" "$CONF" >"$T/cred.conf"
CREDENTIALS_DIRECTORY="$T/creds" CHECK_PIN= check_conf "$T/cred.conf"
is "$RC" 0 "pin-credential from \$CREDENTIALS_DIRECTORY accepted" ||
    diag "$ERR"
CHECK_PIN= check_conf "$T/cred.conf"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "pin-credential without \$CREDENTIALS_DIRECTORY refused (exit $RC)"
like "$ERR" "CREDENTIALS_DIRECTORY" \
    "pin-credential: diagnostic names \$CREDENTIALS_DIRECTORY"
chmod 0640 "$T/creds/token-pin"
CREDENTIALS_DIRECTORY="$T/creds" CHECK_PIN= check_conf "$T/cred.conf"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "group-readable credential file refused (exit $RC)"

# no PIN at all: the variable is unset
(unset P11BROKER_PIN; timeout -k 2 "$HANG" "$BROKERD" -n -f "$CONF" </dev/null \
    >/dev/null 2>"$T/nopin.err")
rc=$?
ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && echo 0 || echo 1)" \
    "-n without the PIN variable fails (exit $rc)"
like "$(cat "$T/nopin.err")" 'P11BROKER_PIN|PIN' \
    "missing PIN: diagnostic names the PIN variable"

# --- wrong PIN: fatal, never retried --------------------------------------

START_PIN=9999 start_fg "$CONF"
ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
    "wrong PIN: daemon exits non-zero (exit $RC)"
like "$ERR" 'PIN' "wrong PIN: message mentions PIN"
ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" "wrong PIN: no socket left behind"

# --- root without a "user": refused, clearly --------------------------------

if [ "$(id -u)" -eq 0 ]; then
	grep -v '^user ' "$CONF" >"$T/nouser.conf"
	start_fg "$T/nouser.conf"
	ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
	    "root without user: daemon exits non-zero (exit $RC)"
	like "$ERR" 'started as root without a "user" statement' \
	    "root without user: the message says what to add"
	ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" \
	    "root without user: no socket left behind"
	sed 's/^user .*/user root/' "$CONF" >"$T/rootuser.conf"
	bad_conf "$T/rootuser.conf" rootuser.conf '[0-9]+' "user root"
	like "$ERR" 'does not run as root' "user root: refused, says why"
fi

CHECK_PIN=9999 check_conf "$CONF"
ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
    "-n with a wrong PIN fails (exit $RC)"
like "$ERR" 'PIN' "-n with a wrong PIN: message mentions PIN"

# Count C_Login calls through OpenSC's pkcs11-spy in front of SoftHSM2.
if [ -n "$SPY_MODULE" ]; then
	sed "s|module .*|module \"$SPY_MODULE\"|" "$CONF" >"$T/spy.conf"
	PKCS11SPY=$SOFTHSM_MODULE PKCS11SPY_OUTPUT="$T/spy.log" \
	    START_PIN=9999 start_fg "$T/spy.conf"
	ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
	    "wrong PIN via pkcs11-spy: daemon exits non-zero (exit $RC)"
	if [ -s "$T/spy.log" ]; then
		logins=$(grep -Ec '^[0-9]+: C_Login$' "$T/spy.log")
		is "$logins" 1 "wrong PIN: exactly one C_Login attempt"
		is "$(grep -c 'CKR_PIN_INCORRECT' "$T/spy.log")" 1 \
		    "wrong PIN: one CKR_PIN_INCORRECT"
	else
		_tap_n=$((_tap_n + 1))
		printf 'ok %d - one C_Login # SKIP no spy log\n' "$_tap_n"
		diag "$ERR"
	fi
fi

# The token still accepts the right PIN: a normal start works now.
start_daemon
is "$(stat -c %a "$SOCK")" 666 \
    "after the wrong PIN, a start with the right PIN works (socket 0666)"
cli health
is "$RC" 0 "health after the right-PIN start"

# --- a second instance on a live socket -------------------------------------

start_fg "$CONF"
ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
    "second daemon on a live socket refuses to start (exit $RC)" ||
    diag "$ERR"
cli health
is "$RC" 0 "first daemon still answers after the second one gave up" ||
    diag "$ERR"
# Start afresh, so that what follows does not depend on the above.
stop_daemon
start_daemon

# --- SIGTERM: clean exit, socket removed, signer gone -----------------------

python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
open(sys.argv[2], "w").write("connected\n")
s.recv(1)' "$SOCK" "$T/holder.out" &
holder=$!
wait_for test -s "$T/holder.out"
check "a client holds a connection open" test -s "$T/holder.out"
pgid=$DAEMON_PID
kill_child "$DAEMON_PID" TERM
wait_exit "$DAEMON_PID"
is "$EXIT_RC" 0 "SIGTERM with a client connected: exit 0"
DAEMON_PID=
ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" "SIGTERM: socket file removed"
# group_empty PGID: no process is left in the group.
group_empty()
{
	! pgrep -g "$1" >/dev/null 2>&1
}
wait_for group_empty "$pgid"
left=$(pgrep -g "$pgid" 2>/dev/null | tr '\n' ' ')
is "$left" "" "SIGTERM: no daemon process (signer) left behind"
kill -KILL -- "-$pgid" 2>/dev/null
wait_exit "$holder"
ok $([ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1) \
    "SIGTERM: the connected client saw the connection close"
kill_child "$holder"

# --- socket mode default and a stale socket file ----------------------------

sed 's| mode 0666||' "$CONF" >"$T/default-mode.conf"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])' "$SOCK"
ok "$([ -S "$SOCK" ] && echo 0 || echo 1)" "stale socket file in place"
try_start_daemon "$T/default-mode.conf"
ok $? "daemon starts over a stale socket file"
is "$(stat -c %a "$SOCK")" 660 "socket mode defaults to 0660"
stop_daemon
is "$EXIT_RC" 0 "second SIGTERM: exit 0"
ok "$([ -e "$SOCK" ] && echo 1 || echo 0)" "second SIGTERM: socket removed"

done_testing
