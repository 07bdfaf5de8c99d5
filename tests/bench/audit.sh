#!/bin/bash
# tests/bench/audit.sh [BUILDDIR] -- throughput with the audit log on vs
# off, in the same run, on one throwaway SoftHSM2 token (the integration
# tests' token, tests/integration/mktoken.sh).
#
# For each repetition and op, the daemon is started without and then with
# an audit statement (checkpoint key CKPT_KEY, default checkpoint interval:
# 1000 lines / 60 s; the log on the same file system as TMPDIR) and
# `p11broker bench` runs CLIENTS clients for SECS seconds against it.
# Ops: ecdsa (P-256 over a 32-byte digest, key ec256) and hmac
# (HMAC-SHA256 over 64 bytes, key hmac32).  The table shows medians over
# REPS and the cost of auditing (1 - on/off).
#
# Env: SECS (default 5) REPS (5) CLIENTS (4) OPS ("ecdsa hmac")
#      CKPT_KEY (ec384; or ec521, ed25519: not ec256 or hmac32, which the
#      bench uses)
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
SECS=${SECS:-5}
REPS=${REPS:-5}
CLIENTS=${CLIENTS:-4}
OPS=${OPS:-"ecdsa hmac"}
CKPT_KEY=${CKPT_KEY:-ec384}
. "$top_srcdir/tests/integration/lib.sh"

setup_token
write_policy
raw="$T/raw.txt"
: >"$raw"

# bench_once OP MODE: one daemon, one bench line into $raw.
bench_once()
{
	local op=$1 mode=$2 line
	rm -f "$T/audit.log"
	if [ "$mode" = on ]; then
		write_config "audit \"$T/audit.log\" checkpoint-key $CKPT_KEY"
	else
		write_config
	fi
	start_daemon
	line=$("$P11B" -s "$SOCK" bench --op "$op" --clients "$CLIENTS" \
	    --seconds "$SECS")
	stop_daemon
	printf '%s %s %s\n' "$op" "$mode" "$line" >>"$raw"
	printf '# %s %s %s\n' "$op" "$mode" "$line" >&2
	if [ "$mode" = on ]; then
		"$P11B" audit verify "$T/audit.log" \
		    --pubkey "$T/pub/$CKPT_KEY.pem" \
		    >&2 || bail "the benchmark's audit log does not verify"
	fi
}

for rep in $(seq 1 "$REPS"); do
	for op in $OPS; do
		for mode in off on; do
			bench_once "$op" "$mode"
		done
	done
done

python3 - "$raw" "$CLIENTS" "$SECS" "$REPS" <<'EOF'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    op, mode, rest = line.split(' ', 2)
    f = dict(re.findall(r'(\w+)=(\S+)', rest))
    runs.setdefault((op, mode), []).append(f)
print('| op | clients | audit | ops/s (median of %s × %s s) | p50 µs | p99 µs | cost |'
      % (sys.argv[4], sys.argv[3]))
print('|---|---:|---|---:|---:|---:|---:|')
for op in dict.fromkeys(k[0] for k in runs):
    med = {}
    for mode in ('off', 'on'):
        r = runs[(op, mode)]
        med[mode] = [statistics.median(float(x[k]) for x in r)
                     for k in ('ops_per_s', 'p50_us', 'p99_us')]
    for mode in ('off', 'on'):
        ops, p50, p99 = med[mode]
        cost = '' if mode == 'off' else '%.1f %%' % (
            100 * (1 - ops / med['off'][0]))
        print('| %s | %s | %s | %.0f | %.0f | %.0f | %s |'
              % (op, sys.argv[2], mode, ops, p50, p99, cost))
EOF
