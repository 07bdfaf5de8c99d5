#!/bin/bash
# tests/bench/idle.sh [BUILDDIR] -- the broker's memory with many idle
# connections: the real daemon on a throwaway SoftHSM2 token
# (tests/integration/mktoken.sh), then tests/bench/idle.py opens
# CONNS connections and keeps them open without a request, then sends one
# Health request on each and keeps them open again, then closes them;
# ROUNDS times (a second round shows memory kept for reuse, not leaked).
# Then (INFLIGHT=1, the default) the token is made to hold every C_Sign
# (tests/faultmod's fault module, "C_Sign hang") and each of CONNS
# connections sends one Sign request: CONNS requests in flight, queued in
# the front and on the signer links, until the hold is released and all
# are answered.
# At each stage the RSS (VmRSS) of the monitor, the front and the signers
# (together; "signers" as configured, default: the CPU count up to 4) is
# sampled SAMPLES times a second apart (medians shown), and a normal
# client must still be answered.  Not part of make check.
#
# Env: CONNS (1000) ROUNDS (2) SAMPLES (3) AUDIT=1 (with the audit log on)
#      INFLIGHT (1; 0: no in-flight stage)
#      RESULTS (default /tmp/p11broker-idle: idle.txt)
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
CONNS=${CONNS:-1000}
ROUNDS=${ROUNDS:-2}
SAMPLES=${SAMPLES:-3}
AUDIT=${AUDIT:-}
INFLIGHT=${INFLIGHT:-1}
RESULTS=${RESULTS:-/tmp/p11broker-idle}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/faultlib.sh"

mkdir -p "$RESULTS" || exit 2
setup_token
write_policy "permit user $ME stats"
module=$SOFTHSM_MODULE
if [ "$INFLIGHT" = 1 ]; then
	fault_setup
	module=$FAULTMOD
fi
{
	printf 'socket "%s" mode 0666\n' "$SOCK"
	printf 'max-clients %d\n' $((CONNS + 16))
	printf 'max-clients-per-uid %d\n' $((CONNS + 16))
	printf 'idle-timeout 3600\n'
	# The held requests are not given up on while the stage is sampled.
	printf 'token-timeout 600\n'
	user_line
	[ "$INFLIGHT" = 1 ] &&
	    printf 'sandbox read "%s"\nsandbox allow ftruncate pwrite64\n' "$T"
	printf 'policy "%s"\n' "$POLICY"
	printf 'token {\n\tmodule "%s"\n\tlabel "p11b-test"\n' "$module"
	printf '\tpin-env "P11BROKER_PIN"\n}\n'
	write_keys
	[ -n "$AUDIT" ] &&
	    printf 'audit "%s" checkpoint-key ec384\n' "$T/audit.log"
} >"$CONF"
start_daemon

children()
{
	local p f= s=
	for p in $(pgrep -P "$1"); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		p11b-front) f=$p ;;
		p11b-signer) s="$s,$p" ;;
		esac
	done
	printf '%s %s\n' "${f:--}" "${s#,}"
}
read -r FRONT SIGNERS < <(children "$DAEMON_PID")
NSIGNERS=$(echo "$SIGNERS" | tr ',' '\n' | grep -c .)

# stage NAME: median VmRSS (kB) of each process over SAMPLES seconds.
stage()
{
	local name=$1 i p
	for i in $(seq 1 "$SAMPLES"); do
		for p in "$DAEMON_PID" "$FRONT"; do
			awk '/^VmRSS:/ { printf "%s ", $2 }' "/proc/$p/status"
		done
		# The signers together.
		for p in ${SIGNERS//,/ }; do
			cat "/proc/$p/status"
		done | awk '/^VmRSS:/ { s += $2 } END { print s }'
		[ "$i" -lt "$SAMPLES" ] && sleep 1
	done | python3 -c '
import statistics, sys
rows = [list(map(int, l.split())) for l in sys.stdin if l.strip()]
m, f, s = (statistics.median(c) for c in zip(*rows))
t = m + f + s
print("| %s | %d | %d | %d | %d | %.1f |" % (sys.argv[1], m, f, s, t,
      t / 1024))' "$name"
}

conns()
{
	"$P11B" -s "$SOCK" stats | sed -n 's/.* connections=\([0-9]*\) .*/\1/p'
}

table="$RESULTS/idle.txt"
{
	echo "| stage | monitor kB | front kB | $NSIGNERS signers kB | total kB | total MiB |"
	echo "|---|---:|---:|---:|---:|---:|"
} >"$table"
stage "daemon started, no client" >>"$table"

# round N: open CONNS connections, one request on each, close them.
round()
{
	local n=$1 line
	coproc IDLE { python3 "$top_srcdir/tests/bench/idle.py" "$SOCK" \
	    "$CONNS" 2>"$T/idle.err"; }
	read -r -t 60 line <&"${IDLE[0]}"
	is "$line" "open $CONNS" "round $n: idle.py opened $CONNS connections" ||
	    bail "idle.py: $(cat "$T/idle.err")"
	sleep 1
	is "$(conns)" "$((CONNS + 1))" \
	    "round $n: stats: $CONNS idle connections + this one"
	stage "round $n: $CONNS connections open, no request yet" >>"$table"
	echo health >&"${IDLE[1]}"
	read -r -t 120 line <&"${IDLE[0]}"
	is "$line" "answered $CONNS" "round $n: one Health request on each"
	stage "round $n: $CONNS connections open, idle after one request each" \
	    >>"$table"
	cli health
	is "$RC" 0 "round $n: a new client is served with $CONNS open"
	echo close >&"${IDLE[1]}"
	read -r -t 60 line <&"${IDLE[0]}"
	is "$line" closed "round $n: idle.py closed its connections"
	wait "$IDLE_PID" 2>/dev/null
	sleep 1
	stage "round $n: connections closed" >>"$table"
	is "$(conns)" 1 "round $n: stats: only this connection is left"
}

for r in $(seq 1 "$ROUNDS"); do
	round "$r"
done

# _all_read: no connection to the socket has unread bytes (Recv-Q 0 on
# the daemon's side of every one).
_all_read()
{
	ss -xH src "$SOCK" | awk '$3 > 0 { n++ } END { exit n > 0 }'
}

# CONNS connections, each with a Sign request the token holds.
inflight()
{
	local line workers
	workers=$("$P11B" -s "$SOCK" health | sed -n 's/.*workers=\([0-9]*\).*/\1/p')
	rules "C_Sign hang"
	coproc IDLE { python3 "$top_srcdir/tests/bench/idle.py" "$SOCK" \
	    "$CONNS" 2>"$T/idle.err"; }
	read -r -t 60 line <&"${IDLE[0]}"
	is "$line" "open $CONNS" "in flight: idle.py opened $CONNS connections" ||
	    bail "idle.py: $(cat "$T/idle.err")"
	echo "sign ec256" >&"${IDLE[1]}"
	read -r -t 60 line <&"${IDLE[0]}"
	is "$line" "sent $CONNS" "in flight: one Sign request on each"
	wait_for calls_above C_Sign $((workers - 1))
	ok $? "in flight: every worker ($workers) is held at C_Sign"
	# The front has read every request: none waits in a socket's queue.
	wait_for _all_read
	ok $? "in flight: the front has read all $CONNS requests"
	stage "$CONNS connections, each with a Sign request in flight" \
	    >>"$table"
	rules ""
	echo collect >&"${IDLE[1]}"
	read -r -t 300 line <&"${IDLE[0]}"
	is "$line" "answered $CONNS" "in flight: all $CONNS answered OK once released"
	stage "in-flight requests answered, $CONNS connections open" >>"$table"
	echo close >&"${IDLE[1]}"
	read -r -t 60 line <&"${IDLE[0]}"
	wait "$IDLE_PID" 2>/dev/null
}
[ "$INFLIGHT" = 1 ] && inflight

stop_daemon
is "$EXIT_RC" 0 "the daemon exits 0 on SIGTERM"
cat "$table"
done_testing
