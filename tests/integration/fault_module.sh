#!/bin/bash
# The fault-injecting PKCS#11 module (tests/faultmod) itself, before any
# broker test relies on it: through pkcs11-tool and faultdrive against a
# throwaway SoftHSM2 token, every action of the control file does what
# tests/faultmod/README.md says, a running process sees the file change,
# the counters are exact under threads, and the broker runs on it.
. "$(dirname "$0")/lib.sh"

FAULTMOD="$top_builddir/tests/faultmod/.libs/fault-pkcs11.so"
FAULTDRIVE="$top_builddir/tests/faultmod/faultdrive"
LABEL=p11b-fault

need_tools softhsm2-util pkcs11-tool openssl
[ -f "$SOFTHSM_MODULE" ] || bail "SoftHSM2 module $SOFTHSM_MODULE not found"
[ -f "$FAULTMOD" ] || bail "$FAULTMOD not built (make check builds it)"
[ -x "$FAULTDRIVE" ] || bail "$FAULTDRIVE not built"
make_tmp

# A small token: one P-256 key pair.  The control file lives in the
# token directory, where a sandboxed signer may still read it.
mkdir -p "$T/tokens"
cat >"$SOFTHSM2_CONF" <<EOF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
softhsm2-util --init-token --free --label "$LABEL" --pin "$PIN" \
    --so-pin 000000 >/dev/null || bail "softhsm2-util --init-token failed"
CTL="$T/tokens/fault.ctl"
COUNTS="$T/tokens/counts"
export FAULT_PKCS11_MODULE="$SOFTHSM_MODULE"
export FAULT_PKCS11_CONTROL="$CTL"
export FAULT_PKCS11_COUNTS="$COUNTS"
export FAULTDRIVE_PIN="$PIN"

p11()
{
	timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$FAULTMOD" \
	    --token-label "$LABEL" "$@"
}

p11 -l --pin "$PIN" --keypairgen --key-type EC:prime256v1 --label ec256 \
    --id 01 >/dev/null 2>"$T/keygen.err" ||
    bail "keypairgen through the fault module: $(cat "$T/keygen.err")"
p11 --read-object --type pubkey --id 01 -o "$T/ec256.der" 2>/dev/null &&
    openssl pkey -pubin -inform DER -in "$T/ec256.der" -out "$T/ec256.pem" ||
    bail "cannot export the public key"
head -c 1000 /dev/urandom >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$T/digest"

# faults RULE...: replace the control file atomically (a new inode is
# noticed even within one mtime tick).
faults()
{
	printf '%s\n' "$@" >"$CTL.new" && mv "$CTL.new" "$CTL"
}

no_faults()
{
	rm -f "$CTL"
}

# calls FUNCTION / faulted FUNCTION: numbers from the counts file.
calls()
{
	awk -v f="$1" '$1 == f { n = $2 } END { print n + 0 }' "$COUNTS"
}

faulted()
{
	awk -v f="$1" '$1 == f { n = $3 } END { print n + 0 }' "$COUNTS"
}

# calls_above FUNCTION N: FUNCTION has been entered more than N times.
calls_above()
{
	[ "$(calls "$1")" -gt "$2" ]
}

# p11sign: sign the digest with pkcs11-tool; RC, ERR, $T/sig.
p11sign()
{
	rm -f "$T/sig"
	p11 -l --pin "$PIN" --sign -m ECDSA --id 01 --signature-format openssl \
	    -i "$T/digest" -o "$T/sig" >/dev/null 2>"$T/p11.err"
	RC=$?
	ERR=$(cat "$T/p11.err")
}

verify()
{
	openssl dgst -sha256 -verify "$T/ec256.pem" -signature "$T/sig" \
	    "$T/msg" 2>&1
}

# drive COUNT [THREADS [INTERVAL-MS]]: faultdrive; its lines in $T/drive.
drive()
{
	timeout -k 2 $((HANG * 3)) "$FAULTDRIVE" "$FAULTMOD" "$LABEL" ec256 "$@" \
	    >"$T/drive" 2>"$T/drive.err"
}

# rvs: the return values of faultdrive's signatures, in order, one line.
rvs()
{
	awk '$1 == "sign" { printf "%s%s", sep, $4; sep = " " }' "$T/drive"
}

# --- the module itself --------------------------------------------------------

if command -v nm >/dev/null 2>&1; then
	is "$(nm -D --defined-only "$FAULTMOD" | awk '$2 == "T" { print $3 }')" \
	    C_GetFunctionList "the module exports C_GetFunctionList only"
fi

no_faults
: >"$COUNTS"
p11sign
is "$RC" 0 "no control file: pkcs11-tool signs" || diag "$ERR"
is "$(verify)" "Verified OK" "no control file: openssl verifies the signature"
is "$(calls C_Login)" 1 "counts: one pkcs11-tool run logs in once"
is "$(calls C_Sign)" 1 "counts: and calls C_Sign once"
is "$(faulted C_Sign)" 0 "counts: no faults without rules"

# --- errors ------------------------------------------------------------------

: >"$COUNTS"
faults "C_Sign error CKR_DEVICE_ERROR"
p11sign
[ "$RC" -ne 0 ]
ok $? "C_Sign error CKR_DEVICE_ERROR: pkcs11-tool fails"
is "$(faulted C_Sign)" 1 "counts: the C_Sign fault is counted"
drive 1
is "$(rvs)" 0x00000030 "faultdrive: C_Sign returns CKR_DEVICE_ERROR (0x30)"

no_faults
p11sign
is "$RC" 0 "rule removed: pkcs11-tool signs again" || diag "$ERR"
is "$(verify)" "Verified OK" "rule removed: the signature verifies"

# Each fault the broker must handle, by name, where pkcs11-tool names it.
for f in "C_Login CKR_PIN_INCORRECT" "C_Login CKR_PIN_LOCKED" \
    "C_OpenSession CKR_TOKEN_NOT_PRESENT" \
    "C_SignInit CKR_SESSION_HANDLE_INVALID" \
    "C_SignInit CKR_SESSION_CLOSED" "C_SignInit CKR_DEVICE_REMOVED" \
    "C_SignInit CKR_DEVICE_ERROR"; do
	set -- $f
	faults "$1 error $2"
	p11sign
	like "$ERR" "$1 failed: rv = $2" "$1 error $2: pkcs11-tool gets $2"
done

faults "C_SignInit error 0x32"
p11sign
like "$ERR" "C_SignInit failed: rv = CKR_DEVICE_REMOVED" \
    "a numeric code (0x32) is CKR_DEVICE_REMOVED"

faults "* error CKR_DEVICE_REMOVED"
p11 -L >/dev/null 2>"$T/p11.err"
RC=$?
like "$(cat "$T/p11.err")" "C_Initialize failed: rv = CKR_DEVICE_REMOVED" \
    "'*' fails every call, C_Initialize first"

# Each code through faultdrive, which prints exactly what C_Sign returned.
expect=
for code in CKR_DEVICE_ERROR:0x00000030 CKR_SESSION_HANDLE_INVALID:0x000000b3 \
    CKR_SESSION_CLOSED:0x000000b0 CKR_DEVICE_REMOVED:0x00000032 \
    CKR_TOKEN_NOT_PRESENT:0x000000e0 CKR_PIN_INCORRECT:0x000000a0 \
    CKR_PIN_LOCKED:0x000000a4 4242:0x00001092; do
	faults "C_Sign error ${code%%:*}"
	drive 1
	is "$(rvs)" "${code#*:}" "C_Sign error ${code%%:*} -> ${code#*:}"
done

# An injected C_Sign error ends the real module's operation, as a token's
# failed C_Sign does: the next C_SignInit on the session works.
faults "C_Sign error CKR_DEVICE_ERROR count 1"
drive 3
is "$(rvs)" "0x00000030 0x00000000 0x00000000" \
    "after an injected C_Sign error the session signs again"

# --- after / count, exact under threads --------------------------------------

faults "C_Sign error CKR_DEVICE_ERROR after 2 count 3"
drive 8
is "$(rvs)" "0x00000000 0x00000000 0x00000030 0x00000030 0x00000030 \
0x00000000 0x00000000 0x00000000" "after 2 count 3: calls 3 to 5 fail"

: >"$COUNTS"
faults "C_Sign error CKR_DEVICE_ERROR count 25"
drive 50 4
is "$(tail -n 1 "$T/drive")" "done 175 25" \
    "4 threads x 50 signatures, count 25: exactly 25 fail"
is "$(calls C_Sign) $(faulted C_Sign)" "200 25" \
    "counts under threads: C_Sign 200 calls, 25 faulted"
is "$(calls C_SignInit)" 200 "counts under threads: C_SignInit 200"
is "$(calls C_Login)" 1 "counts under threads: C_Login once"

# --- a running process sees the control file change ---------------------------

# last_rv: the return value of faultdrive's latest signature.
last_rv()
{
	awk '$1 == "sign" { rv = $4 } END { print rv }' "$T/drive"
}

# last_rv_is RV: faultdrive's latest signature returned RV.
last_rv_is()
{
	[ "$(last_rv)" = "$1" ]
}

no_faults
: >"$T/drive"
# Not through drive(): $! must be faultdrive itself, to stop it.
"$FAULTDRIVE" "$FAULTMOD" "$LABEL" ec256 100000 1 20 >"$T/drive" \
    2>"$T/drive.err" &
drive_pid=$!
wait_for last_rv_is 0x00000000
faults "C_Sign error CKR_DEVICE_ERROR"
wait_for last_rv_is 0x00000030
no_faults
wait_for last_rv_is 0x00000000
kill_child "$drive_pid"
wait "$drive_pid" 2>/dev/null
seq=$(rvs | tr ' ' '\n' | uniq | tr '\n' ' ')
is "$seq" "0x00000000 0x00000030 0x00000000 " \
    "one process: ok, then errors while the rule is there, then ok again"

# --- delay, hang, corrupt, crash ---------------------------------------------

faults "C_Sign delay 300ms"
t0=$(date +%s%N)
drive 3
t1=$(date +%s%N)
is "$(rvs)" "0x00000000 0x00000000 0x00000000" "delay: the calls succeed"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 900 ]
ok $? "delay 300ms: three signatures take at least 900 ms (took $ms ms)"

faults "C_SignInit delay 1s count 1" "C_Sign delay 200ms"
t0=$(date +%s%N)
drive 2
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 1400 ]
ok $? "delays add up and count limits them (1400 ms expected, took $ms)"

# A call is counted when it enters the module, before the hang holds it.
signs_before=$(calls C_Sign)
faults "C_Sign hang"
drive 1 &
drive_pid=$!
wait_for calls_above C_Sign "$signs_before"
ok $? "hang: the call entered C_Sign (counted on entry)"
running "$drive_pid"
ok $? "hang: the call is held there"
is "$(rvs)" "" "hang: no result yet"
no_faults
wait_exit "$drive_pid"
is "$EXIT_RC" 0 "hang: released once the rule is removed"
is "$(rvs)" 0x00000000 "hang: the released call then succeeds"

faults "C_Sign corrupt"
p11sign
is "$RC" 0 "corrupt: pkcs11-tool signs" || diag "$ERR"
openssl asn1parse -inform DER -in "$T/sig" >/dev/null 2>&1
ok $? "corrupt: the signature is still well-formed DER"
like "$(verify)" "Verification failure" \
    "corrupt: openssl rejects the signature"
no_faults
p11sign
is "$(verify)" "Verified OK" "corrupt rule removed: signatures verify again"

faults "C_Sign crash"
ulimit -c 0
(drive 1) 2>/dev/null	# the shell's "Aborted" note is expected
is "$?" 134 "crash: the process aborts (SIGABRT) in C_Sign"

# --- bad rules are reported and skipped ---------------------------------------

faults "C_Sign frobnicate" "C_Nope error CKR_DEVICE_ERROR" "C_Sign error" \
    "C_Sign error CKR_DEVICE_ERROR after x" "C_Login corrupt" \
    "   # a comment" "" "C_SignInit error CKR_DEVICE_ERROR  # works"
drive 1
bad=$(grep -c "fault.ctl:[0-9]*: .*(line ignored)" "$T/drive.err")
is "$bad" 5 "five bad rules reported with file and line"
like "$(cat "$T/drive.err")" "fault.ctl:2: unknown function" \
    "the report names the problem"
is "$(rvs)" 0x00000030 "the good rule after them still applies"
no_faults

# --- the broker on the fault module ------------------------------------------

if [ -x "$BROKERD" ] && [ -x "$P11B" ]; then
	# Run as root, the broker drops to lib.sh's daemon user, whose
	# signer must read the token, the control file and the counts.
	user_stmt=
	if type user_line >/dev/null 2>&1; then
		user_stmt=$(user_line)
		[ "$(id -u)" -eq 0 ] && [ -n "${P11B_DAEMON_USER:-}" ] &&
		    chown -R "$P11B_DAEMON_USER" "$T/tokens"
	fi
	cat >"$CONF" <<EOF
socket "$SOCK" mode 0666
$user_stmt
workers 2
signers 1
policy "$POLICY"
token {
	module "$FAULTMOD"
	label "$LABEL"
	pin-env "P11BROKER_PIN"
}
key ec256 label "ec256"
EOF
	cat >"$POLICY" <<EOF
permit user $ME sign ec256
permit user $ME health
EOF
	: >"$COUNTS"
	start_daemon
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/msg" -o "$T/sig"
	is "$RC" 0 "broker on the fault module: signs" || diag "$ERR"
	is "$(verify)" "Verified OK" "broker on the fault module: verified"
	# One login per signer start: the counts file adds up across
	# restarts (how many is the broker's business, not checked here).
	[ "$(calls C_Login)" -ge 1 ]
	ok $? "broker on the fault module: its C_Login goes through the wrapper"
	diag "C_Login calls: $(calls C_Login)"
	# The signer (sandboxed: seccomp, Landlock) still sees the control
	# file change.  A delay changes nothing the broker must handle.
	faulted_before=$(faulted C_Sign)
	faults "C_Sign delay 300ms"
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/msg" -o "$T/sig"
	no_faults
	is "$RC" 0 "broker on the fault module: signs with a delay rule" ||
	    diag "$ERR"
	[ "$(faulted C_Sign)" -gt "${faulted_before:-0}" ]
	ok $? "broker on the fault module: the sandboxed signer saw the" \
	    "new rule and applied it"
	[ "$(calls C_Sign)" -ge 1 ]
	ok $? "broker on the fault module: its C_Sign goes through the wrapper"
	stop_daemon
else
	diag "p11brokerd or p11broker not built: broker check skipped"
fi

done_testing
