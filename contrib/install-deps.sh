#!/bin/sh
# Install what p11broker needs to build, test and run on Debian 12.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
	libssl-dev libsodium-dev libbsd-dev
	libprotobuf-c-dev protobuf-c-compiler libseccomp-dev libp11-kit-dev
	softhsm2 opensc p11-kit openssl python3 util-linux procps
	clang libclang-rt-14-dev valgrind
	libengine-pkcs11-openssl gnutls-bin openssh-client
	curl prometheus logrotate rsyslog"
# tests/integration/module_tpm2.sh: tpm2-pkcs11 on a software TPM.
PKGS="$PKGS swtpm swtpm-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools
	tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus"
# Knot DNS for the key-rotation test (pkcs11_knot.sh), NSS certutil
PKGS="$PKGS knot knot-dnssecutils ldnsutils libnss3-tools"
# PyKCS11 over the module (tests/integration/stream.sh); xxd for its hex.
PKGS="$PKGS python3-pykcs11 xxd"
# opencryptoki's soft token and pkcsslotd (tests/integration/module_ocki.sh).
PKGS="$PKGS opencryptoki"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
# The unprivileged user the broker's processes run as (config "user").
if ! getent passwd p11broker >/dev/null; then
	$SUDO useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin p11broker
fi
# The user p11broker-exporter runs as (granted "stats" by the policy).
if ! getent passwd p11broker-exporter >/dev/null; then
	$SUDO useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin p11broker-exporter
fi
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

