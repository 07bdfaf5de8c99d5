#!/bin/bash
# opencryptoki's soft token (Debian: opencryptoki) through its slot
# daemon pkcsslotd, with "sandbox enforce" and no allowance but the
# shipped profile ("profile opencryptoki").  The test starts pkcsslotd
# when it is not running (and stops what it started), initialises the
# soft token (opencryptoki keeps it in /var/lib/opencryptoki/swtok: one
# per machine, so runs take a lock), makes an RSA key and imports an
# HMAC key, then signs with every algorithm of the broker's that the
# token offers (Debian 12's soft token has no EC), each verified by
# openssl; a killed signer recovers; the broker starts ten times in a row.
. "$(dirname "$0")/lib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build: slow third-party set-up, sandbox off"
OCKI_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so
for t in pkcsslotd pkcsconf pkcs11-tool flock; do
	command -v "$t" >/dev/null 2>&1 ||
	    skip_all "$t not installed (opencryptoki: contrib/install-deps.sh)"
done
[ -f "$OCKI_MODULE" ] || skip_all "$OCKI_MODULE not installed"
[ "$(id -u)" -eq 0 ] ||
    skip_all "pkcsslotd and the soft token's store need root to set up"
need_tools openssl timeout
make_tmp

# One soft token per machine: one run of this test at a time.
exec 9>/run/lock/p11b-module-ocki.lock
timeout "$HANG" flock 9 || bail "another module_ocki.sh holds the lock"

# pkcsslotd: reuse a running one, else start it (and stop it after).
PIDFILE=/run/pkcsslotd.pid
slotd_pid()
{
	local p
	# (pkcsslotd writes its pid without a newline)
	[ -r "$PIDFILE" ] && p=$(cat "$PIDFILE") && [ -n "$p" ] &&
	    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = pkcsslotd ] && echo "$p"
}
if [ -z "$(slotd_pid)" ]; then
	# Its directories, as systemd-tmpfiles would make them.
	command -v systemd-tmpfiles >/dev/null 2>&1 &&
	    systemd-tmpfiles --create opencryptoki.conf >/dev/null 2>&1
	pkcsslotd >"$T/slotd.log" 2>&1 ||
	    skip_all "pkcsslotd cannot run here: $(cat "$T/slotd.log")"
	slotd_up() { [ -n "$(slotd_pid)" ]; }
	wait_for slotd_up ||
	    skip_all "pkcsslotd did not stay up: $(cat "$T/slotd.log")"
	SLOTD=$(slotd_pid)
	on_cleanup 'kill "$SLOTD"'
fi
mod() { pkcs11-tool --module "$OCKI_MODULE" "$@"; }
# The soft token's slot: the one whose model is "IBM SoftTok".
# ("Slot 0 (0x3): ...": the id, in brackets, is what --slot takes.)
SLOT=$(mod -L 2>/dev/null | awk '/^Slot [0-9]+/ { s = $3; gsub(/[():]/, "", s) }
    /token model *: *IBM SoftTok/ { print s; exit }')
[ -n "$SLOT" ] || skip_all "no soft token slot: $(mod -L 2>&1 | head -n 5)"

PIN=11223344
SOPIN=87654321
LABEL=p11b-ocki
mod --slot "$SLOT" --init-token --so-pin "$SOPIN" --label "$LABEL" \
    >"$T/init.log" 2>&1 || bail "init-token: $(cat "$T/init.log")"
mod --slot "$SLOT" --login --login-type so --so-pin "$SOPIN" --init-pin \
    --pin 12345678 >>"$T/init.log" 2>&1 || bail "init-pin: $(cat "$T/init.log")"
# The first user PIN is flagged "to be changed": change it, as an operator would.
mod --slot "$SLOT" --login --pin 12345678 --change-pin --new-pin "$PIN" \
    >>"$T/init.log" 2>&1 || bail "change-pin: $(cat "$T/init.log")"
mod --slot "$SLOT" --login --pin "$PIN" --keypairgen --key-type rsa:2048 \
    --label rsa2048 --id 04 >>"$T/init.log" 2>&1 ||
    bail "keypairgen: $(cat "$T/init.log")"
head -c 64 /dev/urandom >"$T/hmac64.key"
P11_PIN=$PIN "$MKOBJECTS" -m "$OCKI_MODULE" -t "$LABEL" -p P11_PIN \
    secret hmac64 13 "$T/hmac64.key" >>"$T/init.log" 2>&1 ||
    bail "mkobjects: $(cat "$T/init.log")"
# The signer opens pkcsslotd's shared memory, the token's files and its
# lock files in C_Initialize and C_Login, before it drops to the
# broker's user: that user needs no membership of the group pkcs11.
{
	printf 'socket "%s" mode 0666\n' "$SOCK"
	printf 'workers 2\n'
	user_line
	printf 'policy "%s"\n' "$POLICY"
	printf 'sandbox enforce\n'
	printf 'token {\n'
	printf '\tprofile opencryptoki\n'
	printf '\tlabel "%s"\n' "$LABEL"
	printf '\tpin-env "P11BROKER_PIN"\n'
	printf '}\n'
	printf 'key rsa2048 label "rsa2048"\n'
	printf 'key hmac64 label "hmac64"\n'
} >"$CONF"
grep -q '^sandbox allow\|^sandbox read\|^sandbox write' "$CONF" &&
    bail "the config has allowances of its own"
cat >"$POLICY" <<EOS
permit user $ME sign rsa2048
permit user $ME pubkey rsa2048
permit user $ME hmac hmac64
permit user $ME health
EOS
head -c 1000 /dev/urandom >"$T/data"

out=$(P11BROKER_PIN=$PIN "$BROKERD" -n -f "$CONF" 2>&1)
is "$?" 0 "p11brokerd -n with the opencryptoki profile" || diag "$out"

# The broker's algorithms the token offers, by its mechanism list.
mod --slot "$SLOT" -M >"$T/mechs" 2>&1
has_mech() { grep -q "^ *$1," "$T/mechs"; }
# The broker hashes and asks for CKM_RSA_PKCS / CKM_RSA_PKCS_PSS where
# the token lacks the hash-and-sign mechanism (3.8 has no
# SHA256-RSA-PKCS), so those count when the token has the digest.
ALGS=
for n in 224 256 384 512; do
	has_mech "SHA$n" || has_mech "SHA-$n" || continue
	has_mech "RSA-PKCS" && ALGS="$ALGS rsa-pkcs1-sha$n"
	has_mech "RSA-PKCS-PSS" && ALGS="$ALGS rsa-pss-sha$n"
	has_mech "SHA$n-HMAC" && ALGS="$ALGS hmac-sha$n"
done
diag "algorithms to test:$ALGS"
has_mech ECDSA && bail "this soft token offers ECDSA: add it to the test"

start_daemon
cli pubkey rsa2048 -o "$T/rsa.pem"
is "$RC" 0 "pubkey rsa2048" || diag "$ERR"

# check ALG: sign (or MAC) $T/data; openssl checks the result.
check()
{
	local a=$1 n=${1##*sha} want
	case $a in
	hmac-*)
		cli hmac hmac64 -a "$a" -i "$T/data" -o "$T/mac" || return 1
		want=$(openssl mac -digest "SHA$n" -macopt \
		    "hexkey:$(hex "$T/hmac64.key")" -in "$T/data" HMAC |
		    tr 'A-F' 'a-f')
		[ "$RC" -eq 0 ] && [ "$(hex "$T/mac")" = "$want" ] ;;
	rsa-pss-*)
		cli sign rsa2048 -a "$a" -i "$T/data" -o "$T/sig"
		[ "$RC" -eq 0 ] && [ "$(openssl dgst "-sha$n" -verify \
		    "$T/rsa.pem" -sigopt rsa_padding_mode:pss -sigopt \
		    rsa_pss_saltlen:$((n / 8)) -signature "$T/sig" "$T/data" \
		    2>&1)" = "Verified OK" ] ;;
	rsa-pkcs1-*)
		cli sign rsa2048 -a "$a" -i "$T/data" -o "$T/sig"
		[ "$RC" -eq 0 ] && [ "$(openssl dgst "-sha$n" -verify \
		    "$T/rsa.pem" -signature "$T/sig" "$T/data" 2>&1)" = \
		    "Verified OK" ] ;;
	esac
}
for a in $ALGS; do
	check "$a"
	ok $? "opencryptoki, sandbox enforce, profile only: $a verified by openssl" ||
	    diag "$ERR"
done
signs_all()
{
	local a
	for a in $ALGS; do
		check "$a" || return 1
	done
}
! log_has 'stopped by its sandbox'
ok $? "no signer was stopped by its filter" ||
    diag "$(grep 'stopped by its sandbox' "$DAEMON_LOG")"

victim=$(daemon_child p11b-signer)
kill -KILL "$victim"
new_signer()
{
	local now
	now=$(daemon_child p11b-signer)
	[ -n "$now" ] && [ "$now" != "$victim" ] && signs_all
}
wait_for new_signer
ok $? "a SIGKILLed signer: a new one signs (every algorithm)"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

fails=0
for i in $(seq 1 10); do
	if try_start_daemon && signs_all; then
		stop_daemon
		[ "$EXIT_RC" -eq 0 ] || { diag "stop $i: $EXIT_RC"; fails=$((fails + 1)); }
	else
		diag "start $i: $(tail -n 5 "$DAEMON_LOG")"
		stop_daemon
		fails=$((fails + 1))
	fi
done
is "$fails" 0 "ten broker starts in a row: each signs (every algorithm) and stops cleanly"

done_testing
