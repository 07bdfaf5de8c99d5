#!/bin/sh
# Replay the committed seed corpora and the inputs of past crashes through
# each fuzz target (tests/fuzz/replay_TARGET, built in every configuration),
# one TAP test point per target.

set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

FUZZ_SRC="$top_srcdir/tests/fuzz"
TARGETS="request response config signer_msg dispatch http audit_state audit_line trap"

n=0
set -- $TARGETS
echo "1..$#"
for t in $TARGETS; do
	n=$((n + 1))
	prog="$top_builddir/tests/fuzz/replay_$t"
	if [ ! -x "$prog" ]; then
		echo "not ok $n - replay $t: $prog not built"
		continue
	fi
	# crashes/TARGET exists once a past crash is kept there.
	crashes=
	[ -d "$FUZZ_SRC/crashes/$t" ] && crashes=$FUZZ_SRC/crashes/$t
	# shellcheck disable=SC2086
	if out=$("$prog" -v "$FUZZ_SRC/corpus/$t" $crashes 2>&1)
	then
		k=$(printf '%s\n' "$out" |
		    sed -n 's/^replay: \([0-9][0-9]*\) inputs$/\1/p')
		if [ -n "$k" ] && [ "$k" -gt 0 ]; then
			echo "ok $n - replay $t ($k inputs)"
			continue
		fi
		echo "not ok $n - replay $t: no inputs in $FUZZ_SRC/corpus/$t"
	else
		echo "not ok $n - replay $t (exit $?)"
	fi
	printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
done
exit 0
