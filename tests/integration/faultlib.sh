# Helpers for what runs the broker on tests/faultmod's fault-pkcs11.so
# (tests/integration/faults.sh, tests/reliability/run.sh); sourced after
# lib.sh.  The module sits between the signer and SoftHSM2 and obeys
# the rules in $CTL; it counts each call in $COUNTS as the call enters.

FAULTMOD="$top_builddir/tests/faultmod/.libs/fault-pkcs11.so"

# fault_setup: after setup_token, the control and counts files in $T,
# the module's environment, and $T/data to sign.
fault_setup()
{
	[ -f "$FAULTMOD" ] || bail "$FAULTMOD not built (make check builds it)"
	CTL="$T/fault.ctl"
	COUNTS="$T/counts"
	: >"$CTL"
	: >"$COUNTS"
	chmod 0644 "$CTL" "$COUNTS"
	export FAULT_PKCS11_MODULE="$SOFTHSM_MODULE"
	export FAULT_PKCS11_CONTROL="$CTL"
	export FAULT_PKCS11_COUNTS="$COUNTS"
	head -c 200 /dev/urandom >"$T/data"
	chmod 0644 "$T/data"
}

# fault_write_config [EXTRA-LINE...]: write_config with the fault module
# as the token's module, its files readable by the sandboxed signer.
fault_write_config()
{
	write_config "sandbox read \"$T\"" "sandbox allow ftruncate pwrite64" \
	    "$@"
	sed -i "s|module \"$SOFTHSM_MODULE\"|module \"$FAULTMOD\"|" "$CONF"
	grep -q "module \"$FAULTMOD\"" "$CONF" || bail "sed failed on module"
}

# rules LINE...: replace the control file (atomically: a new inode).
rules()
{
	printf '%s\n' "$@" >"$CTL.new"
	chmod 0644 "$CTL.new"
	mv -f "$CTL.new" "$CTL"
}

# calls FUNCTION: how many times the token function was entered.
calls()
{
	awk -v f="$1" '$1 == f { n = $2 } END { print n + 0 }' "$COUNTS"
}

# calls_above FUNCTION N: entered more than N times (a call is counted
# before a delay or hang holds it).
calls_above()
{
	[ "$(calls "$1")" -gt "$2" ]
}

# health_says WORD: `p11broker health` reports token=WORD.
health_says()
{
	cli health
	grep -q "token=$1" "$OUT"
}

# sign_ok: ec256 signs $T/data and openssl verifies it.
sign_ok()
{
	cli sign ec256 -a ecdsa-p256-sha256 -i "$T/data"
	[ "$RC" -eq 0 ] && [ "$(openssl dgst -sha256 -verify \
	    "$T/pub/ec256.pem" -signature "$OUT" "$T/data" 2>&1)" = \
	    "Verified OK" ]
}
