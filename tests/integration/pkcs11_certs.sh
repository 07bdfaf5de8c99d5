#!/bin/bash
# Certificates: a key's certificate and its issuers named in the config
# (key NAME ... certificate "PATH", read by the monitor at start and at
# each reload through the same checks as the config), served with the
# public key and shown by p11broker-pkcs11.so as CKO_CERTIFICATE objects:
# the key's with its CKA_ID, each issuer as an authority.  pkcs11-tool
# reads them back byte for byte, openssl verifies the chain, NSS certutil
# and Java keytool list them.  A certificate for another key, or one
# behind a symbolic link, is refused with the old configuration kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

need_prog pkcs11-tool openssl

# In a sanitizer build pkcs11-tool cannot load the module: the broker's
# side (the monitor reading the file, the signer checking it, reloads
# refused) still runs there.
PLAIN=1
ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so' && PLAIN=0
pkcs11_setup
P11T=(timeout -k 2 "$CLI_TIMEOUT" pkcs11-tool --module "$MODULE")

# A root, an intermediate, and a leaf for the token's rsa2048 key.
mkca()
{
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$T/root.key" -subj "/CN=p11b test root" -days 2 \
	    -addext basicConstraints=critical,CA:TRUE -out "$T/root.pem" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/int.key" -subj "/CN=p11b test intermediate" \
	    -out "$T/int.csr" &&
	printf 'basicConstraints=critical,CA:TRUE\n' >"$T/ca.ext" &&
	openssl x509 -req -in "$T/int.csr" -CA "$T/root.pem" \
	    -CAkey "$T/root.key" -days 2 -extfile "$T/ca.ext" \
	    -out "$T/int.pem" &&
	openssl x509 -new -force_pubkey "$T/pub/rsa2048.pem" \
	    -subj "/CN=web.example" -CA "$T/int.pem" -CAkey "$T/int.key" \
	    -days 2 -out "$T/leaf.pem" &&
	openssl x509 -new -force_pubkey "$T/pub/ec384.pem" \
	    -subj "/CN=not the web key" -CA "$T/int.pem" -CAkey "$T/int.key" \
	    -days 2 -out "$T/other.pem"
} >"$T/ca.log" 2>&1
mkca || bail "cannot make the test CA: $(tail -n 3 "$T/ca.log")"
cat "$T/leaf.pem" "$T/int.pem" "$T/root.pem" >"$T/web.pem"
chmod 0644 "$T/web.pem"
for c in leaf int root; do
	openssl x509 -in "$T/$c.pem" -outform DER -out "$T/$c.der"
done

stop_daemon >/dev/null 2>&1
write_config "key web label \"rsa2048\" certificate \"$T/web.pem\""
write_policy "permit user $ME sign web" "permit user $ME pubkey web"
start_daemon

if [ "$PLAIN" -eq 0 ]; then
	like "$(cat "$DAEMON_LOG")" "serving 11 keys" \
	    "the daemon starts with the certificate file (sanitizer build)"
else
"${P11T[@]}" --list-objects --type cert >"$T/certs.txt" 2>&1
ok $? "pkcs11-tool lists certificates"
like "$(cat "$T/certs.txt")" "label: +web$" "the key's certificate, label web"
like "$(cat "$T/certs.txt")" "label: +web ca1$" "its issuer: web ca1"
like "$(cat "$T/certs.txt")" "label: +web ca2$" "its root: web ca2"
"${P11T[@]}" --read-object --type cert --label web -o "$T/got-leaf.der" \
    >/dev/null 2>&1
check "the certificate's DER, byte for byte" \
    cmp -s "$T/got-leaf.der" "$T/leaf.der"
is "$(awk '/label: +web$/ { f = 1 } f && /ID:/ { print $2; exit }' \
    "$T/certs.txt")" 04 "the certificate has the key's CKA_ID (04)"
"${P11T[@]}" --read-object --type cert --label "web ca1" \
    -o "$T/got-int.der" >/dev/null 2>&1
check "the intermediate, byte for byte" cmp -s "$T/got-int.der" "$T/int.der"
"${P11T[@]}" --read-object --type cert --label "web ca2" \
    -o "$T/got-root.der" >/dev/null 2>&1
check "the root, byte for byte" cmp -s "$T/got-root.der" "$T/root.der"
for c in leaf int; do
	openssl x509 -inform DER -in "$T/got-$c.der" -out "$T/got-$c.pem"
done
check "openssl verifies the certificate through the chain read back" \
    quiet openssl verify -CAfile "$T/root.pem" -untrusted "$T/got-int.pem" \
    "$T/got-leaf.pem"
subj=$(openssl x509 -inform DER -in "$T/got-leaf.der" -noout -subject)
like "$subj" "CN ?= ?web\\.example" "subject web.example"

# A signature by the key, checked with the certificate's public key.
printf 'certified\n' >"$T/msg"
"${P11T[@]}" --sign --mechanism SHA256-RSA-PKCS --id 04 -i "$T/msg" \
    -o "$T/msg.sig" >/dev/null 2>&1
openssl x509 -in "$T/leaf.pem" -noout -pubkey >"$T/leaf.pub"
check "the certified key signs" quiet openssl dgst -sha256 -verify \
    "$T/leaf.pub" -signature "$T/msg.sig" "$T/msg"

# NSS: the module added to a throwaway database.
if command -v certutil >/dev/null && command -v modutil >/dev/null &&
    ! ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so'; then
	mkdir "$T/nss"
	certutil -N -d "sql:$T/nss" --empty-password >/dev/null 2>&1
	modutil -dbdir "sql:$T/nss" -add p11broker -libfile "$MODULE" \
	    -force >/dev/null 2>&1
	out=$(timeout -k 2 "$CLI_TIMEOUT" certutil -L -d "sql:$T/nss" \
	    -h all 2>&1)
	like "$out" "p11broker:web " "NSS certutil -L lists p11broker:web" ||
	    diag "$out"
	timeout -k 2 "$CLI_TIMEOUT" certutil -L -d "sql:$T/nss" \
	    -n "p11broker:web" -r >"$T/nss-leaf.der" 2>/dev/null
	check "NSS reads the certificate byte for byte" \
	    cmp -s "$T/nss-leaf.der" "$T/leaf.der"
else
	diag "NSS tools absent or a sanitizer build: certutil not run"
fi

# Java SunPKCS11: keytool lists a key entry only with a certificate.
if command -v keytool >/dev/null && [ -z "${P11B_SANITIZED:-}" ] &&
    ! ldd "$MODULE" 2>/dev/null | grep -Eq 'lib(asan|ubsan)\.so'; then
	printf 'name = p11broker\nlibrary = %s\n' "$MODULE" >"$T/java.cfg"
	out=$(P11BROKER_KEY_TYPES=ec,rsa timeout -k 2 "$((HANG * 2))" \
	    keytool -list -keystore NONE -storetype PKCS11 \
	    -addprovider SunPKCS11 -providerArg "$T/java.cfg" \
	    -storepass unused 2>&1)
	like "$out" "web, PrivateKeyEntry" \
	    "Java keytool lists web as a PrivateKeyEntry" || diag "$out"
else
	diag "no Java or a sanitizer pass: keytool not run"
fi
fi

# Refused at reload, the old configuration kept: another key's
# certificate, and a certificate behind a symbolic link.
reject()
{
	local n
	n=$(log_count 'reload rejected')
	kill -HUP "$DAEMON_PID"
	wait_log 'reload rejected' $((n + 1)) || return 1
	like "$(grep 'reload rejected' "$DAEMON_LOG" | tail -n 1)" "$2" "$1"
}
cp "$CONF" "$T/conf.good"
cp "$T/other.pem" "$T/other-copy.pem" && chmod 0644 "$T/other-copy.pem"
sed -i "s|certificate \"$T/web.pem\"|certificate \"$T/other-copy.pem\"|" \
    "$CONF"
reject "a certificate for another key is refused" "is not for this key"
ln -s "$T/web.pem" "$T/web-link.pem"
sed -i "s|certificate \"$T/other-copy.pem\"|certificate \"$T/web-link.pem\"|" \
    "$CONF"
reject "a certificate behind a symbolic link is refused" "certificate: "
if [ "$PLAIN" -eq 1 ]; then
	"${P11T[@]}" --read-object --type cert --label web \
	    -o "$T/again.der" >/dev/null 2>&1
	check "the old certificate is still served" cmp -s "$T/again.der" \
	    "$T/leaf.der"
fi

done_testing
