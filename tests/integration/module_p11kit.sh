#!/bin/bash
# A module that is a client of something else: p11-kit-client.so talking
# to `p11-kit server` in front of SoftHSM2 (the shape of many vendor
# client libraries).  It makes a new module instance for every
# C_GetFunctionList, so the broker must use one function list and
# initialise it itself.  With the sandbox enforcing: p11brokerd -n sees
# the token; signatures with EC and RSA keys verify with openssl (Ed25519
# where the RPC carries it);
# an HMAC matches openssl over the known key bytes; a killed signer comes
# back through the same server.
. "$(dirname "$0")/lib.sh"

need_tools p11-kit
P11KIT_CLIENT=
for m in /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so \
    /usr/lib/*/pkcs11/p11-kit-client.so; do
	[ -f "$m" ] && { P11KIT_CLIENT=$m; break; }
done
[ -n "$P11KIT_CLIENT" ] || skip_all "p11-kit-client.so is not installed"
[ "$P11KIT_CLIENT" = /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so ] ||
    skip_all "p11-kit-client.so is not where the profile looks for it"

setup_token
# The server exposes the test token on a socket in $T; the broker (and
# its signer, which connects before it drops privileges) finds it there.
p11-kit server -f -n "$T/p11kit.sock" --provider "$SOFTHSM_MODULE" \
    "pkcs11:token=p11b-test" >"$T/p11kit.out" 2>&1 &
SERVER_PID=$!
on_cleanup 'kill "$SERVER_PID"'
wait_for test -S "$T/p11kit.sock" ||
    bail "p11-kit server did not start: $(cat "$T/p11kit.out")"

# The broker with the shipped profile and the server's address as
# module-env (not from the daemon's environment); the profile names the
# module (the token block's line is dropped).
write_config
sed -i -e "/^\tmodule \"/d" -e "s|^token {|&\n\tprofile p11kit-client\n\tmodule-env \"P11_KIT_SERVER_ADDRESS=unix:path=$T/p11kit.sock\"|" \
    "$CONF"
grep -q "^	profile p11kit-client" "$CONF" && ! grep -q '^	module "' "$CONF" ||
    bail "sed failed on the config"
write_policy
grep -q '^sandbox' "$CONF" && diag "sandbox: $(grep '^sandbox' "$CONF")"

out=$(P11BROKER_PIN=$PIN "$BROKERD" -n -f "$CONF" 2>&1)
is "$?" 0 "p11brokerd -n through p11-kit-client" || diag "$out"
like "$out" 'token "p11b-test"' "-n names the token behind the server"

start_daemon
msg="$T/msg"
head -c 1000 /dev/urandom >"$msg"
# signs KEY ALG MD: a signature that openssl verifies with the key's PEM.
signs()
{
	cli sign "$1" -a "$2" -i "$msg" -o "$T/$1.sig"
	[ "$RC" -eq 0 ] || { diag "$ERR"; return 1; }
	cli pubkey "$1" -o "$T/$1.pem"
	if [ "$3" = none ]; then
		python3 "$INTEGRATION_DIR/ed25519_verify.py" "$T/$1.pem" \
		    "$msg" "$T/$1.sig" >/dev/null 2>&1 ||
		openssl pkeyutl -verify -pubin -inkey "$T/$1.pem" -rawin \
		    -in "$msg" -sigfile "$T/$1.sig" >/dev/null 2>&1
	else
		openssl dgst "-$3" -verify "$T/$1.pem" -signature "$T/$1.sig" \
		    "$msg" >/dev/null 2>&1
	fi
}
signs ec256 ecdsa-p256-sha256 sha256
ok $? "ECDSA P-256 through p11-kit-client verifies with openssl"
signs rsa2048 rsa-pkcs1-sha256 sha256
ok $? "RSA PKCS#1 through p11-kit-client verifies with openssl"
# p11-kit 0.24's RPC (Debian 12) does not carry CKM_EDDSA: the token
# refuses it, the caller hears "unsupported", and the signer goes on.
cli sign ed25519 -a ed25519 -i "$msg" -o "$T/ed.sig"
if [ "$RC" -eq 0 ]; then
	cli pubkey ed25519 -o "$T/ed25519.pem"
	python3 "$INTEGRATION_DIR/ed25519_verify.py" "$T/ed25519.pem" "$msg" \
	    "$T/ed.sig" >/dev/null 2>&1
	ok $? "Ed25519 through p11-kit-client verifies"
else
	is "$RC" 7 "Ed25519 through p11-kit 0.24's RPC: unsupported, said cleanly" ||
	    diag "$ERR"
fi
cli hmac hmac32 -a hmac-sha256 -i "$msg" -o "$T/mac"
want=$(openssl mac -digest SHA256 -macopt "hexkey:$(hex "$T/hmac32.key")" \
    -in "$msg" HMAC | tr 'A-F' 'a-f')
is "$(hex "$T/mac")" "$want" "HMAC-SHA256 matches openssl over the key bytes"

# The signer killed: a new one logs in through the same server.
signer=$(daemon_child p11b-signer)
kill -KILL "$signer"
signs_again()
{
	signs ec256 ecdsa-p256-sha256 sha256 2>/dev/null
}
wait_for signs_again
ok $? "after the signer was killed, a new one signs through the server"
isnt_old()
{
	local now
	now=$(daemon_child p11b-signer)
	[ -n "$now" ] && [ "$now" != "$signer" ]
}
ok "$(isnt_old && echo 0 || echo 1)" "a new signer process serves"

# The server restarts under a running broker.  p11-kit 0.24's client
# does not reconnect (its RPC transport is made once, in C_Initialize),
# and the server's sessions are gone anyway: the signer sees a device
# error and is replaced; the new one connects while it starts, before
# its filter, so the profile needs no "sandbox connect-unix".
# (p11-kit server forks a child per connection: those go too, or the
# signer's connection would live on.)
signer=$(daemon_child p11b-signer)
served=$(cat "/proc/$SERVER_PID/task/$SERVER_PID/children" 2>/dev/null)
[ -n "$served" ] || diag "the server has no child serving a connection"
kill "$SERVER_PID" $served
wait "$SERVER_PID" 2>/dev/null
rm -f "$T/p11kit.sock"
p11-kit server -f -n "$T/p11kit.sock" --provider "$SOFTHSM_MODULE" \
    "pkcs11:token=p11b-test" >"$T/p11kit.out" 2>&1 &
SERVER_PID=$!
wait_for test -S "$T/p11kit.sock" ||
    bail "p11-kit server did not restart: $(cat "$T/p11kit.out")"
wait_for signs_again
ok $? "p11-kit server restarted under the broker: signing recovers"
ok "$(isnt_old && echo 0 || echo 1)" "... through a new signer (the client does not reconnect)"
! log_has 'stopped by its sandbox'
ok $? "no signer was stopped by its filter"
stop_daemon

# SoftHSM2 itself with its profile: the module comes from the profile.
write_config
sed -i -e "/^\tmodule \"/d" -e "s|^token {|&\n\tprofile softhsm2|" "$CONF"
grep -q "^	profile softhsm2" "$CONF" || bail "sed failed on the config"
[ "$SOFTHSM_MODULE" = /usr/lib/softhsm/libsofthsm2.so ] ||
    diag "SOFTHSM_MODULE is $SOFTHSM_MODULE; the profile names Debian's"
start_daemon
signs ec256 ecdsa-p256-sha256 sha256 && signs rsa2048 rsa-pkcs1-sha256 sha256
ok $? "profile softhsm2, sandbox enforce: ECDSA and RSA PKCS#1 verify with openssl"

done_testing
