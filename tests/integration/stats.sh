#!/bin/bash
# p11broker stats: after a known sequence of requests (signs, no-such-key,
# denied, too-large, bad-request, from root and another uid) the counters
# by op/key/status are exactly those requests; the latency histogram
# counts every request once; the Prometheus output parses, its buckets
# are cumulative and end in +Inf = _count; gauges (token, workers,
# connections, policy generation) are right; counters survive a reload;
# stats is for admins only.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to connect as other uids"
need_tools setpriv
for id in 64501 64502 64503 64600; do
	getent passwd "$id" >/dev/null &&
	    skip_all "uid $id has a passwd entry here; the tests need it free"
done

setup_token
write_config
cat >"$POLICY" <<'EOF'
permit user root health
permit user root stats
permit user root sign ec256,ec384
permit user root hmac hmac32
permit user root random max-input 64
permit user 64501 sign ec256
permit user 64501 list
permit group 64600 stats
EOF
start_daemon

head -c 100 /dev/urandom >"$T/data"
chmod 0644 "$T/data"

# snapshot NAME [AS...]: `p11broker stats` into $T/NAME.plain; the
# request rows as "op key status count" lines in $T/NAME.rows.
snapshot()
{
	local name=$1
	cli stats
	[ "$RC" -eq 0 ] || bail "stats failed: exit $RC: $ERR"
	cp "$OUT" "$T/$name.plain"
	sed -n 's/^requests op=\([^ ]*\) key=\([^ ]*\) status=\([^ ]*\) count=\([0-9]*\)$/\1 \2 \3 \4/p' \
	    "$OUT" | sort >"$T/$name.rows"
}

# delta A B: rows whose count changed from snapshot A to B, with the
# difference, sorted.
delta()
{
	awk 'NR == FNR { a[$1 " " $2 " " $3] = $4; next }
	    { k = $1 " " $2 " " $3; d = $4 - a[k]; if (d != 0) print k, d }' \
	    "$T/$1.rows" "$T/$2.rows" | sort
}

# repeat_cli N ARGS...: run the CLI (as root) N times; each must exit WANT_RC.
repeat_cli()
{
	local n=$1 i bad=0
	shift
	for i in $(seq 1 "$n"); do
		cli "$@"
		[ "$RC" -eq "$WANT_RC" ] || { bad=1; diag "$*: exit $RC: $ERR"; }
	done
	ok "$bad" "$n x $*: exit $WANT_RC"
}

# --- first line ---------------------------------------------------------------

snapshot s0
like "$(head -n 1 "$T/s0.plain")" \
    '^token=ready workers=2 busy=[0-9]+ connections=[0-9]+ uptime=[0-9]+ policy-generation=1 audit-lines=[0-9]+$' \
    "plain stats: first line"
is "$(sed -n '1s/.* busy=\([0-9]*\) .*/\1/p' "$T/s0.plain")" 0 \
    "plain stats: no worker busy when idle"
is "$(sed -n '1s/.* connections=\([0-9]*\) .*/\1/p' "$T/s0.plain")" 1 \
    "plain stats: one connection (this one)"
bad=$(grep -Ev '^(token=|refusals policy=[0-9]+ missing-key=[0-9]+$|audit write-failures=[0-9]+ copies-dropped=[0-9]+ checkpoint-time=[0-9]+$|signers starts=[0-9]+ restarts=[0-9]+ login-failures=[0-9]+$|signers configured=[0-9]+ up=[0-9]+$|signer slot=[0-9]+ up=[01] looping=[01] starts=[0-9]+ restarts=[0-9]+ busy=[0-9]+$|sandbox-kills syscall=[a-z0-9_]+ count=[0-9]+$|caller uid=([0-9]+|unknown|other) ok=[0-9]+ refused=[0-9]+ failed=[0-9]+$|requests op=[a-z-]+ key=[^ ]+ status=[a-z-]+ count=[0-9]+$|latency le_us=([0-9]+|inf) count=[0-9]+$)' \
    "$T/s0.plain")
is "$bad" "" "plain stats: every line is a header, refusals, signers, requests or latency line"
is "$(grep '^signers starts=' "$T/s0.plain")" \
    "signers starts=1 restarts=0 login-failures=0" \
    "plain stats: one signer started, none restarted, no login failure"
is "$(grep '^signers\? [a-z]*=' "$T/s0.plain" | sed 1d | tr '\n' ';')" \
    "signers configured=1 up=1;signer slot=0 up=1 looping=0 starts=1 restarts=0 busy=0;" \
    "plain stats: one signer configured and up, its slot's line"

# --- a known sequence ---------------------------------------------------------

WANT_RC=0 repeat_cli 7 sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
WANT_RC=0 repeat_cli 2 sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
WANT_RC=0 repeat_cli 3 hmac hmac32 -a hmac-sha256 -i "$T/data"
WANT_RC=0 repeat_cli 2 random 16
WANT_RC=5 repeat_cli 2 sign ghost -a ecdsa-p256-sha256 -i "$T/data"
WANT_RC=5 repeat_cli 3 sign ec521 -a ecdsa-p521-sha512 -i "$T/data"
WANT_RC=4 repeat_cli 4 secret hmac32
WANT_RC=4 repeat_cli 1 list
# The CLI refuses this one itself: the broker never sees it.
WANT_RC=8 repeat_cli 1 random 5000
WANT_RC=8 repeat_cli 1 random 65
WANT_RC=0 repeat_cli 1 random 64
WANT_RC=6 repeat_cli 2 sign ec256 -a ecdsa-p384-sha384 -i "$T/data"
n_other=0
for i in 1 2 3; do
	as_ids 64501 64501 - sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 0 ] && n_other=$((n_other + 1))
done
is "$n_other" 3 "uid 64501: 3 signatures"
as_ids 64501 64501 - random 8
is "$RC" 4 "uid 64501: random denied"
as_ids 64501 64501 - stats
is "$RC" 4 "uid 64501 (not an admin): stats -> exit 4"
like "$ERR" '^p11broker: stats: denied \(' "uid 64501: stats error names denied"
is "$(size "$OUT")" 0 "uid 64501: stats prints nothing"
as_ids 64502 64502 64600 stats
is "$RC" 0 "uid 64502 in admin group 64600 (supplementary): stats allowed" ||
    diag "$ERR"
like "$(head -n 1 "$OUT")" '^token=ready ' \
    "uid 64502: stats prints the header line"
# A caller no rule names: counted with all such callers, not by uid.
as_ids 64503 64503 - random 8
is "$RC" 4 "uid 64503 (no rule names it): random denied"
snapshot s1

# The stats call that made s0 is counted too (once its answer was built).
is "$(delta s0 s1)" "$(sort <<'EOF'
sign ec256 ok 10
sign ec384 ok 2
hmac hmac32 ok 3
random - ok 3
sign - no-such-key 5
secret hmac32 denied 4
list - denied 1
random - too-large 1
sign ec256 bad-request 2
random - denied 2
stats - denied 1
stats - ok 2
EOF
)" "requests by op/key/status: exactly the sequence"
# What the rows cannot show (a hidden key counts as a missing one):
# ghost x2 is missing; ec521 x3 (hidden from root), secret x4, list,
# random and stats of uid 64501 are the policy's.
is "$(grep '^refusals ' "$T/s1.plain")" "refusals policy=11 missing-key=2" \
    "refusals by reason: the policy's 11, the missing key's 2"
# By caller: 64501's three signatures and two refusals, 64502's stats
# (named through its group), the unknown uid under "unknown" only.
is "$(grep '^caller uid=64501 ' "$T/s1.plain")" \
    "caller uid=64501 ok=3 refused=2 failed=0" "caller 64501: 3 ok, 2 refused"
is "$(grep '^caller uid=64502 ' "$T/s1.plain")" \
    "caller uid=64502 ok=1 refused=0 failed=0" "caller 64502: 1 ok"
is "$(grep '^caller uid=unknown ' "$T/s1.plain")" \
    "caller uid=unknown ok=0 refused=1 failed=0" \
    "callers no rule names: 1 refusal, together"
is "$(grep -c '^caller uid=64503 ' "$T/s1.plain")" 0 \
    "the unknown uid has no row of its own"
like "$(grep '^caller uid=0 ' "$T/s1.plain")" \
    '^caller uid=0 ok=[1-9][0-9]* refused=10 failed=3$' \
    "root: 10 refusals (ghost 2, ec521 3, secret 4, list 1), 3 failures (too large 1, bad request 2)"

# --- histogram ----------------------------------------------------------------

total=$(awk '{ n += $4 } END { print n + 0 }' "$T/s1.rows")
hist=$(sed -n 's/^latency le_us=[0-9a-z]* count=\([0-9]*\)$/\1/p' \
    "$T/s1.plain" | awk '{ n += $1 } END { print n + 0 }')
is "$hist" "$total" "plain histogram: bucket counts add up to all requests ($total)"
is "$(grep -c '^latency le_us=' "$T/s1.plain")" \
    "$(($(grep -c '^latency le_us=[0-9]' "$T/s1.plain") + 1))" \
    "plain histogram: one inf bucket after the bounds"
is "$(tail -n 1 "$T/s1.plain" | cut -d' ' -f2)" "le_us=inf" \
    "plain histogram: inf is last"
sed -n 's/^latency le_us=\([0-9]*\) .*/\1/p' "$T/s1.plain" >"$T/bounds"
check "plain histogram: bounds strictly increase" \
    sort -n -u -C "$T/bounds"

# --- prometheus ---------------------------------------------------------------

cli stats --prometheus
is "$RC" 0 "stats --prometheus: exit 0" || diag "$ERR"
cp "$OUT" "$T/prom"
snapshot s2	# what the server holds right after; s1 + the prometheus call

bad=$(grep -v '^#' "$T/prom" | grep -Ev '^[a-z_][a-z0-9_]*(\{[^}]*\})? [0-9.e+-]+$')
is "$bad" "" "prometheus: every sample line parses"
bad=$(grep '^#' "$T/prom" | grep -Ev '^# (HELP [a-z_][a-z0-9_]* .+|TYPE [a-z_][a-z0-9_]* (counter|gauge|histogram))$')
is "$bad" "" "prometheus: every comment is HELP or TYPE"

python3 - "$T/prom" "$T/s1.rows" >"$T/prom.check" 2>&1 <<'EOF'
import re, sys

lines = [l for l in open(sys.argv[1]).read().splitlines()
         if l and not l.startswith('#')]
types = {}
for l in open(sys.argv[1]):
    m = re.match(r'# TYPE (\S+) (\S+)$', l.strip())
    if m:
        types[m.group(1)] = m.group(2)
samples = []
for l in lines:
    m = re.match(r'^([a-z_][a-z0-9_]*)(?:\{([^}]*)\})? (\S+)$', l)
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ''))
    samples.append((m.group(1), labels, float(m.group(3))))

out = []
def say(k, v):
    out.append('%s %s' % (k, v))

# Every sample belongs to a declared family.
undeclared = [n for n, _, _ in samples
              if n not in types and
              re.sub(r'_(bucket|sum|count)$', '', n) not in types]
say('undeclared', ','.join(sorted(set(undeclared))) or '-')

buckets = [(l['le'], v) for n, l, v in samples
           if n == 'p11broker_request_duration_seconds_bucket']
les = [float('inf') if le == '+Inf' else float(le) for le, _ in buckets]
say('buckets', len(buckets))
say('le_increasing', int(all(a < b for a, b in zip(les, les[1:]))))
say('last_le', buckets[-1][0] if buckets else '-')
vals = [v for _, v in buckets]
say('cumulative', int(all(a <= b for a, b in zip(vals, vals[1:]))))
get = lambda name: [v for n, _, v in samples if n == name]
count = get('p11broker_request_duration_seconds_count')
say('inf_eq_count', int(bool(buckets) and count == [vals[-1]]))
say('count', int(count[0]) if count else '-')
s = get('p11broker_request_duration_seconds_sum')
say('sum_ok', int(len(s) == 1 and 0 < s[0] < 60 * (count[0] or 1)))

# requests_total against the plain rows (s1): the prometheus call came
# after s1's stats call, which it counts.
want = {}
for l in open(sys.argv[2]):
    op, key, status, n = l.split()
    want[(op, '' if key == '-' else key, status)] = int(n)
want[('stats', '', 'ok')] = want.get(('stats', '', 'ok'), 0) + 1
got = {(l['op'], l['key'], l['status']): int(v) for n, l, v in samples
       if n == 'p11broker_requests_total'}
diff = sorted(set(want.items()) ^ set(got.items()))
say('requests_match', ';'.join('%s/%s/%s=%d' % (a, b, c, n)
                               for (a, b, c), n in diff) or 'yes')
say('requests_sum_eq_count', int(sum(got.values()) == (count[0] if count else -1)))
for g in ('p11broker_token_ready', 'p11broker_workers',
          'p11broker_sessions_in_use', 'p11broker_connections',
          'p11broker_audit_lines_total', 'p11broker_policy_generation',
          'p11broker_uptime_seconds'):
    v = get(g)
    say(g, '%s/%s' % (types.get(g, 'untyped'),
                      '%d' % v[0] if len(v) == 1 else 'missing'))
print('\n'.join(out))
EOF
[ $? -eq 0 ] || bail "prometheus check failed: $(cat "$T/prom.check")"
pget()
{
	sed -n "s/^$1 //p" "$T/prom.check"
}
is "$(pget undeclared)" - "prometheus: every sample has a TYPE"
is "$(pget buckets)" "$(grep -c '^latency le_us=' "$T/s1.plain")" \
    "prometheus: as many buckets as the plain histogram"
is "$(pget le_increasing)" 1 "prometheus: le bounds increase"
is "$(pget last_le)" "+Inf" "prometheus: the last bucket is +Inf"
is "$(pget cumulative)" 1 "prometheus: buckets are cumulative (non-decreasing)"
is "$(pget inf_eq_count)" 1 "prometheus: +Inf bucket equals _count"
is "$(pget count)" "$((total + 1))" \
    "prometheus: _count is every request so far ($total + the stats after s1)"
is "$(pget sum_ok)" 1 "prometheus: _sum is positive and plausible"
is "$(pget requests_match)" yes \
    "prometheus: requests_total equals the plain counters"
is "$(pget requests_sum_eq_count)" 1 \
    "prometheus: requests_total adds up to the histogram _count"
is "$(pget p11broker_token_ready)" gauge/1 "prometheus: token_ready 1"
is "$(pget p11broker_workers)" gauge/2 "prometheus: workers 2"
is "$(pget p11broker_sessions_in_use)" gauge/0 "prometheus: sessions_in_use 0 when idle"
is "$(pget p11broker_connections)" gauge/1 "prometheus: connections 1"
like "$(pget p11broker_audit_lines_total)" '^counter/[0-9]+$' \
    "prometheus: audit_lines_total is a counter"
is "$(pget p11broker_policy_generation)" gauge/1 "prometheus: policy_generation 1"
like "$(pget p11broker_uptime_seconds)" '^gauge/[0-9]+$' \
    "prometheus: uptime_seconds"
# The plain and Prometheus histograms agree bucket by bucket.
plain_cum=$(sed -n 's/^latency le_us=[0-9a-z]* count=\([0-9]*\)$/\1/p' \
    "$T/s2.plain" | awk '{ c += $1; print c }' | tr '\n' ' ')
prom_cum=$(sed -n 's/^p11broker_request_duration_seconds_bucket{.*} //p' \
    "$T/prom" | tr '\n' ' ')
# s2 holds the prometheus call itself, in one of the buckets: compare the
# +Inf values, and each bucket within 1.
is "$(echo "$prom_cum" | awk '{ print $NF }')" "$((total + 1))" \
    "prometheus: +Inf bucket = requests before it"
ok "$(paste -d' ' <(echo "$plain_cum" | tr ' ' '\n' | sed '/^$/d') \
    <(echo "$prom_cum" | tr ' ' '\n' | sed '/^$/d') |
    awk '{ d = $1 - $2; if (d < 0 || d > 1) bad = 1 } END { print bad + 0 }')" \
    "prometheus buckets match the plain histogram (made cumulative)" ||
    diag "plain: $plain_cum" "prom:  $prom_cum"

# --- connections gauge --------------------------------------------------------

python3 - "$SOCK" "$T/held" <<'EOF' &
import socket, sys, time
conns = []
for _ in range(3):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    conns.append(s)
open(sys.argv[2], 'w').write('ready\n')
time.sleep(3600)                # until the test kills it
EOF
HOLD_PID=$!
# connections_are SNAPSHOT N: the gauge in a new snapshot says N (the
# broker accepts and closes asynchronously: the tests wait for it).
connections_are()
{
	snapshot "$1"
	[ "$(sed -n '1s/.* connections=\([0-9]*\) .*/\1/p' "$T/$1.plain")" = "$2" ]
}
wait_for test -s "$T/held"
wait_for connections_are s3 4
is "$(sed -n '1s/.* connections=\([0-9]*\) .*/\1/p' "$T/s3.plain")" 4 \
    "3 idle connections held open: connections=4"
kill_child "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null
wait_for connections_are s4 1
is "$(sed -n '1s/.* connections=\([0-9]*\) .*/\1/p' "$T/s4.plain")" 1 \
    "closed again: connections=1"

# --- a reload keeps the counters ----------------------------------------------

snapshot s5
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded ' || diag "no reload line in the daemon log"
snapshot s6
is "$(sed -n '1s/.* policy-generation=\([0-9]*\) .*/\1/p' "$T/s6.plain")" 2 \
    "after a reload: policy-generation=2"
is "$(delta s5 s6)" "stats - ok 1" \
    "after a reload: counters unchanged (only s5's own stats call added)"

# --- requests refused before they name an operation -------------------------

# A frame over max-frame (65536) and bytes that are not protobuf are
# answered and counted; stats must still work after them.
(python3 - "$SOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(struct.pack('>I', 70000))
n = struct.unpack('>I', s.recv(4))[0]
print('too-large' if b'\x10\x06' in s.recv(n) else 'other')
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(struct.pack('>I', 3) + b'\xff\xff\xff')
s.recv(4)			# the answer, then the broker hangs up
EOF
) >"$T/frames.out" 2>&1
like "$(cat "$T/frames.out")" '^too-large' \
    "a frame over max-frame: too-large" || diag "$(cat "$T/frames.out")"
cli stats
is "$RC" 0 "stats after frame-level errors: exit 0" || diag "$ERR"
cp "$OUT" "$T/s7.plain"
rows=$(sed -n 's/^requests .* count=\([0-9]*\)$/\1/p' "$T/s7.plain" |
    awk '{ n += $1 } END { print n + 0 }')
hist=$(sed -n 's/^latency le_us=[0-9a-z]* count=\([0-9]*\)$/\1/p' \
    "$T/s7.plain" | awk '{ n += $1 } END { print n + 0 }')
ok "$([ "$hist" -gt 0 ] && [ "$rows" = "$hist" ] && echo 0 || echo 1)" \
    "stats after frame-level errors: every answered request is in a row"
like "$(cat "$T/s7.plain")" 'status=too-large count=' \
    "stats after frame-level errors: the oversized frame is counted"
cli stats --prometheus
is "$RC" 0 "stats --prometheus after frame-level errors: exit 0" || diag "$ERR"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
