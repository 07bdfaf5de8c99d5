# tests/fuzz/: libFuzzer targets for the parsers of untrusted bytes, and
# replay programs that run the committed corpora through the same target
# code in every build.  See tests/fuzz/README.md.

FUZZ_REPLAY_LIBS = $(PROTOBUF_C_LIBS) $(BSD_LIBS)

# Replay: a plain main() around each target, built by make check with any
# compiler and run by tests/fuzz/replay.sh over corpus/ and crashes/.
check_PROGRAMS += tests/fuzz/replay_request tests/fuzz/replay_response \
	tests/fuzz/replay_config
tests_fuzz_replay_request_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_request.c tests/fuzz/fuzz.h
tests_fuzz_replay_request_LDADD = proto/libwire.la $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_response_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_response.c tests/fuzz/fuzz.h
tests_fuzz_replay_response_LDADD = proto/libwire.la $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_replay_config_LDADD = policy/libpolicy.la proto/libwire.la \
	$(FUZZ_REPLAY_LIBS)
# The front <-> signer codec, compiled in.
check_PROGRAMS += tests/fuzz/replay_signer_msg
tests_fuzz_replay_signer_msg_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_signer_msg.c tests/fuzz/fuzz.h \
	brokerd/common/signer_msg.c brokerd/common/signer_msg.h \
	brokerd/common/signer_batch.c brokerd/common/signer_batch.h \
	brokerd/common/signer_msg_gen.c brokerd/common/job.c
tests_fuzz_replay_signer_msg_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common
tests_fuzz_replay_signer_msg_LDADD = proto/libwire.la $(FUZZ_REPLAY_LIBS)

# Requests through the front's policy and dispatch: the real front code
# but for the connection (fuzz_dispatch.c's own), no signer behind it.
check_PROGRAMS += tests/fuzz/replay_dispatch
FUZZ_DISPATCH_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/brokerd/common \
	-I$(top_srcdir)/brokerd/front
FUZZ_DISPATCH_LIBS = brokerd/front/libfront.la brokerd/common/libcommon.la \
	policy/libpolicy.la proto/libwire.la $(SODIUM_LIBS) $(LIBCRYPTO_LIBS) \
	$(PTHREAD_LIBS) $(FUZZ_REPLAY_LIBS)
tests_fuzz_replay_dispatch_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_dispatch.c tests/fuzz/fuzz.h
tests_fuzz_replay_dispatch_CPPFLAGS = $(FUZZ_DISPATCH_CPPFLAGS)
tests_fuzz_replay_dispatch_LDADD = $(FUZZ_DISPATCH_LIBS)

# The exporter's HTTP request parser.
check_PROGRAMS += tests/fuzz/replay_http
tests_fuzz_replay_http_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_http.c \
	tests/fuzz/fuzz.h exporter/http.c exporter/http.h
tests_fuzz_replay_http_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/exporter
tests_fuzz_replay_http_LDADD = $(BSD_LIBS)

# The audit log's head file, read by the front at start.
check_PROGRAMS += tests/fuzz/replay_audit_state
tests_fuzz_replay_audit_state_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_audit_state.c tests/fuzz/fuzz.h \
	brokerd/front/audit_state.c brokerd/front/audit_state.h
tests_fuzz_replay_audit_state_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/front
tests_fuzz_replay_audit_state_LDADD = $(BSD_LIBS)

# Audit lines from elsewhere: the monitor's copy from the front, and
# audit verify's line parser.
check_PROGRAMS += tests/fuzz/replay_audit_line
tests_fuzz_replay_audit_line_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz_audit_line.c tests/fuzz/fuzz.h \
	brokerd/common/audit_copy_msg.c brokerd/common/audit_copy_msg.h \
	client/cli/auditlog.c client/cli/auditlog.h
tests_fuzz_replay_audit_line_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common -I$(top_srcdir)/client/cli \
	$(SODIUM_CFLAGS)
tests_fuzz_replay_audit_line_LDADD = $(SODIUM_LIBS) $(BSD_LIBS)
# The signer's sandbox trap report, read by the monitor.
check_PROGRAMS += tests/fuzz/replay_trap
tests_fuzz_replay_trap_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_trap.c \
	tests/fuzz/fuzz.h
tests_fuzz_replay_trap_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sandbox
tests_fuzz_replay_trap_LDADD = sandbox/libsandbox.la $(BSD_LIBS)

TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/mkseeds.py \
	tests/fuzz/replay.sh tests/fuzz/config.dict tests/fuzz/corpus \
	tests/fuzz/crashes

if FUZZING
# The parsers are compiled into each target with the fuzzer's coverage
# instrumentation; the libraries in proto/ and policy/ are not.
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
FUZZ_WIRE_SOURCES = proto/wire.c proto/wire.h proto/names.c proto/algs.c \
	proto/algs.h proto/wire_batch.c proto/wire_tokens.c
FUZZ_WIRE_GENERATED = proto/p11broker.pb-c.c proto/p11broker.pb-c.h
FUZZ_POLICY_SOURCES = policy/lex.c policy/lex.h policy/config.c \
	policy/config.h policy/policy.c policy/policy.h policy/names.c \
	policy/names.h policy/profile.c policy/profile.h policy/fcheck.c \
	policy/fcheck.h policy/keyspace.c policy/keyspace.h \
	policy/versions.c policy/versions.h

noinst_PROGRAMS += tests/fuzz/fuzz_request tests/fuzz/fuzz_response \
	tests/fuzz/fuzz_config tests/fuzz/fuzz_signer_msg \
	tests/fuzz/fuzz_dispatch tests/fuzz/fuzz_http tests/fuzz/fuzz_audit_state \
	tests/fuzz/fuzz_trap

tests_fuzz_fuzz_trap_SOURCES = tests/fuzz/fuzz_trap.c tests/fuzz/fuzz.h \
	sandbox/trap.c
tests_fuzz_fuzz_trap_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sandbox
tests_fuzz_fuzz_trap_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_trap_LDADD = $(SECCOMP_LIBS) $(BSD_LIBS)

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c \
	tests/fuzz/fuzz.h $(FUZZ_WIRE_SOURCES)
nodist_tests_fuzz_fuzz_request_SOURCES = $(FUZZ_WIRE_GENERATED)
tests_fuzz_fuzz_request_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(P11KIT_CFLAGS) \
	$(FUZZ_FLAGS)
tests_fuzz_fuzz_request_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_response_SOURCES = tests/fuzz/fuzz_response.c \
	tests/fuzz/fuzz.h $(FUZZ_WIRE_SOURCES)
nodist_tests_fuzz_fuzz_response_SOURCES = $(FUZZ_WIRE_GENERATED)
tests_fuzz_fuzz_response_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(P11KIT_CFLAGS) \
	$(FUZZ_FLAGS)
tests_fuzz_fuzz_response_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c \
	tests/fuzz/fuzz.h $(FUZZ_POLICY_SOURCES) $(FUZZ_WIRE_SOURCES)
nodist_tests_fuzz_fuzz_config_SOURCES = $(FUZZ_WIRE_GENERATED) \
	policy/profiles_gen.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(P11KIT_CFLAGS) \
	$(FUZZ_FLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_REPLAY_LIBS)

tests_fuzz_fuzz_signer_msg_SOURCES = tests/fuzz/fuzz_signer_msg.c \
	tests/fuzz/fuzz.h brokerd/common/signer_msg.c \
	brokerd/common/signer_msg.h brokerd/common/job.c $(FUZZ_WIRE_SOURCES) \
	brokerd/common/signer_batch.c brokerd/common/signer_batch.h \
	brokerd/common/signer_msg_gen.c
nodist_tests_fuzz_fuzz_signer_msg_SOURCES = $(FUZZ_WIRE_GENERATED)
tests_fuzz_fuzz_signer_msg_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common
tests_fuzz_fuzz_signer_msg_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(P11KIT_CFLAGS) \
	$(FUZZ_FLAGS)
tests_fuzz_fuzz_signer_msg_LDADD = $(FUZZ_REPLAY_LIBS)

# The decisions instrumented (dispatch, policy, the decoder); the rest of
# the front (audit, metrics, job links) comes from its library.
tests_fuzz_fuzz_dispatch_SOURCES = tests/fuzz/fuzz_dispatch.c \
	tests/fuzz/fuzz.h brokerd/front/dispatch.c $(FUZZ_POLICY_SOURCES) \
	$(FUZZ_WIRE_SOURCES)
nodist_tests_fuzz_fuzz_dispatch_SOURCES = $(FUZZ_WIRE_GENERATED) \
	policy/profiles_gen.c
tests_fuzz_fuzz_dispatch_CPPFLAGS = $(FUZZ_DISPATCH_CPPFLAGS)
tests_fuzz_fuzz_dispatch_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) \
	$(P11KIT_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dispatch_LDADD = $(FUZZ_DISPATCH_LIBS)

tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/fuzz.h \
	exporter/http.c exporter/http.h
tests_fuzz_fuzz_http_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/exporter
tests_fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_http_LDADD = $(BSD_LIBS)

tests_fuzz_fuzz_audit_state_SOURCES = tests/fuzz/fuzz_audit_state.c \
	tests/fuzz/fuzz.h brokerd/front/audit_state.c \
	brokerd/front/audit_state.h
tests_fuzz_fuzz_audit_state_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/front
tests_fuzz_fuzz_audit_state_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_audit_state_LDADD = $(BSD_LIBS)

noinst_PROGRAMS += tests/fuzz/fuzz_audit_line
tests_fuzz_fuzz_audit_line_SOURCES = tests/fuzz/fuzz_audit_line.c \
	tests/fuzz/fuzz.h brokerd/common/audit_copy_msg.c \
	brokerd/common/audit_copy_msg.h client/cli/auditlog.c \
	client/cli/auditlog.h
tests_fuzz_fuzz_audit_line_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/brokerd/common -I$(top_srcdir)/client/cli \
	$(SODIUM_CFLAGS)
tests_fuzz_fuzz_audit_line_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_audit_line_LDADD = $(SODIUM_LIBS) $(BSD_LIBS)

# BUILT_SOURCES only applies to all and check: make fuzz-* on a fresh
# tree must generate the protobuf-c header before compiling wire.c.
$(tests_fuzz_fuzz_request_OBJECTS) $(tests_fuzz_fuzz_response_OBJECTS) \
$(tests_fuzz_fuzz_config_OBJECTS) $(tests_fuzz_fuzz_signer_msg_OBJECTS) \
$(tests_fuzz_fuzz_dispatch_OBJECTS): \
	proto/p11broker.pb-c.h

# make fuzz [FUZZ_SECONDS=600] [FUZZ_ARGS=...]: run each target over a
# scratch copy of its seed corpus in tests/fuzz/run/TARGET/; new inputs
# and crash files stay there (see README.md to keep them).  make -j2 fuzz
# runs two targets at once.
FUZZ_SECONDS = 60
FUZZ_ARGS =
FUZZ_RUN = \
	d=tests/fuzz/run/$$t; rm -rf $$d; $(MKDIR_P) $$d/corpus; \
	cp $(srcdir)/tests/fuzz/corpus/$$t/* $$d/corpus/; \
	echo "fuzz_$$t: $(FUZZ_SECONDS)s, log in $$d/fuzz.log"; \
	if tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=$$d/ $$max $(FUZZ_ARGS) \
	    $$d/corpus >$$d/fuzz.log 2>&1; then \
		grep -E 'DONE|^stat::' $$d/fuzz.log; \
	else \
		tail -n 60 $$d/fuzz.log; \
		echo "fuzz_$$t: FAILED, reproducer: `ls $$d/crash-* \
		    $$d/leak-* $$d/timeout-* $$d/oom-* 2>/dev/null`"; \
		exit 1; \
	fi

fuzz: fuzz-request fuzz-response fuzz-config fuzz-signer-msg fuzz-dispatch \
	fuzz-http fuzz-audit-state fuzz-audit-line
fuzz-request: tests/fuzz/fuzz_request$(EXEEXT)
	$(AM_V_at)t=request; max=-max_len=70000; $(FUZZ_RUN)
fuzz-response: tests/fuzz/fuzz_response$(EXEEXT)
	$(AM_V_at)t=response; max=-max_len=70000; $(FUZZ_RUN)
fuzz-config: tests/fuzz/fuzz_config$(EXEEXT)
	$(AM_V_at)t=config; \
	max="-max_len=8192 -dict=$(srcdir)/tests/fuzz/config.dict"; \
	$(FUZZ_RUN)
fuzz-signer-msg: tests/fuzz/fuzz_signer_msg$(EXEEXT)
	$(AM_V_at)t=signer_msg; max=-max_len=4096; $(FUZZ_RUN)
fuzz-dispatch: tests/fuzz/fuzz_dispatch$(EXEEXT)
	$(AM_V_at)t=dispatch; max=-max_len=70000; $(FUZZ_RUN)
fuzz-http: tests/fuzz/fuzz_http$(EXEEXT)
	$(AM_V_at)t=http; max=-max_len=8192; $(FUZZ_RUN)
fuzz-audit-state: tests/fuzz/fuzz_audit_state$(EXEEXT)
	$(AM_V_at)t=audit_state; max=-max_len=512; $(FUZZ_RUN)
fuzz-audit-line: tests/fuzz/fuzz_audit_line$(EXEEXT)
	$(AM_V_at)t=audit_line; max=-max_len=40000; $(FUZZ_RUN)
else
fuzz fuzz-request fuzz-response fuzz-config fuzz-signer-msg fuzz-dispatch \
fuzz-http fuzz-audit-state fuzz-audit-line:
	@echo "$@: configure with CC=clang --enable-fuzzing" >&2; exit 1
endif
.PHONY: fuzz fuzz-request fuzz-response fuzz-config fuzz-signer-msg \
	fuzz-dispatch fuzz-http fuzz-audit-state fuzz-audit-line
