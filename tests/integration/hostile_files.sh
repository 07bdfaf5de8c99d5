#!/bin/bash
# Hostile files and paths (issue #12, items 6, 7, 8, 13), with the
# attacker as the broker's own user (setpriv): a symbolic link or a FIFO
# planted as the audit log before SIGUSR1, the log removed or renamed
# while open, a link planted at the socket's name, a socket directory
# another user can write, a PIN file that is a FIFO, another user's or
# in a world-writable directory, a literal PIN in the children's memory,
# and the root monitor's capabilities and seccomp filter (with reload,
# SIGUSR1 and a signer restart still working under them).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (the attacker is another uid)"
need_tools setpriv mkfifo python3
setup_token
head -c 1000 /dev/urandom >"$T/data"
ATTACKER=$P11B_DAEMON_USER
AUID=$(id -u "$ATTACKER")
AGID=$(id -g "$ATTACKER")

# as_attacker CMD...: run CMD as the broker's user, no other group.
as_attacker()
{
	setpriv --reuid="$AUID" --regid="$AGID" --clear-groups "$@"
}

# start_fails CONF: start the daemon in the foreground; it must exit (not
# hang: wait_exit gives 124 then).  Sets EXIT_RC and ERR.
start_fails()
{
	local pid
	: >"$T/fail.log"
	P11BROKER_PIN=$PIN setsid "$BROKERD" -d -f "$1" </dev/null \
	    >"$T/fail.log" 2>&1 &
	pid=$!
	if ! wait_exit "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	ERR=$(cat "$T/fail.log")
}

# lines FILE: its number of lines (0 when missing).
lines()
{
	[ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0
}

_more_lines()
{
	[ "$(lines "$1")" -gt "$2" ]
}

status_field()
{
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' \
	    "/proc/$1/status"
}

# --- the audit log: SIGUSR1 onto a link, a FIFO; removed, renamed ------------

mkdir "$T/log"
chown "$ATTACKER:$AGID" "$T/log"
chmod 0755 "$T/log"
LOG="$T/log/audit.log"
write_config "audit \"$LOG\" checkpoint-key ec384"
write_policy
start_daemon
cli random 16
is "$RC" 0 "served with the audit log in the broker's user's directory"

# The broker's user renames the log and plants a link to a file that
# root would create; logrotate (root) then sends SIGUSR1.
as_attacker mv "$LOG" "$LOG.1"
as_attacker ln -s "$T/victim" "$LOG"
before=$(lines "$LOG.1")
kill_child "$DAEMON_PID" USR1
wait_log "audit.log: not a regular file \(a symbolic link\)"
like "$(grep 'symbolic link' "$DAEMON_LOG")" "monitor: audit log .*refusing" \
    "SIGUSR1 onto a symbolic link: refused, and said"
ok "$([ -e "$T/victim" ] || [ -L "$T/victim" ] && echo 1 || echo 0)" \
    "SIGUSR1 onto a symbolic link: nothing created at its target"
log_has "still writing to the audit log opened before"
ok $? "SIGUSR1 refused: the log says the old one is still written"
cli random 16
is "$RC" 0 "served after the refused reopen" || diag "$ERR"
wait_for _more_lines "$LOG.1" "$before"
ok $? "the decision went to the log opened before (now $LOG.1)"

# A FIFO: opened, the front would block on it once its pipe is full.
as_attacker rm "$LOG"
as_attacker mkfifo -m 0644 "$LOG"
kill_child "$DAEMON_PID" USR1
wait_log "audit.log: not a regular file \(a FIFO\)"
log_has "audit.log: not a regular file \(a FIFO\)"
ok $? "SIGUSR1 onto a FIFO: refused, and said"
# Well over a pipe's 64 KiB of audit lines.
cli bench --mix random=1 --requests 1000
is "$RC" 0 "1000 requests after the FIFO was planted: all answered" ||
    diag "$ERR" "$(cat "$OUT")"
like "$(cat "$OUT")" "errors=0([^0-9]|$)" "bench: errors=0" ||
    diag "$(cat "$OUT")"

# Removed while open: said at once (not only at the next SIGUSR1).
as_attacker rm "$LOG"
kill_child "$DAEMON_PID" USR1
wait_log "writing to $T/log/audit.log \(SIGUSR1\)"
cli random 16
as_attacker rm "$LOG"
wait_log "audit log $LOG was removed while open"
like "$(grep 'removed while open' "$DAEMON_LOG")" "send SIGUSR1" \
    "the log removed while open: a warning that says what to do"
# Renamed (and no SIGUSR1 follows): said once it stays so.
kill_child "$DAEMON_PID" USR1
wait_log "writing to $T/log/audit.log \(SIGUSR1\)" 2
as_attacker mv "$LOG" "$LOG.2"
wait_log "audit log $LOG was renamed while open"
is "$(log_count 'was renamed while open')" 1 \
    "the log renamed while open: warned once"
stop_daemon
is "$EXIT_RC" 0 "the daemon exits 0 after the refused reopens"
ok "$([ -e "$T/victim" ] || [ -L "$T/victim" ] && echo 1 || echo 0)" \
    "still nothing at the link's target"

# A link planted as the log before start: the front refuses to start.
as_attacker ln -sf "$T/victim" "$LOG"
start_fails "$CONF"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "a link planted as the log before start: start-up fails (exit $EXIT_RC)"
like "$ERR" "audit.log: not a regular file \(a symbolic link\)" \
    "the error names the log and the link"
ok "$([ -e "$T/victim" ] && echo 1 || echo 0)" "nothing at the target"
rm -f "$LOG"

# --- the socket: a link at its name, a directory others can write -----------

write_config
# sock_conf DIR LINE-OPTIONS: $T/sock.conf with the socket in DIR.
sock_conf()
{
	sed "s|^socket .*|socket \"$1/p11b.sock\" $2|" "$CONF" >"$T/sock.conf"
}

# The broker's user owns the socket's directory: it could swap the new
# socket for a link between bind() and chown().
mkdir "$T/usersock"
chown "$ATTACKER:$AGID" "$T/usersock"
sock_conf "$T/usersock" "group $AGID mode 0660"
start_fails "$T/sock.conf"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "socket directory owned by the broker's user: refused (exit $EXIT_RC)"
like "$ERR" "usersock: owned by uid $AUID" "the error names the directory"
mkdir -m 0777 "$T/opensock"
chmod 0777 "$T/opensock"
sock_conf "$T/opensock" "mode 0600"
start_fails "$T/sock.conf"
like "$ERR" "opensock: writable by group or others" \
    "a world-writable socket directory without the sticky bit: refused"
ok "$([ -e "$T/opensock/p11b.sock" ] && echo 1 || echo 0)" \
    "no socket left in it"
# Sticky: nobody else may rename or remove root's socket there, but the
# broker's user may plant a link at its name before the broker starts.
mkdir "$T/sticky"
chmod 1777 "$T/sticky"
sock_conf "$T/sticky" "group $AGID mode 0660"
as_attacker ln -s "$T/victim" "$T/sticky/p11b.sock"
start_fails "$T/sock.conf"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "a link planted at the socket's name: start-up fails (exit $EXIT_RC)"
like "$ERR" "sticky/p11b.sock: exists and is not a socket" "the error says why"
ok "$([ -e "$T/victim" ] && echo 1 || echo 0)" \
    "the link at the socket's name was not followed"
as_attacker rm "$T/sticky/p11b.sock"
SOCK_SAVED=$SOCK
SOCK="$T/sticky/p11b.sock"
start_daemon "$T/sock.conf"
is "$(stat -c '%F %a %u %g' "$SOCK")" "socket 660 0 $AGID" \
    "a sticky directory: the socket is made with the mode and group asked"
as_attacker mv "$SOCK" "$T/sticky/moved" 2>/dev/null
ok "$([ -S "$SOCK" ] && echo 0 || echo 1)" \
    "the broker's user cannot move the socket away in the sticky directory"
stop_daemon
SOCK=$SOCK_SAVED

# --- the PIN file -------------------------------------------------------------

# pin_conf PATH: $T/pin.conf reading the PIN from PATH.
pin_conf()
{
	sed "s|pin-env .*|pin-file \"$1\"|" "$CONF" >"$T/pin.conf"
}

mkfifo -m 0600 "$T/pinfifo"
pin_conf "$T/pinfifo"
start_fails "$T/pin.conf"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "pin-file that is a FIFO: start-up fails, does not hang (exit $EXIT_RC)"
like "$ERR" "PIN file .*pinfifo: not a regular file \(a FIFO\)" \
    "the error says the PIN file is a FIFO"

printf '%s\n' "$PIN" >"$T/pin.theirs"
chmod 0600 "$T/pin.theirs"
chown "$ATTACKER" "$T/pin.theirs"
pin_conf "$T/pin.theirs"
start_fails "$T/pin.conf"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "pin-file owned by the broker's user: refused (exit $EXIT_RC)"
like "$ERR" "pin.theirs: owned by uid $AUID" "the error names the owner"

mkdir "$T/ww"
chmod 0777 "$T/ww"
printf '%s\n' "$PIN" >"$T/ww/pin"
chmod 0600 "$T/ww/pin"
pin_conf "$T/ww/pin"
start_fails "$T/pin.conf"
ok "$([ "$EXIT_RC" -ne 0 ] && [ "$EXIT_RC" -ne 124 ] && echo 0 || echo 1)" \
    "pin-file in a world-writable directory: refused (exit $EXIT_RC)"
like "$ERR" "ww: writable by group or others" "the error names the directory"

as_attacker ln -s "$T/pin.theirs" "$T/ww/pinlink"
pin_conf "$T/ww/pinlink"
start_fails "$T/pin.conf"
like "$ERR" "pinlink: not a regular file \(a symbolic link\)" \
    "pin-file that is a symbolic link: refused"

# --- the monitor: capabilities and seccomp -----------------------------------

# CAP_DAC_OVERRIDE (1), CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7).
KEEP=00000000000000e2
write_config "audit \"$LOG\" checkpoint-key ec384"
start_daemon
for f in CapEff CapPrm CapBnd; do
	is "$(status_field "$DAEMON_PID" "$f")" "$KEEP" \
	    "monitor: $f is DAC_OVERRIDE, KILL, SETGID, SETUID only"
done
is "$(status_field "$DAEMON_PID" CapInh) $(status_field "$DAEMON_PID" \
    CapAmb)" "0000000000000000 0000000000000000" \
    "monitor: no inheritable or ambient capability"
is "$(status_field "$DAEMON_PID" NoNewPrivs)" 1 "monitor: NoNewPrivs 1"
# Sanitizer builds run with "sandbox off" (their runtime's calls).
if [ -n "${P11B_SANITIZED:-}" ]; then
	ok 0 "monitor: Seccomp 2 (filtering) # SKIP sanitizer build: sandbox off"
else
	is "$(status_field "$DAEMON_PID" Seccomp)" 2 \
	    "monitor: Seccomp 2 (filtering)"
fi
# What it still does with them: a reload (re-read files, a new signer),
# a reopen of the log in the broker's user's directory, a signer restart.
kill_child "$DAEMON_PID" HUP
wait_log "reloaded "
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data" -o "$T/sig"
is "$RC" 0 "monitor confined: a reload works" || diag "$ERR"
as_attacker mv "$LOG" "$LOG.3"
kill_child "$DAEMON_PID" USR1
wait_log "writing to $LOG \(SIGUSR1\)"
cli random 16
ok "$([ -s "$LOG" ] && echo 0 || echo 1)" \
    "monitor confined: SIGUSR1 makes a new log in the user's directory"
SIGNER=$(daemon_child p11b-signer)
kill -KILL "$SIGNER"
wait_log "restarting the signer"
wait_for _daemon_healthy_or_gone
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data" -o "$T/sig"
is "$RC" 0 "monitor confined: a killed signer is restarted" || diag "$ERR"
NEW_SIGNER=$(daemon_child p11b-signer)
ok "$([ -n "$NEW_SIGNER" ] && [ "$NEW_SIGNER" != "$SIGNER" ] && echo 0 ||
    echo 1)" "a new signer runs ($NEW_SIGNER)"
is "$(status_field "$NEW_SIGNER" CapEff)" 0000000000000000 \
    "the restarted signer has no capability"
stop_daemon
is "$EXIT_RC" 0 "the confined monitor stops cleanly"

# --- a literal PIN: only in the monitor --------------------------------------

# A PIN no process would hold by chance.
LPIN="p11b-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label p11b-test --login \
    --pin "$PIN" --change-pin --new-pin "$LPIN" >"$T/chpin.log" 2>&1 ||
    bail "cannot change the token's PIN: $(tail -n 3 "$T/chpin.log")"
chown -R "$ATTACKER" "$T/tokens"
sed "s|pin-env .*|pin \"$LPIN\"|" "$CONF" >"$T/literal.conf"
chmod 0600 "$T/literal.conf"

# mem_has PID STRING: STRING is in PID's readable memory (read as root
# through /proc/PID/mem, region by region from /proc/PID/maps).
mem_has()
{
	python3 - "$1" "$2" <<'EOF'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
found = False
with open("/proc/%s/maps" % pid) as maps, \
        open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if perms[0] != "r" or "[vvar" in line or "[vsyscall" in line:
            continue
        # A sanitizer's shadow reserves terabytes: skip what no heap is.
        if hi - lo > (4 << 30):
            continue
        # In 16 MiB pieces, overlapping by the needle's length.
        step = 16 << 20
        for at in range(lo, hi, step):
            try:
                mem.seek(at)
                if needle in mem.read(min(step + len(needle), hi - at)):
                    found = True
                    break
            except (OSError, OverflowError, MemoryError):
                break
        if found:
            break
sys.exit(0 if found else 1)
EOF
}

start_daemon "$T/literal.conf"
cli random 16
is "$RC" 0 "a literal PIN: the signer logged in with it" || diag "$ERR"
FRONT=$(daemon_child p11b-front)
SIGNER=$(daemon_child p11b-signer)
[ -n "$FRONT" ] && [ -n "$SIGNER" ] || bail "no front or signer"
mem_has "$FRONT" "$SOCK"
ok $? "control: the memory search finds the socket path in the front"
mem_has "$FRONT" "$LPIN"
ok "$((! $?))" "a literal PIN: not in the front's memory"
mem_has "$SIGNER" "$LPIN"
ok "$((! $?))" "a literal PIN: not in the signer's memory"
# A reload sends the config's bytes to the front and starts a signer.
kill_child "$DAEMON_PID" HUP
wait_log "reloaded "
SIGNER=$(daemon_child p11b-signer)
cli random 16
is "$RC" 0 "served after a reload with a literal PIN" || diag "$ERR"
mem_has "$FRONT" "$LPIN"
ok "$((! $?))" "after a reload: not in the front's memory"
[ -n "$SIGNER" ] && ! mem_has "$SIGNER" "$LPIN"
ok $? "after a reload: not in the new signer's memory"
like "$(grep 'reloaded' "$DAEMON_LOG")" "." "the reload was accepted"
stop_daemon

done_testing
