#!/bin/bash
# What "make install" gives: into a fresh prefix (no ldconfig, no
# LD_LIBRARY_PATH), the installed p11broker finds libp11broker.so.0 and
# signs with a real broker (openssl verifies); p11broker.module names the
# installed module by its absolute path, and p11-kit list-modules, given
# that file as a user's module config, loads it and shows the broker's
# write-protected token.  Also: p11brokerd -n prints the socket's owner,
# group and mode, which the socket then has; pkcs11-tool -T shows the
# module's token read-only (CKF_WRITE_PROTECTED).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_tools make readelf p11-kit setpriv
setup_token
write_config
write_policy

# --- p11brokerd -n: the socket as it will be ----------------------------------

out=$(P11BROKER_PIN=$PIN "$BROKERD" -n -f "$CONF" 2>&1)
is "$?" 0 "p11brokerd -n" || diag "$out"
want="socket $SOCK owner $(id -un) group $(id -gn) mode 0666"
like "$out" "^$want\$" "-n: socket with owner, group and mode" ||
    diag "$out"
# Another group takes root (the tests run as root in CI).
if [ "$(id -u)" -eq 0 ]; then
	sed -i "s|^socket .*|socket \"$SOCK\" group nogroup mode 0660|" "$CONF"
	out=$(P11BROKER_PIN=$PIN "$BROKERD" -n -f "$CONF" 2>&1)
	like "$out" "^socket $SOCK owner $(id -un) group nogroup mode 0660\$" \
	    "-n: the configured group"
	start_daemon
	is "$(stat -c '%U %G %a' "$SOCK")" "$(id -un) nogroup 660" \
	    "the socket has what -n said"
else
	ok 0 "-n: the configured group # SKIP not root"
	ok 0 "the socket has what -n said # SKIP not root"
fi
stop_daemon >/dev/null
write_config
start_daemon

# --- make install into a fresh prefix -----------------------------------------

PREFIX="$T/prefix"
# Not the test run's make flags (jobserver, -k): a plain install.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install \
    prefix="$PREFIX" >"$T/install.log" 2>&1
is "$?" 0 "make install prefix=$PREFIX" || diag "$(tail -n 20 "$T/install.log")"
INSTALLED="$PREFIX/bin/p11broker"
msg="$T/msg"
{ printf 'installed client\n'; head -c 3000 /dev/urandom; } >"$msg"
env -u LD_LIBRARY_PATH "$INSTALLED" -s "$SOCK" sign ec256 \
    -a ecdsa-p256-sha256 -i "$msg" -o "$T/sig" 2>"$T/installed.err"
is "$?" 0 "the installed CLI runs without ldconfig or LD_LIBRARY_PATH" ||
    diag "$(cat "$T/installed.err")"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$T/sig" \
    "$msg" 2>&1)" "Verified OK" "openssl verifies the installed CLI's signature"
like "$(readelf -d "$INSTALLED")" 'RUNPATH.*\$ORIGIN/\.\./lib' \
    "the installed CLI finds its library beside it (\$ORIGIN/../lib)"
[ -f "$PREFIX/share/man/man3/libp11broker.3" ]
ok $? "libp11broker(3) is installed"

# --- p11broker.module ---------------------------------------------------------

CONFIG="$PREFIX/share/p11-kit/modules/p11broker.module"
[ -f "$CONFIG" ]
ok $? "p11broker.module installed in DATADIR/p11-kit/modules"
path=$(sed -n 's/^module: *//p' "$CONFIG")
is "$path" "$PREFIX/lib/pkcs11/p11broker-pkcs11.so" \
    "it names the installed module by its absolute path"
[ -f "$path" ]
ok $? "and the module is there"
# Unmodified programs cannot load a sanitizer build's module.
PLAIN=1
ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so' && PLAIN=
if [ -z "$PLAIN" ]; then
	ok 0 "p11-kit list-modules loads it # SKIP sanitizer build"
	ok 0 "p11-kit shows its token write-protected # SKIP sanitizer build"
else
	# p11-kit reads a user's module configs, not root's: as nobody, with a
	# HOME holding the installed file.
	mkdir -p "$T/home/.config/pkcs11/modules"
	cp "$CONFIG" "$T/home/.config/pkcs11/modules/"
	chmod -R a+rX "$T/home" "$PREFIX"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env HOME="$T/home" P11BROKER_SOCKET="$SOCK" p11-kit list-modules \
	    >"$T/modules" 2>&1
	sed -n '/^p11broker:/,/^[^ ]/p' "$T/modules" >"$T/ours"
	like "$(head -n 1 "$T/ours")" "^p11broker: $path\$" \
	    "p11-kit list-modules loads it from the installed config" ||
	    diag "$(cat "$T/modules")"
	grep -q 'write-protected' "$T/ours"
	ok $? "p11-kit shows its token write-protected"
fi

# --- make install into /usr/local: ldconfig -------------------------------------

# The reported failure: after "make install" into /usr/local, a program
# looking libp11broker.so.0 up by name fails until ldconfig has run.  In
# a private mount namespace (an empty /usr/local, /etc as an overlay whose
# changes vanish with it): install, then the dynamic linker's cache must
# know the library (the install hook ran ldconfig) and dlopen() by soname
# must work.
system_install()
{
	local d=$T/ns
	mkdir -p "$d" && mount -t tmpfs tmpfs "$d" &&
	    mkdir "$d/up" "$d/work" &&
	    mount -t overlay overlay \
	    -o "lowerdir=/etc,upperdir=$d/up,workdir=$d/work" /etc &&
	    mount -t tmpfs tmpfs /usr/local || return 1
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" \
	    install prefix=/usr/local >"$T/sysinstall.log" 2>&1 || return 2
	ldconfig -p >"$T/ldcache"
	env -u LD_LIBRARY_PATH /usr/local/bin/p11broker -s "$SOCK" health \
	    >"$T/syshealth" 2>&1 || return 4
	# (A sanitizer build's library wants its runtime loaded first.)
	[ -n "$PLAIN" ] || return 0
	python3 -c 'import ctypes; ctypes.CDLL("libp11broker.so.0")' \
	    >"$T/dlopen.err" 2>&1 || return 3
}
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null ||
    ! unshare -m --propagation private true 2>/dev/null; then
	for t in 1 2 3 4; do
		ok 0 "install into /usr/local # SKIP needs root and unshare -m"
	done
else
	export T SOCK top_builddir PLAIN
	export -f system_install
	unshare -m --propagation private bash -c system_install
	rc=$?
	is "$rc" 0 "make install prefix=/usr/local (private mount namespace)" ||
	    diag "$(tail -n 20 "$T/sysinstall.log" "$T/dlopen.err" \
	    "$T/syshealth" 2>/dev/null)"
	grep -q 'libp11broker.so.0 .*=> /usr/local/lib/libp11broker.so.0' \
	    "$T/ldcache"
	ok $? "the install ran ldconfig: the cache knows libp11broker.so.0"
	grep -q '^ /.*ldconfig$' "$T/sysinstall.log"
	ok $? "make install says it ran ldconfig"
	like "$(cat "$T/syshealth")" "token=ready" \
	    "the CLI installed in /usr/local/bin answers health"
fi

# --- CKF_WRITE_PROTECTED ------------------------------------------------------

if [ -z "$PLAIN" ]; then
	ok 0 "pkcs11-tool -T: the token is read-only # SKIP sanitizer build"
else
	P11BROKER_SOCKET=$SOCK pkcs11-tool --module "$MODULE" -T \
	    >"$T/token-info" 2>&1
	like "$(grep 'token flags' "$T/token-info")" 'readonly' \
	    "pkcs11-tool -T: the token is read-only" ||
	    diag "$(cat "$T/token-info")"
fi

done_testing
