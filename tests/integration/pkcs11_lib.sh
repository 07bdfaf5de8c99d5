# Shared helpers for the p11broker-pkcs11.so tests (sourced after lib.sh).
#
#   pkcs11_setup [ec-rsa]            token, config, policy, daemon, $MODULE
#                                    ($PKCS11_BEFORE_START: a function run
#                                    on the token before the daemon starts)
#   need_prog PROG...                skip the whole script if PROG is absent
#   need_plain_module                skip it in a sanitizer build
#   key_id LABEL [TYPE]              CKA_ID (hex) of LABEL's key (privkey)
#   need_engine; write_engine_conf FILE MODULE
#                                    OpenSSL's pkcs11 engine with MODULE
#
# The module goes by its path in the build tree; the environment points it
# at the test daemon's socket.

MODULE_LA="$top_builddir/client/pkcs11/p11broker-pkcs11.la"
MODULE="$top_builddir/client/pkcs11/.libs/p11broker-pkcs11.so"
PKCS11_CLIENT="$top_builddir/tests/integration/pkcs11_client"

# quiet COMMAND...: the exit status only (openssl prints "Verified OK").
quiet()
{
	"$@" >/dev/null 2>&1
}

# need_prog PROG...: these tests exist to show that unmodified programs
# work; without the program there is nothing to show (TAP skip).
need_prog()
{
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
		    skip_all "$p not installed (contrib/install-deps.sh)"
	done
}

pkcs11_setup()
{
	[ -f "$MODULE" ] || bail "$MODULE not built"
	setup_token
	if [ -n "${PKCS11_BEFORE_START:-}" ]; then
		"$PKCS11_BEFORE_START"
		# New token files must be the broker's user's, as in setup_token.
		if [ "$(id -u)" -eq 0 ] && [ -n "${P11B_DAEMON_USER:-}" ]; then
			chown -R "$P11B_DAEMON_USER" "$T/tokens"
		fi
	fi
	write_config
	if [ "${1:-}" = ec-rsa ]; then
		write_policy_ec_rsa
	else
		write_policy
	fi
	start_daemon
	export P11BROKER_SOCKET="$SOCK"
	unset P11BROKER_TOKEN_LABEL
}

# A module built with --enable-sanitizers cannot be loaded by programs
# that were not (and preloading the runtimes into them hangs some at
# exit): the tests of unmodified programs skip in such a build, the
# pkcs11_client tests (built with the sanitizers too) still run.
need_plain_module()
{
	if ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so'; then
		skip_all "sanitizer build: unmodified programs cannot load" \
		    "the instrumented module (pkcs11_module.sh and" \
		    "pkcs11_restart.sh cover it)"
	fi
}

# A policy for programs that enumerate every private key and give up on
# a type they do not know (libp11 0.4.12 and Ed25519): only EC and RSA.
write_policy_ec_rsa()
{
	cat >"$POLICY" <<EOF2
permit user $ME sign ec256,ec384,ec521,rsa2048
permit user $ME pubkey ec256,ec384,ec521,rsa2048
permit user $ME random
permit user $ME list
permit user $ME health
EOF2
}

key_id()
{
	pkcs11-tool --module "$MODULE" --list-objects --type "${2:-privkey}" \
	    2>/dev/null | awk -v l="$1" '
	    /^[A-Z]/ { lab = "" }
	    /label:/ { lab = $2 }
	    /ID:/ { if (lab == l) print $2 }'
}

# run_client MODE ARGS...: pkcs11_client's "ok - ..." lines become TAP.
run_client()
{
	local rc
	[ -x "$PKCS11_CLIENT" ] || bail "$PKCS11_CLIENT not built"
	timeout -k 2 $((HANG * 3)) "$PKCS11_CLIENT" "$MODULE" "$@" >"$T/client.out" \
	    2>"$T/client.err"
	rc=$?
	client_report
	return "$rc"
}

# client_report: the TAP of the last pkcs11_client run ($T/client.out).
client_report()
{
	relay_checks "$T/client.out"
	[ -s "$T/client.err" ] && diag "$(cat "$T/client.err")"
	return 0
}

# have_engine: is OpenSSL's pkcs11 engine (libp11) installed?  Sets
# ENGINE_DIR.  need_engine: the same, or skip the script.
have_engine()
{
	ENGINE_DIR=$(openssl version -e 2>/dev/null |
	    sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')
	[ -n "$ENGINE_DIR" ] && [ -f "$ENGINE_DIR/pkcs11.so" ]
}

need_engine()
{
	have_engine || skip_all "OpenSSL pkcs11 engine not installed" \
	    "(libengine-pkcs11-openssl)"
}

# write_engine_conf FILE MODULE: an OPENSSL_CONF that loads the pkcs11
# engine with MODULE (after need_engine).
write_engine_conf()
{
	cat >"$1" <<EOF2
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_DIR/pkcs11.so
MODULE_PATH = $2
init = 0
EOF2
}
