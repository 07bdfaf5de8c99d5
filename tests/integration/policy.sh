#!/bin/bash
# The policy language seen from real clients: a table of identities (uid,
# gid, supplementary groups, set with setpriv, numeric ids without passwd
# entries), commands, expected exit codes and status words.  Covers user
# vs group vs supplementary-group rules, algorithm pinning, max-input,
# overlapping rules (the first match decides), default deny, keys
# invisible vs denied, list filtering, rate limits (RATE_LIMITED and
# recovery), the normalised -n output and start-up errors with file:line.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to connect as other uids"
need_tools setpriv
getent passwd nobody >/dev/null || bail "no user nobody"
getent group nogroup >/dev/null || bail "no group nogroup"
nobody_uid=$(id -u nobody)
nogroup_gid=$(getent group nogroup | cut -d: -f3)
for id in 64001 64002 64003 64004 64005 64006 64007 64008 64009 64010 \
    64100 64301 64302; do
	getent passwd "$id" >/dev/null &&
	    skip_all "uid $id has a passwd entry here; the table needs it free"
done

setup_token
write_config

# Who is who (uid gid supplementary-groups, "-" for none).
declare -A WHO=(
	[A]="64001 64001 -"		# user rules by number
	[G]="64002 64100 -"		# primary group 64100
	[G2]="64002 64002 64100"	# 64100 as a supplementary group
	[S]="64003 64003 64199,64200"	# supplementary group 64200
	[S0]="64003 64003 -"		# the same uid without its groups
	[SP]="64003 64200 -"		# 64200 as the primary group
	[SB]="64003 64003 $(seq -s, 1 99),64200"	# 100 supplementary groups
	[R]="64004 64004 -"		# rate-limited rule first
	[U]="64005 64005 -"		# unlimited rule first
	[P]="64006 64006 -"		# pinned RSA algorithms
	[M]="64007 64007 -"		# random with max-input
	[H]="64008 64008 -"		# max-input rule before a pinned one
	[N]="64009 64009 -"		# no rule at all
	[X]="64010 64001 -"		# gid = A's uid: user rules do not match gids
	[Y]="64100 64011 -"		# uid = G's gid: group rules do not match uids
	[Q1]="64301 64301 64300"	# two uids under one rate-limited group rule
	[Q2]="64302 64302 64300"
	[NB]="$nobody_uid $nogroup_gid -"	# names: user nobody, group nogroup
	[ROOT]="0 0 -"
)

cat >"$POLICY" <<EOF
# policy.sh: one block per identity of the table
permit user root health
permit user root list
permit user root stats
permit user root sign ec256
# A: by number; pinned, max-input; pubkey on another key; its own list
permit user 64001 sign ec256 alg ecdsa-p256-sha256 max-input 1024
permit user 64001 pubkey ec384
permit user 64001 list
# G: a group rule (primary or supplementary), two keys
permit group 64100 sign ec384,ed25519
# S: a supplementary group
permit group 64200 hmac hmac32
permit group 64200 list
# P: pinned algorithms, written out of order; may also read the pubkey
permit user 64006 sign rsa2048 alg rsa-pss-sha384,rsa-pkcs1-sha512
permit user 64006 list
permit user 64006 pubkey rsa2048
# M: random up to 32 bytes
permit user 64007 random max-input 32
# H: small inputs with any algorithm, larger ones only with hmac-sha512
permit user 64008 hmac hmac64 max-input 16
permit user 64008 hmac hmac64 alg hmac-sha512
# R: the rate-limited rule comes first, so it decides
permit user 64004 sign ec256 rate 5/s
permit user 64004 sign ec256
# U: the unlimited rule comes first, so the rate never applies
permit user 64005 hmac hmac32
permit user 64005 hmac hmac32 rate 1/s
# Q1, Q2: one bucket per caller uid
permit group 64300 random rate 3/s
# names
permit group nogroup health
permit user nobody list
EOF
nrules=$(grep -c '^permit' "$POLICY")
start_daemon

# --- input files ------------------------------------------------------------

for n in 1 16 17 1024 1025; do
	head -c "$n" /dev/urandom >"$T/d$n"
done
chmod 0644 "$T"/d*
key_hex=$(hex "$T/hmac32.key")
openssl mac -digest SHA256 -macopt "hexkey:$key_hex" -in "$T/d1" \
    -binary HMAC >"$T/d1.mac32"
chmod 0644 "$T/d1.mac32"

# --- the table --------------------------------------------------------------
#
# WHO ; EXIT ; STATUS ; CHECK ; COMMAND
# STATUS is the word the CLI names on stderr (ok: none, exit 0).  CHECK
# says how to check the output of a success:
#   sig PUBKEY DIGEST FILE [pss]   openssl verifies the signature
#   mac KEYFILE DIGEST FILE        equals openssl's HMAC
#   len N                          N bytes
#   pub KEY                        the token's public key (DER)
# @name@ in the command is $T/name.
TABLE=$(cat <<'EOF'
# user rule by number, pinned alg, max-input at the limit and one over
A    ; 0 ; ok           ; sig ec256 sha256 d1024   ; sign ec256 -a ecdsa-p256-sha256 -i @d1024@
A    ; 0 ; ok           ; sig ec256 sha256 d1      ; sign ec256 -a ecdsa-p256-sha256 -i @d1@
A    ; 8 ; too-large    ; -                        ; sign ec256 -a ecdsa-p256-sha256 -i @d1025@
# a visible key, another operation: denied; a key with no rule: hidden
A    ; 0 ; ok           ; pub ec384                ; pubkey ec384 --der
A    ; 4 ; denied       ; -                        ; sign ec384 -a ecdsa-p384-sha384 -i @d1@
A    ; 4 ; denied       ; -                        ; pubkey ec256
A    ; 5 ; no-such-key  ; -                        ; sign ec521 -a ecdsa-p521-sha512 -i @d1@
A    ; 5 ; no-such-key  ; -                        ; pubkey rsa2048
A    ; 5 ; no-such-key  ; -                        ; sign ghost -a ecdsa-p256-sha256 -i @d1@
A    ; 4 ; denied       ; -                        ; random 8
A    ; 4 ; denied       ; -                        ; health
A    ; 4 ; denied       ; -                        ; stats
# group rule: primary group, supplementary group, two keys
G    ; 0 ; ok           ; sig ec384 sha384 d1      ; sign ec384 -a ecdsa-p384-sha384 -i @d1@
G    ; 0 ; ok           ; -                        ; sign ed25519 -a ed25519 -i @d1@
G    ; 5 ; no-such-key  ; -                        ; sign ec256 -a ecdsa-p256-sha256 -i @d1@
G    ; 4 ; denied       ; -                        ; pubkey ec384
G    ; 4 ; denied       ; -                        ; list
G2   ; 0 ; ok           ; sig ec384 sha384 d1024   ; sign ec384 -a ecdsa-p384-sha384 -i @d1024@
# an unpinned rule lets the request through to the key check
G    ; 6 ; bad-request  ; -                        ; sign ec384 -a ecdsa-p256-sha256 -i @d1@
# ids that only look alike: user rules match uids, group rules gids
X    ; 5 ; no-such-key  ; -                        ; sign ec256 -a ecdsa-p256-sha256 -i @d1@
X    ; 4 ; denied       ; -                        ; list
Y    ; 5 ; no-such-key  ; -                        ; sign ec384 -a ecdsa-p384-sha384 -i @d1@
# supplementary group, and the same uid without it
S    ; 0 ; ok           ; mac hmac32 sha256 d1     ; hmac hmac32 -a hmac-sha256 -i @d1@
S    ; 0 ; ok           ; -                        ; list
S    ; 4 ; denied       ; -                        ; hmac-verify hmac32 -a hmac-sha256 -m @d1.mac32@ -i @d1@
S    ; 5 ; no-such-key  ; -                        ; hmac hmac64 -a hmac-sha256 -i @d1@
S0   ; 5 ; no-such-key  ; -                        ; hmac hmac32 -a hmac-sha256 -i @d1@
S0   ; 4 ; denied       ; -                        ; list
SP   ; 0 ; ok           ; mac hmac32 sha256 d1     ; hmac hmac32 -a hmac-sha256 -i @d1@
# many supplementary groups (the kernel allows 65536): 64200 still counts
SB   ; 0 ; ok           ; mac hmac32 sha256 d1     ; hmac hmac32 -a hmac-sha256 -i @d1@
# algorithm pinning
P    ; 0 ; ok           ; sig rsa2048 sha384 d1024 pss ; sign rsa2048 -a rsa-pss-sha384 -i @d1024@
P    ; 0 ; ok           ; sig rsa2048 sha512 d1024 ; sign rsa2048 -a rsa-pkcs1-sha512 -i @d1024@
P    ; 4 ; denied       ; -                        ; sign rsa2048 -a rsa-pss-sha256 -i @d1@
P    ; 4 ; denied       ; -                        ; sign rsa2048 -a rsa-pkcs1-sha256 -i @d1@
P    ; 4 ; denied       ; -                        ; sign rsa2048 -a rsa-pss-sha512 -i @d1@
P    ; 0 ; ok           ; pub rsa2048              ; pubkey rsa2048 --der
A    ; 4 ; denied       ; -                        ; sign ec256 -a rsa-pss-sha256 -i @d1@
# max-input on random: the requested length
M    ; 0 ; ok           ; len 32                   ; random 32
M    ; 0 ; ok           ; len 1                    ; random 1
M    ; 8 ; too-large    ; -                        ; random 33
# overlapping rules: max-input rule first, a pinned rule after it
H    ; 0 ; ok           ; mac hmac64 sha256 d16    ; hmac hmac64 -a hmac-sha256 -i @d16@
H    ; 0 ; ok           ; mac hmac64 sha384 d16    ; hmac hmac64 -a hmac-sha384 -i @d16@
H    ; 8 ; too-large    ; -                        ; hmac hmac64 -a hmac-sha256 -i @d17@
H    ; 8 ; too-large    ; -                        ; hmac hmac64 -a hmac-sha384 -i @d17@
H    ; 0 ; ok           ; mac hmac64 sha512 d17    ; hmac hmac64 -a hmac-sha512 -i @d17@
H    ; 0 ; ok           ; mac hmac64 sha512 d1024  ; hmac hmac64 -a hmac-sha512 -i @d1024@
# default deny
N    ; 4 ; denied       ; -                        ; random 8
N    ; 4 ; denied       ; -                        ; health
N    ; 4 ; denied       ; -                        ; list
N    ; 4 ; denied       ; -                        ; stats
N    ; 5 ; no-such-key  ; -                        ; sign ec256 -a ecdsa-p256-sha256 -i @d1@
N    ; 5 ; no-such-key  ; -                        ; secret api-token
# rules by name
NB   ; 0 ; ok           ; -                        ; health
NB   ; 0 ; ok           ; -                        ; list
NB   ; 4 ; denied       ; -                        ; random 4
# root: only what its rules say
ROOT ; 0 ; ok           ; -                        ; stats
ROOT ; 0 ; ok           ; sig ec256 sha256 d1024   ; sign ec256 -a ecdsa-p256-sha256 -i @d1024@
ROOT ; 5 ; no-such-key  ; -                        ; sign ec384 -a ecdsa-p384-sha384 -i @d1@
ROOT ; 4 ; denied       ; -                        ; random 8
EOF
)

trim()
{
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	s=${s%"${s##*[![:space:]]}"}
	printf '%s' "$s"
}

# check_output CHECK DESC: verify a successful answer in $OUT.
check_output()
{
	local spec=$1 desc=$2 kind a b c d
	read -r kind a b c d <<<"$spec"
	case $kind in
	-)	;;
	sig)
		if [ "${d:-}" = pss ]; then
			set -- -sigopt rsa_padding_mode:pss \
			    -sigopt rsa_pss_saltlen:digest
		else
			set --
		fi
		is "$(openssl dgst "-$b" -verify "$T/pub/$a.pem" "$@" \
		    -signature "$OUT" "$T/$c" 2>&1)" "Verified OK" \
		    "$desc: openssl verifies the signature"
		;;
	mac)
		openssl mac -digest "$b" -macopt "hexkey:$(hex "$T/$a.key")" \
		    -in "$T/$c" -binary HMAC >"$T/want.mac"
		check "$desc: the MAC equals openssl's" \
		    cmp -s "$OUT" "$T/want.mac"
		;;
	len)
		is "$(size "$OUT")" "$a" "$desc: $a bytes"
		;;
	pub)
		check "$desc: the token's public key" \
		    cmp -s "$OUT" "$T/pub/$a.der"
		;;
	*)
		bail "bad check spec '$spec'"
		;;
	esac
}

declare -A MSG		# "WHO CMD KEY" -> stderr with the key name masked
while IFS= read -r row; do
	case $row in '#'*|'') continue ;; esac
	IFS=';' read -r who want status spec cmd <<<"$row"
	who=$(trim "$who")
	want=$(trim "$want")
	status=$(trim "$status")
	spec=$(trim "$spec")
	cmd=$(trim "$cmd")
	[ -n "${WHO[$who]:-}" ] || bail "unknown identity '$who'"
	cmd=$(printf '%s' "$cmd" | sed "s|@\([a-z0-9.]*\)@|$T/\1|g")
	# shellcheck disable=SC2086
	set -- ${WHO[$who]}
	uid=$1 gid=$2 groups=$3
	# shellcheck disable=SC2086
	set -- $cmd
	g=$groups
	[ "${#g}" -gt 24 ] && g="$(($(tr -cd , <<<"$g" | wc -c) + 1)) groups"
	desc="$who($uid/$gid/$g) ${cmd//$T\//}"
	as_ids "$uid" "$gid" "$groups" "$@"
	is "$RC" "$want" "$desc: exit $want ($status)" || diag "stderr: $ERR"
	if [ "$want" -eq 0 ]; then
		is "$ERR" "" "$desc: nothing on stderr"
		check_output "$spec" "$desc"
	else
		like "$ERR" "^p11broker: $1( [^:]*)?: $status \(" \
		    "$desc: stderr names $status"
		is "$(size "$OUT")" 0 "$desc: nothing on stdout"
	fi
	case $1 in
	sign|hmac|hmac-verify|secret|pubkey)
		MSG["$who $1 $2"]=$(printf '%s' "$ERR" | sed "s/$2/KEY/g")
		;;
	esac
done <<<"$TABLE"

# --- what the messages say --------------------------------------------------

is "${MSG[A sign ec521]}" "${MSG[A sign ghost]}" \
    "A: a key with no rule for the caller reads like a nonexistent key"
is "${MSG[N sign ec256]}" "${MSG[A sign ghost]}" \
    "N: a key with no rule for the caller reads like a nonexistent key"
like "${MSG[P sign rsa2048]}" 'algorithm' \
    "P: a pinned-out algorithm is denied naming the algorithm"
like "${MSG[A sign ec256]}" 'algorithm' \
    "A: an algorithm other than the pinned one is denied naming it"
unlike "${MSG[A pubkey ec256]}" 'algorithm' \
    "A: an operation with no rule is denied without blaming the algorithm"

# --- list shows only what the caller may use --------------------------------

# list_of WHO: the list output as "name ops algs" lines, sorted.
list_of()
{
	# shellcheck disable=SC2086
	as_ids ${WHO[$1]} list
	[ "$RC" -eq 0 ] || diag "$1 list: exit $RC: $ERR"
	awk '{ print $1, $4, $5 }' "$OUT" | sort
}
is "$(list_of A)" "ec256 ops=sign algs=ecdsa-p256-sha256
ec384 ops=pubkey algs=-" "list for A: ec256 (sign, its pinned alg), ec384 (pubkey)"
# P may also read the public key (a rule with no algs): that must not
# widen the signing algorithms list shows.
is "$(list_of P)" \
    "rsa2048 ops=sign,pubkey algs=rsa-pkcs1-sha512,rsa-pss-sha384" \
    "list for P: rsa2048 with only the pinned algorithms"
# SoftHSM2 takes HMAC-SHA-384/512 only with keys of 48/64 bytes or more.
is "$(list_of S)" \
    "hmac32 ops=hmac algs=hmac-sha256" \
    "list for S (supplementary group): hmac32 only, every HMAC alg the token does with 32 bytes"
is "$(list_of NB)" "" "list for nobody (a list rule, no keys): empty"
is "$(list_of ROOT)" "ec256 ops=sign algs=ecdsa-p256-sha256" \
    "list for root: only ec256"

# --- overlapping rules: the first match decides the rate --------------------

# burst WHO N BENCH-ARGS...: N requests back to back from one process on
# one connection (p11broker bench --clients 1 --requests N), so that the
# broker's bucket is what is measured, not process start-up.  Sets N_OK,
# N_LIMITED, N_OTHER, BURST_SECS (bench's own time from the first
# request to the last answer) and LIMITED_ERR (bench's stderr).
burst()
{
	local who=$1 n=$2 line errors
	shift 2
	# shellcheck disable=SC2086
	as_ids ${WHO[$who]} bench --clients 1 --requests "$n" "$@"
	line=$(head -n 1 "$OUT")
	N_OK=$(printf '%s' "$line" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
	BURST_SECS=$(printf '%s' "$line" | sed -n 's/.* secs=\([0-9.]*\) .*/\1/p')
	errors=$(printf '%s' "$line" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
	N_LIMITED=$(sed -n 's/^errors by status:.* rate-limited=\([0-9]*\).*/\1/p' \
	    "$OUT")
	N_OK=${N_OK:-0} N_LIMITED=${N_LIMITED:-0}
	N_OTHER=$((${errors:-$n} - N_LIMITED))
	LIMITED_ERR=$ERR
	diag "$who burst of $n: $line"
}

# max_ok R: what a bucket of rate R lets through in BURST_SECS: R at
# once, then R per second (rounded up), plus one for rounding.  A slower
# run only raises the bound: it can never fail for want of speed.
max_ok()
{
	awk -v r="$1" -v s="$BURST_SECS" \
	    'BEGIN { x = r * s; n = int(x); if (n < x) n++; print r + n + 1 }'
}

# signs_as WHO: WHO signs with ec256 (polled: refusals take no token).
signs_as()
{
	# shellcheck disable=SC2086
	as_ids ${WHO[$1]} sign ec256 -a ecdsa-p256-sha256 -i "$T/d1"
	[ "$RC" -eq 0 ]
}

burst R 200 --op ecdsa --key ec256
is "$N_OTHER" 0 "rate 5/s: only ok or rate-limited answers"
is "$((N_OK + N_LIMITED))" 200 "rate 5/s: all 200 requests answered"
ok "$([ "$N_OK" -ge 5 ] && echo 0 || echo 1)" \
    "rate 5/s: the burst of 5 succeeds (got $N_OK)"
lim=$(max_ok 5)
ok "$([ "$N_OK" -le "$lim" ] && echo 0 || echo 1)" \
    "rate 5/s: at most $lim of 200 succeed in ${BURST_SECS}s (got $N_OK)"
ok "$([ "$N_LIMITED" -ge 1 ] && echo 0 || echo 1)" \
    "rate 5/s: RATE_LIMITED observed ($N_LIMITED of 200)"
is "$RC" 9 "rate 5/s: bench exits 9 (rate-limited)"
like "$LIMITED_ERR" '^p11broker: bench ec256: rate-limited \(rate limit reached\)' \
    "rate 5/s: stderr names rate-limited"
wait_for signs_as R
ok $? "rate 5/s: recovered as the bucket refills" || diag "$ERR"
check_output "sig ec256 sha256 d1" "rate 5/s: after the refill"

burst U 12 --op hmac --key hmac32
is "$N_OK" 12 "unlimited rule first: 12 of 12 succeed, the later rate 1/s never applies"

burst Q1 100 --op random
ok "$([ "$N_OK" -ge 3 ] && [ "$N_OK" -le "$(max_ok 3)" ] &&
    [ "$N_LIMITED" -ge 1 ] && [ "$N_OTHER" -eq 0 ] && echo 0 || echo 1)" \
    "group rate 3/s: Q1 gets the burst of 3, then rate-limited" \
    "($N_OK ok, $N_LIMITED limited in ${BURST_SECS}s)"
as_ids ${WHO[Q2]} random 4
is "$RC" 0 "group rate 3/s: another uid under the same rule has its own bucket" ||
    diag "$ERR"

# --- p11brokerd -n: one normalised line per rule ----------------------------

P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -n -f "$CONF" \
    </dev/null >"$T/n.out" 2>"$T/n.err"
is "$?" 0 "-n: exit 0" || diag "$(cat "$T/n.err")"
is "$(grep -c '^permit ' "$T/n.out")" "$nrules" "-n: one line per rule ($nrules)"

# want_n SOURCE-RULE NORMALISED: the line -n prints for the rule written
# as SOURCE-RULE in the policy.
want_n()
{
	local line
	line=$(grep -nxF -- "$1" "$POLICY" | cut -d: -f1)
	[ -n "$line" ] || bail "rule '$1' not in the policy"
	if grep -qxF -- "$(printf '%s\t# %s:%s' "$2" "$POLICY" "$line")" \
	    "$T/n.out"; then
		ok 0 "-n: $2"
	else
		ok 1 "-n: $2"
		diag "want: $2<TAB># $POLICY:$line" "-n printed:" \
		    "$(grep -F -- "$(echo "$2" | cut -d' ' -f1-3)" "$T/n.out")"
	fi
}
want_n "permit user root health" "permit user root(0) health"
want_n "permit user 64001 sign ec256 alg ecdsa-p256-sha256 max-input 1024" \
    "permit user 64001(64001) sign ec256 alg ecdsa-p256-sha256 max-input 1024"
want_n "permit group 64100 sign ec384,ed25519" \
    "permit group 64100(64100) sign ec384,ed25519"
want_n "permit user 64006 sign rsa2048 alg rsa-pss-sha384,rsa-pkcs1-sha512" \
    "permit user 64006(64006) sign rsa2048 alg rsa-pkcs1-sha512,rsa-pss-sha384"
want_n "permit user 64007 random max-input 32" \
    "permit user 64007(64007) random max-input 32"
want_n "permit user 64004 sign ec256 rate 5/s" \
    "permit user 64004(64004) sign ec256 rate 5/s"
want_n "permit group 64300 random rate 3/s" \
    "permit group 64300(64300) random rate 3/s"
want_n "permit group nogroup health" \
    "permit group nogroup($nogroup_gid) health"
want_n "permit user nobody list" "permit user nobody($nobody_uid) list"

# Options in any order print in one order.
sed 's/^permit user 64006 sign rsa2048 .*/permit user 64006 sign rsa2048 rate 7\/s max-input 512 alg rsa-pss-sha384,rsa-pkcs1-sha512/' \
    "$POLICY" >"$T/order.policy"
sed "s|^policy .*|policy \"$T/order.policy\"|" "$CONF" >"$T/order.conf"
P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -n -f "$T/order.conf" \
    </dev/null >"$T/n.out" 2>"$T/n.err"
line=$(grep -n '^permit user 64006 sign' "$T/order.policy" | cut -d: -f1)
grep -qxF "$(printf 'permit user 64006(64006) sign rsa2048 alg rsa-pkcs1-sha512,rsa-pss-sha384 max-input 512 rate 7/s\t# %s:%s' "$T/order.policy" "$line")" "$T/n.out"
ok $? "-n: alg, max-input, rate printed in a fixed order" ||
    diag "$(grep 64006 "$T/n.out")"

# --- start-up errors --------------------------------------------------------

# bad_policy NAME LINE ERE RULE...: a policy whose line LINE is broken;
# -n and a real start both fail naming FILE:LINE.
bad_policy()
{
	local name=$1 line=$2 ere=$3 file="$T/$1.policy" conf="$T/$1.conf"
	shift 3
	{
		printf 'permit user root health\n'
		printf '%s\n' "$@"
	} >"$file"
	sed -e "s|^policy .*|policy \"$file\"|" \
	    -e "s|^socket .*|socket \"$T/$name.sock\" mode 0666|" "$CONF" \
	    >"$conf"
	P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -n -f "$conf" \
	    </dev/null >"$T/n.out" 2>"$T/n.err"
	RC=$?
	ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
	    "$name: -n fails (exit $RC)"
	like "$(cat "$T/n.err")" "$file:$line: (.*)?$ere" \
	    "$name: -n names $name.policy:$line"
	P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -d -f "$conf" \
	    </dev/null >"$T/n.out" 2>"$T/n.err"
	RC=$?
	ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && echo 0 || echo 1)" \
	    "$name: the daemon does not start (exit $RC)"
	like "$(cat "$T/n.err")" "$file:$line: (.*)?$ere" \
	    "$name: start-up error names $name.policy:$line"
	ok "$([ -e "$T/$name.sock" ] && echo 1 || echo 0)" \
	    "$name: no socket was created"
}
bad_policy unknown-key 3 'unknown key "ec999"' \
    "permit user root sign ec256" "permit user root sign ec256,ec999"
bad_policy alg-fits-none 4 'alg rsa-pss-sha256 fits none of the rule.s keys' \
    "permit user root sign ec256" "permit user root list" \
    "permit user root sign ec256,ec384 alg rsa-pss-sha256"
bad_policy alg-wrong-curve 2 'alg ecdsa-p384-sha384 fits none' \
    "permit user 64001 sign ec256 alg ecdsa-p384-sha384"
bad_policy unknown-alg 2 'unknown algorithm "ecdsa-p999"' \
    "permit user root sign ec256 alg ecdsa-p999"
bad_policy key-on-random 3 'takes no key' \
    "permit user root list" "permit user root random ec256"
bad_policy bad-rate 2 'rate: expected a number' \
    "permit user root sign ec256 rate 0/s"

# One pinned alg that fits one of several keys is fine.
printf 'permit user root health\npermit user root sign ec256,ec384 alg ecdsa-p384-sha384\n' \
    >"$T/fits-one.policy"
sed "s|^policy .*|policy \"$T/fits-one.policy\"|" "$CONF" >"$T/fits-one.conf"
P11BROKER_PIN=$PIN timeout -k 2 "$HANG" "$BROKERD" -n -f "$T/fits-one.conf" \
    </dev/null >"$T/n.out" 2>"$T/n.err"
is "$?" 0 "an alg that fits one of the rule's keys is accepted" ||
    diag "$(cat "$T/n.err")"

# The daemon kept serving through all of it.
as_ids ${WHO[A]} sign ec256 -a ecdsa-p256-sha256 -i "$T/d1"
is "$RC" 0 "the running daemon still answers" || diag "$ERR"

stop_daemon
is "$EXIT_RC" 0 "daemon exits 0 on SIGTERM"

done_testing
