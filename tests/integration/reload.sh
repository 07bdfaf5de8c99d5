#!/bin/bash
# SIGHUP under load: while `p11broker bench` signs with 4 clients (until
# told to stop, however long the reloads take on a busy machine), a good
# new policy takes effect; broken policies and configs (syntax error,
# unknown key, an alg that fits no key, a key label not on the token) and
# changes that need a restart (socket mode, workers, PIN source) are
# rejected whole with the old rules still enforced; no request is lost
# and no connection dropped.  Then a key remap (zsk: ec256 -> ec384)
# changes the public key and the signatures, checked with openssl; the
# policy generation in stats counts accepted reloads only.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to connect as other uids"
need_tools setpriv
for id in 64401 64402 64403; do
	getent passwd "$id" >/dev/null &&
	    skip_all "uid $id has a passwd entry here; the tests need it free"
done

setup_token
write_config 'key zsk label "ec256"'
CONF_ORIG="$T/conf.orig"
cp "$CONF" "$CONF_ORIG"

# root: bench (sign ec256), stats, health, and zsk pinned to P-256 until
# the remap.  64401: sign ec384, dropped by the broken file.  64402: added
# by the good reload.
ROOT_RULES="permit user root health
permit user root stats
permit user root sign ec256
permit user root pubkey zsk"
cat >"$POLICY" <<EOF
$ROOT_RULES
permit user root sign zsk alg ecdsa-p256-sha256
permit user 64401 sign ec384
EOF
start_daemon

head -c 300 /dev/urandom >"$T/data"
chmod 0644 "$T/data"

# put FILE CONTENT: replace FILE atomically (the daemon never reads half
# of it), mode 0644.
put()
{
	printf '%s\n' "$2" >"$1.new" && chmod 0644 "$1.new" &&
	    mv -f "$1.new" "$1"
}

# stats_line: the first line of `p11broker stats` (as root).
stats_field()
{
	cli stats
	sed -n "1s/.* $1=\([^ ]*\).*/\1/p" "$OUT"
}

# req_count OP KEY STATUS: the count stats reports (0 when absent).
req_count()
{
	cli stats
	awk -v want="requests op=$1 key=$2 status=$3" '
	    index($0, want " count=") == 1 { sub(/.*count=/, ""); n = $0 }
	    END { print n + 0 }' "$OUT"
}

# hup_and_wait KIND: SIGHUP, then wait for one more log line
# "reloaded" (KIND=ok) or "reload rejected" (KIND=rejected).  Sets
# LOGLINE to the new line.
n_reloaded=0
n_rejected=0
hup_and_wait()
{
	local i want pat
	if [ "$1" = ok ]; then
		n_reloaded=$((n_reloaded + 1))
		want=$n_reloaded pat='reloaded '
	else
		n_rejected=$((n_rejected + 1))
		want=$n_rejected
		pat='reload rejected, the old configuration stays: '
	fi
	kill_child "$DAEMON_PID" HUP || bail "daemon is gone"
	LOGLINE=
	local end=$((SECONDS + HANG))
	while [ "$SECONDS" -lt "$end" ]; do
		if [ "$(grep -c -- "$pat" "$DAEMON_LOG")" -ge "$want" ]; then
			LOGLINE=$(grep -- "$pat" "$DAEMON_LOG" | sed -n "${want}p")
			return 0
		fi
		# The other kind of line means the wrong outcome.
		if [ "$1" = ok ] && [ "$(grep -c 'reload rejected' \
		    "$DAEMON_LOG")" -gt "$n_rejected" ]; then
			n_rejected=$((n_rejected + 1))
			LOGLINE=$(grep 'reload rejected' "$DAEMON_LOG" | tail -n 1)
			return 1
		fi
		if [ "$1" != ok ] && [ "$(grep -c 'reloaded ' \
		    "$DAEMON_LOG")" -gt "$n_reloaded" ]; then
			n_reloaded=$((n_reloaded + 1))
			LOGLINE=$(grep 'reloaded ' "$DAEMON_LOG" | tail -n 1)
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# signs_ok UID KEY ALG DESC: UID signs with KEY and openssl verifies it.
signs_ok()
{
	local pem=$T/pub/$2.pem
	as_ids "$1" "$1" - sign "$2" -a "$3" -i "$T/data"
	is "$RC" 0 "$4: uid $1 signs with $2" || { diag "$ERR"; return 1; }
	is "$(openssl dgst "-sha${3##*sha}" -verify "$pem" -signature "$OUT" \
	    "$T/data" 2>&1)" "Verified OK" "$4: the signature verifies"
}

# old_rules_hold DESC: what the accepted policy grants still works.
n_64401=0 n_64402=0
old_rules_hold()
{
	signs_ok 64401 ec384 ecdsa-p384-sha384 "$1" &&
	    n_64401=$((n_64401 + 1))
	signs_ok 64402 ec256 ecdsa-p256-sha256 "$1" &&
	    n_64402=$((n_64402 + 1))
	as_ids 64403 64403 - sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	is "$RC" 5 "$1: uid 64403 (only in the rejected file) still has nothing" ||
	    diag "$ERR"
	is "$(stats_field policy-generation)" 2 \
	    "$1: policy-generation stays 2"
}

is "$(stats_field policy-generation)" 1 "policy-generation is 1 at start"
as_ids 64402 64402 - sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 5 "before the reload: uid 64402 has no rule (no-such-key)"

# --- under load -------------------------------------------------------------

signs_before=$(req_count sign ec256 ok)
BENCH_OUT="$T/bench.out"
# Runs until SIGTERM (below, once every reload is done); --seconds is
# only an upper bound.
"$P11B" -s "$SOCK" bench --op ecdsa --clients 4 --seconds 3600 \
    </dev/null >"$BENCH_OUT" 2>"$T/bench.err" &
BENCH_PID=$!
# bench_measuring: past the warm-up (20 requests per client), or gone.
bench_measuring()
{
	[ "$(req_count sign ec256 ok)" -ge $((signs_before + 80)) ] ||
	    ! running "$BENCH_PID"
}
wait_for bench_measuring
running "$BENCH_PID"
ok $? "bench is running" || bail "bench: $(cat "$T/bench.err")"
cli stats
busy=$(sed -n '1s/.* busy=\([0-9]*\) .*/\1/p' "$OUT")
conns=$(sed -n '1s/.* connections=\([0-9]*\) .*/\1/p' "$OUT")
ok "$([ "${busy:-9}" -le 2 ] && echo 0 || echo 1)" \
    "under load: stats busy=$busy is at most workers=2"
ok "$([ "${conns:-0}" -ge 5 ] && echo 0 || echo 1)" \
    "under load: stats connections=$conns (4 bench clients + this one)"

# (a) a good policy: a rule for another uid.
put "$POLICY" "$ROOT_RULES
permit user root sign zsk alg ecdsa-p256-sha256
permit user 64401 sign ec384
permit user 64402 sign ec256"
hup_and_wait ok
ok $? "good policy: log says reloaded" || diag "log: $LOGLINE"
like "$LOGLINE" "generation 2" "good policy: the log line names generation 2"
signs_ok 64402 ec256 ecdsa-p256-sha256 "good policy" &&
    n_64402=$((n_64402 + 1))
signs_ok 64401 ec384 ecdsa-p384-sha384 "good policy" &&
    n_64401=$((n_64401 + 1))
is "$(stats_field policy-generation)" 2 "good policy: policy-generation 2"
GOOD_POLICY=$(cat "$POLICY")

# (b) broken policies: each drops 64401's rule and adds one for 64403.
# reject DESC ERE: SIGHUP, the reload is rejected with a line matching ERE.
reject()
{
	hup_and_wait rejected
	ok $? "$1: log says reload rejected" || diag "log: $LOGLINE"
	like "$LOGLINE" "$2" "$1: the log line says why"
	running "$DAEMON_PID"
	ok $? "$1: the daemon is still running"
	old_rules_hold "$1"
}

put "$POLICY" "$ROOT_RULES
permit user root sign zsk alg ecdsa-p256-sha256
permit user 64402 sign ec256
permit user 64403 sign ec256
permit user 64403 frobnicate ec256"
reject "syntax error" "$POLICY:8: permit: expected an operation"

put "$POLICY" "$ROOT_RULES
permit user root sign zsk alg ecdsa-p256-sha256
permit user 64402 sign ec256
permit user 64403 sign ec256,ec999"
reject "unknown key" "$POLICY:7: unknown key \"ec999\""

put "$POLICY" "$ROOT_RULES
permit user root sign zsk alg ecdsa-p256-sha256
permit user 64402 sign ec256
permit user 64403 sign ec256 alg rsa-pss-sha256"
reject "alg that fits no key" \
    "$POLICY:7: alg rsa-pss-sha256 fits none of the rule's keys"

put "$POLICY" "$GOOD_POLICY
permit user 64403 sign ec256"
# (b') broken configs with that otherwise good policy.
sed 's/^key zsk .*/key zsk label "no-such-label"/' "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
zsk_line=$(grep -n '^key zsk ' "$CONF" | cut -d: -f1)
reject "key label not on the token" "$CONF:$zsk_line: key zsk: .*label"

# A policy file anyone may write is refused (strict modes).
cp "$CONF_ORIG" "$CONF"
chmod 0666 "$POLICY"
reject "world-writable policy" "$POLICY.*writable"
chmod 0644 "$POLICY"

sed 's/^key ec384 .*/key ec384 id 02 frob/' "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
reject "config syntax error" "$CONF:"

# (c) changes only a restart can apply.
sed 's/^socket .*/socket "'"${SOCK//\//\\/}"'" mode 0660/' "$CONF_ORIG" \
    >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
grep -q 'mode 0660' "$CONF" || bail "sed failed on the socket line"
reject "socket mode change" "socket settings changed.*restart"
is "$(stat -c %a "$SOCK")" 666 "socket mode change: the socket keeps mode 0666"

sed 's/^workers .*/workers 3/' "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
reject "workers change" "workers settings changed.*restart"

sed 's/pin-env "P11BROKER_PIN"/pin-env "OTHER_PIN"/' "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
reject "PIN source change" "PIN source settings changed.*restart"

running "$BENCH_PID"
ok $? "the reloads ran while bench was still signing"

# --- the bench: nothing lost ------------------------------------------------

kill_child "$BENCH_PID" TERM
wait_exit "$BENCH_PID"
is "$EXIT_RC" 0 "bench exits 0" || diag "$(cat "$T/bench.err")"
bench_line=$(cat "$BENCH_OUT")
diag "bench: $bench_line"
like "$bench_line" ' errors=0$' "bench: errors=0 (no request lost or failed)"
bench_ops=$(printf '%s' "$bench_line" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
ok "$([ "${bench_ops:-0}" -gt 0 ] && echo 0 || echo 1)" \
    "bench: ${bench_ops:-?} operations"
# Every request bench made was answered ok: 4 x 20 warm-up + the measured
# ones, plus root's own signatures (none in this script).
is "$(req_count sign ec256 ok)" \
    "$((signs_before + 80 + ${bench_ops:-0} + n_64402))" \
    "stats: sign ec256 ok = before + bench warm-up + bench ops + uid 64402's"
is "$(req_count sign ec384 ok)" "$n_64401" "stats: sign ec384 ok = uid 64401's"
is "$(stats_field connections)" 1 "stats: only the stats connection is left"

# --- remap a logical key name to another token object -----------------------

cp "$CONF_ORIG" "$CONF"
put "$POLICY" "$GOOD_POLICY"
hup_and_wait ok
ok $? "original files again: reloaded" || diag "log: $LOGLINE"
is "$(stats_field policy-generation)" 3 "policy-generation 3"

cli pubkey zsk --der
is "$RC" 0 "zsk -> ec256: pubkey" || diag "$ERR"
check "zsk -> ec256: pubkey is ec256's" cmp -s "$OUT" "$T/pub/ec256.der"
cli sign zsk -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "zsk -> ec256: sign" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "zsk -> ec256: verifies under ec256"

# The policy pins zsk to P-256: remapping it to ec384 alone fits no key.
sed 's/^key zsk .*/key zsk label "ec384"/' "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
hup_and_wait rejected
ok $? "zsk -> ec384 under a P-256 pin: rejected" || diag "log: $LOGLINE"
like "$LOGLINE" "alg ecdsa-p256-sha256 fits none of the rule's keys" \
    "zsk -> ec384 under a P-256 pin: the pin is the reason"
cli pubkey zsk --der
check "zsk -> ec384 rejected: zsk is still ec256" \
    cmp -s "$OUT" "$T/pub/ec256.der"
is "$(stats_field policy-generation)" 3 "rejected: policy-generation stays 3"

# Remap and re-pin together.
put "$POLICY" "$ROOT_RULES
permit user root sign zsk alg ecdsa-p384-sha384"
hup_and_wait ok
ok $? "zsk -> ec384 with a P-384 pin: reloaded" || diag "log: $LOGLINE"
is "$(stats_field policy-generation)" 4 "policy-generation 4"
cli pubkey zsk --der
is "$RC" 0 "zsk -> ec384: pubkey" || diag "$ERR"
check "zsk -> ec384: pubkey is now ec384's" cmp -s "$OUT" "$T/pub/ec384.der"
cli sign zsk -a ecdsa-p384-sha384 -i "$T/data"
is "$RC" 0 "zsk -> ec384: sign with ecdsa-p384-sha384" || diag "$ERR"
is "$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "zsk -> ec384: verifies under ec384"
unlike "$(openssl dgst -sha384 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "^Verified OK" "zsk -> ec384: does not verify under ec256"
cli sign zsk -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 4 "zsk -> ec384: the old P-256 algorithm is denied by the new pin"
# The dropped rules are gone.
as_ids 64402 64402 - sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 5 "zsk -> ec384: uid 64402's rule is gone with the new policy"

# A limit in the config (max-frame) is reloaded too.
head -c 3000 /dev/urandom >"$T/big"
chmod 0644 "$T/big"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/big"
is "$RC" 0 "max-frame 65536: a 3000-byte input is signed" || diag "$ERR"
sed -e 's/^key zsk .*/key zsk label "ec384"/' -e 's/^max-frame .*/max-frame 1024/' \
    "$CONF_ORIG" >"$T/c.new"
chmod 0644 "$T/c.new" && mv -f "$T/c.new" "$CONF"
hup_and_wait ok
ok $? "max-frame 1024: reloaded" || diag "log: $LOGLINE"
is "$(stats_field policy-generation)" 5 "policy-generation 5"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/big"
is "$RC" 8 "max-frame 1024: a 3000-byte request is now too-large" ||
    diag "$ERR"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$RC" 0 "max-frame 1024: a small request still works" || diag "$ERR"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
