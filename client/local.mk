# client/: libp11broker (the C client library), its pkg-config file and
# the p11broker command line tool.
lib_LTLIBRARIES += client/libp11broker.la
client_libp11broker_la_SOURCES = client/conn.c client/ops.c client/stream.c \
	client/batch.c client/versions.c \
	client/client.h client/p11broker.h
client_libp11broker_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-export-symbols-regex '^p11b_' -no-undefined
client_libp11broker_la_LIBADD = proto/libwire.la $(PROTOBUF_C_LIBS) \
	$(BSD_LIBS) $(PTHREAD_LIBS)
include_HEADERS += client/p11broker.h proto/p11broker_vocab.h

# The dynamic linker finds a new library in a directory it searches,
# such as /usr/local/lib, only through its cache: refresh the cache when
# installing there for real (no DESTDIR: a package's own scripts do that)
# as root.  Our own programs need no cache (RUNPATH $ORIGIN/../lib, see
# configure.ac); other programs linked with -lp11broker do.
install-exec-hook: install-ldconfig
install-ldconfig:
	@if test -z '$(DESTDIR)' && test -n '$(LDCONFIG)' && \
	    test "$$(id -u)" = 0 && '$(LDCONFIG)' -v -N -X 2>/dev/null | \
	    grep -q '^$(libdir):'; then \
		echo ' $(LDCONFIG)'; '$(LDCONFIG)' || :; \
	fi
.PHONY: install-ldconfig
pkgconfig_DATA += client/p11broker.pc
EXTRA_DIST += client/p11broker.pc.in

bin_PROGRAMS += client/p11broker
client_p11broker_SOURCES = client/cli/main.c client/cli/cmds.c \
	client/cli/generate.c \
	client/cli/io.c client/cli/bench.c client/cli/stats.c client/cli/cli.h \
	client/cli/batch.c \
	client/prom_text.c client/prom_text.h \
	client/cli/audit.c client/cli/auditlog.c client/cli/auditlog.h \
	proto/audit_msg.c proto/audit_msg.h proto/buf.c proto/buf.h
client_p11broker_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LIBCRYPTO_CFLAGS)
# libcrypto checks audit checkpoint signatures (the CLI only).
client_p11broker_LDFLAGS = $(AM_LDFLAGS) $(ORIGIN_RPATH)
client_p11broker_LDADD = client/libp11broker.la $(SODIUM_LIBS) \
	$(LIBCRYPTO_LIBS) $(BSD_LIBS) $(PTHREAD_LIBS)
man_MANS += client/p11broker.1 client/libp11broker.3
EXTRA_DIST += client/p11broker.1 client/libp11broker.3
