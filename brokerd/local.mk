# brokerd/: the daemon, one folder per process (see README.md's table):
#   monitor/  first pid: config, policy and PIN, the socket, forks and
#             supervises the others; reads no client bytes, no PKCS#11.
#   front/    p11b-front: connections, policy, audit, answers; no module,
#             no file opens, no socket creation, no exec.
#   signer/   p11b-signer: the only PKCS#11 (signer/token/); sees no
#             client, policy or socket.
#   common/   what all three share: log, clock, io, the internal channels
#             (ctl: monitor<->front, signer_msg: front<->signer) and the
#             job vocabulary, crypto facts, config file loading.
# Each folder is its own library with its own include path, so a process
# cannot reach another's headers by accident: front/ is built without
# signer/token/ on its path.
sbin_PROGRAMS += brokerd/p11brokerd

BROKERD_COMMON_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/brokerd/common \
	-DSYSCONFDIR='"$(sysconfdir)"' $(LIBCRYPTO_CFLAGS) $(P11KIT_CFLAGS) \
	$(SODIUM_CFLAGS) $(SECCOMP_CFLAGS)

noinst_LTLIBRARIES += brokerd/common/libcommon.la
brokerd_common_libcommon_la_SOURCES = \
	brokerd/common/log.c brokerd/common/log.h \
	brokerd/common/clock.c brokerd/common/clock.h \
	brokerd/common/io.c brokerd/common/io.h \
	brokerd/common/ctl.c brokerd/common/ctl.h \
	brokerd/common/job.c brokerd/common/job.h \
	brokerd/common/signer_msg.c brokerd/common/signer_msg.h \
	brokerd/common/signer_batch.c brokerd/common/signer_batch.h \
	brokerd/common/rd.h \
	brokerd/common/signer_msg_gen.c \
	brokerd/common/crypto.c brokerd/common/crypto.h \
	brokerd/common/crypto_verify.c \
	brokerd/common/files.c brokerd/common/files.h \
	brokerd/common/audit_conf.c brokerd/common/audit_conf.h \
	brokerd/common/audit_copy_msg.c brokerd/common/audit_copy_msg.h \
	brokerd/common/sandbox_conf.c brokerd/common/sandbox_conf.h
brokerd_common_libcommon_la_CPPFLAGS = $(BROKERD_COMMON_CPPFLAGS)

noinst_LTLIBRARIES += brokerd/signer/libsigner.la
brokerd_signer_libsigner_la_SOURCES = \
	brokerd/signer/signer.c brokerd/signer/signer.h brokerd/signer/check.c \
	brokerd/signer/batch.c \
	brokerd/signer/token_conf.c brokerd/signer/token_conf.h \
	brokerd/signer/token/token.h brokerd/signer/token/token_int.h \
	brokerd/signer/token/token_load.c brokerd/signer/token/token_keys.c \
	brokerd/signer/token/token_ops.c brokerd/signer/token/ckr.c \
	brokerd/signer/token/token_stream.c brokerd/signer/token/token_gen.c
brokerd_signer_libsigner_la_CPPFLAGS = $(BROKERD_COMMON_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/signer -I$(top_srcdir)/brokerd/signer/token

noinst_LTLIBRARIES += brokerd/front/libfront.la
brokerd_front_libfront_la_SOURCES = \
	brokerd/front/front.c brokerd/front/front.h brokerd/front/broker.h \
	brokerd/front/server.c brokerd/front/server.h \
	brokerd/front/conn.c brokerd/front/conn.h brokerd/front/conn_ops.h \
	brokerd/front/callers.c brokerd/front/callers.h \
	brokerd/front/dispatch.c brokerd/front/dispatch.h \
	brokerd/front/batch.c brokerd/front/batch.h \
	brokerd/front/audit_batch.c \
	brokerd/front/generate.c \
	brokerd/front/keyver.c brokerd/front/keyver.h \
	brokerd/front/answer.c brokerd/front/answer.h \
	brokerd/front/stream.c brokerd/front/stream.h \
	brokerd/front/control.c brokerd/front/control.h \
	brokerd/front/signers.c brokerd/front/signers.h \
	brokerd/front/reload.c brokerd/front/reload.h \
	brokerd/front/keygen.c brokerd/front/keygen.h \
	brokerd/front/joblink.c brokerd/front/joblink.h \
	brokerd/front/metrics.c brokerd/front/metrics.h \
	brokerd/front/audit.c brokerd/front/audit.h \
	brokerd/front/audit_ckpt.c brokerd/front/audit_int.h \
	brokerd/front/audit_copy.c brokerd/front/audit_copy.h \
	brokerd/front/audit_event.c brokerd/front/audit_refusals.c \
	brokerd/front/audit_line.c brokerd/front/audit_line.h \
	brokerd/front/audit_state.c brokerd/front/audit_state.h \
	proto/audit_msg.c proto/audit_msg.h
brokerd_front_libfront_la_CPPFLAGS = $(BROKERD_COMMON_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/front

noinst_LTLIBRARIES += brokerd/monitor/libmonitor.la
brokerd_monitor_libmonitor_la_SOURCES = \
	brokerd/monitor/monitor.c brokerd/monitor/monitor.h \
	brokerd/monitor/pin.c brokerd/monitor/pin.h \
	brokerd/monitor/pinguard.c brokerd/monitor/pinguard.h \
	brokerd/monitor/frontwatch.c brokerd/monitor/frontwatch.h \
	brokerd/monitor/listen.c brokerd/monitor/listen.h \
	brokerd/monitor/logwatch.c brokerd/monitor/logwatch.h \
	brokerd/monitor/auditcopy.c brokerd/monitor/auditcopy.h
# The monitor starts the other two: it calls their entry points.
BROKERD_MONITOR_CPPFLAGS = $(BROKERD_COMMON_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/monitor -I$(top_srcdir)/brokerd/front \
	-I$(top_srcdir)/brokerd/signer
brokerd_monitor_libmonitor_la_CPPFLAGS = $(BROKERD_MONITOR_CPPFLAGS)

# Everything of the daemon but main(), for the white-box unit tests.
noinst_LTLIBRARIES += brokerd/libbroker.la
brokerd_libbroker_la_SOURCES =
brokerd_libbroker_la_LIBADD = brokerd/monitor/libmonitor.la \
	brokerd/front/libfront.la brokerd/signer/libsigner.la \
	brokerd/common/libcommon.la \
	policy/libpolicy.la sandbox/libsandbox.la \
	proto/libwire.la $(LIBCRYPTO_LIBS) $(SODIUM_LIBS) \
	$(BSD_LIBS) $(PTHREAD_LIBS) $(LIBS)

# main() also runs the -n check, which opens the token through the
# signer's entry point (as the monitor, before anything is forked).
brokerd_p11brokerd_SOURCES = brokerd/monitor/main.c
brokerd_p11brokerd_CPPFLAGS = $(BROKERD_MONITOR_CPPFLAGS)
brokerd_p11brokerd_LDADD = brokerd/libbroker.la

man_MANS += brokerd/p11brokerd.8 brokerd/p11brokerd.conf.5 \
	brokerd/p11broker-audit.5
EXTRA_DIST += brokerd/monitor/README.md brokerd/front/README.md \
	brokerd/signer/README.md brokerd/common/README.md \
	brokerd/p11brokerd.8 brokerd/p11brokerd.conf.5 \
	brokerd/p11broker-audit.5
