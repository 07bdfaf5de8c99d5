#!/bin/bash
# tests/bench/syscalls.sh [BUILDDIR] -- system calls and context switches
# per request on the whole path, client -> front -> signer -> front ->
# client, for one client doing one request at a time (issue #15's
# "fewer wake-ups").  Counts, not times: they hold on a busy machine.
#
# The client is `p11broker bench --requests N` (the CLI's own loop, one
# connection).  Each process is counted for N and for 2N requests and the
# difference is divided by N, which cancels start-up and connection set-up:
#   syscalls  strace -f -c on the client, and attached to the front and the
#             signer (all their threads)
#   switches  voluntary + involuntary context switches of every thread of
#             the front and the signer (/proc/PID/task/*/status), and of
#             the client (getrusage through /usr/bin/time), in runs of
#             their own without strace (ptrace stops are switches too)
# Env: N (default 2000) OPS ("ecdsa hmac").  Run as root.
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
N=${N:-2000}
OPS=${OPS:-"ecdsa hmac"}
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace not installed" >&2; exit 2; }
declare -A KEY=([ecdsa]=ec256 [hmac]=hmac32)

setup_token
write_config
write_policy
start_daemon
FRONT=$(daemon_child p11b-front)
SIGNER=$(daemon_child p11b-signer)

# switches PID: voluntary + involuntary switches of all its threads.
switches()
{
	cat /proc/"$1"/task/*/status 2>/dev/null | awk '
	    /^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# calls FILE: the total of strace -c's "calls" column.
calls()
{
	awk '$NF == "total" { print $4 + 0 }' "$1"
}

bench()
{
	"$P11B" -s "$SOCK" bench --op "$1" --key "${KEY[$1]}" --requests "$2" \
	    >/dev/null 2>&1
}

# measure OP COUNT: strace on the daemon's two processes and the client,
# then the same without strace for the switches; sets S_CLIENT S_FRONT
# S_SIGNER (syscalls) and W_FRONT W_SIGNER W_CLIENT (switches).
measure()
{
	local op=$1 n=$2 f0 s0 pf ps
	strace -f -c -o "$T/front.$n" -p "$FRONT" 2>"$T/strace.front" &
	pf=$!
	strace -f -c -o "$T/signer.$n" -p "$SIGNER" 2>"$T/strace.signer" &
	ps=$!
	# Attached once strace says so.
	wait_for grep -q attached "$T/strace.front"
	wait_for grep -q attached "$T/strace.signer"
	strace -f -c -o "$T/client.$n" "$P11B" -s "$SOCK" bench --op "$op" \
	    --key "${KEY[$op]}" --requests "$n" >/dev/null 2>&1
	kill -INT "$pf" "$ps"
	wait "$pf" "$ps" 2>/dev/null
	S_CLIENT=$(calls "$T/client.$n")
	S_FRONT=$(calls "$T/front.$n")
	S_SIGNER=$(calls "$T/signer.$n")
	f0=$(switches "$FRONT")
	s0=$(switches "$SIGNER")
	/usr/bin/time -f '%w %c' -o "$T/time.$n" "$P11B" -s "$SOCK" bench \
	    --op "$op" --key "${KEY[$op]}" --requests "$n" >/dev/null 2>&1
	W_FRONT=$(($(switches "$FRONT") - f0))
	W_SIGNER=$(($(switches "$SIGNER") - s0))
	W_CLIENT=$(awk '{ print $1 + $2 }' "$T/time.$n")
}

per_op()
{
	awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }'
}

printf '| op | client syscalls | front syscalls | signer syscalls | front switches | signer switches | client switches |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for op in $OPS; do
	measure "$op" "$N"
	c1=$S_CLIENT f1=$S_FRONT s1=$S_SIGNER wf1=$W_FRONT ws1=$W_SIGNER \
	    wc1=$W_CLIENT
	measure "$op" $((2 * N))
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$op" \
	    "$(per_op "$c1" "$S_CLIENT")" "$(per_op "$f1" "$S_FRONT")" \
	    "$(per_op "$s1" "$S_SIGNER")" "$(per_op "$wf1" "$W_FRONT")" \
	    "$(per_op "$ws1" "$W_SIGNER")" "$(per_op "$wc1" "$W_CLIENT")"
	for p in client front signer; do
		printf '  %s, per request:' "$p"
		awk -v n="$N" 'FNR == 1 { f++ }
		    $1 ~ /^[0-9.]+$/ && $NF != "total" {
			c[$NF] += (f == 2 ? $4 : -$4) }
		    END { for (s in c) if (c[s] / n >= 0.05)
			printf " %s %.2f", s, c[s] / n; print "" }' \
		    "$T/$p.$N" "$T/$p.$((2 * N))"
	done
done
stop_daemon
