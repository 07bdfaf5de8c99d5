#!/bin/sh
# Quick start: install the Debian packages, build, create a demo SoftHSM2
# token under ./demo, and run the broker in the foreground on
# ./demo/p11broker.sock with a config and policy that let the current user
# use every demo key, and p11broker-exporter beside it on
# http://127.0.0.1:9846/metrics for Prometheus.  Stop both with Ctrl-C.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$top/demo
build=$top/build
"$top/contrib/install-deps.sh"
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" >configure.out
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
make tests/tools/mkobjects >>make.out 2>&1

if [ ! -f "$demo/tok/softhsm2.conf" ]; then
	rm -rf "$demo"
	mkdir -p "$demo/tok"
	top_builddir=$build bash "$top/tests/integration/mktoken.sh" "$demo/tok" \
	    >"$demo/mktoken.log" 2>&1 ||
	    { cat "$demo/mktoken.log"; exit 1; }
fi
export SOFTHSM2_CONF="$demo/tok/softhsm2.conf"
# Started as root, the broker's processes drop to p11broker (created by
# install-deps.sh), which must be able to read the token.
# The exporter runs as its own user (created by install-deps.sh), which
# the policy grants "stats" and nothing else.
user_line=
exporter_user=$(id -un)
exporter_opt=
if [ "$(id -u)" -eq 0 ]; then
	user_line="user p11broker"
	chown -R p11broker "$demo/tok/tokens"
	exporter_user=p11broker-exporter
	exporter_opt="-u p11broker-exporter"
fi
umask 077
printf '1234\n' >"$demo/pin"
# The audit log, and its anchor where only we can write (mode 0700).
mkdir -p "$demo/audit" "$demo/anchor"
cat >"$demo/p11brokerd.conf" <<CONF
socket "$demo/p11broker.sock" mode 0666
policy "policy.conf"
$user_line
token {
	module "/usr/lib/softhsm/libsofthsm2.so"
	label "p11b-test"
	pin-file "pin"
}
key zsk        label "ec256"
key ca-rsa     label "rsa2048"
key ca-p384    id 02
key ed         label "ed25519"
key store-mac  label "hmac32"
key api-token  label "api-token"
key audit-signer label "ec521"
audit "$demo/audit/audit.log" checkpoint-key audit-signer anchor "$demo/anchor/audit.anchor"
CONF
me=$(id -u)
cat >"$demo/policy.conf" <<CONF
permit user $me sign zsk,ca-rsa,ca-p384,ed
permit user $me pubkey zsk,ca-rsa,ca-p384,ed
permit user $me hmac store-mac
permit user $me hmac-verify store-mac
permit user $me secret api-token
permit user $me random
permit user $me pubkey audit-signer
permit user $me list
permit user $me health
permit user $exporter_user stats
CONF
"$build/brokerd/p11brokerd" -n -f "$demo/p11brokerd.conf"
cli="$build/client/p11broker -s $demo/p11broker.sock"
cat <<TXT

The broker is starting on $demo/p11broker.sock. In another terminal:

  $cli health
  $cli list
  echo hello | $cli sign zsk -a ecdsa-p256-sha256 > /tmp/sig.der
  $cli pubkey zsk > /tmp/zsk.pem
  echo hello | openssl dgst -sha256 -verify /tmp/zsk.pem -signature /tmp/sig.der
  echo hello | $cli hmac store-mac | od -An -tx1
  $cli secret api-token | od -An -tx1
  $cli random 16 | od -An -tx1
  $cli bench --op ecdsa --key zsk --clients 4 --seconds 3
  curl -s http://127.0.0.1:9846/metrics     # what Prometheus scrapes
  $cli pubkey audit-signer > /tmp/audit.pem
  $cli audit verify $demo/audit/audit.log --pubkey /tmp/audit.pem \\
      --anchor $demo/anchor/audit.anchor --allow-open-tail

TXT
# shellcheck disable=SC2086
"$build/exporter/p11broker-exporter" -l 127.0.0.1:9846 \
    -s "$demo/p11broker.sock" $exporter_opt &
exporter=$!
trap 'kill $exporter 2>/dev/null' EXIT INT TERM
"$build/brokerd/p11brokerd" -d -f "$demo/p11brokerd.conf"
