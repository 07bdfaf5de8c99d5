# exporter/: p11broker-exporter, the broker's counters as a Prometheus
# scrape target (a separate process; a client of the broker's socket).
sbin_PROGRAMS += exporter/p11broker-exporter
exporter_p11broker_exporter_SOURCES = exporter/exporter.c \
	exporter/http.c exporter/http.h \
	client/prom_text.c client/prom_text.h \
	brokerd/common/log.c brokerd/common/log.h
exporter_p11broker_exporter_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common
exporter_p11broker_exporter_LDFLAGS = $(AM_LDFLAGS) $(ORIGIN_RPATH)
exporter_p11broker_exporter_LDADD = client/libp11broker.la \
	sandbox/libsandbox.la $(BSD_LIBS) $(PTHREAD_LIBS)
man_MANS += exporter/p11broker-exporter.8
EXTRA_DIST += exporter/p11broker-exporter.8 exporter/README.md
