#!/bin/bash
# tests/reliability/hostile.sh [BUILDDIR] -- hostile local callers (issue
# #12, items 1-4 and all at once) against the real daemon with the default
# limits, measured (not asserted; make check has
# tests/integration/hostile_callers.sh for the outcomes).  Run as root:
# the attackers run as nobody (not in the policy) and uid 4242 (one rule,
# sign rsa2048) through setpriv; a permitted caller (root) meanwhile signs
# with ec256 on a fresh connection every 20 ms (hostile.py probe).
#
#   flood      nobody floods refusals (missing key) on one connection
#   fds        5000 idle connections from 20 uids not in the policy
#              (nobody and 60001-60019, 250 each); the front's
#              RLIMIT_NOFILE is 1024 (as in the issue)
#   slowloris  nobody, 200 connections sending a frame a byte a second,
#              reconnecting when cut off
#   memory     100 connections of nobody and 32 of uid 4242 pipeline
#              60000-byte RSA-PSS sign requests and never read
#   combined   all four at once
#
# One line per attack: the probe's successes / attempts and p99 latency,
# the front's peak RSS (VmHWM) and its growth, audit log bytes and lines
# added, daemon log lines, the refusals the counters saw.  SECONDS_EACH
# (default 10) per attack.  Not part of make check.
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
SECONDS_EACH=${SECONDS_EACH:-10}
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
NOBODY=$(id -u nobody)
KNOWN_UID=4242
FD_UIDS="$NOBODY $(seq 60001 60019)"
. "$top_srcdir/tests/integration/attacklib.sh"

setup_token
mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
attack_setup

# The defaults: write_config's max-clients and idle-timeout lines go.
write_config "audit \"$LOG\" checkpoint-key ec521"
sed -i -e '/^max-clients /d' -e '/^idle-timeout /d' "$CONF"
write_policy "permit user $KNOWN_UID sign rsa2048" "permit user $ME stats"

start_attacks()
{
	local a
	for a in "$@"; do
		case $a in
		baseline) ;;
		flood)	attack flood "$NOBODY" floodloop ;;
		fds)	for u in $FD_UIDS; do
				attack "fds$u" "$u" hold 250
			done ;;
		slowloris) attack slow "$NOBODY" slowloris 200 ;;
		memory)	attack mem1 "$NOBODY" pipeline 100 64 60000 rsa2048 7
			attack mem2 "$KNOWN_UID" pipeline 32 64 60000 \
			    rsa2048 7 ;;
		esac
	done
}

stop_attacks()
{
	local a
	for a in "$@"; do
		case $a in
		baseline) ;;
		flood)	finish_gently flood ;;
		fds)	for u in $FD_UIDS; do
				finish_gently "fds$u"
			done ;;
		slowloris) finish_gently slow ;;
		memory)	finish_gently mem1; finish_gently mem2 ;;
		esac
	done
}

refusals()
{
	"$P11B" -s "$SOCK" stats 2>/dev/null | awk '
	    /^requests / && !/status=ok/ { sub(/.*count=/, ""); n += $0 }
	    END { print n + 0 }'
}

# run NAME ATTACK...: a fresh daemon, the probe, the attacks for
# SECONDS_EACH seconds, then the figures.
run()
{
	local name=$1 front base peak alog0 alines0 dlog0 ok n p99 ref0
	shift
	stop_daemon
	rm -f "$LOG"
	start_daemon
	front=$(daemon_child p11b-front)
	# As the issue had it: RLIMIT_NOFILE 1024 (as the front's own user).
	setpriv --reuid="$P11B_DAEMON_USER" \
	    --regid="$(id -g "$P11B_DAEMON_USER")" --clear-groups \
	    prlimit --pid "$front" --nofile=1024:1024
	base=$(awk '/^VmHWM:/ { print $2 }' "/proc/$front/status")
	alog0=$(wc -c <"$LOG")
	alines0=$(wc -l <"$LOG")
	dlog0=$(wc -l <"$DAEMON_LOG")
	ref0=$(refusals)
	attack probe 0 probe "$T/probe.txt"
	start_attacks "$@"
	sleep "$SECONDS_EACH"
	peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$front/status")
	finish_gently probe
	stop_attacks "$@"
	n=$(wc -l <"$T/probe.txt")
	ok=$(grep -c '^ok ' "$T/probe.txt")
	p99=$(awk '{ print $2 }' "$T/probe.txt" | sort -n | awk '
	    { v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1;
	    printf "%.1f", v[i] / 1000 }')
	printf '%-10s probe %d/%d ok p99 %s ms | front VmHWM %d KiB (+%d) ' \
	    "$name" "$ok" "$n" "$p99" "$peak" "$((peak - base))"
	printf '| audit +%d bytes +%d lines | daemon log +%d lines | ' \
	    "$(($(wc -c <"$LOG") - alog0))" \
	    "$(($(wc -l <"$LOG") - alines0))" \
	    "$(($(wc -l <"$DAEMON_LOG") - dlog0))"
	printf 'refusals %d\n' "$(($(refusals) - ref0))"
}

# RUNS: which (default all), e.g. RUNS="baseline combined".
for r in ${RUNS:-baseline flood fds slowloris memory combined}; do
	case $r in
	combined) run combined flood fds slowloris memory ;;
	*) run "$r" "$r" ;;
	esac
	# Why the probes that failed failed (stage and error, or answer).
	awk '$1 == "fail" { n[$3]++ } END { for (w in n) printf "  %s x%d\n", w, n[w] }' \
	    "$T/probe.txt"
done
stop_daemon
