# policy/: the config and policy languages, shared by the daemon and tools.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES = policy/lex.c policy/lex.h \
	policy/config.c policy/config.h policy/policy.c policy/policy.h \
	policy/names.c policy/names.h policy/token_ref.h policy/fcheck.c \
	policy/fcheck.h policy/certfile.c policy/certfile.h \
	policy/versions.c policy/versions.h
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(LIBCRYPTO_CFLAGS)
policy_libpolicy_la_LIBADD = proto/libwire.la $(BSD_LIBS) $(LIBCRYPTO_LIBS)

man_MANS += policy/p11broker-policy.5
EXTRA_DIST += policy/p11broker-policy.5
