#!/bin/bash
# tests/bench/run.sh [BUILDDIR] -- the broker beside the same work done
# directly in-process against the same SoftHSM2 token, in the same run,
# in one table (plus the client module's, see MODULE).
#
# Targets, each timed by the same loop:
#   direct    p11bench (../shared/bench, the neutral harness) loading
#             libsofthsm2.so in-process: C_SignInit + C_Sign per op,
#             CLIENTS threads in one process
#   broker-sN `p11broker bench` (CLIENTS connections, one request at a
#             time each) against p11brokerd with "signers N", for each N
#             in SIGNERS, each broker on its own socket
#   batch-sN  the same broker with the largest N, `bench --batch BATCH`:
#             BATCH inputs per request, ops/s counting inputs (BATCH=0:
#             not run); p50/p99 are per batch
#   old       with OLD_BUILD=DIR, a broker built from another tree (its
#             default signers), on its own socket
# Ops: ecdsa (P-256 over a 32-byte digest), rsa (RSA-2048 PKCS#1 v1.5
# over a SHA-256 digest), hmac (HMAC-SHA256 over 64 bytes).  Runs are
# interleaved (rep -> op -> clients -> target) so drift hits every
# target alike; the table shows medians over REPS and each target's ratio
# to direct, once unpinned and once with everything pinned to CPU 0
# (taskset -c 0).
#   module    (MODULE=1, the default) ../shared/bench/run-anchors.sh on
#             the same token through three PKCS#11 modules: SoftHSM2
#             in-process, p11-kit's remoting (p11-kit-client.so ->
#             p11-kit server) and p11broker-pkcs11.so -> the broker with
#             the largest N; its table follows, per MODES.
# Env: SECS (2) REPS (3) CLIENTS ("1 4 16") OPS ("ecdsa rsa hmac")
#      MODES ("unpinned pinned") SIGNERS ("1 2") BATCH (64) WORKERS
#      (workers per signer; default: the config's) OLD_BUILD MODULE
#      P11BENCH_DIR (../shared/bench beside the tree)
#      WORK (/tmp/p11broker-bench)
# Output: the raw lines in $WORK/raw.txt, the tables on stdout (Markdown).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
SECS=${SECS:-2}
REPS=${REPS:-3}
CLIENTS=${CLIENTS:-"1 4 16"}
OPS=${OPS:-"ecdsa rsa hmac"}
MODES=${MODES:-"unpinned pinned"}
SIGNERS=${SIGNERS:-"1 2"}
BATCH=${BATCH:-64}
MODULE=${MODULE:-1}
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
SMAX=0
for s in $SIGNERS; do
	config "broker-s$s.conf" "broker-s$s.sock" "$USER_LINE
signers $s"
	[ "$s" -gt "$SMAX" ] && SMAX=$s
done
# A pre-split OLD_BUILD (single process, before "user") needs
# OLD_NO_USER=1; later builds refuse to run as root without it.
config old.conf old.sock "${OLD_NO_USER:+#}$USER_LINE"
cat >"$WORK/policy.conf" <<CONF
permit user $(id -u) sign ec256,rsa2048
permit user $(id -u) hmac hmac32
permit user $(id -u) health
permit user $(id -u) pubkey ec256,rsa2048
permit user $(id -u) hmac-verify hmac32
permit user $(id -u) list
CONF

TARGETS=direct
for s in $SIGNERS; do
	TARGETS="$TARGETS broker-s$s"
done
[ "$BATCH" -gt 0 ] && TARGETS="$TARGETS batch-s$SMAX"
[ -n "${OLD_BUILD:-}" ] && OLD_BUILD=$(cd "$OLD_BUILD" && pwd) &&
    TARGETS="$TARGETS old"

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
	for _ in $(seq 200); do
		"$1/client/p11broker" -s "$WORK/$3" health \
		    >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "broker did not start:" >&2
	cat "$WORK/$2.log" >&2
	exit 1
}

start_brokers() {
	local s
	for s in $SIGNERS; do
		start_one "$build" "broker-s$s.conf" "broker-s$s.sock"
	done
	[ -z "${OLD_BUILD:-}" ] || start_one "$OLD_BUILD" old.conf old.sock
}

# one TARGET OP N: prints "ops_per_s p50 p99"
one() {
	local target=$1 op=$2 n=$3 line sock batch=()
	case $target in
	direct)
		line=$("${PIN[@]}" "$WORK/p11bench" --module "$SOFTHSM" \
		    --token bench --label "${KEY[$op]}" --op "$op" \
		    --threads "$n" --seconds "$SECS") ;;
	*)
		case $target in
		old) sock=old.sock ;;
		batch-s*) sock=broker-s${target#batch-s}.sock
			batch=(--batch "$BATCH") ;;
		*) sock=$target.sock ;;
		esac
		line=$("${PIN[@]}" "$build/client/p11broker" -s "$WORK/$sock" \
		    bench --op "$op" --key "${KEY[$op]}" --clients "$n" \
		    --seconds "$SECS" "${batch[@]}")
		case $line in *errors=0*) ;; *) echo "$target errors: $line" >&2
			exit 1 ;; esac ;;
	esac
	echo "$line" | sed -E 's/.*ops_per_s=([0-9.]+).*p50_us=([0-9.]+).*p99_us=([0-9.]+).*/\1 \2 \3/'
}

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, ${SECS}s/run, $REPS reps, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/raw.txt"
for mode in $MODES; do
	PIN=()
	[ "$mode" = pinned ] && PIN=(taskset -c 0)
	start_brokers
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

echo
echo "| cpus | op | clients | target | ops/s | vs direct | p50 / p99 µs |"
echo "|---|---|---|---|---:|---:|---:|"
for mode in $MODES; do
	cpus=$([ "$mode" = pinned ] && echo "taskset -c 0" || echo unpinned)
	for op in $OPS; do
		for n in $CLIENTS; do
			d=
			for target in $TARGETS; do
				sel() { awk -v m="$mode" -v o="$op" -v n="$n" -v t="$target" -v f="$1" \
				    '$1==m && $2==o && $3==n && $4==t {print $f}' "$WORK/raw.txt" | median; }
				o=$(sel 6)
				[ -n "$d" ] || d=$o
				printf '| %s | %s | %s | %s | %.0f | %s× | %.0f / %.0f |\n' \
				    "$cpus" "$op" "$n" "$target" "$o" \
				    "$(awk -v b="$o" -v d="$d" 'BEGIN {printf "%.2f", b / d}')" \
				    "$(sel 7)" "$(sel 8)"
			done
		done
	done
done

# The client module against direct and p11-kit, by the neutral harness.
[ "$MODULE" = 1 ] || exit 0
for mode in $MODES; do
	PIN=()
	cpus=
	[ "$mode" = pinned ] && PIN=(taskset -c 0) && cpus=0
	start_one "$build" "broker-s$SMAX.conf" "broker-s$SMAX.sock"
	echo
	echo "p11broker-pkcs11.so (signers $SMAX) vs p11-kit vs direct, $mode:"
	echo
	SECS=$SECS REPS=$REPS THREADS="$CLIENTS" OPS="$OPS" ONESHOT=0 \
	    CPUS=$cpus BROKER_MODULE="$build/client/pkcs11/.libs/p11broker-pkcs11.so" \
	    BROKER_ENV="P11BROKER_SOCKET=$WORK/broker-s$SMAX.sock P11BROKER_TOKEN_LABEL=bench" \
	    "$P11BENCH_DIR/run-anchors.sh" "$WORK" |
	    sed -n '/^medians over reps/,$p'
	stop_broker
done
