# Attackers for the hostile-caller tests (tests/integration/
# hostile_callers.sh) and benchmark (tests/reliability/hostile.sh):
# hostile.py run as another uid through setpriv.  Sourced after lib.sh;
# call attack_setup after setup_token.

# The attackers' python: not a shim under /root that they cannot run.
ATTACK_PY=/usr/bin/python3
[ -x "$ATTACK_PY" ] || ATTACK_PY=$(command -v python3)
declare -A ATTACK_PID ATTACK_FD

# attack_setup: the attackers' copy of the helpers in $T/py (nobody may
# not reach the source tree).
attack_setup()
{
	mkdir -p "$T/py"
	cp "$INTEGRATION_DIR/hostile.py" "$INTEGRATION_DIR/rawclient.py" \
	    "$T/py/"
	chmod -R a+rX "$T/py"
}

# attack NAME UID ARGS...: hostile.py ARGS as UID in the background,
# stdin held open until finish NAME; its output in $T/NAME.out.
attack()
{
	local name=$1 uid=$2 fd
	shift 2
	rm -f "$T/$name.in" "$T/$name.out"
	mkfifo -m 0644 "$T/$name.in"
	# Without the other attackers' stdin: each sees its own close.
	(
		for fd in "${ATTACK_FD[@]}"; do
			exec {fd}>&-
		done
		exec setpriv --reuid="$uid" --regid=nogroup --clear-groups \
		    "$ATTACK_PY" "$T/py/hostile.py" "$SOCK" "$@"
	) <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	ATTACK_PID[$name]=$!
	exec {fd}>"$T/$name.in"
	ATTACK_FD[$name]=$fd
}

# finish_gently NAME: close its stdin and wait for it to end by itself.
finish_gently()
{
	local fd=${ATTACK_FD[$1]}
	exec {fd}>&-
	wait "${ATTACK_PID[$1]}" 2>/dev/null
}

# finish NAME: close its stdin and kill it.
finish()
{
	local fd=${ATTACK_FD[$1]}
	exec {fd}>&-
	kill_child "${ATTACK_PID[$1]}" KILL
	wait "${ATTACK_PID[$1]}" 2>/dev/null
}
