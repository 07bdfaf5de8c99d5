#!/bin/bash
# The audit log against hostile configs and hostile files (issue #12):
#  - the checkpoint key under a second name (another key statement for
#    the same token object) is a config error at start and at reload, so
#    no caller can sign a forged checkpoint with it;
#  - a log cut while the broker is stopped (mid-line, or at a line
#    boundary after the last checkpoint) is noticed at the next start:
#    a discontinuity line, and `p11broker audit verify` fails naming it;
#    an untouched log across restarts still verifies;
#  - on a full disk, an answer withheld because its line could not be
#    written is logged as dropped (withheld), not as a plain "ok".
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a client as nobody"
need_tools setpriv base64
getent passwd nobody >/dev/null || bail "no user nobody"

setup_token
mkdir -m 0700 "$T/log"
LOG="$T/log/audit.log"
data="$T/data"
head -c 300 /dev/urandom >"$data"

# verify FILE... [-- OPTIONS]: p11broker audit verify with the ec256 key;
# sets RC and ERR.
verify()
{
	timeout -k 2 "$CLI_TIMEOUT" "$P11B" audit verify --pubkey \
	    "${PUBKEY:-$T/pub/ec256.pem}" "$@" >"$T/verify.out" \
	    2>"$T/verify.err"
	RC=$?
	ERR=$(cat "$T/verify.err")
}

# --- 9: the checkpoint key under a second name --------------------------------

ALIAS='key ec384-archive label "ec384"'
AUDIT384="audit \"$T/log/a384.log\" checkpoint-key ec384 checkpoint-lines 4"
write_config "$ALIAS" "$AUDIT384"
write_policy "permit user nobody sign ec384-archive"
try_start_daemon
started=$?
is "$started" 1 "second name for the checkpoint key: the broker does not start"
like "$(cat "$DAEMON_LOG")" \
    'key ec384-archive is the same token object as the audit checkpoint-key ec384' \
    "... and the message names both keys"
stop_daemon

# Started with ec384-archive naming another key pair (ec521), a reload
# that points it at the checkpoint key's object is refused and the old
# configuration stays.
write_config 'key ec384-archive label "ec521"' "$AUDIT384"
write_policy "permit user nobody sign ec384-archive"
start_daemon
as_nobody sign ec384-archive -a ecdsa-p521-sha512 -i "$data"
is "$RC" 0 "nobody: sign with ec384-archive (the P-521 key)" || diag "$ERR"
write_config "$ALIAS" "$AUDIT384"
kill_child "$DAEMON_PID" HUP
wait_log 'reload rejected' || diag "no rejection line in the daemon log"
like "$(grep 'reload rejected' "$DAEMON_LOG" | tail -n 1)" \
    'key ec384-archive is the same token object as the audit checkpoint-key ec384' \
    "reload with a second name for the checkpoint key: rejected, naming both"
as_nobody sign ec384-archive -a ecdsa-p384-sha384 -i "$data"
ok "$([ "$RC" -ne 0 ] && [ ! -s "$OUT" ] && echo 0 || echo 1)" \
    "nobody: no P-384 signature from ec384-archive after the refused reload"
as_nobody sign ec384-archive -a ecdsa-p521-sha512 -i "$data"
cp "$OUT" "$T/s521"
is "$RC" 0 "... it still names the P-521 key (old config kept)" || diag "$ERR"
openssl dgst -sha512 -verify "$T/pub/ec521.pem" -signature "$T/s521" \
    "$data" >/dev/null 2>&1
ok $? "... and its signature verifies with ec521's public key"
cli sign ec384 -a ecdsa-p384-sha384 -i "$data"
is "$RC" 4 "the checkpoint key itself is still reserved"
stop_daemon
is "$EXIT_RC" 0 "daemon exits 0"
done_testing
