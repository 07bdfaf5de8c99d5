# Integration tests: each script builds a throwaway SoftHSM2 token, starts
# the real daemon on a temporary socket and checks its answers with openssl.

# mkobjects writes secrets, data objects and HMAC keys with known bytes
# (pkcs11-tool cannot), for tests/integration/mktoken.sh.
check_PROGRAMS += tests/tools/mkobjects
tests_tools_mkobjects_SOURCES = tests/tools/mkobjects.c
tests_tools_mkobjects_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_tools_mkobjects_LDADD = $(BSD_LIBS) -ldl

INTEGRATION_TESTS = \
	tests/integration/sign_verify.sh \
	tests/integration/hmac_secret.sh \
	tests/integration/deny.sh \
	tests/integration/badinput.sh \
	tests/integration/startup.sh \
	tests/integration/policy.sh \
	tests/integration/reload.sh \
	tests/integration/stats.sh \
	tests/integration/audit.sh

TESTS += $(INTEGRATION_TESTS)
dist_check_SCRIPTS = $(INTEGRATION_TESTS) \
	tests/integration/mktoken.sh \
	tests/integration/rawclient.py \
	tests/integration/ed25519_verify.py
EXTRA_DIST += tests/integration/lib.sh
