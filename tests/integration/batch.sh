#!/bin/bash
# Batches through the real daemon (p11broker batch, one request with an
# item per file): ECDSA P-256, RSA-PKCS1, Ed25519 signatures each checked
# by openssl; HMACs compared with openssl's over the key bytes; an
# hmac-verify batch of good and bad MACs answered item by item; per-item
# TOO_LARGE (max-input) and RATE_LIMITED (the rate counts items) with
# the neighbours served; a batch over max-batch and one over the frame
# limit refused clearly; another uid (nobody) refused; stats counting
# items and the latency once per batch; one audit line per batch with
# every item, passed by audit verify, a tampered one caught.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a client as nobody"
need_tools setpriv
getent passwd nobody >/dev/null || bail "no user nobody"
nobody_uid=$(id -u nobody)

setup_token
mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
write_config "audit \"$LOG\" checkpoint-key ec384" "max-batch 32"
cat >"$POLICY" <<EOF
# batch.sh policy: ec256 with max-input, hmac64 with a rate
permit user $ME sign ec256 max-input 1000
permit user $ME sign rsa2048,ed25519
permit user $ME hmac hmac32
permit user $ME hmac hmac64 rate 5/s
permit user $ME hmac-verify hmac32
permit user $ME stats
permit user $ME health
permit user nobody hmac hmac32
EOF
start_daemon

# stats_count: how many requests the latency histogram has seen.
stats_count()
{
	cli stats --prometheus
	[ "$RC" -eq 0 ] || bail "stats failed: exit $RC: $ERR"
	sed -n 's/^p11broker_request_duration_seconds_count //p' "$OUT"
}
count0=$(stats_count)

PUB="$T/pub"
I="$T/items"
mkdir "$I"

# items PREFIX N [SIZE]: N files PREFIX.1 .. PREFIX.N of random bytes
# (sizes vary from 1 byte up to SIZE, default 300), listed in $ITEMS.
items()
{
	local i n=$2 max=${3:-300}
	ITEMS=()
	for ((i = 1; i <= n; i++)); do
		head -c $(((RANDOM % max) + 1)) /dev/urandom >"$I/$1.$i"
		ITEMS+=("$I/$1.$i")
	done
}

# count_status WORD: lines of the last batch's report with that status.
count_status()
{
	awk -v w="$1" '$2 == w' "$OUT" | wc -l | tr -d ' '
}

# --- signatures: every item verified by openssl --------------------------------

verify_sigs()
{
	local desc=$1 key=$2 bad=0 f
	shift 2
	for f in "${ITEMS[@]}"; do
		if [ "$key" = ed25519 ]; then
			openssl pkeyutl -verify -pubin -inkey "$PUB/$key.pem" \
			    -rawin -in "$f" -sigfile "$f.sig" >/dev/null 2>&1 ||
			    bad=$((bad + 1))
		else
			openssl dgst -sha256 "$@" -verify "$PUB/$key.pem" \
			    -signature "$f.sig" "$f" >/dev/null 2>&1 ||
			    bad=$((bad + 1))
		fi
	done
	is "$bad" 0 "$desc: openssl verifies every one of ${#ITEMS[@]} signatures"
	# and a signature does not fit another item
	if [ "$key" != ed25519 ]; then
		openssl dgst -sha256 "$@" -verify "$PUB/$key.pem" \
		    -signature "${ITEMS[0]}.sig" "${ITEMS[1]}" >/dev/null 2>&1
		ok "$([ $? -ne 0 ] && echo 0 || echo 1)" \
		    "$desc: item 1's signature does not verify item 2"
	fi
}

items ec 20
cli batch sign ec256 -a ecdsa-p256-sha256 "${ITEMS[@]}"
is "$RC" 0 "ecdsa batch of 20: exit 0" || diag "$ERR"
is "$(count_status ok)" 20 "ecdsa batch: 20 items ok"
is "$(awk '{print $1}' "$OUT" | tr '\n' ' ')" "$(printf '%s ' "${ITEMS[@]}")" \
    "ecdsa batch: results in the items' order"
verify_sigs "ecdsa batch" ec256
EC_ITEMS=("${ITEMS[@]}")

items rsa 8
cli batch sign rsa2048 -a rsa-pkcs1-sha256 "${ITEMS[@]}"
is "$RC" 0 "rsa-pkcs1 batch of 8: exit 0" || diag "$ERR"
is "$(count_status ok)" 8 "rsa-pkcs1 batch: 8 items ok"
verify_sigs "rsa-pkcs1 batch" rsa2048

items ed 8
cli batch sign ed25519 -a ed25519 "${ITEMS[@]}"
is "$RC" 0 "ed25519 batch of 8: exit 0" || diag "$ERR"
is "$(count_status ok)" 8 "ed25519 batch: 8 items ok"
verify_sigs "ed25519 batch" ed25519

# A digest per item (ECDSA over the SHA-256 the caller computed).
items dg 4
for f in "${ITEMS[@]}"; do
	openssl dgst -sha256 -binary "$f" >"$f.d"
done
MSGS=("${ITEMS[@]}")
ITEMS=()
for f in "${MSGS[@]}"; do ITEMS+=("$f.d"); done
cli batch sign ec256 -a ecdsa-p256-sha256 --digest "${ITEMS[@]}"
is "$RC" 0 "ecdsa batch of digests: exit 0" || diag "$ERR"
bad=0
for f in "${MSGS[@]}"; do
	openssl dgst -sha256 -verify "$PUB/ec256.pem" -signature "$f.d.sig" \
	    "$f" >/dev/null 2>&1 || bad=$((bad + 1))
done
is "$bad" 0 "ecdsa batch of digests: openssl verifies each over its message"

# --- HMAC: every MAC equals openssl's --------------------------------------------

key_hex=$(hex "$T/hmac32.key")
items mac 24
cli batch hmac hmac32 -a hmac-sha256 "${ITEMS[@]}"
is "$RC" 0 "hmac batch of 24: exit 0" || diag "$ERR"
bad=0
for f in "${ITEMS[@]}"; do
	openssl mac -digest SHA256 -macopt "hexkey:$key_hex" -in "$f" -binary \
	    HMAC >"$f.want"
	cmp -s "$f.mac" "$f.want" || bad=$((bad + 1))
done
is "$bad" 0 "hmac batch: all 24 MACs equal openssl's"
MAC_ITEMS=("${ITEMS[@]}")

# hmac-verify: items 3, 7 and 11 get a wrong MAC (one flipped bit).
for i in 3 7 11; do
	f=${ITEMS[$((i - 1))]}
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read());
b[5] ^= 1; open(sys.argv[1], "wb").write(b)' "$f.mac"
done
cli batch hmac-verify hmac32 -a hmac-sha256 "${ITEMS[@]}"
is "$RC" 1 "hmac-verify batch with bad MACs: exit 1 (mismatch)" || diag "$ERR"
is "$(awk '$3 == "invalid" {print $1}' "$OUT" | tr '\n' ' ')" \
    "${ITEMS[2]} ${ITEMS[6]} ${ITEMS[10]} " \
    "hmac-verify batch: exactly items 3, 7 and 11 invalid"
is "$(awk '$3 == "valid"' "$OUT" | wc -l | tr -d ' ')" 21 \
    "hmac-verify batch: the 21 others valid"

# --- per item: too large, rate --------------------------------------------------

# ec256 allows 1000 bytes: item 2 of 3 is 1500.
head -c 200 /dev/urandom >"$I/tl.1"
head -c 1500 /dev/urandom >"$I/tl.2"
head -c 300 /dev/urandom >"$I/tl.3"
ITEMS=("$I/tl.1" "$I/tl.2" "$I/tl.3")
cli batch sign ec256 -a ecdsa-p256-sha256 "${ITEMS[@]}"
is "$RC" 8 "a batch with a too-large item: exit 8 (its status)" || diag "$ERR"
is "$(awk '{print $2}' "$OUT" | tr '\n' ' ')" "ok too-large ok " \
    "the too-large item is refused, its neighbours signed"
ok "$([ ! -e "$I/tl.2.sig" ] && echo 0 || echo 1)" \
    "no signature for the too-large item"
ITEMS=("$I/tl.1" "$I/tl.3")
verify_sigs "the too-large item's neighbours" ec256

# hmac64: 5/s, counted per item: of 20 items at once, 5 pass.
items rate 20 64
cli batch hmac hmac64 -a hmac-sha256 "${ITEMS[@]}"
is "$RC" 9 "a batch over the rate: exit 9 (rate-limited)" || diag "$ERR"
n_ok=$(count_status ok)
n_rl=$(count_status rate-limited)
ok "$([ "$n_ok" -ge 5 ] && [ "$n_ok" -le 6 ] && echo 0 || echo 1)" \
    "rate 5/s counts items: 5 (or 6) of 20 served, got $n_ok"
is "$((n_ok + n_rl))" 20 "the others answered rate-limited"
is "$(awk '{print $2}' "$OUT" | head -n "$n_ok" | sort -u)" ok \
    "the first items are the ones served"
key64_hex=$(hex "$T/hmac64.key")
bad=0
for f in $(awk '$2 == "ok" {print $1}' "$OUT"); do
	openssl mac -digest SHA256 -macopt "hexkey:$key64_hex" -in "$f" \
	    -binary HMAC | cmp -s - "$f.mac" || bad=$((bad + 1))
done
is "$bad" 0 "the served items' MACs equal openssl's"

# --- whole-batch refusals -------------------------------------------------------

items big 33 16
cli batch hmac hmac32 -a hmac-sha256 "${ITEMS[@]}"
is "$RC" 8 "33 items over max-batch 32: exit 8 (too-large)" || diag "$ERR"
like "$ERR" "too-large \(batch of 33 items over max-batch 32\)" \
    "over max-batch: the message says so"
is "$(size "$OUT")" 0 "over max-batch: no item answered"

# 40 items of 2000 bytes: over max-frame 65536.
ITEMS=()
for i in $(seq 40); do
	head -c 2000 /dev/urandom >"$I/frame.$i"
	ITEMS+=("$I/frame.$i")
done
cli batch hmac hmac32 -a hmac-sha256 "${ITEMS[@]}"
is "$RC" 8 "a batch over the frame limit: exit 8 (too-large)" || diag "$ERR"
like "$ERR" "frame over the size limit" \
    "over the frame limit: the broker's message says so"
cli batch hmac hmac32 -a hmac-sha256 "${MAC_ITEMS[0]}"
is "$RC" 0 "the broker serves the next batch" || diag "$ERR"

# --- another uid ----------------------------------------------------------------

as_nobody batch sign ec256 -a ecdsa-p256-sha256 "${EC_ITEMS[@]:0:3}"
is "$RC" 5 "nobody: sign batch on ec256 -> exit 5 (no-such-key)"
like "$ERR" "no-such-key" "nobody: the key looks missing"
as_nobody batch hmac-verify hmac32 -a hmac-sha256 "${MAC_ITEMS[@]:0:3}"
is "$RC" 4 "nobody: hmac-verify batch on hmac32 -> exit 4 (denied)"
# nobody writes its MACs beside its own copies of the inputs.
mkdir -m 0777 "$T/nob"
cp "${MAC_ITEMS[@]:0:3}" "$T/nob/"
chmod a+r "$T"/nob/*
as_nobody batch hmac hmac32 -a hmac-sha256 "$T"/nob/mac.1 "$T"/nob/mac.2 \
    "$T"/nob/mac.3
is "$RC" 0 "nobody: hmac batch it is granted: exit 0" || diag "$ERR"
bad=0
for i in 1 2 3; do
	cmp -s "$T/nob/mac.$i.mac" "$I/mac.$i.want" || bad=$((bad + 1))
done
is "$bad" 0 "nobody: its 3 MACs equal openssl's"

# --- stats: items counted, latency once per batch -------------------------------

count1=$(stats_count)
# hmac32 ok: 24 + 1 (after the frame refusal) + 3 (nobody's)
like "$(cat "$OUT")" \
    'p11broker_requests_total\{op="hmac",key="hmac32",status="ok"\} 28' \
    "stats count hmac items: 28 ok"
like "$(cat "$OUT")" \
    'p11broker_requests_total\{op="hmac",key="hmac64",status="rate-limited"\} '"$n_rl" \
    "stats count the rate-limited items"
# Between the two: the first stats request (counted once answered), 10
# batches answered, 2 refused whole (max-batch, frame), nobody's 2
# refusals.
is "$((count1 - count0))" 15 \
    "the latency histogram counts one per batch, not per item"

# --- audit ----------------------------------------------------------------------

stop_daemon
python3 - "$LOG" "${EC_ITEMS[@]}" >"$T/audit.check" <<'EOF'
import hashlib, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
want = [(len(open(f, 'rb').read()),
         hashlib.sha256(open(f, 'rb').read()).hexdigest())
        for f in sys.argv[2:]]
b = [o for o in lines if o.get('type') == 'decision' and o.get('batch')]
print('batch_lines', len(b))
ec = [o for o in b if o['key'] == 'ec256' and o['batch'] == len(want)]
print('ec_line', len(ec))
o = ec[0]
print('ec_items', len(o['items']) == o['batch'] and
      [(i['input_len'], i['input_sha256']) for i in o['items']] == want and
      all(i['status'] == 'ok' for i in o['items']))
hv = [o for o in b if o['op'] == 'hmac-verify']
print('hv_invalid', [n for n, i in enumerate(hv[0]['items'], 1)
                     if i.get('valid') is False])
rl = [o for o in b if o['key'] == 'hmac64'][0]
print('rl_items', sum(i['status'] == 'rate-limited' for i in rl['items']))
EOF
is "$(sed -n 's/^batch_lines //p' "$T/audit.check")" 10 \
    "audit: one line per batch answered (10)" || diag "$(cat "$T/audit.check")"
is "$(sed -n 's/^ec_items //p' "$T/audit.check")" True \
    "audit: the ecdsa batch line has every item's length and SHA-256, in order"
is "$(sed -n 's/^hv_invalid //p' "$T/audit.check")" "[3, 7, 11]" \
    "audit: the hmac-verify line names items 3, 7, 11 invalid"
is "$(sed -n 's/^rl_items //p' "$T/audit.check")" "$n_rl" \
    "audit: the rate-limited items are in the line"

OUT="$T/verify.out"
"$P11B" audit verify --pubkey "$PUB/ec384.pem" "$LOG" >"$OUT" 2>"$T/verify.err"
is "$?" 0 "audit verify passes over the batch lines" || diag "$(cat "$T/verify.err")"

k=$(python3 -c 'import json, sys
for n, l in enumerate(open(sys.argv[1]), 1):
    o = json.loads(l)
    if o.get("op") == "hmac-verify" and o.get("batch"):
        print(n); break' "$LOG")
python3 - "$LOG" "$T/m.log" "$k" <<'EOF'
import sys
L = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
k = int(sys.argv[3]) - 1
L[k] = L[k].replace(b'"valid":false', b'"valid":true', 1)
open(sys.argv[2], 'wb').write(b''.join(l + b'\n' for l in L))
EOF
"$P11B" audit verify --pubkey "$PUB/ec384.pem" "$T/m.log" >"$OUT" \
    2>"$T/verify.err"
is "$?" 1 "audit verify: an item's valid:false edited to true is caught"
like "$(cat "$T/verify.err")" "m.log:$k:" "... at that line ($k)"

python3 - "$LOG" "$T/m.log" "$k" <<'EOF'
import json, sys
L = open(sys.argv[1], 'rb').read().split(b'\n')[:-1]
k = int(sys.argv[3]) - 1
L[k] = L[k].replace(b'"batch":24', b'"batch":23', 1)
open(sys.argv[2], 'wb').write(b''.join(l + b'\n' for l in L))
EOF
"$P11B" audit verify --pubkey "$PUB/ec384.pem" "$T/m.log" >"$OUT" \
    2>"$T/verify.err"
is "$?" 1 "audit verify: a batch line whose count is not its items' is caught"
like "$(cat "$T/verify.err")" "m.log:$k: .*not its batch size" \
    "... by the item count, at that line"

done_testing
