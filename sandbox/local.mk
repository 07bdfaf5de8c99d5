# sandbox/: process hardening (privilege drop, seccomp, Landlock) and
# secret memory.
noinst_LTLIBRARIES += sandbox/libsandbox.la
sandbox_libsandbox_la_SOURCES = sandbox/secret.c sandbox/secret.h \
	sandbox/sandbox.h sandbox/harden.c sandbox/landlock.c \
	sandbox/seccomp.c sandbox/sandbox_mode.h sandbox/monitor.c \
	sandbox/trap.c
sandbox_libsandbox_la_CPPFLAGS = $(AM_CPPFLAGS) $(SODIUM_CFLAGS) \
	$(SECCOMP_CFLAGS)
sandbox_libsandbox_la_LIBADD = $(SODIUM_LIBS) $(SECCOMP_LIBS) $(BSD_LIBS)
