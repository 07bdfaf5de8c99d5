# sandbox/: process hardening and secret memory.
noinst_LTLIBRARIES += sandbox/libsandbox.la
sandbox_libsandbox_la_SOURCES = sandbox/secret.c sandbox/secret.h
sandbox_libsandbox_la_CPPFLAGS = $(AM_CPPFLAGS) $(SODIUM_CFLAGS)
sandbox_libsandbox_la_LIBADD = $(SODIUM_LIBS)
