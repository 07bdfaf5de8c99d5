#!/bin/bash
# tests/bench/batch_cpu.sh [BUILDDIR] -- CPU time the broker's processes
# (monitor, front, signer: utime + stime from /proc) spend per input,
# single requests against batches of $BATCH (default 64), one client.
# Unlike ops/s this hardly depends on what else the machine runs.
# Needs the token and config tests/bench/run.sh leaves in $WORK (run it
# first, same WORK, with 1 in SIGNERS: the "signers 1" broker).  Env: WORK (default /tmp/p11broker-bench), ITEMS
# (inputs per run, default 12800), BATCH, OPS (default "ecdsa hmac").
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
WORK=${WORK:-/tmp/p11broker-bench}
ITEMS=${ITEMS:-12800}
BATCH=${BATCH:-64}
OPS=${OPS:-"ecdsa hmac"}
[ -f "$WORK/broker-s1.conf" ] || { echo "run tests/bench/run.sh first" >&2;
	exit 1; }
export SOFTHSM2_CONF=$WORK/hsm/softhsm2.conf
P11B=("$build/client/p11broker" -s "$WORK/broker-s1.sock")

"$build/brokerd/p11brokerd" -d -f "$WORK/broker-s1.conf" \
    >"$WORK/batch_cpu.log" 2>&1 &
D=$!
trap 'kill $D 2>/dev/null; wait $D 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	"${P11B[@]}" health >/dev/null 2>&1 && break
	sleep 0.1
done
hz=$(getconf CLK_TCK)
# ticks: CPU ticks of the daemon and its children so far
ticks() {
	local p t=0
	for p in $D $(pgrep -P $D); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo $t
}
echo "| op | requests | inputs | broker CPU µs per input | inputs/s |"
echo "|---|---|---:|---:|---:|"
for op in $OPS; do
	for mode in single batch; do
		args=(--requests "$ITEMS")
		[ $mode = batch ] && args=(--requests $((ITEMS / BATCH)) \
		    --batch "$BATCH")
		t0=$(ticks)
		line=$("${P11B[@]}" bench --op "$op" --clients 1 "${args[@]}")
		t1=$(ticks)
		n=$(echo "$line" | sed -E 's/.* ops=([0-9]+).*/\1/')
		rate=$(echo "$line" | sed -E 's/.*ops_per_s=([0-9.]+).*/\1/')
		awk -v op="$op" -v m="$mode" -v b="$BATCH" -v d=$((t1 - t0)) \
		    -v hz="$hz" -v n="$n" -v r="$rate" 'BEGIN {
			printf "| %s | %s | %d | %.1f | %.0f |\n", op,
			    m == "batch" ? "batches of " b : "single", n,
			    d * 1e6 / hz / n, r }'
	done
done
