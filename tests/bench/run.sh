#!/bin/bash
# tests/bench/run.sh [BUILDDIR] -- the broker beside the same work done
# directly in-process against the same SoftHSM2 token, in the same run.
#
#   direct : p11bench (../shared/bench, the neutral harness) loading
#            libsofthsm2.so in-process: C_SignInit + C_Sign per op
#   broker : `p11broker bench` against p11brokerd on the same token
# Ops: ecdsa (P-256 over a 32-byte digest), rsa (RSA-2048 PKCS#1 v1.5 over a
# SHA-256 digest), hmac (HMAC-SHA256 over 64 bytes); CLIENTS concurrent
# clients (threads for direct, connections for the broker).  Runs are
# interleaved (rep -> op -> clients -> target) so drift hits both sides;
# the table shows medians over REPS and broker/direct ratios, once
# unpinned and once with everything pinned to CPU 0 (taskset -c 0).
#
#   batch  : `p11broker bench --batch $BATCH` against the same broker:
#            BATCH (default 64) inputs per request, ops counting inputs;
#            a second table shows it beside direct (BATCH=0: not run).
#   old    : with OLD_BUILD=DIR, a second broker built from another tree
#            (e.g. the single-process broker before the split), on its
#            own socket, measured in the same run; the table then also
#            shows broker/old.
# Env: SECS (default 2) REPS (3) CLIENTS ("1 4 16") OPS ("ecdsa rsa hmac")
#      MODES ("unpinned pinned") WORKERS (broker workers, default: config
#      default) P11BENCH_DIR (default ../shared/bench beside the source tree)
#      WORK (default /tmp/p11broker-bench)
# Output: the raw lines in $WORK/raw.txt, the table on stdout (Markdown).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
SECS=${SECS:-2}
REPS=${REPS:-3}
CLIENTS=${CLIENTS:-"1 4 16"}
OPS=${OPS:-"ecdsa rsa hmac"}
MODES=${MODES:-"unpinned pinned"}
WORK=${WORK:-/tmp/p11broker-bench}
P11BENCH_DIR=${P11BENCH_DIR:-$top/../shared/bench}
SOFTHSM=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
declare -A KEY=([ecdsa]=ec256 [rsa]=rsa2048 [hmac]=hmac32)

mkdir -p "$WORK"
[ -x "$WORK/p11bench" ] || cc -O2 -g -Wall -std=gnu11 -pthread \
    -I/usr/include/p11-kit-1 -o "$WORK/p11bench" "$P11BENCH_DIR/p11bench.c" -ldl
[ -f "$WORK/hsm/softhsm2.conf" ] ||
    "$P11BENCH_DIR/setup-softhsm.sh" "$WORK/hsm" >/dev/null
export SOFTHSM2_CONF=$WORK/hsm/softhsm2.conf
export P11BENCH_PIN=1234

umask 077
printf '1234\n' >"$WORK/pin"
# Run as root, the broker drops to an unprivileged user that must be able
# to read the token.
USER_LINE=
if [ "$(id -u)" -eq 0 ]; then
	BUSER=p11broker
	getent passwd "$BUSER" >/dev/null || BUSER=nobody
	chown -R "$BUSER" "$WORK/hsm"
	chmod 0755 "$WORK" "$WORK/hsm"
	USER_LINE="user $BUSER"
fi
# config NAME SOCKET [EXTRA]: a broker config
config() {
	cat >"$WORK/$1" <<CONF
socket "$WORK/$2" mode 0600
policy "policy.conf"
${WORKERS:+workers $WORKERS}
${3:-}
token {
	module "$SOFTHSM"
	label "bench"
	pin-file "pin"
}
key ec256   label "ec256"
key rsa2048 label "rsa2048"
key hmac32  label "hmac32"
CONF
}
config p11brokerd.conf broker.sock "$USER_LINE"
# A pre-split OLD_BUILD (single process, before "user") needs
# OLD_NO_USER=1; later builds refuse to run as root without it.
config old.conf old.sock "${OLD_NO_USER:+#}$USER_LINE"
cat >"$WORK/policy.conf" <<CONF
permit user $(id -u) sign ec256,rsa2048
permit user $(id -u) hmac hmac32
permit user $(id -u) health
CONF

TARGETS="direct broker"
[ -n "${OLD_BUILD:-}" ] && OLD_BUILD=$(cd "$OLD_BUILD" && pwd) &&
    TARGETS="direct broker old"
BATCH=${BATCH:-64}
[ "$BATCH" -gt 0 ] && TARGETS="$TARGETS batch"
DPIDS=
stop_broker() {
	local p
	for p in $DPIDS; do
		# Only our own child: a reused PID may belong to someone else.
		[ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = $$ ] &&
		    kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	DPIDS=
}
trap stop_broker EXIT

# start_one BUILD CONF SOCK
start_one() {
	"${PIN[@]}" "$1/brokerd/p11brokerd" -d -f "$WORK/$2" \
	    >"$WORK/$2.log" 2>&1 &
	DPIDS="$DPIDS $!"
	for _ in $(seq 100); do
		"$1/client/p11broker" -s "$WORK/$3" health \
		    >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "broker did not start:" >&2
	cat "$WORK/$2.log" >&2
	exit 1
}

start_broker() {
	start_one "$build" p11brokerd.conf broker.sock
	[ -z "${OLD_BUILD:-}" ] || start_one "$OLD_BUILD" old.conf old.sock
}

# one TARGET OP N: prints "ops_per_s p50 p99"
one() {
	local target=$1 op=$2 n=$3 line
	if [ "$target" = direct ]; then
		line=$("${PIN[@]}" "$WORK/p11bench" --module "$SOFTHSM" \
		    --token bench --label "${KEY[$op]}" --op "$op" \
		    --threads "$n" --seconds "$SECS")
	else
		local sock=broker.sock batch=()
		[ "$target" = old ] && sock=old.sock
		[ "$target" = batch ] && batch=(--batch "$BATCH")
		line=$("${PIN[@]}" "$build/client/p11broker" -s "$WORK/$sock" \
		    bench --op "$op" --key "${KEY[$op]}" --clients "$n" \
		    --seconds "$SECS" "${batch[@]}")
		case $line in *errors=0*) ;; *) echo "broker errors: $line" >&2
			exit 1 ;; esac
	fi
	echo "$line" | sed -E 's/.*ops_per_s=([0-9.]+).*p50_us=([0-9.]+).*p99_us=([0-9.]+).*/\1 \2 \3/'
}

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

: >"$WORK/raw.txt"
for mode in $MODES; do
	PIN=()
	[ "$mode" = pinned ] && PIN=(taskset -c 0)
	start_broker
	for rep in $(seq "$REPS"); do
		for op in $OPS; do
			for n in $CLIENTS; do
				for target in $TARGETS; do
					echo "$mode $op $n $target $rep $(one $target $op $n)" \
					    >>"$WORK/raw.txt"
				done
			done
		done
	done
	stop_broker
done

if [ -n "${OLD_BUILD:-}" ]; then
	echo "| cpus | op | clients | direct ops/s | old ops/s | broker ops/s | broker/old | broker/direct | old p50/p99 µs | broker p50/p99 µs |"
	echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
else
	echo "| cpus | op | clients | direct ops/s | broker ops/s | ratio | direct p50/p99 µs | broker p50/p99 µs |"
	echo "|---|---|---|---:|---:|---:|---:|---:|"
fi
for mode in $MODES; do
	for op in $OPS; do
		for n in $CLIENTS; do
			for target in $TARGETS; do
				sel() { awk -v m="$mode" -v o="$op" -v n="$n" -v t="$target" -v f="$1" \
				    '$1==m && $2==o && $3==n && $4==t {print $f}' "$WORK/raw.txt" | median; }
				eval "${target}_ops=$(sel 6) ${target}_p50=$(sel 7) ${target}_p99=$(sel 8)"
			done
			ratio=$(awk -v b="$broker_ops" -v d="$direct_ops" 'BEGIN {printf "%.2f", b / d}')
			cpus=$([ "$mode" = pinned ] && echo "taskset -c 0" || echo unpinned)
			if [ -n "${OLD_BUILD:-}" ]; then
				vsold=$(awk -v b="$broker_ops" -v d="$old_ops" 'BEGIN {printf "%.2f", b / d}')
				printf '| %s | %s | %s | %.0f | %.0f | %.0f | %s× | %s× | %.0f / %.0f | %.0f / %.0f |\n' \
				    "$cpus" "$op" "$n" "$direct_ops" "$old_ops" \
				    "$broker_ops" "$vsold" "$ratio" "$old_p50" \
				    "$old_p99" "$broker_p50" "$broker_p99"
			else
				printf '| %s | %s | %s | %.0f | %.0f | %s× | %.0f / %.0f | %.0f / %.0f |\n' \
				    "$cpus" "$op" "$n" "$direct_ops" "$broker_ops" "$ratio" \
				    "$direct_p50" "$direct_p99" "$broker_p50" "$broker_p99"
			fi
		done
	done
done

# Batches: inputs per second through batches of $BATCH, beside direct.
[ "$BATCH" -gt 0 ] || exit 0
echo
echo "| cpus | op | clients | direct ops/s | batch of $BATCH: ops/s | ratio | batch p50/p99 µs (per batch) |"
echo "|---|---|---|---:|---:|---:|---:|"
for mode in $MODES; do
	for op in $OPS; do
		for n in $CLIENTS; do
			for target in direct batch; do
				sel() { awk -v m="$mode" -v o="$op" -v n="$n" -v t="$target" -v f="$1" \
				    '$1==m && $2==o && $3==n && $4==t {print $f}' "$WORK/raw.txt" | median; }
				eval "${target}_ops=$(sel 6) ${target}_p50=$(sel 7) ${target}_p99=$(sel 8)"
			done
			ratio=$(awk -v b="$batch_ops" -v d="$direct_ops" 'BEGIN {printf "%.2f", b / d}')
			cpus=$([ "$mode" = pinned ] && echo "taskset -c 0" || echo unpinned)
			printf '| %s | %s | %s | %.0f | %.0f | %s× | %.0f / %.0f |\n' \
			    "$cpus" "$op" "$n" "$direct_ops" "$batch_ops" "$ratio" \
			    "$batch_p50" "$batch_p99"
		done
	done
done
