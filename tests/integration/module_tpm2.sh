#!/bin/bash
# tpm2-pkcs11 (Debian's libtpm2-pkcs11-1) on a software TPM (swtpm over
# TCP on 127.0.0.1), the way a network HSM's client library works: a
# TCP connection per TPM command, an sqlite store that it writes.  The
# broker runs it under "sandbox enforce" with the shipped "profile tpm2"
# and nothing else but site data: the module comes from the profile,
# "sandbox allow socket inet" (AF_INET/AF_INET6 only) and the store's
# "sandbox read/write" too (its path from module-env TPM2_PKCS11_STORE);
# the config adds this swtpm's port and the TCTI.  ECDSA P-256 and RSA
# (PKCS#1 v1.5 and PSS) signatures verified by openssl; a killed
# signer recovers once what it left in the TPM is flushed;
# the broker starts ten times in a row and each orderly stop leaves no
# handle loaded in the TPM (the signer calls C_Finalize).
# The token is made with tpm2_ptool through tpm2-abrmd (a resource
# manager on a private D-Bus: swtpm alone runs out of object contexts
# while tpm2_ptool creates keys).
. "$(dirname "$0")/lib.sh"

[ -z "${P11B_DAEMON_WRAPPER:-}" ] ||
    skip_all "the daemon is wrapped (valgrind runs with the sandbox off)"
[ -z "${P11B_SANITIZED:-}" ] ||
    skip_all "sanitizer build: slow third-party set-up, sandbox off"
TPM2_MODULE=/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1
for t in swtpm tpm2_ptool tpm2-abrmd dbus-run-session tpm2_flushcontext \
    tpm2_getcap; do
	command -v "$t" >/dev/null 2>&1 ||
	    skip_all "$t not installed (contrib/install-deps.sh)"
done
[ -f "$TPM2_MODULE" ] || skip_all "$TPM2_MODULE not installed"
need_tools openssl python3 timeout
make_tmp
PIN=userpin123

# Two free TCP ports on 127.0.0.1 in a row: the TPM's, and its control
# port, which the swtpm TCTI takes to be the next one.
read -r PORT CTRL < <(python3 -c '
import random, socket
while True:
    p = random.randint(20000, 60000)
    s = [socket.socket() for _ in range(2)]
    try:
        s[0].bind(("127.0.0.1", p))
        s[1].bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    print(p, p + 1)
    break')
mkdir "$T/state" "$T/store"
swtpm socket --tpm2 --tpmstate dir="$T/state" \
    --server type=tcp,port="$PORT",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port="$CTRL",bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$T/swtpm.pid" \
    >"$T/swtpm.log" 2>&1 || bail "swtpm: $(cat "$T/swtpm.log")"
on_cleanup 'kill "$(cat "$T/swtpm.pid")"'
tpm_listens()
{
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$CTRL" 2>/dev/null
}
wait_for tpm_listens || bail "swtpm does not listen on $CTRL"
TCTI="swtpm:host=127.0.0.1,port=$PORT"

cat >"$T/mktpm.sh" <<EOS
set -e
tpm2-abrmd --tcti="$TCTI" --session --allow-root &
ab=\$!
trap 'kill \$ab' EXIT
export TPM2TOOLS_TCTI=tabrmd:bus_type=session
for i in \$(seq 1 100); do tpm2_getrandom 4 >/dev/null 2>&1 && break; sleep 0.1; done
p() { tpm2_ptool "\$@" --path "$T/store"; }
p init
p addtoken --pid=1 --sopin=sopin123 --userpin=$PIN --label=tpmtok
p addkey --algorithm=ecc256 --label=tpmtok --userpin=$PIN --key-label=ec256
p addkey --algorithm=rsa2048 --label=tpmtok --userpin=$PIN --key-label=rsa2048
EOS
timeout "$HANG" dbus-run-session -- bash "$T/mktpm.sh" >"$T/mktpm.log" 2>&1 ||
    bail "tpm2_ptool: $(tail -n 5 "$T/mktpm.log")"
[ "$(id -u)" -eq 0 ] && chown -R "$P11B_DAEMON_USER" "$T/store"

{
	printf 'socket "%s" mode 0666\n' "$SOCK"
	printf 'workers 2\n'
	printf 'signers 1\n'	# as contrib/vendors/tpm2-swtpm.conf
	user_line
	printf 'policy "%s"\n' "$POLICY"
	printf 'sandbox enforce\n'
	# Site data, not an allowance: this swtpm's port (the profile
	# has the simulator's default, 2321).
	printf 'sandbox connect-port %s\n' "$PORT"
	printf 'token {\n'
	printf '\tprofile tpm2\n'
	printf '\tlabel "tpmtok"\n'
	printf '\tpin-env "P11BROKER_PIN"\n'
	printf '\tmodule-env "TPM2_PKCS11_TCTI=%s"\n' "$TCTI"
	printf '\tmodule-env "TPM2_PKCS11_STORE=%s"\n' "$T/store"
	printf '}\n'
	printf 'key ec256 label "ec256"\n'
	printf 'key rsa2048 label "rsa2048"\n'
} >"$CONF"
cat >"$POLICY" <<EOS
permit user $ME sign ec256,rsa2048
permit user $ME pubkey ec256,rsa2048
permit user $ME health
permit user $ME stats
EOS
head -c 1000 /dev/urandom >"$T/data"

# The check mode opens the token through the profile as the daemon will.
out=$(P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -n -f "$CONF" 2>&1)
is "$?" 0 "p11brokerd -n with the tpm2 profile" || diag "$out"

start_daemon
for k in ec256 rsa2048; do
	cli pubkey "$k" -o "$T/$k.pem"
	is "$RC" 0 "pubkey $k" || diag "$ERR"
done

# verify KEY ALG OPENSSL-ARGS...: sign $T/data, openssl verifies.
verify()
{
	local k=$1 a=$2
	shift 2
	cli sign "$k" -a "$a" -i "$T/data" -o "$T/sig"
	[ "$RC" -eq 0 ] || { diag "sign $k $a: $ERR"; return 1; }
	[ "$(openssl dgst -sha256 -verify "$T/$k.pem" "$@" -signature \
	    "$T/sig" "$T/data" 2>&1)" = "Verified OK" ]
}
signs_all()
{
	verify ec256 ecdsa-p256-sha256 &&
	verify rsa2048 rsa-pkcs1-sha256 &&
	verify rsa2048 rsa-pss-sha256 -sigopt rsa_padding_mode:pss \
	    -sigopt rsa_pss_saltlen:32
}
signs_all
ok $? "tpm2-pkcs11 on swtpm, sandbox enforce, profile tpm2: ECDSA P-256, RSA PKCS#1, RSA-PSS verified by openssl"
! log_has 'stopped by its sandbox'
ok $? "no signer was stopped by its filter" ||
    diag "$(grep 'stopped by its sandbox' "$DAEMON_LOG")"

# tpm_handles: transient objects and sessions loaded in the TPM now.
tpm_handles()
{
	local n
	n=$( { tpm2_getcap -T "$TCTI" handles-transient
	    tpm2_getcap -T "$TCTI" handles-loaded-session; } 2>/dev/null |
	    grep -c '^- ')
	echo "$n"
}

# A SIGKILLed signer runs no C_Finalize: with no resource manager
# between the module and the TPM its objects and sessions stay loaded,
# and the swtpm's three object slots are soon full ("out of memory for
# object contexts" at the next C_Login).  The operator's part: flush them
# (or put tpm2-abrmd in between).  The monitor is held (SIGSTOP) from the
# kill to the flush, so that the flush meets only the dead signer's
# contexts, never a new signer's (flushing those would leave it failing).
_dead()
{
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ] ||
	    [ ! -e "/proc/$1" ]
}
victim=$(daemon_child p11b-signer)
kill -STOP "$DAEMON_PID"
kill -KILL "$victim"
wait_for _dead "$victim"
tpm2_flushcontext -T "$TCTI" -t >/dev/null 2>&1
tpm2_flushcontext -T "$TCTI" -l >/dev/null 2>&1
kill -CONT "$DAEMON_PID"
wait_for signs_all
ok $? "a SIGKILLed signer, the TPM flushed: a new one signs (every algorithm)"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"
is "$(tpm_handles)" 0 "the stop left no handle loaded in the TPM"

for i in $(seq 1 10); do
	try_start_daemon && signs_all
	ok $? "broker start $i: signs (ECDSA, RSA PKCS#1, PSS)"
	stop_daemon
	is "$EXIT_RC" 0 "stop $i: exit 0"
	is "$(tpm_handles)" 0 "stop $i: C_Finalize left no handle loaded in the TPM"
done

done_testing
