#!/bin/bash
# The shipped logrotate config (contrib/logrotate.d/p11broker), with only
# its path and its signal command pointed at this test's broker: rotated
# twice by logrotate itself while clients sign and HMAC without pause,
# every request is answered ok, and `p11broker audit verify` passes over
# the three files in order, with one audit line per answered request.
. "$(dirname "$0")/lib.sh"

need_tools logrotate
setup_token
LOGDIR="$T/log"
mkdir -p "$LOGDIR"
LOG="$LOGDIR/audit.log"
write_config "audit \"$LOG\" checkpoint-key ec256 checkpoint-lines 16"
write_policy
start_daemon

# The shipped file, its path and postrotate command replaced.
shipped="$top_srcdir/contrib/logrotate.d/p11broker"
sed -e "s|^/var/log/p11broker/audit.log {|$LOG {|" \
    -e "s|^\\(\\t*\\)systemctl kill .*|\\1kill -USR1 $DAEMON_PID|" \
    "$shipped" >"$T/logrotate.conf"
is "$(grep -c "kill -USR1 $DAEMON_PID" "$T/logrotate.conf")" 1 \
    "the shipped config, its signal command pointed at this broker"

# Load: clients without a pause until told to stop; each answer counted.
head -c 200 /dev/urandom >"$T/data"
load()
{
	local n=0 bad=0
	while [ ! -e "$T/stop" ]; do
		if "$P11B" -s "$SOCK" "$@" -i "$T/data" -o /dev/null \
		    2>>"$T/load.err"; then
			n=$((n + 1))
		else
			bad=$((bad + 1))
		fi
		echo "$n $bad" >"$T/load.$1.tmp" && mv "$T/load.$1.tmp" "$T/load.$1"
	done
}
load sign ec384 -a ecdsa-p384-sha384 &
l1=$!
load hmac hmac32 &
l2=$!
# answered OP N: OP's client has had at least N answers.
answered()
{
	[ -s "$T/load.$1" ] && [ "$(cut -d' ' -f1 "$T/load.$1")" -ge "$2" ]
}
# first_event FILE: the event of the file's first line.
first_event()
{
	head -n 1 "$1" 2>/dev/null | python3 -c \
	    'import json,sys; print(json.load(sys.stdin).get("event"))' 2>/dev/null
}
new_log_rotated()
{
	[ "$(first_event "$LOG")" = rotate ]
}
for round in 1 2; do
	wait_for answered sign $((round * 20)) && wait_for answered hmac $((round * 20))
	logrotate -s "$T/logrotate.state" -f "$T/logrotate.conf" \
	    >"$T/logrotate.out" 2>&1
	is "$?" 0 "logrotate run $round under load" || diag "$(cat "$T/logrotate.out")"
	wait_for new_log_rotated
	ok $? "rotation $round: the new file starts with the rotate line"
done
wait_for answered sign 60
touch "$T/stop"
wait "$l1" "$l2"
read -r sign_ok sign_bad <"$T/load.sign"
read -r hmac_ok hmac_bad <"$T/load.hmac"
is "$((sign_bad + hmac_bad))" 0 "no request failed while logrotate ran" ||
    diag "$(tail -5 "$T/load.err")"
stop_daemon
ls "$LOGDIR" | grep -v '\.head$' >"$T/files"	# the head file stays
is "$(tr '\n' ' ' <"$T/files")" "audit.log audit.log.1 audit.log.2 " \
    "three files: the current one and two rotated"
out=$(timeout -k 2 "$HANG" "$P11B" audit verify --pubkey "$T/pub/ec256.pem" \
    "$LOG.2" "$LOG.1" "$LOG" 2>&1)
is "$?" 0 "audit verify passes across the rotated files" || diag "$out"
n=$(cat "$LOG.2" "$LOG.1" "$LOG" | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin
          if json.loads(l).get("op") in ("sign", "hmac")
          and json.loads(l).get("status") == "ok"))')
is "$n" "$((sign_ok + hmac_ok))" \
    "one audit line per answered request ($((sign_ok + hmac_ok)))"

done_testing
