#!/bin/bash
# p11broker-pkcs11.so under OpenSSH: ssh-keygen -D lists the public keys,
# ssh-agent holds the module (ssh-add -s) and signs for ssh-keygen -Y
# sign; ssh-keygen -Y verify accepts the signatures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog ssh-keygen ssh-agent ssh-add openssl
need_plain_module
pkcs11_setup

out=$(timeout -k 2 "$CLI_TIMEOUT" ssh-keygen -D "$MODULE" 2>"$T/d.err")
ok $? "ssh-keygen -D" || diag "$(cat "$T/d.err")"
for k in ec256 ec384 ec521 rsa2048; do
	want=$(ssh-keygen -i -m PKCS8 -f "$T/pub/$k.pem" | cut -d' ' -f1-2)
	like "$out" "^$want $k\$|
$want $k" "ssh-keygen -D prints $k"
done

# The agent loads modules only from an allowlist; allow this one.
real=$(readlink -f "$MODULE")
AGENT_SOCK="$T/agent.sock"
ssh-agent -D -a "$AGENT_SOCK" -P "$(dirname "$real")/*" \
    >"$T/agent.log" 2>&1 &
AGENT_PID=$!
_KEEPALIVE_PID=$AGENT_PID	# lib.sh's cleanup stops it
wait_for test -S "$AGENT_SOCK"
export SSH_AUTH_SOCK="$AGENT_SOCK"
# ssh-add asks for a PIN; the module needs none: answer with nothing.
printf '#!/bin/sh\necho\n' >"$T/askpass"
chmod +x "$T/askpass"
SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=: \
    timeout -k 2 "$CLI_TIMEOUT" ssh-add -s "$real" </dev/null \
    >"$T/add.log" 2>&1
ok $? "ssh-add -s p11broker-pkcs11.so" || diag "$(cat "$T/add.log")"
ssh-add -L >"$T/agent.pub" 2>&1
n=$(grep -c . "$T/agent.pub")
is "$n" 4 "the agent holds the four EC and RSA keys"

printf 'signed by ssh-agent through the broker\n' >"$T/msg"
for k in ec256 ec384 ec521 rsa2048; do
	ssh-keygen -i -m PKCS8 -f "$T/pub/$k.pem" >"$T/$k.pub"
	rm -f "$T/msg.sig"
	timeout -k 2 "$CLI_TIMEOUT" ssh-keygen -Y sign -f "$T/$k.pub" \
	    -n file "$T/msg" >"$T/sign.log" 2>&1
	ok $? "ssh-keygen -Y sign with $k via the agent" ||
	    diag "$(cat "$T/sign.log")"
	printf 'tester %s\n' "$(cat "$T/$k.pub")" >"$T/allowed"
	out=$(ssh-keygen -Y verify -f "$T/allowed" -I tester -n file \
	    -s "$T/msg.sig" <"$T/msg" 2>&1)
	like "$out" "^Good \"file\" signature" "ssh-keygen -Y verify ($k)"
done

kill_child "$AGENT_PID"
done_testing
