# tests/: unit tests (C, TAP), integration tests (shell, TAP) against a
# throwaway SoftHSM2 token, fuzz targets and the benchmark.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SOFTHSM_MODULE='$(SOFTHSM_MODULE)' P11B_SANITIZED='$(SANITIZED)' \
	LSAN_OPTIONS='suppressions=$(abs_top_srcdir)/tests/lsan.supp' \
	ASAN_OPTIONS='fast_unwind_on_malloc=0'

include $(srcdir)/tests/unit/local.mk
include $(srcdir)/tests/integration/local.mk

# The layout rules: no include cycle in the daemon, the process and
# privilege boundaries visible in the includes.
TESTS += tests/structure/layout.sh
dist_check_SCRIPTS += tests/structure/layout.sh
EXTRA_DIST += tests/structure/layout.py

EXTRA_DIST += tests/bench/run.sh tests/bench/audit.sh tests/bench/soak.sh \
	tests/bench/idle.sh tests/bench/idle.py tests/reliability/run.sh \
	tests/reliability/front_faults.sh \
	tests/reliability/hostile.sh
EXTRA_DIST += tests/bench/batch_cpu.sh

EXTRA_DIST += tests/valgrind.supp tests/lsan.supp

# The integration tests with the daemon under valgrind: any error or leak
# makes the daemon exit 99, which the tests' SIGTERM checks catch.
VALGRIND_DAEMON = valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect \
	--suppressions=$(abs_top_srcdir)/tests/valgrind.supp
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(INTEGRATION_TESTS)' \
	    P11B_DAEMON_WRAPPER='$(VALGRIND_DAEMON)'
.PHONY: check-valgrind
include $(srcdir)/tests/fuzz/local.mk
