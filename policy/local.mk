# policy/: the config and policy languages, shared by the daemon and tools.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES = policy/lex.c policy/lex.h \
	policy/config.c policy/config.h policy/policy.c policy/policy.h \
	policy/names.c policy/names.h policy/token_ref.h policy/fcheck.c \
	policy/fcheck.h policy/certfile.c policy/certfile.h \
	policy/keyspace.c policy/keyspace.h policy/versions.c \
	policy/versions.h
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(LIBCRYPTO_CFLAGS)
policy_libpolicy_la_LIBADD = proto/libwire.la $(BSD_LIBS) $(LIBCRYPTO_LIBS)

man_MANS += policy/p11broker-policy.5
EXTRA_DIST += policy/p11broker-policy.5

# Vendor profiles ("profile NAME" in a token block): compiled in from
# contrib/profiles/*.conf, and installed beside for reading.
PROFILES = contrib/profiles/softhsm2.conf contrib/profiles/p11kit-client.conf \
	contrib/profiles/tpm2.conf contrib/profiles/opencryptoki.conf \
	contrib/profiles/yubihsm2.conf contrib/profiles/opensc.conf \
	contrib/profiles/luna.conf contrib/profiles/cloudhsm.conf \
	contrib/profiles/nshield.conf contrib/profiles/utimaco.conf \
	contrib/profiles/kryoptic.conf
policy_libpolicy_la_SOURCES += policy/profile.c policy/profile.h
nodist_policy_libpolicy_la_SOURCES = policy/profiles_gen.c
BUILT_SOURCES += policy/profiles_gen.c
CLEANFILES += policy/profiles_gen.c
profilesdir = $(pkgdatadir)/profiles
dist_profiles_DATA = $(PROFILES)
EXTRA_DIST += build-aux/profiles-to-c.sh
policy/profiles_gen.c: $(PROFILES) $(srcdir)/build-aux/profiles-to-c.sh
	$(AM_V_GEN)$(MKDIR_P) policy && \
	$(SHELL) $(srcdir)/build-aux/profiles-to-c.sh $(srcdir) \
	    $(PROFILES) >$@.tmp && mv $@.tmp $@
