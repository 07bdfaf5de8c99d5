#!/bin/bash
# The per-process key view: libp11 0.4.12 (OpenSSL's pkcs11 engine, the
# way nginx and curl use the token) gives up on the whole token when any
# Ed25519 key is visible ("Unable to enumerate private keys").  Root may
# use an Ed25519 key here, as on a host where root runs the nginx master
# and a DNS signer.  openssl s_server fails without a filter; with
# P11BROKER_KEYS=ec256 (and again with P11BROKER_KEY_TYPES=ec,rsa) it
# serves TLS and openssl s_client verifies the handshake.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog openssl
need_plain_module
need_engine

pkcs11_setup
write_engine_conf "$T/engine.cnf" "$MODULE"

# A CA and a server certificate for the token's ec256 key.
printf 'subjectAltName=DNS:localhost\n' >"$T/san.ext"
{
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$T/ca.key" -subj "/CN=p11b filter CA" -days 2 \
	    -out "$T/ca.crt" &&
	openssl x509 -new -force_pubkey "$T/pub/ec256.pem" \
	    -subj "/CN=localhost" -extfile "$T/san.ext" \
	    -CA "$T/ca.crt" -CAkey "$T/ca.key" -days 2 -out "$T/server.crt"
} >"$T/ca.log" 2>&1 || bail "cannot make certificates: $(cat "$T/ca.log")"
out=$(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE" \
    --list-objects --type privkey 2>&1)
like "$out" "EC_EDWARDS" "the Ed25519 key is visible to this user"

SERVER_PID=
# serve LOG [ENV=VALUE...]: s_server on a free port; 0 once it accepts,
# 1 when it exited first.  Sets PORT.
serve()
{
	local log=$1
	shift
	PORT=$(python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	env "$@" OPENSSL_CONF="$T/engine.cnf" openssl s_server -engine pkcs11 \
	    -keyform engine -key "pkcs11:object=ec256;type=private" \
	    -cert "$T/server.crt" -accept "127.0.0.1:$PORT" -naccept 1 \
	    -www </dev/null >"$log" 2>&1 &
	SERVER_PID=$!
	wait_for server_state "$log"
	grep -q '^ACCEPT' "$log"
}
server_state()
{
	grep -q '^ACCEPT' "$1" || ! kill -0 "$SERVER_PID" 2>/dev/null
}
on_cleanup '[ -n "$SERVER_PID" ] && kill "$SERVER_PID"'

# handshake DESC: s_client verifies the server against the test CA.
handshake()
{
	timeout -k 2 "$CLI_TIMEOUT" openssl s_client -connect \
	    "127.0.0.1:$PORT" -servername localhost -verify_hostname localhost \
	    -CAfile "$T/ca.crt" -verify_return_error -brief \
	    </dev/null >"$T/client.log" 2>&1
	ok $? "$1: TLS handshake" || diag "$(cat "$T/client.log")"
	like "$(cat "$T/client.log")" "Verification: OK" \
	    "$1: s_client verified the certificate"
	like "$(cat "$T/client.log")" "Signature type: ECDSA" \
	    "$1: the server signed with ECDSA (the token's key)"
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

serve "$T/server0.log"
rc=$?
check "without a filter s_server cannot use the token (libp11 and Ed25519)" \
    test "$rc" -ne 0
like "$(cat "$T/server0.log")" "Unable to enumerate private keys" \
    "libp11's error is the known one" || diag "$(cat "$T/server0.log")"
[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
SERVER_PID=

serve "$T/server1.log" P11BROKER_KEYS=ec256
ok $? "P11BROKER_KEYS=ec256: s_server starts" ||
    diag "$(cat "$T/server1.log")"
handshake "P11BROKER_KEYS=ec256"

serve "$T/server2.log" P11BROKER_KEY_TYPES=ec,rsa
ok $? "P11BROKER_KEY_TYPES=ec,rsa: s_server starts" ||
    diag "$(cat "$T/server2.log")"
handshake "P11BROKER_KEY_TYPES=ec,rsa"

done_testing
