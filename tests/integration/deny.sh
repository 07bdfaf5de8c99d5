#!/bin/bash
# Policy enforcement seen from clients: another uid (nobody) gets only what
# its rules grant; a key it may not use looks exactly like a key that does
# not exist; a key visible for one operation is denied for another.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run the client as nobody"
need_tools setpriv
getent passwd nobody >/dev/null || bail "no user nobody"
getent group nogroup >/dev/null || bail "no group nogroup"
nobody_uid=$(id -u nobody)

setup_token
write_config
# root: the standard rules, except that ec384 may be read (pubkey) but
# not used to sign.  nobody: hmac/list by name, hmac-verify through its
# group, the api token by numeric uid.  Rules for other users grant nobody
# nothing.
cat >"$POLICY" <<EOF
# deny.sh policy
permit user root sign ec256,ec521,rsa2048,ed25519
permit user root pubkey ec256,ec384,ec521,rsa2048,ed25519
permit user root hmac hmac32
permit user root hmac-verify hmac32
permit user root secret api-token,blob,sealed,hmac32
permit user root random
permit user root list
permit user root health

permit user nobody hmac hmac32
permit user nobody list
permit group nogroup hmac-verify hmac32
permit user $nobody_uid secret api-token
permit user daemon sign ec256
permit user daemon random
permit group daemon health
EOF
start_daemon

is "$(stat -c %a "$SOCK")" 666 "socket has the configured mode 0666"

data="$T/data"
head -c 700 /dev/urandom >"$data"
key_hex=$(hex "$T/hmac32.key")
openssl mac -digest SHA256 -macopt "hexkey:$key_hex" -in "$data" \
    -binary HMAC >"$T/want.mac"

# --- nobody: what it is granted works ---------------------------------------

as_nobody hmac hmac32 -a hmac-sha256 -i "$data"
is "$RC" 0 "nobody: hmac hmac32 (user rule) exit 0" || diag "$ERR"
check "nobody: the MAC equals openssl's" cmp -s "$OUT" "$T/want.mac"

as_nobody hmac-verify hmac32 -a hmac-sha256 -m "$T/want.mac" -i "$data"
is "$RC" 0 "nobody: hmac-verify via the group rule, exit 0" || diag "$ERR"

as_nobody secret api-token
is "$RC" 0 "nobody: secret api-token via the numeric-uid rule" || diag "$ERR"
check "nobody: secret api-token bytes" cmp -s "$OUT" "$T/api-token.bin"

as_nobody list
is "$RC" 0 "nobody: list exit 0" || diag "$ERR"
for key in hmac32 api-token; do
	check "nobody: list shows $key" grep -qw -- "$key" "$OUT"
done
for key in ec256 ec384 rsa2048 ed25519 blob sealed; do
	ok "$(grep -qw -- "$key" "$OUT" && echo 1 || echo 0)" \
	    "nobody: list does not show $key"
done

# --- nobody: everything else ------------------------------------------------

# A key nobody may not use must be indistinguishable from one that does
# not exist: same exit code, same message with the key name swapped.
as_nobody sign ec256 -a ecdsa-p256-sha256 -i "$data"
is "$RC" 5 "nobody: sign ec256 -> exit 5 (no-such-key)"
like "$ERR" '^p11broker: sign ec256: no-such-key' \
    "nobody: sign ec256 error names no-such-key"
is "$(size "$OUT")" 0 "nobody: sign ec256 prints no signature"
err_hidden=$(printf '%s' "$ERR" | sed 's/ec256/KEY/g')
rc_hidden=$RC
as_nobody sign ghost -a ecdsa-p256-sha256 -i "$data"
is "$RC" 5 "nobody: sign of a nonexistent key -> exit 5"
err_ghost=$(printf '%s' "$ERR" | sed 's/ghost/KEY/g')
is "$err_hidden" "$err_ghost" \
    "nobody: stderr for a forbidden key equals that for a nonexistent key"
is "$rc_hidden" "$RC" "nobody: same exit code for forbidden and nonexistent"

# hidden CMD KEY ARGS...: as nobody, the key must look nonexistent.
hidden()
{
	as_nobody "$@"
	is "$RC" 5 "nobody: $1 $2 -> exit 5 (no-such-key)"
	like "$ERR" "^p11broker: $1 $2: no-such-key" \
	    "nobody: $1 $2 error names no-such-key"
}
hidden pubkey ec384
hidden secret sealed
hidden secret blob
hidden sign rsa2048 -a rsa-pss-sha256 -i "$data"
hidden hmac-verify ghost -a hmac-sha256 -m "$T/want.mac" -i "$data"

as_nobody random 16
is "$RC" 4 "nobody: random -> exit 4 (denied)"
like "$ERR" '^p11broker: random( [^:]*)?: denied' \
    "nobody: random error names denied"
is "$(size "$OUT")" 0 "nobody: random prints nothing"

as_nobody health
is "$RC" 4 "nobody: health -> exit 4 (denied)"
like "$ERR" '^p11broker: health: denied' "nobody: health error names denied"

# api-token is visible to nobody (secret), so another op on it is denied,
# not hidden.
as_nobody hmac api-token -a hmac-sha256 -i "$data"
is "$RC" 4 "nobody: hmac api-token (visible for secret only) -> exit 4"
like "$ERR" '^p11broker: hmac api-token: denied' \
    "nobody: hmac api-token error names denied"

# hmac32 is visible to nobody, but not for get-secret.
as_nobody secret hmac32
is "$RC" 4 "nobody: secret hmac32 (visible for hmac only) -> exit 4"
is "$(size "$OUT")" 0 "nobody: secret hmac32 prints nothing"

# --- root: visible for one op, denied for another ---------------------------

cli pubkey ec384 --der
is "$RC" 0 "root: pubkey ec384 allowed" || diag "$ERR"
check "root: pubkey ec384 is the token's key" cmp -s "$OUT" "$T/pub/ec384.der"

cli sign ec384 -a ecdsa-p384-sha384 -i "$data"
is "$RC" 4 "root: sign ec384 without a sign rule -> exit 4 (denied)"
like "$ERR" '^p11broker: sign ec384: denied' \
    "root: sign ec384 error names denied"
is "$(size "$OUT")" 0 "root: sign ec384 prints no signature"

cli hmac api-token -a hmac-sha256 -i "$data"
is "$RC" 4 "root: hmac api-token (secret-only key) -> exit 4"

cli secret ec256
is "$RC" 4 "root: secret ec256 (sign-only key) -> exit 4"

cli sign sealed -a hmac-sha256 -i "$data"
is "$RC" 4 "root: sign sealed (secret-only key) -> exit 4"

cli sign ghost -a ecdsa-p256-sha256 -i "$data"
is "$RC" 5 "root: sign of a nonexistent key -> exit 5"

# Root's granted operations still work next to the denials.
cli sign ec256 -a ecdsa-p256-sha256 -i "$data" -o "$T/ok.sig"
is "$RC" 0 "root: sign ec256 allowed" || diag "$ERR"
is "$(openssl dgst -sha256 -verify "$T/pub/ec256.pem" -signature "$T/ok.sig" \
    "$data" 2>&1)" "Verified OK" "root: ec256 signature verifies"

# --- SIGHUP reload: a good policy takes effect, a broken one is rejected ----

# Each reload ends with a line in the daemon log: the tests wait for it.
printf 'permit user nobody random\n' >>"$POLICY"
kill_child "$DAEMON_PID" HUP
wait_log 'reloaded '
ok $? "SIGHUP: the daemon says it reloaded"
as_nobody random 8
is "$RC" 0 "SIGHUP: a rule added to the policy takes effect" ||
    diag "exit $RC: $ERR"
is "$(size "$OUT")" 8 "SIGHUP: nobody now gets 8 random bytes"

printf 'permit user nobody frobnicate ec256\n' >>"$POLICY"
kill_child "$DAEMON_PID" HUP
wait_log 'reload rejected'
ok $? "SIGHUP with a broken policy: the daemon says it rejected it"
running "$DAEMON_PID"
ok $? "SIGHUP with a broken policy: daemon keeps running"
as_nobody random 8
is "$RC" 0 "SIGHUP with a broken policy: the old policy stays in force"
cli sign ec256 -a ecdsa-p256-sha256 -i "$data" -o "$T/ok2.sig"
is "$RC" 0 "after SIGHUP: root still signs" || diag "$ERR"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
