#!/bin/bash
# tests/bench/soak.sh [BUILDDIR] -- load and soak: the real daemon on a
# throwaway SoftHSM2 token (tests/integration/mktoken.sh) with the audit
# log on, `p11broker bench --mix` with CLIENTS clients sending REQUESTS
# requests in all, and the RSS (VmRSS) of each broker process (monitor,
# front, signer) sampled every second into a CSV.  Not part of make check.
#
# Checks at the end:
#   - the bench saw 0 errors and sent every request;
#   - the daemon exits 0 on SIGTERM (under valgrind: every process's
#     ERROR SUMMARY is 0, leaks included; in an ASan/UBSan build: no
#     sanitizer report in the daemon's log);
#   - the audit log has exactly one decision line per request the bench
#     sent (counted by the bench's pid, per operation and key, all ok);
#   - `p11broker audit verify` passes on the log.
# and prints the RSS of each process after warm-up (min / median / max,
# the first and last minute, the slope) and a few points over time.
#
# Env: CLIENTS (64) REQUESTS (1000000) MIX (default: see p11broker(1))
#      WARMUP (seconds of RSS left out of the summary, 10)
#      VALGRIND=1 (the daemon under valgrind, as make check-valgrind;
#      with "sandbox off": valgrind cannot run a seccomp filter)
#      CPUS (e.g. 0: taskset -c CPUS for the daemon and the bench)
#      CKPT_KEY (the checkpoint key, ec384: not a key the mix uses)
#      SANDBOX (enforce, log or off: the config's sandbox statement;
#      default enforce, off in an ASan build as in make check; "log"
#      lists, from the kernel's log, the system calls outside the
#      allowlists instead of ending the process)
#      RESULTS (results: rss.csv, bench.out, summary.txt, daemon.log;
#           default /tmp/p11broker-soak)
# The ASan build is recognised by itself (configure --enable-sanitizers);
# LSAN_OPTIONS then points at tests/lsan.supp.
set -u

build=$(cd "${1:-build}" && pwd) || exit 2
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$build
CLIENTS=${CLIENTS:-64}
REQUESTS=${REQUESTS:-1000000}
MIX=${MIX:-default}
WARMUP=${WARMUP:-10}
VALGRIND=${VALGRIND:-}
CPUS=${CPUS:-}
CKPT_KEY=${CKPT_KEY:-ec384}
SANDBOX=${SANDBOX:-}
RESULTS=${RESULTS:-/tmp/p11broker-soak}
# Slow starts and exits under valgrind (every process checks its leaks):
# lib.sh's one deadline is longer then.
if [ -n "$VALGRIND" ]; then
	export P11B_HANG=${P11B_HANG:-180}
fi
. "$top_srcdir/tests/integration/lib.sh"

mkdir -p "$RESULTS" || exit 2
RESULTS=$(cd "$RESULTS" && pwd)
PIN_CMD=()
[ -n "$CPUS" ] && PIN_CMD=(taskset -c "$CPUS")
ASAN=
if grep -q __asan_init "$BROKERD" 2>/dev/null; then
	ASAN=1
	LSAN_OPTIONS="suppressions=$top_srcdir/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
	# As make check (P11B_SANITIZED): the sanitizer runtime makes calls
	# the allowlists forbid.  SANDBOX=enforce shows which.
	SANDBOX=${SANDBOX:-off}
fi
VG_LOGS=

setup_token
write_policy "permit user $ME stats" "permit user $ME pubkey $CKPT_KEY"
AUDIT_LOG="$T/audit.log"
{
	printf 'socket "%s" mode 0666\n' "$SOCK"
	printf 'max-clients %d\n' $((CLIENTS + 16))
	printf 'idle-timeout 600\n'
	user_line
	printf 'policy "%s"\n' "$POLICY"
	printf 'token {\n\tmodule "%s"\n\tlabel "p11b-test"\n' "$SOFTHSM_MODULE"
	printf '\tpin-env "P11BROKER_PIN"\n}\n'
	write_keys
	printf 'audit "%s" checkpoint-key %s\n' "$AUDIT_LOG" "$CKPT_KEY"
	# valgrind cannot run seccomp filters (libseccomp cannot even
	# initialise under it).
	if [ -n "$VALGRIND" ]; then
		printf 'sandbox off\n'
	elif [ -n "$SANDBOX" ] && [ "$SANDBOX" != enforce ]; then
		printf 'sandbox %s\n' "$SANDBOX"
	fi
} >"$CONF"

WRAPPER=()
if [ -n "$VALGRIND" ]; then
	VG_LOGS="$T/valgrind"
	mkdir -p "$VG_LOGS"
	chmod 0777 "$VG_LOGS"
	# %p: valgrind follows fork(), and the front and the signer (forked
	# without exec) each get their own log.
	WRAPPER=(valgrind --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite,indirect
	    "--suppressions=$top_srcdir/tests/valgrind.supp"
	    "--log-file=$VG_LOGS/vg.%p")
fi

# start: the daemon in the foreground, as try_start_daemon does, with
# the CPU pinning and valgrind wrapper.
start()
{
	: >"$DAEMON_LOG"
	P11BROKER_PIN=$PIN setsid "${PIN_CMD[@]}" "${WRAPPER[@]}" "$BROKERD" \
	    -d -f "$CONF" </dev/null >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_socket "$SOCK" || bail "daemon did not open $SOCK"
	wait_for _daemon_healthy_or_gone && running "$DAEMON_PID" && return
	bail "daemon does not answer health"
}

# stop: SIGTERM and wait (HANG at most); EXIT_RC.
stop()
{
	local pid=$DAEMON_PID
	DAEMON_PID=
	kill_child "$pid" TERM
	if ! wait_exit "$pid"; then
		diag "daemon still running ${HANG}s after SIGTERM"
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	kill -KILL -- "-$pid" 2>/dev/null
}

# children MONITOR: "FRONT SIGNER" pids (by the names they give
# themselves; the signer is forked first).
children()
{
	local p f= s=
	for p in $(pgrep -P "$1"); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		p11b-front) f=$p ;;
		p11b-signer) s=$p ;;
		esac
	done
	printf '%s %s\n' "${f:--}" "${s:--}"
}

rss_kb()
{
	awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print "" }' \
	    "/proc/$1/status" 2>/dev/null
}

# sampler MONITOR CSV: one line a second while the monitor lives.
sampler()
{
	local mon=$1 csv=$2 t0 now f s m rf rs ab
	echo "t_s,monitor_kb,front_kb,signer_kb,total_kb,audit_bytes" >"$csv"
	t0=$(date +%s%N)
	while [ -r "/proc/$mon/status" ]; do
		read -r f s < <(children "$mon")
		m=$(rss_kb "$mon")
		rf=$([ "$f" != - ] && rss_kb "$f")
		rs=$([ "$s" != - ] && rss_kb "$s")
		ab=$(stat -c %s "$AUDIT_LOG" 2>/dev/null || echo 0)
		now=$(date +%s%N)
		printf '%.1f,%s,%s,%s,%s,%s\n' \
		    "$(((now - t0) / 1000000))e-3" "$m" "$rf" "$rs" \
		    $((${m:-0} + ${rf:-0} + ${rs:-0})) "$ab" >>"$csv"
		sleep 1
	done
}

echo "# soak: $CLIENTS clients, $REQUESTS requests, mix $MIX" \
    "${VALGRIND:+(daemon under valgrind)}${ASAN:+(ASan+UBSan build)}" \
    "${SANDBOX:+(sandbox $SANDBOX)}${CPUS:+(taskset -c $CPUS)}"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$(date -u +%FT%TZ)"
UPTIME0=$(cut -d' ' -f1 /proc/uptime)
start
read -r FRONT SIGNER < <(children "$DAEMON_PID")
diag "monitor $DAEMON_PID, front $FRONT, signer $SIGNER"
sampler "$DAEMON_PID" "$RESULTS/rss.csv" &
SAMPLER_PID=$!

BENCH_OUT="$RESULTS/bench.out"
t_start=$(date +%s)
"${PIN_CMD[@]}" "$P11B" -s "$SOCK" bench --mix "$MIX" \
    --clients "$CLIENTS" --requests "$REQUESTS" </dev/null \
    >"$BENCH_OUT" 2>"$RESULTS/bench.err" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_RC=$?
t_bench=$(($(date +%s) - t_start))
cat "$BENCH_OUT"
[ -s "$RESULTS/bench.err" ] && diag "bench stderr: $(cat "$RESULTS/bench.err")"
# A few seconds of RSS after the load, with the connections closed.
sleep 5
read -r FRONT2 SIGNER2 < <(children "$DAEMON_PID")
is "$FRONT2 $SIGNER2" "$FRONT $SIGNER" \
    "front and signer are the processes that started (no restart)"

stop
is "$EXIT_RC" 0 "the daemon exits 0 on SIGTERM" ||
    diag "$(tail -n 20 "$DAEMON_LOG")"
kill_child "$SAMPLER_PID"
wait "$SAMPLER_PID" 2>/dev/null
cp "$DAEMON_LOG" "$RESULTS/daemon.log"

# --- the bench ---------------------------------------------------------------
is "$BENCH_RC" 0 "bench exits 0"
total=$(head -n 1 "$BENCH_OUT")
like "$total" ' errors=0$' "bench: 0 errors"
like "$total" " ops=$REQUESTS " "bench: $REQUESTS requests answered ok"
sent_line=$(grep '^requests=' "$BENCH_OUT")
like "$sent_line" ' unsent=0$' "bench: every request was sent"
bench_requests=$(printf '%s' "$sent_line" |
    sed -n 's/^requests=\([0-9]*\) .*/\1/p')
diag "bench: ${t_bench}s wall clock, $sent_line"

# --- sanitizers --------------------------------------------------------------
if [ -n "$VALGRIND" ]; then
	nlogs=0
	for f in "$VG_LOGS"/vg.*; do
		[ -e "$f" ] || continue
		nlogs=$((nlogs + 1))
		cp "$f" "$RESULTS/"
		summary=$(grep -h 'ERROR SUMMARY' "$f" | tail -n 1)
		diag "$(basename "$f"): $(grep -h 'definitely lost:\|indirectly lost:' \
		    "$f" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
		like "$summary" 'ERROR SUMMARY: 0 errors' \
		    "valgrind $(basename "$f"): 0 errors (leaks included)"
	done
	ok "$([ "$nlogs" -ge 3 ] && echo 0 || echo 1)" \
	    "valgrind logs of monitor, front and signer ($nlogs)"
fi
if [ -n "$ASAN" ]; then
	reports=$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' \
	    "$DAEMON_LOG")
	is "$reports" "" "ASan/LSan/UBSan: no report in the daemon's log"
fi
unlike "$(cat "$DAEMON_LOG")" 'signer (exited|was killed)|front exited' \
    "no child of the monitor died"
# A child the seccomp filter ended, or (sandbox log) a call it let
# through, shows in the kernel's log (type=1326; code 0x80000000: killed).
if dmesg >/dev/null 2>&1; then
	# This build's daemon, since it started (nobody else runs it).
	seccomp=$(dmesg | grep 'type=1326' | grep -F "exe=\"$BROKERD\"" |
	    awk -v t0="$UPTIME0" '{ t = $0; sub(/^\[ */, "", t);
	    sub(/\].*/, "", t); if (t + 0 >= t0) print }')
	is "$(printf '%s' "$seccomp" | grep -c 'code=0x80000000')" 0 \
	    "no broker process killed by seccomp (dmesg)" ||
	    diag "$(printf '%s' "$seccomp" | grep 'code=0x80000000')"
	logged=$(printf '%s' "$seccomp" | grep -v 'code=0x80000000' |
	    sed -n 's/.*comm="\([^"]*\)".* syscall=\([0-9]*\) .*/\1 syscall \2/p' |
	    sort | uniq -c)
	[ -z "$logged" ] ||
	    diag "outside the allowlists, let through (sandbox log):" "$logged"
else
	diag "dmesg not readable: seccomp kills not checked"
fi

# --- the audit log -----------------------------------------------------------
decisions=$(grep -c '"type":"decision"' "$AUDIT_LOG")
diag "audit log: $(wc -l <"$AUDIT_LOG") lines, $decisions decisions," \
    "$(du -h "$AUDIT_LOG" | cut -f1)"
python3 - "$AUDIT_LOG" "$BENCH_OUT" "$BENCH_PID" >"$T/audit-check.txt" <<'EOF'
import collections, json, re, sys
log, bench, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
OPS = {'ecdsa': 'sign', 'rsa': 'sign', 'sign-ec': 'sign', 'sign-rsa': 'sign',
       'sign-ed25519': 'sign', 'hmac': 'hmac', 'hmac-verify': 'hmac-verify',
       'random': 'random'}
want = collections.Counter()
for line in open(bench):
    f = dict(re.findall(r'(\S+?)=(\S+)', line))
    if not line.startswith('  op='):
        continue
    key = '' if f['key'] == '-' else f['key']
    want[(OPS[f['op']], key)] += int(f['ops']) + int(f['errors'])
    if f['op'] == 'hmac-verify' and int(f['weight']) > 0:
        want[('hmac', key)] += 1        # the setup call for its MAC
got = collections.Counter()
other = collections.Counter()
bad = 0
for line in open(log):
    if '"type":"decision"' not in line:
        continue
    d = json.loads(line)
    if d['pid'] != pid:
        other[d['op']] += 1
        continue
    got[(d['op'], d['key'])] += 1
    if d['status'] != 'ok' or d.get('dropped'):
        bad += 1
print('bench_lines=%d want=%d not_ok=%d other=%s' % (
    sum(got.values()), sum(want.values()), bad, dict(other)))
for k in sorted(set(want) | set(got)):
    print('  %s %s: log %d, bench %d' % (k[0], k[1] or '-', got[k], want[k]))
sys.exit(0 if got == want and bad == 0 else 1)
EOF
ok $? "audit: one decision line per bench request, per op and key, all ok"
diag "$(cat "$T/audit-check.txt")"
bench_lines=$(sed -n 's/^bench_lines=\([0-9]*\) .*/\1/p' "$T/audit-check.txt")
is "$bench_lines" "$bench_requests" \
    "audit: decision lines of the bench's pid = requests it sent"
verify=$("$P11B" audit verify "$AUDIT_LOG" --pubkey "$T/pub/$CKPT_KEY.pem" 2>&1)
ok $? "p11broker audit verify passes"
diag "$verify"

# --- RSS ---------------------------------------------------------------------
SUMMARY="$RESULTS/summary.txt"
python3 - "$RESULTS/rss.csv" "$WARMUP" "$t_bench" <<'EOF' | tee "$SUMMARY"
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
warm, tb = float(sys.argv[2]), float(sys.argv[3])
rows = [r for r in rows if r['total_kb'] not in ('', '0')]
load = [r for r in rows if warm <= float(r['t_s']) <= tb]
print('# RSS in kB, %d samples, %d under load after %gs of warm-up '
      '(bench ran %gs)' % (len(rows), len(load), warm, tb))
print('| process | start | min | median | max | first 10 s | last 10 s '
      '| slope kB/min | after the load |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for p in ('monitor', 'front', 'signer', 'total'):
    col = p + '_kb'
    v = [int(r[col]) for r in load if r[col]]
    t = [float(r['t_s']) for r in load if r[col]]
    if len(v) < 2:
        print('| %s | (too few samples) |' % p)
        continue
    first = [x for x, s in zip(v, t) if s < t[0] + 10]
    last = [x for x, s in zip(v, t) if s > t[-1] - 10]
    mt, mv = statistics.mean(t), statistics.mean(v)
    den = sum((s - mt) ** 2 for s in t)
    slope = sum((s - mt) * (x - mv) for x, s in zip(v, t)) / den * 60
    print('| %s | %s | %d | %d | %d | %d | %d | %+.1f | %s |' % (
        p, rows[0][col], min(v), statistics.median(v), max(v),
        statistics.median(first), statistics.median(last), slope,
        rows[-1][col]))
print()
print('# over time (t s: monitor / front / signer kB, audit log MB)')
step = max(1, len(rows) // 12)
for r in rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else []):
    print('t=%6.1f  %6s / %6s / %6s  %7.1f' % (
        float(r['t_s']), r['monitor_kb'], r['front_kb'], r['signer_kb'],
        int(r['audit_bytes']) / 1e6))
EOF
cp "$T/audit-check.txt" "$RESULTS/"
diag "results in $RESULTS"
printf '1..%d\n' "$_tap_n"
exit "$_tap_failed"
