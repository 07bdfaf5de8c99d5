# client/pkcs11/: p11broker-pkcs11.so, the client-side PKCS#11 module.
# It carries its own copy of the client library (conn.c, ops.c and the
# wire code), so that a program loading it needs nothing of ours
# installed; only the PKCS#11 entry points are exported.
pkcs11_LTLIBRARIES += client/pkcs11/p11broker-pkcs11.la
client_pkcs11_p11broker_pkcs11_la_SOURCES = \
	client/pkcs11/module.c client/pkcs11/module.h client/pkcs11/ck3.h \
	client/pkcs11/link.c client/pkcs11/slot.c client/pkcs11/session.c \
	client/pkcs11/objects.c client/pkcs11/attrs.c client/pkcs11/find.c \
	client/pkcs11/mech.c client/pkcs11/digest.c client/pkcs11/sign.c \
	client/pkcs11/verify.c client/pkcs11/unsupported.c \
	client/pkcs11/filter.c \
	client/pkcs11/opstream.c client/pkcs11/generate.c \
	client/conn.c client/ops.c client/stream.c client/versions.c \
	client/client.h \
	client/p11broker.h
client_pkcs11_p11broker_pkcs11_la_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) \
	$(LIBCRYPTO_CFLAGS)
client_pkcs11_p11broker_pkcs11_la_LDFLAGS = $(AM_LDFLAGS) -module \
	-avoid-version -shared -no-undefined \
	-export-symbols-regex '^C_Get(FunctionList|InterfaceList|Interface)$$'
client_pkcs11_p11broker_pkcs11_la_LIBADD = proto/libwire.la \
	$(PROTOBUF_C_LIBS) $(LIBCRYPTO_LIBS) $(BSD_LIBS) $(PTHREAD_LIBS)
$(client_pkcs11_p11broker_pkcs11_la_OBJECTS): proto/p11broker.pb-c.h

man_MANS += client/pkcs11/p11broker-pkcs11.8
EXTRA_DIST += client/pkcs11/p11broker-pkcs11.8 contrib/p11broker.module.in

# p11broker.module names the module by its installed, absolute path.  It
# is written at install time, not at build time, so that the path follows
# "make install prefix=..." too.
install-data-local: install-p11-module-config
install-p11-module-config:
	$(MKDIR_P) '$(DESTDIR)$(p11moduleconfigsdir)'
	sed 's|@PKCS11_MODULE@|$(pkcs11dir)/p11broker-pkcs11.so|' \
	    $(top_srcdir)/contrib/p11broker.module.in \
	    >'$(DESTDIR)$(p11moduleconfigsdir)/p11broker.module'
uninstall-local: uninstall-p11-module-config
uninstall-p11-module-config:
	rm -f '$(DESTDIR)$(p11moduleconfigsdir)/p11broker.module'
.PHONY: install-p11-module-config uninstall-p11-module-config
