# Unit tests, one per module.
UNIT_LDADD = proto/libwire.la $(PROTOBUF_C_LIBS) $(BSD_LIBS)

check_PROGRAMS += tests/unit/test_wire
tests_unit_test_wire_SOURCES = tests/unit/test_wire.c tests/unit/tap.h
tests_unit_test_wire_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_wire

check_PROGRAMS += tests/unit/test_buf
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c tests/unit/tap.h
tests_unit_test_buf_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_buf

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/tap.h
tests_unit_test_config_LDADD = policy/libpolicy.la $(UNIT_LDADD)
TESTS += tests/unit/test_config

check_PROGRAMS += tests/unit/test_fcheck
tests_unit_test_fcheck_SOURCES = tests/unit/test_fcheck.c tests/unit/tap.h
tests_unit_test_fcheck_LDADD = policy/libpolicy.la $(UNIT_LDADD)
TESTS += tests/unit/test_fcheck

check_PROGRAMS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c tests/unit/tap.h \
	brokerd/common/crypto.c brokerd/common/crypto_verify.c
tests_unit_test_crypto_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common $(LIBCRYPTO_CFLAGS)
tests_unit_test_crypto_LDADD = $(UNIT_LDADD) $(LIBCRYPTO_LIBS)
TESTS += tests/unit/test_crypto

# White-box: the daemon's audit code and the CLI's line parser together.
check_PROGRAMS += tests/unit/test_audit
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c tests/unit/tap.h \
	client/cli/auditlog.c client/cli/auditlog.h
tests_unit_test_audit_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common -I$(top_srcdir)/brokerd/front \
	-I$(top_srcdir)/client/cli $(LIBCRYPTO_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_audit_LDADD = brokerd/libbroker.la $(UNIT_LDADD) \
	$(LIBCRYPTO_LIBS) $(SODIUM_LIBS)
TESTS += tests/unit/test_audit

# White-box: per-uid state of the front's callers (callers.c, compiled in).
check_PROGRAMS += tests/unit/test_callers
tests_unit_test_callers_SOURCES = tests/unit/test_callers.c tests/unit/tap.h
EXTRA_tests_unit_test_callers_DEPENDENCIES = brokerd/front/callers.c
tests_unit_test_callers_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_callers
include $(srcdir)/tests/unit/client.mk

# The front <-> signer codec, compiled in.
check_PROGRAMS += tests/unit/test_signer_msg
tests_unit_test_signer_msg_SOURCES = tests/unit/test_signer_msg.c \
	tests/unit/tap.h brokerd/common/signer_msg.c \
	brokerd/common/signer_msg.h brokerd/common/job.c \
	brokerd/common/signer_batch.c brokerd/common/signer_batch.h
tests_unit_test_signer_msg_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common
tests_unit_test_signer_msg_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_signer_msg

# White-box: the monitor's front watchdog and refused-PIN memory.
check_PROGRAMS += tests/unit/test_monitor
tests_unit_test_monitor_SOURCES = tests/unit/test_monitor.c tests/unit/tap.h
tests_unit_test_monitor_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common -I$(top_srcdir)/brokerd/monitor \
	$(SODIUM_CFLAGS)
tests_unit_test_monitor_LDADD = brokerd/libbroker.la $(UNIT_LDADD) \
	$(SODIUM_LIBS)
TESTS += tests/unit/test_monitor

check_PROGRAMS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c tests/unit/tap.h
EXTRA_tests_unit_test_metrics_DEPENDENCIES = brokerd/front/metrics.c
tests_unit_test_metrics_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common -I$(top_srcdir)/brokerd/front
tests_unit_test_metrics_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_metrics

check_PROGRAMS += tests/unit/test_profile
tests_unit_test_profile_SOURCES = tests/unit/test_profile.c tests/unit/tap.h
tests_unit_test_profile_LDADD = policy/libpolicy.la $(UNIT_LDADD)
TESTS += tests/unit/test_profile

# The token rows of Health and Stats; hostile frames packed with protobuf-c.
check_PROGRAMS += tests/unit/test_wire_tokens
tests_unit_test_wire_tokens_SOURCES = tests/unit/test_wire_tokens.c \
	tests/unit/tap.h
tests_unit_test_wire_tokens_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_wire_tokens_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_wire_tokens

# The Prometheus text of the CLI and the exporter (prom_text.c, compiled in).
check_PROGRAMS += tests/unit/test_prom_text
tests_unit_test_prom_text_SOURCES = tests/unit/test_prom_text.c \
	tests/unit/tap.h client/prom_text.c client/prom_text.h
tests_unit_test_prom_text_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_prom_text
