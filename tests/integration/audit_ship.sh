#!/bin/bash
# The audit log's record outside the file, through the real daemon and a
# real rsyslogd: every line reaches syslog byte for byte, in order, with
# the configured facility; the anchor file holds the last checkpoint line;
# p11broker audit verify --anchor fails on a log cut right after an
# earlier checkpoint (which verifies without the anchor), on a changed
# anchored line and on a forged anchor, and takes syslog's copy as the
# anchor too.  A syslog that goes away loses no request and is found
# again; an anchor directory the broker's user could write stops start-up
# and is refused at reload.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (rsyslogd, directory owners)"
command -v rsyslogd >/dev/null || skip_all "rsyslogd not installed"
need_tools python3 base64

setup_token
mkdir -m 0700 "$T/log" "$T/anchor" "$T/syslog"
LOG="$T/log/audit.log"
ANCHOR="$T/anchor/audit.anchor"
SYSOUT="$T/syslog/audit.out"
SYSSOCK="$T/syslog/log.sock"

cat >"$T/syslog/rsyslog.conf" <<EOF
global(workDirectory="$T/syslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$SYSSOCK" RateLimit.Interval="0")
template(name="audit" type="string"
    string="%syslogfacility-text% %programname% %msg%\n")
if \$programname == "p11broker-audit" then {
	action(type="omfile" file="$SYSOUT" template="audit"
	    asyncWriting="off" flushOnTXEnd="on")
}
EOF
RSYSLOG_PID=
start_rsyslog()
{
	rm -f "$SYSSOCK" "$T/syslog/rsyslog.pid"
	rsyslogd -n -f "$T/syslog/rsyslog.conf" -i "$T/syslog/rsyslog.pid" \
	    >>"$T/syslog/rsyslogd.out" 2>&1 &
	RSYSLOG_PID=$!
	wait_for test -S "$SYSSOCK" || bail "rsyslogd did not start: $(
	    tail -n 5 "$T/syslog/rsyslogd.out")"
}
stop_rsyslog()
{
	[ -n "$RSYSLOG_PID" ] || return 0
	kill "$RSYSLOG_PID" 2>/dev/null
	wait "$RSYSLOG_PID" 2>/dev/null
	RSYSLOG_PID=
}
on_cleanup stop_rsyslog
start_rsyslog

AUDIT="audit \"$LOG\" checkpoint-key ec256 checkpoint-lines 4 anchor \"$ANCHOR\" syslog local3 syslog-socket \"$SYSSOCK\""
write_config "$AUDIT"
write_policy "permit user $ME stats"
start_daemon

head -c 100 /dev/urandom >"$T/in.bin"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	cli hmac hmac32 -i "$T/in.bin" -o "$T/mac.bin"
	[ "$RC" -eq 0 ] || break
done
is "$RC" 0 "12 HMACs answered with syslog and the anchor on"

# --- the anchor follows the checkpoints ------------------------------------

# last_checkpoint FILE: the last checkpoint line of an audit log.
last_checkpoint()
{
	grep '"type":"checkpoint"' "$1" | tail -n 1
}
anchor_is_last_checkpoint()
{
	[ -s "$ANCHOR" ] && [ "$(cat "$ANCHOR")" = "$(last_checkpoint "$LOG")" ]
}
check "the anchor file holds the log's last checkpoint line, byte for byte" \
    wait_for anchor_is_last_checkpoint
is "$(stat -c '%a %U' "$ANCHOR")" "640 root" "the anchor: mode 0640, root's"

cli stats
like "$(cat "$OUT")" \
    'audit write-failures=0 copies-dropped=0 checkpoint-time=[1-9][0-9]*' \
    "stats: no write failure, no copy dropped, a checkpoint time"

stop_daemon
is "$EXIT_RC" 0 "the daemon stops cleanly"
is "$(cat "$ANCHOR")" "$(last_checkpoint "$LOG")" \
    "after stop the anchor holds the final checkpoint"

# --- syslog got every line --------------------------------------------------

# syslog_json: syslog's copy as the bare lines (facility and tag checked).
syslog_json()
{
	python3 - "$SYSOUT" <<'EOF'
import sys
for raw in open(sys.argv[1]):
    fac, prog, msg = raw.rstrip('\n').split(' ', 2)
    if fac != 'local3' or prog != 'p11broker-audit':
        print('BAD %s %s' % (fac, prog))
    print(msg.lstrip(' '))
EOF
}
syslog_complete()
{
	[ -f "$SYSOUT" ] &&
	    [ "$(wc -l <"$SYSOUT")" -ge "$(wc -l <"$LOG")" ]
}
wait_for syslog_complete
syslog_json >"$T/syslog.lines"
is "$(grep -c '^BAD' "$T/syslog.lines")" 0 \
    "every syslog line has facility local3 and tag p11broker-audit"
if cmp -s "$LOG" "$T/syslog.lines"; then
	ok 0 "syslog has every audit line, byte for byte, in order ($(
	    wc -l <"$LOG") lines)"
else
	ok 1 "syslog has every audit line, byte for byte, in order"
	diag "$(diff "$LOG" "$T/syslog.lines" | head -n 10)"
fi

# --- verify --anchor ---------------------------------------------------------

verify()
{
	OUT="$T/verify.out"
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey \
	    "$T/pub/ec256.pem" "$@" >"$OUT" 2>"$T/verify.err"
	RC=$?
	ERR=$(cat "$T/verify.err")
}

verify "$LOG" --anchor "$ANCHOR"
is "$RC" 0 "the whole log verifies against its anchor"
like "$(cat "$OUT")" "anchor: the log holds the anchored checkpoint" \
    "verify says it found the anchored checkpoint"

# The log cut right after an earlier checkpoint: fine alone, not with
# the anchor.
python3 - "$LOG" "$T/cut.log" <<'EOF'
import json, sys
lines = open(sys.argv[1]).readlines()
cps = [i for i, l in enumerate(lines) if json.loads(l)['type'] == 'checkpoint']
# the second-to-last checkpoint whose covered line is right before it
for i in reversed(cps[:-1]):
    if json.loads(lines[i])['covers_seq'] == json.loads(lines[i - 1])['seq']:
        open(sys.argv[2], 'w').writelines(lines[:i + 1])
        break
EOF
check "a cut after an earlier checkpoint made" test -s "$T/cut.log"
verify "$T/cut.log"
is "$RC" 0 "without an anchor the cut log verifies (what an anchor is for)"
verify "$T/cut.log" --anchor "$ANCHOR"
is "$RC" 1 "with the anchor the cut log fails"
like "$ERR" "log ends at seq [0-9]+, before the anchored checkpoint" \
    "... saying that lines were cut off the end"

# The anchored line itself changed (a byte of its signature's base64).
python3 - "$LOG" "$T/edited.log" <<'EOF'
import sys
lines = open(sys.argv[1]).readlines()
l = lines[-1]
i = l.index('"sig":"') + 10
lines[-1] = l[:i] + ('A' if l[i] != 'A' else 'B') + l[i + 1:]
open(sys.argv[2], 'w').writelines(lines)
EOF
verify "$T/edited.log" --anchor "$ANCHOR"
is "$RC" 1 "a log whose last checkpoint was changed fails"

# A forged anchor (its signature changed) is not taken.
python3 - "$ANCHOR" "$T/forged.anchor" <<'EOF'
import json, base64, sys
o = json.loads(open(sys.argv[1]).read())
sig = bytearray(base64.b64decode(o['sig']))
sig[-1] ^= 1
line = open(sys.argv[1]).read().replace(o['sig'], base64.b64encode(sig).decode())
open(sys.argv[2], 'w').write(line)
EOF
verify "$LOG" --anchor "$T/forged.anchor"
is "$RC" 1 "a forged anchor fails"
like "$ERR" "signature does not verify" "... because its signature is bad"

# syslog's copy serves as the anchor (prefixes before the JSON ignored).
verify "$T/cut.log" --anchor "$SYSOUT"
is "$RC" 1 "syslog's copy as the anchor catches the cut too"
verify "$LOG" --anchor "$SYSOUT"
is "$RC" 0 "and accepts the whole log"

# --- a syslog that goes away -------------------------------------------------

start_daemon
stop_rsyslog
rm -f "$SYSSOCK"
for i in 1 2 3 4 5 6; do
	cli hmac hmac32 -i "$T/in.bin" -o "$T/mac.bin"
	[ "$RC" -eq 0 ] || break
done
is "$RC" 0 "requests answered while syslog is gone"
check "the daemon warns that syslog does not take the lines" \
    wait_log 'audit lines to syslog .*not sent so far'
start_rsyslog
before=$(wc -l <"$SYSOUT")
# One line a second is tried again at most: send until one arrives.
syslog_back()
{
	cli random 8
	[ "$(wc -l <"$SYSOUT")" -gt "$before" ]
}
check "lines reach syslog again once it is back" wait_for syslog_back
check "the anchor kept following the checkpoints meanwhile" \
    wait_for anchor_is_last_checkpoint

# --- where the anchor may live -----------------------------------------------

# A directory the broker's user owns: start-up refused.
stop_daemon
mkdir -m 0700 "$T/anchor-bad"
chown "$P11B_DAEMON_USER" "$T/anchor-bad"
write_config "audit \"$LOG\" checkpoint-key ec256 anchor \"$T/anchor-bad/a\""
if try_start_daemon 2>/dev/null; then
	ok 1 "an anchor directory owned by the broker's user stops start-up"
	stop_daemon
else
	ok 0 "an anchor directory owned by the broker's user stops start-up"
fi
like "$(cat "$DAEMON_LOG")" "anchor .*anchor-bad" \
    "... and the daemon names the anchor"

# A reload to such a directory is refused; the old anchor goes on.
write_config "$AUDIT"
start_daemon
write_config "audit \"$LOG\" checkpoint-key ec256 anchor \"$T/anchor-bad/a\""
kill -HUP "$DAEMON_PID"
check "a reload to an anchor directory the broker's user owns is refused" \
    wait_log 'reload.*(refused|rejected).*anchor'
cli hmac hmac32 -i "$T/in.bin" -o "$T/mac.bin"
is "$RC" 0 "the broker serves on after the refused reload"
stop_daemon
is "$(cat "$ANCHOR")" "$(last_checkpoint "$LOG")" \
    "the anchor in force still follows the log"
check "nothing was written in the refused directory" \
    test ! -e "$T/anchor-bad/a"

done_testing
