#!/bin/bash
# p11broker-pkcs11.so through dlopen() (tests/integration/pkcs11_client):
# the PKCS#11 semantics it promises (interfaces, attribute errors, the
# length idiom, multi-part, HMAC verify, parameter and mechanism errors,
# login without PIN) and fork safety.  Runs in sanitizer builds too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkcs11_lib.sh"

pkcs11_setup

run_client api
ok $? "pkcs11_client api"
run_client fork
ok $? "pkcs11_client fork"

done_testing
