#!/bin/bash
# Several tokens holding the same keys ("token NAME { ... }" blocks).
# Two SoftHSM2 tokens with the same key material: hsm-b is a copy of the
# test token's files, reached through its own SOFTHSM2_CONF (module-env);
# hsm-a is the test token behind the fault module.  Each block has two
# signer processes.  ec384 is on hsm-a only, only-b (a key made on the
# copy afterwards) on hsm-b only.
#
# Four client loops (loadlib.sh: three ECDSA signatures, each verified
# by openssl, one HMAC compared with openssl's over the key's bytes) run while hsm-a
# fails every C_Sign (CKR_DEVICE_ERROR) until the monitor calls it
# unavailable, comes back, then hangs every C_Sign past token-timeout,
# and while every hsm-b signer is SIGKILLed: no loop sees an error.
# Keys held by one block go to that block only.  health, stats and the
# Prometheus text report each block; p11brokerd -n checks both; a reload
# removes a block and adds it back (one block: no per-token rows); a
# block whose token holds other key material under the same names is
# refused.  Last, a start with hsm-a down: hsm-b serves, hsm-a's own key
# is unavailable until hsm-a joins.
. "$(dirname "$0")/lib.sh"
. "$INTEGRATION_DIR/faultlib.sh"
. "$INTEGRATION_DIR/loadlib.sh"

setup_token
fault_setup

# hsm-b: the same token files (the same key objects, label and serial)
# under a SoftHSM2 configuration of its own, and one key of its own.
cp -a "$T/tokens" "$T/tokens-b"
sed "s|$T/tokens|$T/tokens-b|" "$T/softhsm2.conf" >"$T/softhsm2-b.conf"
chmod 0644 "$T/softhsm2-b.conf"
SOFTHSM2_CONF="$T/softhsm2-b.conf" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label p11b-test -l --pin "$PIN" --keypairgen \
    --key-type EC:prime256v1 --label only-b --id 42 >"$T/only-b.log" 2>&1 ||
    bail "keypairgen on the copy: $(cat "$T/only-b.log")"
SOFTHSM2_CONF="$T/softhsm2-b.conf" pkcs11-tool --module "$SOFTHSM_MODULE" \
    --token-label p11b-test --read-object --type pubkey --id 42 \
    -o "$T/only-b.der" >/dev/null 2>&1 &&
    openssl pkey -pubin -inform DER -in "$T/only-b.der" \
    -out "$T/pub/only-b.pem" 2>/dev/null ||
    bail "cannot read only-b's public key"
# hsm-c: another token under the same names, other key material.
mkdir -p "$T/c"
"$INTEGRATION_DIR/mktoken.sh" "$T/c" >"$T/c/mktoken.log" 2>&1 ||
    bail "mktoken.sh for hsm-c: $(tail -n 3 "$T/c/mktoken.log")"
chmod 0755 "$T/c"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$P11B_DAEMON_USER" "$T/tokens" "$T/tokens-b" "$T/c/tokens"
fi
export P11BROKER_PIN_B=$PIN

# block NAME MODULE SOFTHSM2-CONF [LINE...]: a token block.
block()
{
	local name=$1 module=$2 conf=$3 l
	shift 3
	printf 'token %s {\n' "$name"
	printf '\tmodule "%s"\n' "$module"
	printf '\tlabel "p11b-test"\n'
	printf '\tpin-env "P11BROKER_PIN_B"\n'
	printf '\tmodule-env "SOFTHSM2_CONF=%s"\n' "$conf"
	for l in "$@"; do
		printf '\t%s\n' "$l"
	done
	printf '}\n'
}

# ha_config FILE BLOCKS...: the config, with the given blocks ("a", "b",
# "c") and the keys on them.
ha_config()
{
	local file=$1 b
	shift
	{
		printf 'socket "%s" mode 0666\n' "$SOCK"
		printf 'workers 2\nsigners 2\nmax-frame 65536\n'
		printf 'token-timeout 2\n'
		user_line
		[ -n "${P11B_DAEMON_WRAPPER:-}${P11B_SANITIZED:-}" ] &&
		    printf 'sandbox off\n'
		printf 'sandbox read "%s"\n' "$T"
		printf 'sandbox allow ftruncate pwrite64\n'
		printf 'policy "%s"\n' "$POLICY"
		for b in "$@"; do
			case $b in
			a) block hsm-a "$FAULTMOD" "$T/softhsm2.conf" \
			    "module-env \"FAULT_PKCS11_CONTROL=$CTL\"" ;;
			b) block hsm-b "$SOFTHSM_MODULE" "$T/softhsm2-b.conf" ;;
			c) block hsm-c "$SOFTHSM_MODULE" "$T/c/softhsm2.conf" ;;
			esac
		done
		printf 'key ec256 label "ec256"\n'
		printf 'key hmac32 label "hmac32"\n'
		case " $* " in
		*" a "*) printf 'key ec384 id 02 token hsm-a\n' ;;
		esac
		case " $* " in
		*" b "*) printf 'key only-b label "only-b" token hsm-b\n' ;;
		esac
	} >"$file"
}

# ha_policy BLOCKS...: what the test user may do with those blocks' keys.
ha_policy()
{
	local keys=ec256
	case " $* " in *" a "*) keys="$keys,ec384" ;; esac
	case " $* " in *" b "*) keys="$keys,only-b" ;; esac
	cat >"$POLICY" <<EOF
permit user $ME sign $keys
permit user $ME hmac hmac32
permit user $ME list
permit user $ME health
permit user $ME stats
EOF
}

ha_config "$CONF" a b
ha_policy a b

# The check mode opens both tokens and checks their keys.
P11BROKER_PIN=$PIN "$BROKERD" -n -f "$CONF" >"$T/check.out" 2>&1
ok $? "p11brokerd -n: both blocks open" || diag "$(cat "$T/check.out")"
like "$(cat "$T/check.out")" "key only-b ec" "p11brokerd -n: only-b (hsm-b's)"
like "$(cat "$T/check.out")" "key ec384 ec" "p11brokerd -n: ec384 (hsm-a's)"

start_daemon

# b_signers: the daemon's signer processes of hsm-b (those that did not
# load the fault module).
b_signers()
{
	local p
	for p in $(pgrep -P "$DAEMON_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = p11b-signer ] ||
		    continue
		grep -q fault-pkcs11 "/proc/$p/maps" 2>/dev/null || echo "$p"
	done
	return 0
}

# token_line NAME WORDS: stats has the token's line with those words.
token_line()
{
	"$P11B" -s "$SOCK" stats 2>/dev/null | grep -E "^token $1 " |
	    grep -q -- "$2"
}

wait_for token_line hsm-a "ready=1 signers=2 signers_up=2"
ok $? "stats: hsm-a ready, 2 of 2 signers" ||
    diag "$("$P11B" -s "$SOCK" stats 2>&1 | grep -E '^(token|signer)')"
wait_for token_line hsm-b "ready=1 signers=2 signers_up=2"
ok $? "stats: hsm-b ready, 2 of 2 signers"
cli health
like "$(cat "$OUT")" "signers=4 signers-up=4" "health: four signers in all"
like "$(cat "$OUT")" "token hsm-a ready=yes signers=2 signers-up=2" \
    "health: hsm-a's line"
like "$(cat "$OUT")" "token hsm-b ready=yes signers=2 signers-up=2" \
    "health: hsm-b's line"
cli stats --prometheus
like "$(cat "$OUT")" 'p11broker_token_up\{token="hsm-b"\} 1' \
    "prometheus: p11broker_token_up per token"

# Keys held by one block: served by it.
head -c 300 /dev/urandom >"$T/data"
cli sign only-b -a ecdsa-p256-sha256 -i "$T/data"
is "$(openssl dgst -sha256 -verify "$T/pub/only-b.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "only-b (hsm-b only): verified"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
is "$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "ec384 (hsm-a only): verified"
cli list
like "$(cat "$OUT")" "only-b" "list: only-b"

LOAD_HMAC=4
load_start 4
load_more 20
ok $? "four client loops sign and MAC on both tokens"
is "$(load_failures)" 0 "no failure before any fault" ||
    diag "$(cat "$T"/fail.* | head -n 5)"

# 1. hsm-a fails every signature: its signers answer TOKEN_UNAVAILABLE
# and start over; the front sends each such job to hsm-b.
a_signs=$(calls C_Sign)
rules "C_Sign error CKR_DEVICE_ERROR"
wait_log 'token hsm-a is UNAVAILABLE'
ok $? "hsm-a failing: the monitor calls it unavailable" ||
    diag "$(grep -E 'signer|token' "$DAEMON_LOG" | tail -n 8)"
load_more 20
ok $? "hsm-a failing: the loops go on"
is "$(load_failures)" 0 "hsm-a failing: no client saw an error" ||
    diag "$(cat "$T"/fail.* | head -n 5)"
wait_for token_line hsm-a "ready=0"
ok $? "stats: hsm-a not ready"
"$P11B" -s "$SOCK" stats 2>/dev/null | grep -E '^token hsm-a ' >"$T/a.line"
like "$(cat "$T/a.line")" "failovers=[1-9]" \
    "stats: jobs moved from hsm-a (failovers > 0)"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
ok "$([ "$RC" -ne 0 ] && echo 0 || echo 1)" \
    "ec384 (hsm-a only) while hsm-a fails: refused"
like "$ERR" "navailable" "ec384: token unavailable"
cli stats --prometheus
like "$(cat "$OUT")" 'p11broker_token_up\{token="hsm-a"\} 0' \
    "prometheus: hsm-a down"

# 2. hsm-a comes back (after its backoff) and signs again.
rules
wait_log 'token hsm-a is available again'
ok $? "hsm-a fixed: available again"
wait_for token_line hsm-a "ready=1"
ok $? "stats: hsm-a ready again"
_a_signs_again()
{
	[ "$(calls C_Sign)" -gt "$a_now" ]
}
a_now=$(calls C_Sign)
load_more 20
wait_for _a_signs_again
ok $? "hsm-a serves loop requests again ($a_signs, then $(calls C_Sign) C_Sign calls)"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
is "$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "ec384 signs again on hsm-a"

# 3. hsm-a hangs: a job past token-timeout (2 s) goes to hsm-b.
rules "C_Sign hang"
wait_log 'no answer in [0-9]+ ms'
ok $? "hsm-a hangs: the front notices" ||
    diag "$(tail -n 8 "$DAEMON_LOG")"
load_more 20
ok $? "hsm-a hanging: the loops go on"
is "$(load_failures)" 0 "hsm-a hanging: no client saw an error" ||
    diag "$(cat "$T"/fail.* | head -n 5)"
rules
wait_for token_line hsm-a "ready=1 signers=2 signers_up=2"
ok $? "hsm-a let go: two signers serve"

# 4. Every hsm-b signer SIGKILLed: their jobs go to hsm-a.
victims=$(b_signers)
is "$(echo "$victims" | wc -w)" 2 "hsm-b: two signer processes"
for p in $victims; do
	kill -KILL "$p"
done
wait_log 'signer [0-9]+: the signer went away'
ok $? "hsm-b's signers killed"
wait_for token_line hsm-b "ready=1 signers=2 signers_up=2"
ok $? "hsm-b's signers back"
load_more 20
ok $? "after hsm-b's restart: the loops go on"

load_stop
is "$(load_failures)" 0 "over $(load_total) requests through every fault: no error" ||
    diag "$(cat "$T"/fail.* | head -n 5)"

# 5. Reload without hsm-a: one block serves; ec384 is gone.
ha_config "$CONF" b
ha_policy b
kill -HUP "$DAEMON_PID"
wait_log 'reloaded '
ok $? "reload to hsm-b alone" ||
    diag "$(grep -E 'reload' "$DAEMON_LOG" | tail -n 3)"
_health_says()
{
	"$P11B" -s "$SOCK" health 2>/dev/null | grep -q -- "$1"
}
wait_for _health_says "token=ready .* signers=2 signers-up=2"
ok $? "after the reload: hsm-b's two signers serve"
cli health
unlike "$(cat "$OUT")" "token hsm" \
    "health: one block, no rows (the totals are its)"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "hsm-b alone: ec256 verified"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
like "$ERR" "no such key|not permitted|denied" "hsm-b alone: no ec384"

# 6. A block whose token has other material under the same names.
ha_config "$CONF" b c
ha_policy b
kill -HUP "$DAEMON_PID"
wait_log 'hold different objects'
ok $? "hsm-c (other key material, same names): refused" ||
    diag "$(grep -E 'reload|signer' "$DAEMON_LOG" | tail -n 5)"
cli health
unlike "$(cat "$OUT")" "token hsm-c" "hsm-c refused: the old blocks serve"

# 7. And hsm-a added back by a reload.
ha_config "$CONF" a b
ha_policy a b
n=$(log_count 'reloaded ')
kill -HUP "$DAEMON_PID"
wait_log 'reloaded ' $((n + 1))
ok $? "reload adds hsm-a back"
wait_for token_line hsm-a "ready=1 signers=2 signers_up=2"
ok $? "hsm-a serves after the reload"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
is "$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "ec384 on hsm-a again"

# 8. A start with hsm-a down: hsm-b serves; hsm-a's key waits for it.
stop_daemon
rules "C_Login error CKR_DEVICE_ERROR"
start_daemon
wait_log '2 of 4 signers started'
ok $? "start with hsm-a down: the broker serves with hsm-b's signers" ||
    diag "$(grep -E 'monitor' "$DAEMON_LOG" | tail -n 5)"
cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "hsm-a down at start: ec256 verified"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
like "$ERR" "no token that holds the key has started" \
    "hsm-a down at start: ec384 (its only) token unavailable"
rules
wait_for token_line hsm-a "ready=1 signers=2 signers_up=2"
ok $? "hsm-a up after all: its signers join"
cli sign ec384 -a ecdsa-p384-sha384 -i "$T/data"
is "$(openssl dgst -sha384 -verify "$T/pub/ec384.pem" -signature "$OUT" \
    "$T/data" 2>&1)" "Verified OK" "ec384 signs once hsm-a joined"

stop_daemon
done_testing
