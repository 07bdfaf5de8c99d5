#!/bin/bash
# The audit log against hostile configs and hostile files (issue #12):
#  - the checkpoint key under a second name (another key statement for
#    the same token object) is a config error at start and at reload, so
#    no caller can sign a forged checkpoint with it;
#  - a log cut while the broker is stopped (mid-line, or at a line
#    boundary after the last checkpoint) is noticed at the next start:
#    a discontinuity line, and `p11broker audit verify` fails naming it;
#    an untouched log across restarts still verifies;
#  - on a full disk, an answer withheld because its line could not be
#    written is logged as dropped (withheld), not as a plain "ok".
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a client as nobody"
need_tools setpriv base64
getent passwd nobody >/dev/null || bail "no user nobody"

setup_token
mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
data="$T/data"
head -c 300 /dev/urandom >"$data"

# verify FILE... [-- OPTIONS]: p11broker audit verify with the ec256 key;
# sets RC and ERR.
verify()
{
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey \
	    "${PUBKEY:-$T/pub/ec256.pem}" "$@" >"$T/verify.out" \
	    2>"$T/verify.err"
	RC=$?
	ERR=$(cat "$T/verify.err")
}

# --- 9: the checkpoint key under a second name --------------------------------

ALIAS='key ec384-archive label "ec384"'
AUDIT384="audit \"$T/log/a384.log\" checkpoint-key ec384 checkpoint-lines 4"
write_config "$ALIAS" "$AUDIT384"
write_policy "permit user nobody sign ec384-archive"
try_start_daemon
started=$?
is "$started" 1 "second name for the checkpoint key: the broker does not start"
like "$(cat "$DAEMON_LOG")" \
    'key ec384-archive is the same token object as the audit checkpoint-key ec384' \
    "... and the message names both keys"
stop_daemon

# Started with ec384-archive naming another key pair (ec521), a reload
# that points it at the checkpoint key's object is refused and the old
# configuration stays.
write_config 'key ec384-archive label "ec521"' "$AUDIT384"
write_policy "permit user nobody sign ec384-archive"
start_daemon
as_nobody sign ec384-archive -a ecdsa-p521-sha512 -i "$data"
is "$RC" 0 "nobody: sign with ec384-archive (the P-521 key)" || diag "$ERR"
write_config "$ALIAS" "$AUDIT384"
kill_child "$DAEMON_PID" HUP
wait_log 'reload rejected' || diag "no rejection line in the daemon log"
like "$(grep 'reload rejected' "$DAEMON_LOG" | tail -n 1)" \
    'key ec384-archive is the same token object as the audit checkpoint-key ec384' \
    "reload with a second name for the checkpoint key: rejected, naming both"
as_nobody sign ec384-archive -a ecdsa-p384-sha384 -i "$data"
ok "$([ "$RC" -ne 0 ] && [ ! -s "$OUT" ] && echo 0 || echo 1)" \
    "nobody: no P-384 signature from ec384-archive after the refused reload"
as_nobody sign ec384-archive -a ecdsa-p521-sha512 -i "$data"
cp "$OUT" "$T/s521"
is "$RC" 0 "... it still names the P-521 key (old config kept)" || diag "$ERR"
openssl dgst -sha512 -verify "$T/pub/ec521.pem" -signature "$T/s521" \
    "$data" >/dev/null 2>&1
ok $? "... and its signature verifies with ec521's public key"
cli sign ec384 -a ecdsa-p384-sha384 -i "$data"
is "$RC" 4 "the checkpoint key itself is still reserved"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0"

# --- 10: a log cut while the broker is stopped --------------------------------

write_config "audit \"$LOG\" checkpoint-key ec256"
write_policy
# run_once N: start, N requests, stop; 1 when it did not start.
run_once()
{
	local _
	try_start_daemon || return 1
	for _ in $(seq "$1"); do
		cli hmac hmac32 -i "$data" -o /dev/null
		[ "$RC" -eq 0 ] || diag "hmac: $ERR"
	done
	stop_daemon
}
run_once 6
run_once 6
verify "$LOG"
is "$RC" 0 "untouched log across a restart verifies" || diag "$ERR"
ok "$([ -s "$LOG.head" ] && echo 0 || echo 1)" "the head is kept in $LOG.head"
like "$(cat "$LOG.head")" "^p11broker-audit-head v1 seq=0*$(wc -l <"$LOG") " \
    "... and names the last line's seq"
cp "$LOG" "$T/base.log"
cp "$LOG.head" "$T/base.head"

# Byte offsets in the last segment (between the last two checkpoints):
# after a line in its middle, inside the line after that, and right
# after the checkpoint that opens it.
python3 - "$T/base.log" >"$T/cuts" <<'EOF2'
import json, sys
L = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
ck = [i for i, l in enumerate(L) if json.loads(l)['type'] == 'checkpoint']
prev, last = ck[-2], ck[-1]
m = prev + (last - prev) // 2
assert prev < m < last - 1, (prev, m, last)
end = lambda i: sum(len(l) + 1 for l in L[:i + 1])
print(end(m), end(m) + 10, end(prev))
EOF2
read -r cut_line cut_mid cut_ckpt <"$T/cuts"
[ -n "$cut_ckpt" ] || bail "no cut points in the base log"

# cut_and_restart DESC SIZE: the base log cut to SIZE bytes (in place:
# the same file), then start, a request, stop; audit verify must fail
# naming the discontinuity.
cut_and_restart()
{
	cp "$T/base.log" "$LOG"
	cp "$T/base.head" "$LOG.head"
	truncate -s "$2" "$LOG"
	run_once 1
	ok $? "$1: the broker starts on the cut log"
	is "$EXIT_RC" 0 "$1: ... served and stopped"
	like "$(cat "$DAEMON_LOG")" 'does not end where the broker left it' \
	    "$1: the daemon log says the log was cut"
	verify "$LOG"
	is "$RC" 1 "$1: audit verify fails" || diag "$(tail -n 3 "$LOG")"
	like "$ERR" 'audit.log:[0-9]+: discontinuity: at a restart the broker found the log cut' \
	    "$1: ... naming the discontinuity" || diag "$ERR"
	is "$(grep -c '"event":"discontinuity"' "$LOG")" 1 \
	    "$1: one discontinuity line in the log"
}
cut_and_restart "cut at a line boundary in the last segment" "$cut_line"
cut_and_restart "cut in the middle of a line" "$cut_mid"
cut_and_restart "cut right after a checkpoint" "$cut_ckpt"

# Moved away while stopped (a rotation): the new file goes on from the
# head with a rotate line; both files verify together, the new one alone
# with a note.
cp "$T/base.log" "$LOG"
cp "$T/base.head" "$LOG.head"
mv "$LOG" "$LOG.1"
run_once 2
is "$(head -n 1 "$LOG" | python3 -c \
    'import json,sys; o = json.load(sys.stdin); print(o["event"], o["reason"])')" \
    "rotate restart" "a new file after a stop starts with a rotate line"
verify "$LOG.1" "$LOG"
is "$RC" 0 "... and the old and new file verify together" || diag "$ERR"
verify "$LOG"
is "$RC" 0 "... the new file alone too (a rotation)" || diag "$ERR"
run_once 2
verify "$LOG.1" "$LOG"
is "$RC" 0 "... and again after another restart" || diag "$ERR"

# A crash (SIGKILL to the whole broker) is not a cut: the log may run
# ahead of its head file, never behind it.
start_daemon
cli hmac hmac32 -i "$data" -o /dev/null
pid=$DAEMON_PID
kill -KILL -- "-$pid" 2>/dev/null
wait "$pid" 2>/dev/null
DAEMON_PID=
run_once 1
ok $? "after a crash: the broker starts again"
is "$(grep -c '"event":"discontinuity"' "$LOG")" 0 \
    "... and a crash is not taken for a cut"
verify "$LOG.1" "$LOG"
is "$RC" 0 "... the files still verify" || diag "$ERR"

# A reload that moves the log: the monitor hands the front the new log and
# its own head file, so a cut in the new log is noticed too.
LOG_B="$T/log/b.log"
start_daemon
write_config "audit \"$LOG_B\" checkpoint-key ec256"
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded ' || diag "no reload line in the daemon log"
cli hmac hmac32 -i "$data" -o /dev/null
is "$RC" 0 "reload to another log path: served"
stop_daemon
like "$(cat "$LOG_B.head" 2>/dev/null)" \
    "^p11broker-audit-head v1 seq=0*$(tail -n 1 "$LOG_B" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["seq"])') " \
    "... the new log has its own head file, up to date"
verify "$LOG.1" "$LOG" "$LOG_B"
is "$RC" 0 "... and the three files verify together" || diag "$ERR"
truncate -s "$(($(wc -c <"$LOG_B") - 1))" "$LOG_B"
run_once 1
ok $? "... a cut in the new log: the broker still starts"
verify "$LOG_B"
like "$ERR" 'discontinuity' "... and audit verify names the discontinuity"

# --- 15: an answer withheld on a full disk is not logged as answered -----------

# A real full disk: a small tmpfs, filled once the broker runs.
SMALL="$T/small"
mkdir -m 0700 "$SMALL"
on_cleanup 'umount "$SMALL"'
if ! mount -t tmpfs -o size=256k,mode=0700 tmpfs "$SMALL" 2>/dev/null; then
	ok 0 "# SKIP cannot mount a tmpfs for a full disk"
	done_testing
fi
FLOG="$SMALL/audit.log"
write_config "audit \"$FLOG\" checkpoint-key ec256 checkpoint-lines 1000000 checkpoint-seconds 86400"
write_policy
start_daemon
cli hmac hmac32 -i "$data" -o /dev/null
is "$RC" 0 "full disk: served before"
answered=1
# The start's checkpoint is in: no checkpoint line can fill the disk.
has_checkpoint() { grep -q '"type":"checkpoint"' "$FLOG"; }
wait_for has_checkpoint || diag "no first checkpoint in $FLOG"
dd if=/dev/zero of="$SMALL/filler" bs=4096 >/dev/null 2>&1
# The log's last page still takes a few lines; then a write fails.
first_fail=
for _ in $(seq 400); do
	cli hmac hmac32 -i "$data" -o /dev/null
	if [ "$RC" -ne 0 ]; then
		first_fail=$RC
		break
	fi
	answered=$((answered + 1))
done
isnt_zero=$([ -n "$first_fail" ] && echo 0 || echo 1)
ok "$isnt_zero" "full disk: a request failed once the disk was full (exit $first_fail)"
wait_log "refusing every request" || diag "no fail-closed line"
cli hmac hmac32 -i "$data" -o /dev/null
is "$RC" 11 "full disk: then every request is refused (internal)"
rm -f "$SMALL/filler"
# served_again: the disk is tried once a second; a request tells.
served_again()
{
	cli hmac hmac32 -i "$data" -o /dev/null
	[ "$RC" -eq 0 ]
}
wait_for served_again
ok $? "full disk: served again once there is room"
answered=$((answered + 1))
stop_daemon
is "$EXIT_RC" 0 "full disk: daemon exits 0"
python3 - "$FLOG" >"$T/counts" <<'EOF2'
import json, sys
ok = withheld = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o['type'] != 'decision' or o.get('op') != 'hmac':
        continue
    if o['status'] == 'ok' and not o.get('dropped'):
        ok += 1
    if o.get('withheld'):
        withheld += 1
        assert o.get('dropped') is True, line
print(ok, withheld)
EOF2
read -r logged_ok logged_withheld <"$T/counts"
is "$logged_ok" "$answered" \
    "full disk: lines saying answered (ok, not dropped) = answers the client got"
is "$logged_withheld" 1 "full disk: the withheld answer is logged dropped, withheld"
like "$(cat "$DAEMON_LOG")" "1 answers withheld" "... and the daemon log says so"
verify "$FLOG"
is "$RC" 0 "full disk: the log still verifies (lines relinked)" || diag "$ERR"
umount "$SMALL"

done_testing
