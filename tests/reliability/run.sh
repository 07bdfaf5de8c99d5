#!/bin/bash
# tests/reliability/run.sh [BUILDDIR] -- the timing figures that matter
# to operators, measured (not asserted: make check never judges elapsed
# time).  The real daemon on a throwaway SoftHSM2 token, with
# tests/faultmod's fault-pkcs11.so between the signer and the token:
#
#   recovery-token   a token gone (every call CKR_TOKEN_NOT_PRESENT) long
#                    enough for four restarts (the pause doubles from
#                    50 ms, to 30 s for signers dying young),
#                    then back: ms from the rule's removal to the first
#                    verified signature (CLI runs, ~10 ms each, included)
#   recovery-kill    SIGKILL of the signer under 4 signing threads on one
#                    connection (tests/tools/keepsign), the first in 10 s
#                    (restart backoff at its 50 ms floor): ms from the
#                    first TOKEN_UNAVAILABLE to the first success after
#   drain            SIGTERM with 3 signatures in flight, each held 400 ms
#                    by the token (C_Sign delay): ms from SIGTERM to the
#                    daemon's exit (all 3 must complete and verify)
#   stop-idle        SIGTERM with nothing in flight: ms to exit
#   reload-under-load  SIGHUP while `p11broker bench` signs with 4
#                    clients: ms from the signal to the "reloaded" line;
#                    the bench's errors must stay 0
#   rate-accuracy    `rate 200/s` on one connection for 3 s (bench
#                    --clients 1): successes / (200 + 200 x seconds), %
#
# Each figure is taken ROUNDS times (default 9); one line per figure:
# median, min, max.  HOGS=N runs N CPU-bound processes beside it (the
# "under load" column of RELIABILITY.md), CPUS=LIST pins the daemon
# and the clients with taskset.  Results also go to RESULTS (default
# /tmp/p11broker-reliability/summary.txt).  Not part of make check.
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
ROUNDS=${ROUNDS:-9}
HOGS=${HOGS:-0}
CPUS=${CPUS:-}
RESULTS=${RESULTS:-/tmp/p11broker-reliability}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/faultlib.sh"

KEEPSIGN="$build/tests/tools/keepsign"
[ -f "$FAULTMOD" ] && [ -x "$KEEPSIGN" ] && [ -x "$MKOBJECTS" ] ||
    bail "build the test programs first: make -C $build check TESTS="
mkdir -p "$RESULTS" || exit 2
SUMMARY="$RESULTS/summary.txt"
: >"$SUMMARY"
PIN_CMD=()
[ -n "$CPUS" ] && PIN_CMD=(taskset -c "$CPUS")

# --- load beside the measurement --------------------------------------------

HOG_PIDS=
stop_hogs()
{
	# shellcheck disable=SC2086
	[ -n "$HOG_PIDS" ] && kill $HOG_PIDS 2>/dev/null
	HOG_PIDS=
}
for _ in $(seq 1 "$HOGS"); do
	sh -c 'while :; do :; done' &
	HOG_PIDS="$HOG_PIDS $!"
done
trap 'stop_hogs; _cleanup' EXIT

# --- helpers ----------------------------------------------------------------

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# report NAME UNIT VALUE...: median, min and max of the values.
report()
{
	local name=$1 unit=$2 line
	shift 2
	line=$(printf '%s\n' "$@" | sort -n | awk -v n="$name" -v u="$unit" '
	    { v[NR] = $1 }
	    END {
		if (NR == 0) { printf "%-18s no values\n", n; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%-18s median %s %s  min %s  max %s  (n=%d)\n",
		    n, m, u, v[1], v[NR], NR
	    }')
	printf '%s\n' "$line" | tee -a "$SUMMARY"
}

# start CONFIG: the daemon, pinned when CPUS is set.
start()
{
	: >"$DAEMON_LOG"
	P11BROKER_PIN=$PIN setsid "${PIN_CMD[@]}" "$BROKERD" -d -f "$1" \
	    </dev/null >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_socket "$SOCK" || bail "daemon did not open $SOCK"
	wait_for _daemon_healthy_or_gone && running "$DAEMON_PID" ||
	    bail "daemon does not answer health"
}

# --- set-up -----------------------------------------------------------------

setup_token
fault_setup
fault_write_config "token-timeout 10"
sed -i 's/^workers .*/workers 3/' "$CONF"
write_policy "permit user $ME stats"
# The rate rule comes first for ec384: it decides.
printf 'permit user %s sign ec384 rate 200/s\n' "$ME" >"$POLICY.new"
cat "$POLICY" >>"$POLICY.new"
mv "$POLICY.new" "$POLICY"
chmod 0644 "$POLICY"

{
	echo "# p11broker reliability figures, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "# $(nproc) CPUs, $HOGS CPU-bound processes beside," \
	    "pinned: ${CPUS:-no}, rounds: $ROUNDS"
	echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$SUMMARY"

start "$CONF"

# --- recovery after the token comes back ------------------------------------

vals=()
for _ in $(seq 1 "$ROUNDS"); do
	inits=$(calls C_Initialize)
	rules "* error CKR_TOKEN_NOT_PRESENT"
	# A request finds the token gone; health then says so.
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	wait_for health_says unavailable || bail "token never unavailable"
	# Backoff at its cap: several signers met the absent token.
	wait_for calls_above C_Initialize $((inits + 4)) ||
	    bail "no restart attempts"
	t0=$(now_ms)
	rules ""
	wait_for sign_ok || bail "never signed again"
	vals+=($(($(now_ms) - t0)))
done
report recovery-token ms "${vals[@]}"

# --- recovery after the signer is killed ------------------------------------

vals=()
for _ in $(seq 1 "$ROUNDS"); do
	# pacing: a signer that lived 10 s resets the monitor's restart
	# backoff, so that every round measures a first failure.
	sleep 10.5
	signer=$(daemon_child p11b-signer) || bail "no signer"
	"${PIN_CMD[@]}" "$KEEPSIGN" "$SOCK" ec256 4 "$HANG" \
	    >"$T/keep.out" 2>&1 &
	keep=$!
	wait_for grep -q '^signing$' "$T/keep.out" || bail "keepsign"
	kill -KILL "$signer"
	wait "$keep"
	line=$(tail -n 1 "$T/keep.out")
	case $line in
	*" lost=0 "*) ;;
	*) bail "keepsign: $line" ;;
	esac
	vals+=("$(printf '%s\n' "$line" | sed -n 's/.*gap-ms=\([0-9]*\).*/\1/p')")
	# The new signer serves before the next round's kill.
	wait_for sign_ok || bail "never signed again"
done
report recovery-kill ms "${vals[@]}"

# --- reload under load ------------------------------------------------------

"${PIN_CMD[@]}" "$P11B" -s "$SOCK" bench --op ecdsa --clients 4 \
    --seconds 3600 </dev/null >"$T/bench.out" 2>"$T/bench.err" &
bench=$!
vals=()
for i in $(seq 1 "$ROUNDS"); do
	t0=$(now_ms)
	kill_child "$DAEMON_PID" HUP
	wait_log 'reloaded ' "$i" || bail "no reload line"
	vals+=($(($(now_ms) - t0)))
done
kill_child "$bench" TERM
wait_exit "$bench"
report reload-under-load ms "${vals[@]}"
printf '%-18s %s\n' "  bench meanwhile" "$(head -n 1 "$T/bench.out")" |
    tee -a "$SUMMARY"

# --- rate-limit accuracy ----------------------------------------------------

vals=()
for _ in $(seq 1 "$ROUNDS"); do
	"${PIN_CMD[@]}" "$P11B" -s "$SOCK" bench --op ecdsa --key ec384 \
	    --alg ecdsa-p384-sha384 --clients 1 --seconds 3 \
	    </dev/null >"$T/rate.out" 2>/dev/null
	line=$(head -n 1 "$T/rate.out")
	okn=$(printf '%s' "$line" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
	secs=$(printf '%s' "$line" | sed -n 's/.* secs=\([0-9.]*\) .*/\1/p')
	vals+=("$(awk -v n="$okn" -v s="$secs" \
	    'BEGIN { printf "%.1f", 100 * n / (200 + 200 * s) }')")
	sleep 1.5	# pacing: an empty bucket is full again after 1 s
done
report rate-accuracy % "${vals[@]}"

# --- SIGTERM: idle, and with 3 requests in flight ---------------------------

vals=()
for _ in $(seq 1 "$ROUNDS"); do
	t0=$(now_ms)
	kill_child "$DAEMON_PID" TERM
	wait_exit "$DAEMON_PID"
	vals+=($(($(now_ms) - t0)))
	[ "$EXIT_RC" = 0 ] || bail "exit $EXIT_RC"
	DAEMON_PID=
	start "$CONF"
done
report stop-idle ms "${vals[@]}"

vals=()
for _ in $(seq 1 "$ROUNDS"); do
	rules "C_Sign delay 400ms"
	signs=$(calls C_Sign)
	pids=
	for i in 1 2 3; do
		rm -f "$T/drain.$i"
		"$P11B" -s "$SOCK" sign ec256 -a ecdsa-p256-sha256 \
		    -i "$T/data" -o "$T/drain.$i" 2>/dev/null &
		pids="$pids $!"
	done
	wait_for calls_above C_Sign $((signs + 2)) || bail "not in flight"
	t0=$(now_ms)
	kill_child "$DAEMON_PID" TERM
	wait_exit "$DAEMON_PID"
	vals+=($(($(now_ms) - t0)))
	DAEMON_PID=
	# shellcheck disable=SC2086
	wait $pids
	for i in 1 2 3; do
		[ "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
		    -signature "$T/drain.$i" "$T/data" 2>&1)" = "Verified OK" ] ||
		    bail "drain: request $i did not complete"
	done
	rules ""
	start "$CONF"
done
report drain ms "${vals[@]}"

stop_daemon
echo "# results in $SUMMARY"
