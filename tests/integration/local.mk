# Integration tests: each script builds a throwaway SoftHSM2 token, starts
# the real daemon on a temporary socket and checks its answers with openssl.

# mkobjects writes secrets, data objects and HMAC keys with known bytes
# (pkcs11-tool cannot), for tests/integration/mktoken.sh.
check_PROGRAMS += tests/tools/mkobjects
tests_tools_mkobjects_SOURCES = tests/tools/mkobjects.c
tests_tools_mkobjects_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_tools_mkobjects_LDADD = $(BSD_LIBS) -ldl

# sandbox_probe installs the real allowlists in a child and makes a call
# they forbid; keepsign keeps a connection busy while the signer dies.
check_PROGRAMS += tests/tools/sandbox_probe tests/tools/keepsign
tests_tools_sandbox_probe_SOURCES = tests/tools/sandbox_probe.c
tests_tools_sandbox_probe_LDADD = sandbox/libsandbox.la
tests_tools_keepsign_SOURCES = tests/tools/keepsign.c
tests_tools_keepsign_LDADD = client/libp11broker.la $(PTHREAD_LIBS)

INTEGRATION_TESTS = \
	tests/integration/sign_verify.sh \
	tests/integration/sandbox.sh \
	tests/integration/signer.sh \
	tests/integration/systemd.sh \
	tests/integration/faults.sh \
	tests/integration/hmac_secret.sh \
	tests/integration/deny.sh \
	tests/integration/badinput.sh \
	tests/integration/startup.sh \
	tests/integration/policy.sh \
	tests/integration/reload.sh \
	tests/integration/stats.sh \
	tests/integration/audit.sh \
	tests/integration/hostile_audit.sh \
	tests/integration/fault_module.sh \
	tests/integration/exporter.sh \
	tests/integration/alerts.sh \
	tests/integration/logrotate.sh \
	tests/integration/module_p11kit.sh \
	tests/integration/hostile_faults.sh \
	tests/integration/hostile_callers.sh \
	tests/integration/hostile_files.sh \
	tests/integration/audit_ship.sh \
	tests/integration/recipes.sh \
	tests/integration/rsa_algs.sh \
	tests/integration/crashloop.sh \
	tests/integration/sandbox_knobs.sh \
	tests/integration/module_tpm2.sh \
	tests/integration/stream.sh \
	tests/integration/module_ocki.sh \
	tests/integration/sandbox_unix.sh \
	tests/integration/keygen.sh
INTEGRATION_TESTS += tests/integration/multi_signer.sh
INTEGRATION_TESTS += tests/integration/batch.sh

TESTS += $(INTEGRATION_TESTS)
dist_check_SCRIPTS = $(INTEGRATION_TESTS) \
	tests/integration/mktoken.sh \
	tests/integration/rawclient.py \
	tests/integration/hostile.py \
	tests/integration/ed25519_verify.py \
	tests/integration/dashboard.py \
	tests/integration/streamclient.py
EXTRA_DIST += tests/integration/lib.sh tests/integration/faultlib.sh \
	tests/integration/attacklib.sh tests/integration/loadlib.sh \
	tests/badinput/CATALOGUE.md

# The client-side PKCS#11 module under unmodified programs, and a small
# dlopen() client for semantics, fork and broker restarts.
check_PROGRAMS += tests/integration/pkcs11_client
tests_integration_pkcs11_client_SOURCES = tests/integration/pkcs11_client.c tests/tools/check.h
tests_integration_pkcs11_client_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_integration_pkcs11_client_LDADD = $(PTHREAD_LIBS) -ldl
check_PROGRAMS += tests/integration/pkcs11_rotate
tests_integration_pkcs11_rotate_SOURCES = tests/integration/pkcs11_rotate.c tests/tools/check.h
tests_integration_pkcs11_rotate_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)
tests_integration_pkcs11_rotate_LDADD = -ldl

PKCS11_TESTS = \
	tests/integration/pkcs11_module.sh \
	tests/integration/pkcs11_tool.sh \
	tests/integration/pkcs11_openssl.sh \
	tests/integration/pkcs11_ssh.sh \
	tests/integration/pkcs11_gnutls.sh \
	tests/integration/pkcs11_restart.sh \
	tests/integration/pkcs11_rsa.sh \
	tests/integration/pkcs11_identity.sh \
	tests/integration/pkcs11_knot.sh \
	tests/integration/pkcs11_certs.sh \
	tests/integration/pkcs11_filter.sh \
	tests/integration/pkcs11_keygen.sh
TESTS += $(PKCS11_TESTS)
dist_check_SCRIPTS += $(PKCS11_TESTS)
EXTRA_DIST += tests/integration/pkcs11_lib.sh

# libp11broker across idle closes, broker restarts, timeouts and fork.
check_PROGRAMS += tests/tools/libreconnect
tests_tools_libreconnect_SOURCES = tests/tools/libreconnect.c
tests_tools_libreconnect_LDADD = client/libp11broker.la $(PTHREAD_LIBS)
LIB_TESTS = tests/integration/lib_reconnect.sh
TESTS += $(LIB_TESTS)
dist_check_SCRIPTS += $(LIB_TESTS)

# The EXAMPLES program of libp11broker(3), cut out of the man page and
# built with the project's flags: the page cannot drift from the API.
check_PROGRAMS += tests/tools/manexample
nodist_tests_tools_manexample_SOURCES = tests/tools/manexample.c
tests_tools_manexample_LDADD = client/libp11broker.la
CLEANFILES += tests/tools/manexample.c
tests/tools/manexample.c: $(top_srcdir)/client/libp11broker.3
	$(AM_V_GEN)$(MKDIR_P) tests/tools && \
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' \
	    $(top_srcdir)/client/libp11broker.3 | \
	sed '1,/^\.Bd -literal/d; /^\.Ed/,$$d; s/\\e/\\/g' >$@.tmp && \
	grep -q '^main(' $@.tmp && mv $@.tmp $@
LIB_TESTS += tests/integration/lib_manpage.sh
LIB_TESTS += tests/integration/install.sh

# The key identity checked on a whole request and on every kind of stream.
check_PROGRAMS += tests/tools/libidentity
tests_tools_libidentity_SOURCES = tests/tools/libidentity.c tests/tools/check.h
tests_tools_libidentity_LDADD = client/libp11broker.la
LIB_TESTS += tests/integration/lib_identity.sh
# Key versions (issue #16): rotation with the old version kept for checks.
INTEGRATION_TESTS += tests/integration/key_versions.sh
# Several token blocks (issue #16): the same keys on two tokens, failover.
INTEGRATION_TESTS += tests/integration/tokens_ha.sh
