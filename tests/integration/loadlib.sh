# Client load for tests that break things while clients work
# (multi_signer.sh, tokens_ha.sh); sourced after lib.sh.  Loops of the
# real CLI, each result checked: an ECDSA signature with ec256 verified
# by openssl, or (loops named in LOAD_HMAC) an HMAC-SHA256 with hmac32
# compared with openssl's over $T/hmac32.key.  Each failure is a line in
# $T/fail.I, $T/count.I counts the results of loop I.

# load_loop I: until $T/stop exists.
load_loop()
{
	local i=$1 n=0 key
	while [ ! -e "$T/stop" ]; do
		head -c 200 /dev/urandom >"$T/in.$i"
		case " ${LOAD_HMAC:-} " in
		*" $i "*)
			key=$(od -An -tx1 -v "$T/hmac32.key" | tr -d ' \n')
			if ! timeout -k 2 "$CLI_TIMEOUT" "$P11B" -s "$SOCK" \
			    hmac hmac32 -a hmac-sha256 -i "$T/in.$i" \
			    >"$T/mac.$i" 2>"$T/err.$i"; then
				echo "hmac: $(cat "$T/err.$i")" >>"$T/fail.$i"
			elif [ "$(od -An -tx1 -v "$T/mac.$i" | tr -d ' \n')" != \
			    "$(openssl dgst -sha256 -mac HMAC -macopt \
			    "hexkey:$key" -r "$T/in.$i" | cut -d' ' -f1)" ]; then
				echo "HMAC differs from openssl's" >>"$T/fail.$i"
			fi
			;;
		*)
			if ! timeout -k 2 "$CLI_TIMEOUT" "$P11B" -s "$SOCK" \
			    sign ec256 -a ecdsa-p256-sha256 -i "$T/in.$i" \
			    >"$T/sig.$i" 2>"$T/err.$i"; then
				echo "sign: $(cat "$T/err.$i")" >>"$T/fail.$i"
			elif ! openssl dgst -sha256 -verify "$T/pub/ec256.pem" \
			    -signature "$T/sig.$i" "$T/in.$i" >/dev/null 2>&1
			then
				echo "signature does not verify" >>"$T/fail.$i"
			fi
			;;
		esac
		n=$((n + 1))
		echo "$n" >"$T/count.$i.new"
		mv "$T/count.$i.new" "$T/count.$i"
	done
}

# load_start N: N loops in the background (LOAD_PIDS).
load_start()
{
	local i
	rm -f "$T/stop"
	LOAD_PIDS=
	for i in $(seq 1 "$1"); do
		: >"$T/fail.$i"
		load_loop "$i" &
		LOAD_PIDS="$LOAD_PIDS $!"
	done
}

# load_stop: end the loops and wait for them.
load_stop()
{
	touch "$T/stop"
	# shellcheck disable=SC2086
	wait $LOAD_PIDS
}

# load_total: results of every loop together.
load_total()
{
	cat "$T"/count.[0-9]* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

_load_at_least()
{
	[ "$(load_total)" -ge "$1" ]
}

# load_more N: wait for N more results from the loops together.
load_more()
{
	wait_for _load_at_least $(($(load_total) + $1))
}

# load_failures: how many results failed so far.
load_failures()
{
	cat "$T"/fail.[0-9]* 2>/dev/null | wc -l
}
