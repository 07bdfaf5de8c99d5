#!/bin/sh
# Set up and run the tests: install the Debian packages, build in build/
# and run `make check` (unit tests, integration tests against a throwaway
# SoftHSM2 token, fuzz corpus replay).  Prints "N passed, N failed" last.
#
#   contrib/test.sh                 normal build
#   contrib/test.sh --werror        warnings are errors (CI)
#   contrib/test.sh --sanitizers    ASan + UBSan build in build-asan/
#   contrib/test.sh --stress        with nproc+1 CPU-bound processes
#                                   competing for the whole run (the
#                                   tests must hold on a busy machine)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$top/build
flags=
stress=
for arg in "$@"; do
	case $arg in
	--werror) flags="$flags --enable-werror" ;;
	--sanitizers) flags="$flags --enable-sanitizers"
		builddir=$top/build-asan ;;
	--stress) stress=1 ;;
	*) echo "usage: contrib/test.sh [--werror] [--sanitizers] [--stress]" >&2
		exit 2 ;;
	esac
done
"$top/contrib/install-deps.sh"
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p "$builddir"
cd "$builddir"
# shellcheck disable=SC2086
[ -f Makefile ] || "$top/configure" $flags >configure.out
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
# --stress: CPU hogs beside make check, stopped however the run ends.
hogs=
stop_hogs()
{
	# shellcheck disable=SC2086
	[ -n "$hogs" ] && kill $hogs 2>/dev/null
	hogs=
}
if [ -n "$stress" ]; then
	trap stop_hogs EXIT INT TERM
	for _ in $(seq 0 "$(nproc)"); do
		sh -c 'while :; do :; done' &
		hogs="$hogs $!"
	done
	echo "test.sh: $(echo $hogs | wc -w) CPU-bound processes running beside the tests"
fi
rc=0
make -j"$(nproc)" check >check.out 2>&1 || rc=$?
stop_hogs
grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|XFAIL):' check.out || true
if [ $rc -ne 0 ]; then
	for log in $(find . -name '*.log' ! -name config.log ! -name test-suite.log); do
		grep -q '^not ok' "$log" 2>/dev/null && { echo "== $log"; cat "$log"; }
	done
	grep -A30 -E '^(FAIL|ERROR):' test-suite.log 2>/dev/null | head -200 || true
fi
pass=$(sed -n 's/^# PASS: *//p' check.out | tail -1)
fail=$(sed -n 's/^# FAIL: *//p' check.out | tail -1)
err=$(sed -n 's/^# ERROR: *//p' check.out | tail -1)
echo "${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed"
exit $rc
