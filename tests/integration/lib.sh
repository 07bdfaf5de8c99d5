# Shared helpers for the integration tests (sourced, not run).
#
# Each test script:
#   . "$(dirname "$0")/lib.sh"
#   setup_token            # temp dir $T, throwaway SoftHSM2 token, PEMs
#   write_config; write_policy; start_daemon
#   ... cli/ok/is ...
#   done_testing
# Cleanup (daemon killed, temp dir removed) runs from an EXIT trap, also
# when a test fails half-way.  Set P11B_KEEP=1 to keep the temp dir.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SOFTHSM_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"
export top_srcdir top_builddir SOFTHSM_MODULE

INTEGRATION_DIR="$top_srcdir/tests/integration"
BROKERD="$top_builddir/brokerd/p11brokerd"
P11B="$top_builddir/client/p11broker"
MKOBJECTS="$top_builddir/tests/tools/mkobjects"
PIN=1234
# The policies grant the user running the tests (root in CI).
ME=$(id -un)
# The user the broker drops to when the tests run as root.
if [ -z "${P11B_DAEMON_USER:-}" ]; then
	if getent passwd p11broker >/dev/null; then
		P11B_DAEMON_USER=p11broker
	else
		P11B_DAEMON_USER=nobody
	fi
fi
# The one deadline of every wait: long enough that only a hang reaches
# it, on a machine as busy as you like.  Tests wait for events (a log
# line, a counter, a socket answer), never for a time; nothing compares
# elapsed time to a bound but this.  Timing figures live in the
# reliability benchmark (tests/reliability/), not here.
HANG=${P11B_HANG:-60}
export P11B_HANG=$HANG
# Every client call is bounded so that a hung daemon fails the test
# instead of hanging the whole run.
CLI_TIMEOUT=$HANG

_tap_n=0
_tap_failed=0
T=
SOCK=
CONF=
POLICY=
DAEMON_PID=
DAEMON_LOG=

# --- TAP --------------------------------------------------------------------

diag()
{
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

# ok STATUS DESCRIPTION: a passing test when STATUS is 0.
ok()
{
	local rc=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$rc" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_tap_n" "$*"
	else
		printf 'not ok %d - %s\n' "$_tap_n" "$*"
		_tap_failed=1
	fi
	return "$rc"
}

# check DESCRIPTION COMMAND...: the command's exit status decides.
check()
{
	local desc=$1 rc
	shift
	"$@"
	rc=$?
	ok "$rc" "$desc" || diag "command failed (exit $rc): $*"
}

# is GOT EXPECTED DESCRIPTION
is()
{
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:      '$1'" "expected: '$2'"
		return 1
	fi
}

# relay_checks FILE [PREFIX]: the "ok - ..." / "not ok - ..." lines a
# test program printed (tests/tools/check.h), as this script's own
# results; "# " lines as diagnostics.
relay_checks()
{
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "${2:-}${line#ok - }" ;;
		"not ok - "*) ok 1 "${2:-}${line#not ok - }" ;;
		"# "*) diag "${line#\# }" ;;
		esac
	done <"$1"
}

# like STRING ERE DESCRIPTION
like()
{
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:      '$1'" "expected to match: /$2/"
		return 1
	fi
}

# unlike STRING ERE DESCRIPTION
unlike()
{
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		diag "got:      '$1'" "expected not to match: /$2/"
		return 1
	else
		ok 0 "$3"
	fi
}

# The TAP lines carry the verdict; a non-zero exit would only add an
# ERROR line per script to the automake summary.  A script that dies
# before done_testing has no plan, which the driver reports as an error.
done_testing()
{
	printf '1..%d\n' "$_tap_n"
	exit 0
}

# skip_all REASON: nothing in this script can run here.
skip_all()
{
	printf '1..0 # SKIP %s\n' "$*"
	exit 0
}

# Setup failures: nothing after them would mean anything.
bail()
{
	printf 'Bail out! %s\n' "$*"
	[ -n "$DAEMON_LOG" ] && [ -f "$DAEMON_LOG" ] && diag "daemon log:" \
	    "$(tail -n 30 "$DAEMON_LOG")"
	exit 99
}

# unit_rated UNITFILE MAX DESC: `systemd-analyze security` rates the unit
# (0 best, 10 worst) at most MAX; the score goes to diag and DESC.
unit_rated()
{
	local s
	s=$(systemd-analyze security --offline=true --no-pager "$1" \
	    2>/dev/null |
	    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	diag "systemd-analyze security, $3: exposure ${s:-?}"
	ok "$(awk -v s="${s:-10}" -v m="$2" 'BEGIN { print (s <= m) ? 0 : 1 }')" \
	    "systemd-analyze security rates $3 ${s:-?} (<= $2)"
}

# --- cleanup ----------------------------------------------------------------

# on_cleanup COMMAND: run COMMAND (eval'd) in the cleanup, before the
# daemon is stopped, however the script ends: a helper server to kill, a
# mount to undo.  Later ones run first.
_CLEANUP_HOOKS=()
on_cleanup()
{
	_CLEANUP_HOOKS=("$1" "${_CLEANUP_HOOKS[@]}")
}

_cleanup()
{
	local rc=$? hook
	trap - EXIT INT TERM HUP
	for hook in "${_CLEANUP_HOOKS[@]}"; do
		eval "$hook" >/dev/null 2>&1
	done
	if [ -n "$DAEMON_PID" ]; then
		stop_daemon >/dev/null 2>&1
	fi
	[ -n "${_KEEPALIVE_PID:-}" ] && kill_child "$_KEEPALIVE_PID"
	if [ "$_tap_failed" -ne 0 ] && [ -n "$DAEMON_LOG" ] &&
	    [ -s "$DAEMON_LOG" ]; then
		diag "last daemon log lines ($DAEMON_LOG):" \
		    "$(tail -n 40 "$DAEMON_LOG")"
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "${P11B_KEEP:-}" ]; then
			diag "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- token and files --------------------------------------------------------

need_tools()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || bail "$t not found"
	done
}

# make_tmp: $T, a fresh 0755 directory (so that nobody can reach the
# socket in it).
make_tmp()
{
	T=$(mktemp -d "${TMPDIR:-/tmp}/p11b-it.XXXXXX") || bail "mktemp failed"
	chmod 0755 "$T"
	SOCK="$T/p11b.sock"
	CONF="$T/p11brokerd.conf"
	POLICY="$T/policy.conf"
	DAEMON_LOG="$T/daemon.log"
	export SOFTHSM2_CONF="$T/softhsm2.conf"
}

setup_token()
{
	need_tools softhsm2-util pkcs11-tool openssl python3 cmp od pgrep \
	    setsid timeout
	[ -f "$SOFTHSM_MODULE" ] ||
	    bail "SoftHSM2 module $SOFTHSM_MODULE not found"
	[ -x "$MKOBJECTS" ] ||
	    bail "$MKOBJECTS not built (make check builds it)"
	[ -x "$BROKERD" ] || bail "$BROKERD not built"
	[ -x "$P11B" ] || bail "$P11B not built"
	make_tmp
	"$INTEGRATION_DIR/mktoken.sh" "$T" >"$T/mktoken.log" 2>&1 ||
	    bail "mktoken.sh failed: $(tail -n 5 "$T/mktoken.log")"
	# The signer reads the token as the broker's user.
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$P11B_DAEMON_USER" "$T/tokens"
	fi
}

# The "user" line for a config: only when the tests run as root (and
# not for a test that starts the daemon unprivileged: P11B_NO_USER=1).
user_line()
{
	[ "$(id -u)" -eq 0 ] && [ -z "${P11B_NO_USER:-}" ] &&
	    printf 'user %s\n' "$P11B_DAEMON_USER"
	return 0
}

# write_config [EXTRA-LINE...]: the standard daemon config for $T.
write_config()
{
	{
		printf 'socket "%s" mode 0666\n' "$SOCK"
		printf 'workers 2\n'
		printf 'signers %s\n' "${SIGNERS:-1}"
		printf 'max-frame 65536\n'
		printf 'max-clients 64\n'
		printf 'idle-timeout %s\n' "${IDLE_TIMEOUT:-30}"
		user_line
		# valgrind's own system calls are not in the allowlists, nor
		# are the ASan/LSan runtime's.
		[ -n "${P11B_DAEMON_WRAPPER:-}${P11B_SANITIZED:-}" ] &&
		    printf 'sandbox off\n'
		printf 'policy "%s"\n' "$POLICY"
		printf 'token {\n'
		printf '\tmodule "%s"\n' "$SOFTHSM_MODULE"
		printf '\tlabel "p11b-test"\n'
		printf '\tpin-env "P11BROKER_PIN"\n'
		printf '}\n'
		write_keys
		local l
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$CONF"
}

write_keys()
{
	cat <<'EOF'
key ec256   label "ec256"
key ec384   id 02
key ec521   label "ec521"
key rsa2048 label "rsa2048"
key ed25519 label "ed25519"
key hmac32  label "hmac32"
key hmac64  label "hmac64"
key api-token label "api-token"
key blob    label "blob"
key sealed  label "sealed"
EOF
}

# write_policy [EXTRA-RULE...]: the test user ($ME, root in CI) may do
# everything the tests need.
write_policy()
{
	{
		cat <<EOF
# anything not permitted is denied
permit user $ME sign ec256,ec384,ec521,rsa2048,ed25519
permit user $ME pubkey ec256,ec384,ec521,rsa2048,ed25519
permit user $ME hmac hmac32,hmac64
permit user $ME hmac-verify hmac32,hmac64
permit user $ME secret api-token,blob,sealed,hmac32
permit user $ME random
permit user $ME list
permit user $ME health
EOF
		local l
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$POLICY"
}

# --- daemon -----------------------------------------------------------------

# daemon_child COMM: the pid of the daemon's child process with that name
# (p11b-front, p11b-signer).
daemon_child()
{
	local p
	for p in $(pgrep -P "$DAEMON_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && {
			echo "$p"
			return 0
		}
	done
	return 1
}

# alive PID: the process exists and is not a zombie.
alive()
{
	[ -r "/proc/$1/stat" ] || return 1
	! grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null
}

# our_child PID: PID is still a child of this shell.  PIDs wrap quickly
# on a busy machine (pid_max 32768), so a signal goes to a saved PID only
# after this check, never to a process that merely reuses the number.
our_child()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	set -- ${stat##*) }
	[ "${2:-}" = "$$" ]
}

# running PID: PID is a live (not zombie) child of this shell.
running()
{
	our_child "$1" && alive "$1"
}

# kill_child PID [SIGNAL]
kill_child()
{
	our_child "$1" && kill "-${2:-TERM}" "$1" 2>/dev/null
}

# --- waiting for events -----------------------------------------------------

# wait_for COMMAND...: run COMMAND until it succeeds (0), or until HANG
# seconds have passed (1).  The only way the tests wait.
wait_for()
{
	local end=$((SECONDS + HANG))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

# log_count ERE: how many daemon log lines match.
log_count()
{
	grep -Ec -- "$1" "$DAEMON_LOG" 2>/dev/null
}

# log_has ERE [N]: at least N (1) daemon log lines match.
log_has()
{
	[ "$(log_count "$1")" -ge "${2:-1}" ]
}

# wait_log ERE [N]: wait for the Nth (first) daemon log line that matches.
wait_log()
{
	wait_for log_has "$@"
}

# daemon_answers PATH: a Unix socket at PATH accepts a connection; the
# daemon must still run (a dead one stops the wait through "running").
_socket_accepts()
{
	[ -S "$1" ] && python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

_daemon_up_or_gone()
{
	_socket_accepts "$1" && return 0
	[ -n "$DAEMON_PID" ] && ! running "$DAEMON_PID" && return 0
	return 1
}

# wait_socket PATH: until a Unix socket at PATH accepts (0), the daemon
# exits (2) or HANG passes (1).
wait_socket()
{
	wait_for _daemon_up_or_gone "$1" || return 1
	_socket_accepts "$1" && return 0
	return 2
}

_daemon_healthy_or_gone()
{
	timeout "$HANG" "$P11B" -s "$SOCK" health >/dev/null 2>&1 && return 0
	! running "$DAEMON_PID"
}

# try_start_daemon [CONFIG]: start p11brokerd in the foreground and wait
# until it answers health; non-zero (and a diagnostic) when it does not.
try_start_daemon()
{
	local conf=${1:-$CONF}
	: >"$DAEMON_LOG"
	# setsid: the daemon and its signer get their own process group, so
	# cleanup can reach the signer even if the front dies first.
	# P11B_DAEMON_WRAPPER: e.g. valgrind (make check-valgrind).
	# shellcheck disable=SC2086
	P11BROKER_PIN=$PIN setsid ${P11B_DAEMON_WRAPPER:-} "$BROKERD" -d \
	    -f "$conf" </dev/null >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	if ! wait_socket "$SOCK"; then
		diag "daemon did not open $SOCK" "$(tail -n 20 "$DAEMON_LOG")"
		stop_daemon
		return 1
	fi
	if wait_for _daemon_healthy_or_gone && running "$DAEMON_PID"; then
		return 0
	fi
	diag "daemon does not answer health on $SOCK" \
	    "$(tail -n 20 "$DAEMON_LOG")"
	stop_daemon
	return 1
}

# start_daemon [CONFIG]: the same, bailing out when it fails.
start_daemon()
{
	try_start_daemon "$@" || bail "daemon did not start"
}

_not_running()
{
	! running "$1"
}

# wait_exit PID: wait (at most HANG) for a child to exit; sets EXIT_RC
# (124 when it is still running).
wait_exit()
{
	local pid=$1
	if ! wait_for _not_running "$pid"; then
		EXIT_RC=124
		return 1
	fi
	wait "$pid" 2>/dev/null
	EXIT_RC=$?
	return 0
}

# stop_daemon: SIGTERM, wait (HANG at most), then SIGKILL the whole group.
# Sets EXIT_RC to the daemon's exit status.
stop_daemon()
{
	local pid=$DAEMON_PID
	[ -n "$pid" ] || return 0
	DAEMON_PID=
	EXIT_RC=
	if ! our_child "$pid"; then
		# It exited (and was reaped) before we asked.
		wait "$pid" 2>/dev/null
		EXIT_RC="exited-before-stop($?)"
		diag "daemon $pid had already exited: $EXIT_RC"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	if ! wait_exit "$pid"; then
		# The group id is ours as long as one member lives: the kernel
		# does not hand out a PID still in use as a process group id.
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	# The signer must not outlive the front.
	kill -KILL -- "-$pid" 2>/dev/null
	return 0
}

# --- client -----------------------------------------------------------------

# cli ARGS...: run p11broker on $SOCK; sets RC, OUT (stdout file) and
# ERR (stderr contents, one string).
OUT=
ERR=
RC=
cli()
{
	OUT="$T/cli.out"
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" -s "$SOCK" "$@" </dev/null \
	    >"$OUT" 2>"$T/cli.err"
	RC=$?
	ERR=$(cat "$T/cli.err")
}

# cli_in FILE ARGS...: like cli with stdin from FILE.
cli_in()
{
	local in=$1
	shift
	OUT="$T/cli.out"
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" -s "$SOCK" "$@" <"$in" \
	    >"$OUT" 2>"$T/cli.err"
	RC=$?
	ERR=$(cat "$T/cli.err")
}

# The client as nobody: if nobody cannot reach the build tree (a clone
# under /root, say), run a copy of the real binary and its libraries from
# the 0755 temp dir instead.
NOBODY_P11B=
NOBODY_ENV=
_nobody_client()
{
	local dir libs real
	[ -n "$NOBODY_P11B" ] && return 0
	if setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    test -x "$P11B" -a -r "$P11B" 2>/dev/null; then
		NOBODY_P11B=$P11B
		return 0
	fi
	dir=$(dirname "$P11B")
	libs="$dir/.libs"
	real=
	for f in "$libs/lt-p11broker" "$libs/p11broker" "$P11B"; do
		if [ -f "$f" ] && head -c 4 "$f" | grep -q ELF; then
			real=$f
			break
		fi
	done
	[ -n "$real" ] || bail "nobody cannot run $P11B and no binary to copy"
	mkdir -p "$T/nobody-bin"
	cp "$real" "$T/nobody-bin/p11broker"
	cp -P "$libs"/*.so* "$T/nobody-bin/" 2>/dev/null
	chmod -R a+rX "$T/nobody-bin"
	NOBODY_P11B="$T/nobody-bin/p11broker"
	NOBODY_ENV="LD_LIBRARY_PATH=$T/nobody-bin"
	diag "running the client as nobody from a copy in $T/nobody-bin"
}

# as_nobody ARGS...: like cli but as uid nobody, gid nogroup.
as_nobody()
{
	_nobody_client
	OUT="$T/cli.out"
	timeout -k 2 "$CLI_TIMEOUT" setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups env $NOBODY_ENV "$NOBODY_P11B" -s "$SOCK" "$@" \
	    </dev/null >"$OUT" 2>"$T/cli.err"
	RC=$?
	ERR=$(cat "$T/cli.err")
}

# size FILE
size()
{
	wc -c <"$1" | tr -d ' '
}

hex()
{
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# flip_byte IN OUT [OFFSET]: copy IN with one byte inverted.
flip_byte()
{
	python3 - "$1" "$2" "${3:-0}" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = int(sys.argv[3]) % len(b)
b[i] ^= 0xff
open(sys.argv[2], 'wb').write(b)
EOF
}

# raw_to_der RAWSIG OUT: ECDSA r||s (equal halves) to DER SEQUENCE{r,s}.
raw_to_der()
{
	python3 - "$1" "$2" <<'EOF'
import sys
raw = open(sys.argv[1], 'rb').read()
if len(raw) % 2:
    sys.exit("odd raw signature length %d" % len(raw))
half = len(raw) // 2

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b

def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + der_len(len(b)) + b

body = der_int(raw[:half]) + der_int(raw[half:])
open(sys.argv[2], 'wb').write(b'\x30' + der_len(len(body)) + body)
EOF
}

# as_ids UID GID GROUPS ARGS...: like as_nobody, but as any numeric (or
# named) UID and GID, with the supplementary GROUPS (comma-separated, or
# "-" for none).  Ids need no passwd or group entry.
as_ids()
{
	local uid=$1 gid=$2 groups=$3 gopt
	shift 3
	_nobody_client
	if [ "$groups" = - ]; then
		gopt=--clear-groups
	else
		gopt=--groups=$groups
	fi
	OUT="$T/cli.out"
	timeout -k 2 "$CLI_TIMEOUT" setpriv --reuid="$uid" --regid="$gid" \
	    "$gopt" env $NOBODY_ENV "$NOBODY_P11B" -s "$SOCK" "$@" \
	    </dev/null >"$OUT" 2>"$T/cli.err"
	RC=$?
	ERR=$(cat "$T/cli.err")
}
