#!/bin/bash
# The audit log through the real daemon: one line per decision (allowed
# and denied, as root and as nobody) with the right fields and only the
# SHA-256 of the input; events with the files' SHA-256; the chain checked
# by an independent (python) reader; checkpoints checked with openssl;
# p11broker audit verify on the untouched log and on each mutation (flip
# a byte, edit, drop, insert, swap, cut) with the line it must name;
# restart, rotation with SIGUSR1, reload lines, fail closed on a full
# disk, and an Ed25519 checkpoint key.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a client as nobody"
need_tools setpriv base64
getent passwd nobody >/dev/null || bail "no user nobody"
nobody_uid=$(id -u nobody)

setup_token
mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
write_config "audit \"$LOG\" checkpoint-key ec256 checkpoint-lines 4"
write_policy "permit user nobody hmac hmac32" "permit user nobody list"
start_daemon

# --- helpers ------------------------------------------------------------------

# count_lines FILE FIELD=VALUE...: how many lines have all these fields
# (read with python's json, not the broker's code).
count_lines()
{
	python3 - "$@" <<'EOF'
import json, sys
want = dict(a.split('=', 1) for a in sys.argv[2:])
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if all(str(o.get(k)).lower() == v.lower() for k, v in want.items()):
        n += 1
print(n)
EOF
}

# line_of FILE FIELD=VALUE...: the number of the first such line.
line_of()
{
	python3 - "$@" <<'EOF'
import json, sys
want = dict(a.split('=', 1) for a in sys.argv[2:])
for i, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    if all(str(o.get(k)).lower() == v.lower() for k, v in want.items()):
        print(i)
        break
EOF
}

# chain_check FILE...: prev = SHA-256 of the previous line, seq one up;
# prints "ok" or the first bad FILE:LINE.
chain_check()
{
	python3 - "$@" <<'EOF'
import hashlib, json, sys
prev, seq = None, None
for f in sys.argv[1:]:
    for i, raw in enumerate(open(f, 'rb'), 1):
        body = raw.rstrip(b'\n')
        o = json.loads(body)
        if prev is None:
            ok = o['prev'] == '0' * 64 and o['seq'] == 1 or \
                o.get('event') == 'rotate'
        else:
            ok = o['prev'] == prev and o['seq'] == seq + 1
        if not ok:
            print('%s:%d' % (f, i))
            sys.exit(0)
        prev, seq = hashlib.sha256(body).hexdigest(), o['seq']
print('ok')
EOF
}

# verify FILE... [-- OPTIONS]: p11broker audit verify with the ec256 key;
# sets RC, ERR and BADLINE (the line number it names).
verify()
{
	OUT="$T/verify.out"
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey \
	    "${PUBKEY:-$T/pub/ec256.pem}" "$@" >"$OUT" 2>"$T/verify.err"
	RC=$?
	ERR=$(cat "$T/verify.err")
	BADLINE=$(printf '%s\n' "$ERR" | sed -n \
	    's/^p11broker: audit verify: [^:]*:\([0-9]*\): .*/\1/p' | head -n 1)
}

# mutate PYTHON-STATEMENT: a copy of $BASE in $T/m.log with the lines
# (bytes, no newlines) in L changed by the statement.
mutate()
{
	python3 - "$BASE" "$T/m.log" "$1" <<'EOF'
import sys
L = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
exec(sys.argv[3])
open(sys.argv[2], 'wb').write(b''.join(l + b'\n' for l in L))
EOF
}

# caught DESCRIPTION LINE: verify of $T/m.log fails naming LINE.
caught()
{
	verify "$T/m.log"
	is "$RC" 1 "$1: verify exits 1" || diag "$ERR"
	is "$BADLINE" "$2" "$1: reported at line $2" || diag "$ERR"
}

sha256_of()
{
	openssl dgst -sha256 -r "$1" | cut -d' ' -f1
}

# --- decisions ----------------------------------------------------------------

data="$T/data"
{ printf 'AUDIT-INPUT-MARKER-%s\n' "$$"; head -c 600 /dev/urandom; } >"$data"
data_len=$(size "$data")
data_sha=$(sha256_of "$data")

cli sign ec384 -a ecdsa-p384-sha384 -i "$data" -o "$T/sig.der"
is "$RC" 0 "root: sign ec384" || diag "$ERR"
cli hmac hmac32 -i "$data" -o "$T/mac"
is "$RC" 0 "root: hmac hmac32" || diag "$ERR"
cli hmac-verify hmac32 -m "$T/mac" -i "$data"
is "$RC" 0 "root: hmac-verify hmac32" || diag "$ERR"
cli secret api-token -o "$T/secret.out"
is "$RC" 0 "root: secret api-token" || diag "$ERR"
as_nobody hmac-verify hmac32 -m "$T/mac" -i "$data"
is "$RC" 4 "nobody: hmac-verify hmac32 is denied" || diag "$ERR"
as_nobody sign ec384 -a ecdsa-p384-sha384 -i "$data"
is "$RC" 5 "nobody: sign ec384 looks like no such key" || diag "$ERR"
cli sign ec256 -a ecdsa-p256-sha256 -i "$data"
is "$RC" 4 "root: sign with the checkpoint key is denied" || diag "$ERR"
like "$ERR" "reserved for audit" "... because it signs checkpoints"
cli pubkey ec256 -o "$T/ckpt.pem"
is "$RC" 0 "root: pubkey of the checkpoint key is allowed" || diag "$ERR"
for i in 1 2 3 4 5 6; do
	cli hmac hmac32 -i "$data" -o /dev/null
done
# 32 RSA signatures asked for, and the client gone before the answers.
python3 "$INTEGRATION_DIR/rawclient.py" "$SOCK" case hangup-mid-request \
    >/dev/null
# rsa_decisions N: the log has N decisions on rsa2048 (all 32 were read
# and answered, or their answers dropped) before the daemon is stopped.
rsa_decisions()
{
	[ "$(grep -c '"key":"rsa2048"' "$LOG")" -ge "$1" ]
}
wait_for rsa_decisions 32 || diag "not 32 rsa2048 decisions in the log"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0"

is "$(count_lines "$LOG" type=decision uid=0 op=sign key=ec384 \
    alg=ecdsa-p384-sha384 input_len="$data_len" input_sha256="$data_sha" \
    status=ok)" 1 "sign: uid, op, key, alg, input length, SHA-256, status"
is "$(count_lines "$LOG" type=decision uid=0 gid=0 op=hmac key=hmac32 \
    alg=hmac-sha256 input_len="$data_len" input_sha256="$data_sha" \
    status=ok)" 7 "hmac: 7 decisions with the input's SHA-256"
is "$(count_lines "$LOG" type=decision op=hmac-verify uid=0 status=ok \
    valid=true input_sha256="$data_sha")" 1 "hmac-verify: valid=true"
is "$(count_lines "$LOG" type=decision op=secret key=api-token status=ok)" \
    1 "secret: one decision"
is "$(count_lines "$LOG" type=decision uid="$nobody_uid" op=hmac-verify \
    key=hmac32 status=denied input_sha256="$data_sha")" 1 \
    "nobody's denied hmac-verify, with its uid"
is "$(count_lines "$LOG" type=decision uid="$nobody_uid" op=sign \
    key=ec384 status=no-such-key)" 1 "nobody's sign of an invisible key"
is "$(count_lines "$LOG" type=decision op=sign key=ec256 status=denied)" 1 \
    "the refused sign with the checkpoint key"
is "$(count_lines "$LOG" type=decision op=sign key=rsa2048 status=ok)" 32 \
    "a client that hung up: each of its 32 signatures has a line"
dropped=$(count_lines "$LOG" type=decision key=rsa2048 dropped=true)
ok "$([ "$dropped" -ge 1 ] && echo 0 || echo 1)" \
    "... $dropped of them marked dropped (answer never delivered)"
bad=$(python3 -c '
import json, re, sys
for i, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", o["time"]):
        print(i, "time")
    if o["type"] == "decision" and not (type(o["latency_us"]) is int and
            type(o["pid"]) is int and o["pid"] > 0):
        print(i, "latency_us/pid")
' "$LOG")
is "$bad" "" "every time is RFC 3339 UTC with microseconds; latency, pid"

# Never the input, a MAC, a signature or a secret: not raw, hex or base64.
python3 - "$LOG" "$data" "$T/mac" "$T/sig.der" "$T/secret.out" \
    "$T/api-token.bin" >"$T/leaks" <<'EOF'
import base64, sys
log = open(sys.argv[1], 'rb').read()
for f in sys.argv[2:]:
    b = open(f, 'rb').read()
    for form in (b[:16], b[-16:], b.hex().encode()[:32],
                 base64.b64encode(b)[:24]):
        if form in log:
            print(f)
            break
EOF
is "$(cat "$T/leaks")" "" "no input, MAC, signature or secret in the log"
if grep -q "AUDIT-INPUT-MARKER" "$LOG"; then
	ok 1 "the input's text is not in the log"
else
	ok 0 "the input's text is not in the log"
fi

# Events: start, policy-load with each file's SHA-256, stop.
is "$(count_lines "$LOG" type=event event=start)" 1 "a start line"
python3 - "$LOG" "$CONF" "$POLICY" >"$T/files" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get('event') == 'policy-load':
        for f in o['files']:
            print(f['path'], f['sha256'])
EOF
is "$(cat "$T/files")" "$CONF $(sha256_of "$CONF")
$POLICY $(sha256_of "$POLICY")" "policy-load: config and policy with SHA-256"
# Checkpoints still being signed may land after the stop line; nothing
# else may.
is "$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
stops = [i for i, o in enumerate(lines) if o.get("event") == "stop"]
after = {o.get("type") for o in lines[stops[-1] + 1:]} if stops else {"none"}
print("stop" if stops and after <= {"checkpoint"} else "no")' "$LOG")" stop \
    "the stop line is followed only by checkpoints"
is "$(tail -n 1 "$LOG" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["type"])')" checkpoint \
    "and the last line is the final checkpoint over it"

# --- the chain and the checkpoints, independently ---------------------------

is "$(chain_check "$LOG")" ok \
    "python: every prev is the SHA-256 of the line before"
ncp=$(count_lines "$LOG" type=checkpoint)
ok "$([ "$ncp" -ge 4 ] && echo 0 || echo 1)" \
    "checkpoint-lines 4: $ncp checkpoints in $(wc -l <"$LOG") lines"

# openssl_checkpoint FILE N PUB: check the N-th checkpoint with openssl:
# its signature over the message, and its head against the line it covers.
openssl_checkpoint()
{
	python3 - "$1" "$2" "$T/ck" <<'EOF' || return 1
import base64, hashlib, json, sys
lines = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
cps = [json.loads(l) for l in lines if b'"type":"checkpoint"' in l]
cp = cps[int(sys.argv[2])]
msg = 'p11broker-audit-checkpoint v1 seq=%d head=%s' % (cp['covers_seq'],
                                                       cp['covers_head'])
open(sys.argv[3] + '.msg', 'w').write(msg)
open(sys.argv[3] + '.sig', 'wb').write(base64.b64decode(cp['sig']))
for l in lines:
    if json.loads(l)['seq'] == cp['covers_seq']:
        open(sys.argv[3] + '.line', 'wb').write(l)
EOF
	[ "$(sha256_of "$T/ck.line")" = "$(sed 's/.*head=//' "$T/ck.msg")" ] ||
	    return 1
	case $3 in
	*ed25519*)
		openssl pkeyutl -verify -pubin -inkey "$3" -rawin \
		    -in "$T/ck.msg" -sigfile "$T/ck.sig" >/dev/null ;;
	*)
		openssl dgst -sha256 -verify "$3" -signature "$T/ck.sig" \
		    "$T/ck.msg" >/dev/null ;;
	esac
}

check "openssl: the first checkpoint's signature and head" \
    openssl_checkpoint "$LOG" 0 "$T/pub/ec256.pem"
check "openssl: the final checkpoint's signature and head" \
    openssl_checkpoint "$LOG" -1 "$T/ckpt.pem"
cp "$T/ck.msg" "$T/ck.msg.good"
printf 'x' >>"$T/ck.msg"
if openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$T/ck.sig" \
    "$T/ck.msg" >/dev/null 2>&1; then
	ok 1 "openssl: a changed message does not verify"
else
	ok 0 "openssl: a changed message does not verify"
fi

# --- audit verify: untouched and mutated --------------------------------------

verify "$LOG"
is "$RC" 0 "audit verify: the untouched log passes" || diag "$ERR"
like "$(cat "$T/verify.out")" \
    "^verified: [0-9]+ lines in 1 file, $ncp checkpoints" \
    "audit verify: summary line"
PUBKEY="$T/pub/ec384.pem" verify "$LOG"
is "$RC" 1 "audit verify with another key fails" || diag "$ERR"

BASE="$T/base.log"
cp "$LOG" "$BASE"
k=$(line_of "$BASE" type=decision uid="$nobody_uid" op=hmac-verify)
k2=$(line_of "$BASE" type=decision op=secret)
n=$(wc -l <"$BASE")
diag "nobody's denial is line $k, the secret line $k2, $n lines"

# flip a byte in the middle of line k
off=$(head -n $((k - 1)) "$BASE" | wc -c)
flip_byte "$BASE" "$T/m.log" $((off + 40))
caught "flipped byte" "$k"

mutate "L[$k - 1] = L[$k - 1].replace(b'\"status\":\"denied\"',
    b'\"status\":\"ok\"')"
caught "denied edited to ok" "$k"
mutate "L[$k2 - 1] = L[$k2 - 1].replace(b'\"uid\":0', b'\"uid\":7')"
caught "uid edited" "$k2"
mutate "del L[$k - 1]"
caught "dropped line" "$k"
mutate "L.insert($k - 1, L[$k2 - 1])"
caught "inserted copy of another line" "$k"
# A forged line that fits where it is put: right seq, right prev.
mutate "
import hashlib, json
o = json.loads(L[$k - 1])
o['uid'] = 4242; o['status'] = 'ok'
o['prev'] = hashlib.sha256(L[$k - 2]).hexdigest()
L.insert($k - 1, json.dumps(o, separators=(',', ':')).encode())"
caught "forged line inserted with a fitting seq and prev" "$k"
mutate "L[$k - 1], L[$k] = L[$k], L[$k - 1]"
caught "two lines swapped" "$k"
mutate "L[$k2 - 1], L[$k - 1] = L[$k - 1], L[$k2 - 1]"
caught "two distant lines swapped" "$(( k < k2 ? k : k2 ))"

# Cut the tail after the last decision: no checkpoint can cover it.  (A
# log cut right after a checkpoint that covers the line before it looks
# like a log that ended there; only the tail after it can be caught.)
mutate "L[:] = L[:max(i for i, l in enumerate(L)
    if b'\"type\":\"decision\"' in l) + 1]"
want=$(python3 - "$T/m.log" <<'EOF'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
covered = max(o['covers_seq'] for o in L if o['type'] == 'checkpoint')
for i, o in enumerate(L, 1):
    if o['seq'] > covered and o['type'] != 'checkpoint':
        print(i)
        break
EOF
)
caught "tail cut" "$want"
like "$ERR" "after the last checkpoint" "tail cut: says why"
verify "$T/m.log" --allow-open-tail
is "$RC" 0 "tail cut: passes with --allow-open-tail" || diag "$ERR"
head -c -20 "$BASE" >"$T/m.log"
caught "cut in the middle of the last line" "$n"
verify "$T/nonexistent.log"
is "$RC" 12 "audit verify: missing file exits 12"
timeout "$HANG" "$P11B" audit verify "$LOG" >/dev/null 2>&1
is "$?" 2 "audit verify without --pubkey: usage, exit 2"

# --- restart, reload, rotation ------------------------------------------------

start_daemon
cli hmac hmac32 -i "$data" -o /dev/null
is "$RC" 0 "restarted on the same log" || diag "$ERR"
cp "$POLICY" "$T/policy.orig"
printf '# reloaded\n' >>"$POLICY"
cp "$POLICY" "$T/policy.reloaded"
# (A reload starts a new signer, so it finishes after the signal: wait
# for its line.)
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded ' || diag "no reload line in the daemon log"
printf 'permit nonsense\n' >>"$POLICY"
kill_child "$DAEMON_PID" HUP
wait_log 'reload rejected' || diag "no rejection line in the daemon log"
cli health
cp "$T/policy.reloaded" "$POLICY"
mv "$LOG" "$LOG.1"
kill_child "$DAEMON_PID" USR1
# new_log_started: the reopened log has its first line (a request
# makes sure something is written).
new_log_started()
{
	cli health
	[ -s "$LOG" ]
}
wait_for new_log_started || diag "SIGUSR1: no new log file"
cli hmac hmac32 -i "$data" -o /dev/null
is "$RC" 0 "served after SIGUSR1" || diag "$ERR"
ok "$([ -s "$LOG" ] && echo 0 || echo 1)" "SIGUSR1: a new file"
is "$(head -n 1 "$LOG" | python3 -c \
    'import json,sys; print(json.load(sys.stdin).get("event"))')" rotate \
    "the new file starts with the rotate line"
is "$(chain_check "$LOG.1" "$LOG")" ok \
    "python: the chain goes on across restart and rotation"
is "$(count_lines "$LOG.1" event=reload result=accepted)" 1 \
    "SIGHUP with a good policy: a reload accepted line"
python3 - "$LOG.1" "$POLICY" >"$T/rsha" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get('event') == 'reload' and o['result'] == 'accepted':
        print([f['sha256'] for f in o['files'] if f['path'] == sys.argv[2]][0])
EOF
is "$(cat "$T/rsha")" "$(sha256_of "$T/policy.reloaded")" \
    "the reload line has the new policy's SHA-256"
is "$(count_lines "$LOG.1" event=reload result=rejected)" 1 \
    "SIGHUP with a broken policy: a reload rejected line"

# --- fail closed: the log on a full disk ------------------------------------

# The broker opens no symbolic link or device as its log (a /dev/full
# link is refused, hostile_files.sh), so the full disk is a full tmpfs
# bind-mounted over the log's name; where nothing can be mounted, that
# part is skipped.
full_log()
{
	mkdir "$T/full" && : >"$LOG" &&
	    mount -t tmpfs -o size=4k,mode=0755 p11b-full "$T/full" ||
	    return 1
	head -c 1M /dev/zero >"$T/full/fill" 2>/dev/null
	: >"$T/full/log"
	if ! mount --bind "$T/full/log" "$LOG"; then
		umount "$T/full"
		return 1
	fi
	on_cleanup 'umount -l "$LOG"'	# also if the test ends half-way
	umount -l "$T/full"
}

mv "$LOG" "$LOG.2"
if full_log; then
	FULL=1
	kill_child "$DAEMON_PID" USR1
	wait_log "refusing every request"
	like "$(cat "$DAEMON_LOG")" "cannot write .*refusing every request" \
	    "full disk: the broker says it refuses requests"
	answered_ok=
	for cmd in "hmac hmac32 -i $data" \
	    "sign ec384 -a ecdsa-p384-sha384 -i $data" "secret api-token" \
	    "pubkey ec384" "random 16" "list" "health"; do
		# shellcheck disable=SC2086
		cli $cmd
		[ "$RC" -eq 11 ] || answered_ok="$answered_ok [$cmd: $RC]"
		[ -s "$OUT" ] && answered_ok="$answered_ok [$cmd: output]"
	done
	is "$answered_ok" "" \
	    "full disk: every request gets internal, none an answer"
	like "$ERR" "audit log unavailable" "full disk: the error says why"
	umount -l "$LOG"
	rm "$LOG"
	kill_child "$DAEMON_PID" USR1
	wait_log "can be written again"
	cli hmac hmac32 -i "$data" -o /dev/null
	is "$RC" 0 "after the disk is back: served again" || diag "$ERR"
else
	FULL=
	rm -f "$LOG"
	n=$(log_count "writing to $LOG \(SIGUSR1\)")
	kill_child "$DAEMON_PID" USR1
	wait_log "writing to $LOG \(SIGUSR1\)" $((n + 1))
	ok 0 "full disk # SKIP cannot mount a tmpfs here"
fi
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 after rotations and a full disk"
if [ -n "$FULL" ]; then
	is "$(count_lines "$LOG" event=audit-recovered refused=7)" 1 \
	    "the recovery line counts the 7 refused requests"
fi
verify "$LOG.1" "$LOG.2" "$LOG"
is "$RC" 0 "audit verify across the three files" || diag "$ERR"
verify "$LOG.1" --allow-open-tail
is "$RC" 0 "the first file alone, with --allow-open-tail" || diag "$ERR"
verify "$LOG.2" "$LOG"
is "$RC" 0 "files after a rotation verify on their own" || diag "$ERR"
verify "$LOG" "$LOG.1"
is "$RC" 1 "files in the wrong order do not" || diag "$ERR"

# --- an Ed25519 checkpoint key; a key that cannot sign checkpoints ---------

LOG="$T/log/ed.log"
write_config "audit \"$LOG\" checkpoint-key ed25519 checkpoint-lines 2"
start_daemon
for i in 1 2 3; do
	cli hmac hmac32 -i "$data" -o /dev/null
done
stop_daemon
is "$EXIT_RC" 0 "daemon with an Ed25519 checkpoint key exits 0"
PUBKEY="$T/pub/ed25519.pem" verify "$LOG"
is "$RC" 0 "Ed25519 checkpoints: audit verify passes" || diag "$ERR"
check "Ed25519: openssl pkeyutl verifies the final checkpoint" \
    openssl_checkpoint "$LOG" -1 "$T/pub/ed25519.pem"

write_config "audit \"$LOG\" checkpoint-key hmac32"
P11BROKER_PIN=$PIN timeout "$HANG" "$BROKERD" -n -f "$CONF" >/dev/null \
    2>"$T/n.err"
is "$?" 1 "-n: an HMAC key as checkpoint key is refused"
like "$(cat "$T/n.err")" \
    "p11brokerd.conf:[0-9]+: audit: checkpoint-key hmac32" \
    "-n: the error names the file and line"

done_testing
