# brokerd/: the daemon.  brokerd/token/ is the only code that calls PKCS#11.
sbin_PROGRAMS += brokerd/p11brokerd

noinst_LTLIBRARIES += brokerd/libbroker.la
brokerd_libbroker_la_SOURCES = \
	brokerd/log.c brokerd/log.h \
	brokerd/crypto.c brokerd/crypto.h brokerd/crypto_verify.c \
	brokerd/pin.c brokerd/pin.h \
	brokerd/token/token.h brokerd/token/token_int.h \
	brokerd/token/token_load.c brokerd/token/token_keys.c \
	brokerd/token/token_ops.c brokerd/token/ckr.c \
	brokerd/signer_msg.c brokerd/signer_msg.h \
	brokerd/signer_link.c brokerd/signer_link.h \
	brokerd/signer.c brokerd/signer.h \
	brokerd/ctl.c brokerd/ctl.h brokerd/files.c brokerd/files.h \
	brokerd/io.c brokerd/io.h \
	brokerd/monitor.c brokerd/monitor.h brokerd/front.c \
	brokerd/metrics.c brokerd/metrics.h \
	brokerd/dispatch.c brokerd/server.c brokerd/listen.c \
	brokerd/reload.c brokerd/audit_msg.c brokerd/audit_msg.h \
	brokerd/audit.c brokerd/audit.h brokerd/audit_ckpt.c \
	brokerd/audit_int.h brokerd/audit_line.c brokerd/audit_line.h \
	brokerd/brokerd.h
brokerd_libbroker_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/brokerd/token \
	-DSYSCONFDIR='"$(sysconfdir)"' $(LIBP11_CFLAGS) $(LIBCRYPTO_CFLAGS) \
	$(P11KIT_CFLAGS) $(SODIUM_CFLAGS) $(SECCOMP_CFLAGS)
brokerd_libbroker_la_LIBADD = policy/libpolicy.la sandbox/libsandbox.la \
	proto/libwire.la $(LIBP11_LIBS) $(LIBCRYPTO_LIBS) $(SODIUM_LIBS) \
	$(BSD_LIBS) $(PTHREAD_LIBS) $(LIBS)

brokerd_p11brokerd_SOURCES = brokerd/main.c
brokerd_p11brokerd_CPPFLAGS = $(brokerd_libbroker_la_CPPFLAGS)
brokerd_p11brokerd_LDADD = brokerd/libbroker.la

man_MANS += brokerd/p11brokerd.8 brokerd/p11brokerd.conf.5 \
	brokerd/p11broker-audit.5
EXTRA_DIST += brokerd/p11brokerd.8 brokerd/p11brokerd.conf.5 \
	brokerd/p11broker-audit.5
