# proto/: the wire schema, framing and message conversion.
noinst_LTLIBRARIES += proto/libwire.la
proto_libwire_la_SOURCES = proto/wire.c proto/wire.h proto/names.c \
	proto/wire_batch.c proto/wire_tokens.c \
	proto/algs.c proto/algs.h proto/buf.c proto/buf.h \
	proto/p11broker_vocab.h
nodist_proto_libwire_la_SOURCES = proto/p11broker.pb-c.c proto/p11broker.pb-c.h
proto_libwire_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(P11KIT_CFLAGS)
proto_libwire_la_LIBADD = $(PROTOBUF_C_LIBS) $(BSD_LIBS)

BUILT_SOURCES += proto/p11broker.pb-c.c proto/p11broker.pb-c.h
CLEANFILES += proto/p11broker.pb-c.c proto/p11broker.pb-c.h
EXTRA_DIST += proto/p11broker.proto proto/README.md

proto/p11broker.pb-c.c proto/p11broker.pb-c.h: $(srcdir)/proto/p11broker.proto
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PROTOC_C) --proto_path=$(srcdir)/proto --c_out=proto \
	    $(srcdir)/proto/p11broker.proto

# Anything compiled against the generated header waits for it, also when a
# single target is built (BUILT_SOURCES only applies to all and check).
$(proto_libwire_la_OBJECTS): proto/p11broker.pb-c.h
